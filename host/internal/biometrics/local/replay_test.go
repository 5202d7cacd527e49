package local

import "testing"

func TestFingerprint(t *testing.T) {
	t.Parallel()
	if got := newFingerprint([]int32{0, 1, 2, 5, 6, 1022, 1024}); string(got) != string([]byte{0, 0, 1, 1, 2, 0, 0}) {
		// 1022 ms rounds to unit 256 = 0 (mod 256), like 1024.
		t.Errorf("fingerprint %v", []byte(got))
	}
	base := []int32{95, 80, 110, 60, 130, 180, 230, 150, 170, 400}
	moved := func(f func(i int, v int32) int32) []int32 {
		out := make([]int32, len(base))
		for i, v := range base {
			out[i] = f(i, v)
		}
		return out
	}
	tests := map[string]struct {
		t    []int32
		near bool
	}{
		"identical":               {base, true},
		"each moved by 2 ms":      {moved(func(i int, v int32) int32 { return v + 2*int32(1-2*(i%2)) }), true},
		"one timing far off":      {moved(func(i int, v int32) int32 { return v + 50*int32(b2i(i == 0)) }), true},
		"two timings far off":     {moved(func(i int, v int32) int32 { return v + 50*int32(b2i(i < 2)) }), false},
		"all moved by 20 ms":      {moved(func(i int, v int32) int32 { return v + 20 }), false},
		"a typist's usual jitter": {moved(func(i int, v int32) int32 { return v + int32([]int{9, -14, 22, -6, 31, -18, 12, -25, 40, -8}[i]) }), false},
		"one timing fewer":        {base[:9], false},
	}
	fp := newFingerprint(base)
	for name, tc := range tests {
		if got := fp.near(newFingerprint(tc.t)); got != tc.near {
			t.Errorf("%s: near = %t, want %t", name, got, tc.near)
		}
	}
	if fingerprint(nil).near(nil) {
		t.Error("empty fingerprints are near")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
