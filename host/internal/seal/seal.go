// Package seal protects OTPs, original messages and typing profiles at rest. The
// OTP must be shown to the user later, so it cannot be hashed; it is encrypted
// with AES-256-GCM and bound to the record it belongs to, so a sealed value copied
// into another record does not open.
//
// SMS+ always seals: without DATA_ENCRYPTION_KEY the key is derived from
// HASH_SALT (DeriveKey), a secret the operator must set anyway. A separate key is
// better (the salt also sits in every replica's user-id code path), and setting
// one later keeps values sealed with the derived key readable: a Sealer seals
// with its first key and opens with any of them.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Format bytes lead every sealed value. Plain values were written by SMS+
// versions that stored them unsealed without a key; they still open, so an
// upgrade loses nothing, and are replaced as their records are rewritten.
const (
	formatPlain  = 0
	formatAESGCM = 1
)

// KeySize is the size of a sealing key: AES-256.
const KeySize = 32

// ErrOpen: a sealed value is corrupt, was moved to another record, or needs a key
// this process does not have.
var ErrOpen = errors.New("seal: cannot open value")

// Sealer seals and opens values.
type Sealer struct {
	aeads []cipher.AEAD // the first seals; every one may open
}

// New returns a Sealer that seals with the first key and opens with any of them.
// Each key must be KeySize bytes. With no key at all the Sealer stores values
// plainly (framed); only tests do that: the host always has a key (DeriveKey).
func New(keys ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	for _, key := range keys {
		if key == nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("seal: key is %d bytes, want %d", len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// DeriveKey derives a sealing key from a secret such as HASH_SALT with
// HKDF-SHA256. The label keeps it apart from any other use of the same secret.
func DeriveKey(secret string) []byte {
	key, err := hkdf.Key(sha256.New, []byte(secret), []byte("smsplus/seal"), "data key v1", KeySize)
	if err != nil {
		panic("seal: hkdf: " + err.Error()) // only for lengths sha256 cannot give
	}
	return key
}

// Encrypted reports whether values are encrypted.
func (s *Sealer) Encrypted() bool { return len(s.aeads) > 0 }

// Seal protects plaintext for the record named by context (e.g. "challenge:<cid>").
func (s *Sealer) Seal(plaintext []byte, context string) []byte {
	if len(s.aeads) == 0 {
		return append([]byte{formatPlain}, plaintext...)
	}
	aead := s.aeads[0]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = formatAESGCM
	nonce := out[1:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	return aead.Seal(out, nonce, plaintext, []byte(context))
}

// Open returns the plaintext of a value sealed for context.
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, ErrOpen
	}
	switch sealed[0] {
	case formatPlain:
		return sealed[1:], nil
	case formatAESGCM:
		for _, aead := range s.aeads {
			n := 1 + aead.NonceSize()
			if len(sealed) < n {
				return nil, ErrOpen
			}
			if pt, err := aead.Open(nil, sealed[1:n], sealed[n:], []byte(context)); err == nil {
				return pt, nil
			}
		}
	}
	return nil, ErrOpen
}
