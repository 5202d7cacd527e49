package local

import (
	"math"
	"testing"
)

func close(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTransform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		k     Kind
		v     float64
		want  float64
		label string
	}{
		{Hold, 100, math.Log(100), "hold"},
		{Hold, 3, math.Log(holdFloorMS), "virtual-keyboard hold floored"},
		{DownDown, 250, math.Log(250), "down-down"},
		{DownDown, 0, math.Log(downDownFloorMS), "same-ms key-downs floored"},
		{UpDown, 0, 0, "up-down zero"},
		{UpDown, -50, math.Asinh(-1), "overlap"},
		{UpDown, 500, math.Asinh(10), "long pause"},
	}
	for _, tc := range tests {
		if got := transform(tc.k, tc.v); !close(got, tc.want) {
			t.Errorf("%s: transform = %v, want %v", tc.label, got, tc.want)
		}
	}
}

func TestFitShape(t *testing.T) {
	t.Parallel()
	// Two keys: features hold1, hold2, down-down, up-down.
	samples := [][]float64{
		{100, 50, 200, 100},
		{100, 100, 200, 100},
		{100, 200, 200, 100},
	}
	s := fitShape(samples, nil)
	// hold2: logs of 50, 100, 200: mean log 100; median log 100; mean |dev| = 2 ln2 / 3.
	if !close(s.centre[1], math.Log(100)) || !close(s.spread[1], 2*math.Ln2/3) {
		t.Errorf("hold 2: centre %v spread %v", s.centre[1], s.spread[1])
	}
	// Constant features: centre is the value, spread the floor.
	if !close(s.centre[0], math.Log(100)) || s.spread[0] != logSpreadFloor || s.spread[3] != logSpreadFloor {
		t.Errorf("constant features: centre %v, spreads %v %v", s.centre[0], s.spread[0], s.spread[3])
	}
	// Shrinkage: sqrt((3 s^2 + 3 p^2) / 6) with p = 0.3 for holds.
	prior := [numKinds]float64{Hold: 0.3, DownDown: 0.2, UpDown: 0.1}
	s = fitShape(samples, &prior)
	want := math.Sqrt((3*math.Pow(2*math.Ln2/3, 2) + 3*0.09) / 6)
	if !close(s.spread[1], want) {
		t.Errorf("shrunk spread %v, want %v", s.spread[1], want)
	}
	if !close(s.spread[2], math.Sqrt(3*0.04/6)) {
		t.Errorf("shrunk constant spread %v", s.spread[2])
	}
}

func TestFitShapeCentreWindow(t *testing.T) {
	t.Parallel()
	// 150 samples of one key: the first 50 held 200 ms, the last 100 held 100 ms.
	// The centre follows the most recent centreWindow samples.
	var samples [][]float64
	for i := range 150 {
		h := 100.0
		if i < 50 {
			h = 200
		}
		samples = append(samples, []float64{h})
	}
	if s := fitShape(samples, nil); !close(s.centre[0], math.Log(100)) {
		t.Errorf("centre %v, want log 100", s.centre[0])
	}
}

// vTable returns a table whose LLR is |u| for every kind, with the given thresholds.
func vTable(samples int, accept, update float64) Table {
	t := Table{Samples: samples, Accept: accept, Update: update}
	for k := range numKinds {
		t.LLR[k] = make([]float64, gridN)
		for j := range gridN {
			t.LLR[k][j] = math.Abs(-gridMax + float64(j)*gridStep)
		}
	}
	return t
}

func TestTableLLR(t *testing.T) {
	t.Parallel()
	tab := vTable(3, 0, 0)
	tab.LLR[Hold][0] = 99
	tests := []struct {
		u, want float64
	}{
		{0, 0},
		{1, 1},
		{-2.5, 2.5},
		{0.25, 0.25}, // between grid points: interpolated
		{14.9, 14.9},
		{40, 15},  // beyond the grid: its end
		{-15, 99}, // the first grid point
		{-40, 99}, // beyond, at the start
		{-14.75, 99*0.5 + 14.5*0.5},
	}
	for _, tc := range tests {
		if got := tab.llr(Hold, tc.u); !close(got, tc.want) {
			t.Errorf("llr(%v) = %v, want %v", tc.u, got, tc.want)
		}
	}
}

