// Package seal protects OTPs and original messages at rest. The OTP must be shown
// to the user later, so it cannot be hashed; with a key configured it is encrypted
// with AES-256-GCM and bound to the record it belongs to, so a sealed value copied
// into another record does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Format bytes lead every sealed value, so a store can hold both forms while an
// operator turns encryption on.
const (
	formatPlain  = 0
	formatAESGCM = 1
)

// ErrOpen: a sealed value is corrupt, was moved to another record, or needs a key
// this process does not have.
var ErrOpen = errors.New("seal: cannot open value")

// Sealer seals and opens values. The zero key means "store plainly".
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer. key must be nil (no encryption) or 32 bytes.
func New(key []byte) (*Sealer, error) {
	if key == nil {
		return &Sealer{}, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Encrypted reports whether values are encrypted.
func (s *Sealer) Encrypted() bool { return s.aead != nil }

// Seal protects plaintext for the record named by context (e.g. "challenge:<cid>").
func (s *Sealer) Seal(plaintext []byte, context string) []byte {
	if s.aead == nil {
		return append([]byte{formatPlain}, plaintext...)
	}
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = formatAESGCM
	nonce := out[1:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	return s.aead.Seal(out, nonce, plaintext, []byte(context))
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
		if s.aead == nil || len(sealed) < 1+s.aead.NonceSize() {
			return nil, ErrOpen
		}
		n := 1 + s.aead.NonceSize()
		pt, err := s.aead.Open(nil, sealed[1:n], sealed[n:], []byte(context))
		if err != nil {
			return nil, ErrOpen
		}
		return pt, nil
	}
	return nil, ErrOpen
}
