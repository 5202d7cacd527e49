package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	enc, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := New(nil)

	sealed := enc.Seal([]byte("012345"), "challenge:a")
	if bytes.Contains(sealed, []byte("012345")) {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := enc.Open(sealed, "challenge:a"); err != nil || string(got) != "012345" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := enc.Open(sealed, "challenge:b"); !errors.Is(err, ErrOpen) {
		t.Fatalf("a value moved to another record must not open: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := enc.Open(tampered, "challenge:a"); !errors.Is(err, ErrOpen) {
		t.Fatalf("tampered value opened: %v", err)
	}
	if _, err := plain.Open(sealed, "challenge:a"); !errors.Is(err, ErrOpen) {
		t.Fatalf("an encrypted value must not open without the key: %v", err)
	}
	if s2 := enc.Seal([]byte("012345"), "challenge:a"); bytes.Equal(s2, sealed) {
		t.Fatal("two seals of the same value are identical: nonce reuse")
	}

	// Values stored before encryption was turned on still open.
	old := plain.Seal([]byte("9999"), "challenge:a")
	if got, err := enc.Open(old, "challenge:a"); err != nil || string(got) != "9999" {
		t.Fatalf("plain value with key = %q, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {9}, {formatAESGCM, 1, 2}} {
		if _, err := enc.Open(bad, "x"); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%v) err = %v", bad, err)
		}
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key must be refused")
	}
}

// A key set later does not lock out values sealed with the derived key.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	derived := DeriveKey("salt")
	if len(derived) != KeySize || bytes.Equal(derived, DeriveKey("other salt")) {
		t.Fatal("derived keys must be 32 bytes and differ per secret")
	}
	before, err := New(derived)
	if err != nil {
		t.Fatal(err)
	}
	old := before.Seal([]byte("424242"), "challenge:a")
	after, err := New(bytes.Repeat([]byte{9}, KeySize), derived)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.Open(old, "challenge:a"); err != nil || string(got) != "424242" {
		t.Fatalf("value sealed before the key was set: %q, %v", got, err)
	}
	fresh := after.Seal([]byte("515151"), "challenge:b")
	if _, err := before.Open(fresh, "challenge:b"); !errors.Is(err, ErrOpen) {
		t.Fatal("new values must be sealed with the new key")
	}
}
