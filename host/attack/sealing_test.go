package attack_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackStoreFileHoldsCodesInClear.
//
// Attacker: whoever gets a copy of the store (a backup, a snapshot of the volume,
// a stolen disk, a Redis or Mongo dump). With the default settings there was no
// DATA_ENCRYPTION_KEY, so live codes and typing profiles were stored in clear
// (base64 inside JSON, which hid them from a plain-text search but not from
// anyone).
//
// Path: challenge.Start -> Sealer.Seal with no key -> store; local engine profile
// -> store.
//
// Defence proved: sealed at rest by default (the key is derived from HASH_SALT
// when DATA_ENCRYPTION_KEY is unset): after a hook and an enrollment, the raw
// bytes of the embedded store's file hold the 10-digit code in no encoding (plain,
// base64 standard and URL-safe at each of the 3 byte offsets, hex, UTF-16) and no
// typing profile (its timings, `"samples":[[`, plain or base64; the audit trail's
// sample count, `"samples":3`, is not biometric data).
func TestAttackStoreFileHoldsCodesInClear(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "DATA_ENCRYPTION_KEY") // the default: no key set
	otp := e2e.RandomOTP(10)
	c := s.NewChallenge(t, "okta", "+12015550133", otp)
	if !c.EnrollingText() {
		t.Fatal("a new user's text should carry the code")
	}
	s.Enroll(t, c, e2e.Owner(31), 5)
	if code := s.Stop(); code != 0 { // everything committed and closed
		t.Fatalf("smsplus serve exited %d", code)
	}
	raw, err := os.ReadFile(s.StoreFile())
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for name, form := range encodings([]byte(otp)) {
		if bytes.Contains(raw, form) {
			found = append(found, "the code as "+name)
		}
	}
	for name, form := range encodings([]byte(`"samples":[[`)) {
		if bytes.Contains(raw, form) {
			found = append(found, `the typing profile's timings as `+name)
		}
	}
	if len(found) > 0 {
		t.Errorf("the store file (%d bytes, default settings) holds, readable without a key: %s (code %s)",
			len(raw), strings.Join(found, "; "), otp)
	}
}

// encodings returns the forms in which a secret could sit in a file: as is, as
// hex, as UTF-16, and base64 (standard and URL-safe alphabets) at each of the 3
// byte offsets it may have in a longer encoded value. For base64 only the
// characters that depend on the secret's bytes alone are kept.
func encodings(secret []byte) map[string][]byte {
	out := map[string][]byte{
		"plain text": secret,
		"hex":        []byte(hex.EncodeToString(secret)),
		"HEX":        []byte(strings.ToUpper(hex.EncodeToString(secret))),
	}
	u := utf16.Encode([]rune(string(secret)))
	le, be := make([]byte, 0, 2*len(u)), make([]byte, 0, 2*len(u))
	for _, r := range u {
		le = append(le, byte(r), byte(r>>8))
		be = append(be, byte(r>>8), byte(r))
	}
	out["UTF-16LE"], out["UTF-16BE"] = le, be
	for off := range 3 {
		stream := append(append(make([]byte, off), secret...), 0, 0, 0)
		first := (8*off + 5) / 6              // first character whose 6 bits are all the secret's
		last := (8 * (off + len(secret))) / 6 // one past the last such character
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding} {
			s := enc.EncodeToString(stream)
			out[fmt.Sprintf("%s at offset %d", name, off)] = []byte(s[first:last])
		}
	}
	return out
}
