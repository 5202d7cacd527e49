package local

import (
	"math"
	"testing"
)

func TestReplayDistance(t *testing.T) {
	t.Parallel()
	base := []int32{95, 80, 110, 60, 130, 180, 230, 150, 170, 400}
	moved := func(d ...int32) []int32 {
		out := make([]int32, len(base))
		for i, v := range base {
			out[i] = v + d[i%len(d)]
		}
		return out
	}
	tests := map[string]struct {
		b    []int32
		want int32
	}{
		"identical":                 {base, 0},
		"each moved by 8 ms":        {moved(8, -8), 8},
		"one timing far off":        {moved(300, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0},
		"two timings off":           {moved(300, -40, 0, 0, 0, 0, 0, 0, 0, 0), 40},
		"a typist's usual retyping": {moved(9, -14, 22, -6, 31, -18, 12, -25, 40, -8), 31},
		"one timing fewer":          {base[:9], math.MaxInt32},
	}
	for name, tc := range tests {
		if got := ReplayDistance(base, tc.b); got != tc.want {
			t.Errorf("%s: distance %d, want %d", name, got, tc.want)
		}
		if ReplayDistance(base, tc.b) != ReplayDistance(tc.b, base) {
			t.Errorf("%s: not symmetric", name)
		}
	}
	if got := ReplayDistance([]int32{90}, []int32{70}); got != 20 {
		t.Errorf("single timing: %d, want its difference", got)
	}
}

// spaced returns n patterns of 10 timings, pattern i moving every timing by
// i*step ms: neighbours are step ms apart.
func spaced(n int, step int32) [][]int32 {
	out := make([][]int32, n)
	for i := range out {
		out[i] = make([]int32, 10)
		for j := range out[i] {
			out[i][j] = 100 + int32(j)*20 + int32(i)*step
		}
	}
	return out
}

// shifted is spaced's pattern moved by d ms.
func shifted(d int32) []int32 {
	p := spaced(1, 0)[0]
	for j := range p {
		p[j] += d
	}
	return p
}

func TestReplayLimit(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		tp   textProfile
		want int32
	}{
		"one sample: the cap":              {textProfile{Samples: spaced(1, 0)}, ReplayCapMS},
		"a loose typist: the cap":          {textProfile{Samples: spaced(3, 200)}, ReplayCapMS},
		"between: 0.4 of the retyping":     {textProfile{Samples: spaced(3, 80)}, 32},
		"a very consistent typist":         {textProfile{Samples: spaced(3, 20)}, ReplayFloorMS},
		"successes count":                  {textProfile{Samples: spaced(3, 200), Passed: spaced(4, 50)}, 20},
		"a success kept twice counts once": {textProfile{Samples: spaced(2, 200), Recent: spaced(1, 0), Passed: spaced(1, 0)}, ReplayCapMS},
		// A replay that got through (the last success, 25 ms from the one
		// before) does not pull the limit down for the next: the median.
		"one near pair among many": {textProfile{Samples: spaced(3, 200), Passed: [][]int32{shifted(600), shifted(625)}}, ReplayCapMS},
		// Refused attempts may be anyone's: they do not count.
		"failures do not count": {textProfile{Samples: spaced(3, 200), Failed: spaced(5, 10)}, ReplayCapMS},
	}
	for name, tc := range tests {
		if got := tc.tp.replayLimit(); got != tc.want {
			t.Errorf("%s: limit %d, want %d", name, got, tc.want)
		}
	}
}

// TestFingerprint: version 2 profiles' fingerprints, still checked until they
// age out.
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

// TestReplaysRefusedAttempt: a near-copy of a refused attempt is refused only
// within the floor, so an owner who retypes at once, closely, is scored.
func TestReplaysRefusedAttempt(t *testing.T) {
	t.Parallel()
	tp := textProfile{Samples: spaced(3, 200), Failed: [][]int32{shifted(1000)}}
	if limit := tp.replayLimit(); limit != ReplayCapMS {
		t.Fatalf("limit %d", limit)
	}
	for d, want := range map[int32]bool{0: true, ReplayFloorMS: true, ReplayFloorMS + 1: false, 30: false} {
		if got := tp.replaysWithin(shifted(1000+d), tp.replayLimit()); got != want {
			t.Errorf("%d ms from a refused attempt: replay %t, want %t", d, got, want)
		}
		if got := tp.replaysWithin(shifted(400+d), tp.replayLimit()); got != (d <= ReplayCapMS) {
			t.Errorf("%d ms from an enrollment sample: replay %t, want %t", d, got, d <= ReplayCapMS)
		}
	}
}
