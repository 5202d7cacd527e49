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