func TestPriorTableChoice(t *testing.T) {
	t.Parallel()
	p := &Prior{Tables: []Table{vTable(3, 1, 0), vTable(5, 2, 0), vTable(10, 3, 0)}}
	for k, want := range map[int]int{1: 3, 2: 3, 3: 3, 4: 3, 5: 5, 9: 5, 10: 10, 400: 10} {
		if got := p.table(k).Samples; got != want {
			t.Errorf("table(%d) is for %d samples, want %d", k, got, want)
		}
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	// With LLR(u) = |u|, the score is the mean |u| over features.
	p := &Prior{Tables: []Table{vTable(2, 1.5, 0.5)}}
	// One key, so a single hold feature: samples 100 and 400 ms give centre
	// log 200 and spread (shrinkage off, Spread zero) ln 2.
	m := p.Fit([][]float64{{100}, {400}})
	if !close(m.Score([]float64{200}), 0) {
		t.Errorf("score at the centre = %v", m.Score([]float64{200}))
	}
	if !close(m.Score([]float64{800}), 2) { // log(800/200) / ln 2
		t.Errorf("score two spreads off = %v", m.Score([]float64{800}))
	}
	if m.Accept() != 1.5 || m.Update() != 0.5 {
		t.Errorf("thresholds %v %v", m.Accept(), m.Update())
	}
	// Two keys: the mean over the four features.
	m = p.Fit([][]float64{{100, 100, 200, 100}, {400, 100, 200, 100}})
	// hold1 u = 2 (800 vs 200); hold2 at centre; down-down and up-down at centre.
	if got := m.Score([]float64{800, 100, 200, 100}); !close(got, 2.0/4) {
		t.Errorf("mean over features = %v, want 0.5", got)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	// One-key samples; LLR(u) = |u|; accept u <= 2, keep u <= 1.
	p := &Prior{Tables: []Table{vTable(2, 2, 1)}}
	enrolled := [][]float64{{100}, {400}} // centre 200, spread ln 2
	tests := map[string]struct {
		recent      [][]float64
		x           float64
		match, keep bool
	}{
		"close":            {nil, 250, true, true},
		"inside, not kept": {nil, 600, true, false},   // u = 1.58
		"refused":          {nil, 1000, false, false}, // u = 2.32
		// Recent samples at 1000 ms move the model (centre 447 ms, spread 0.80):
		// 900 ms now scores 0.87, confident enough, but the enrollment samples
		// alone refuse it (u = 2.17), so it is not kept: the guard against drift
		// and poisoning.
		"drifted, guarded": {[][]float64{{1000}, {1000}}, 900, true, false},
		// A sample the enrollment also accepts is kept.
		"drifted, kept": {[][]float64{{300}, {300}}, 300, true, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := p.Decide(enrolled, tc.recent, []float64{tc.x}, Standard)
			if d.Match != tc.match || d.Keep != tc.keep {
				t.Errorf("Decide(%v) = %+v, want match %t keep %t", tc.x, d, tc.match, tc.keep)
			}
			if d.Match != (d.Score <= d.Accept) {
				t.Errorf("Match disagrees with Score and Accept: %+v", d)
			}
		})
	}
	// Decide must not modify the caller's enrollment slice.
	backing := make([][]float64, 2, 10)
	copy(backing, enrolled)
	p.Decide(backing, [][]float64{{300}}, []float64{300}, Standard)
	if backing[:3][2] != nil {
		t.Error("Decide appended to the enrollment slice's backing array")
	}
}
