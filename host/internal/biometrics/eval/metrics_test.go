package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEER(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		genuine, impostor []float64
		want              float64
	}{
		"separated":     {[]float64{1, 2, 3}, []float64{4, 5, 6}, 0},
		"reversed":      {[]float64{4, 5, 6}, []float64{1, 2, 3}, 1},
		"on a point":    {[]float64{1, 2, 3, 4}, []float64{2.5, 5, 6, 7}, 0.25},
		"interpolated":  {[]float64{1, 2, 3, 4, 5}, []float64{3.5, 6}, 0.4},
		"tied scores":   {[]float64{1, 2}, []float64{2, 3}, 0.25},
		"all one score": {[]float64{1, 1}, []float64{1, 1, 1}, 0.5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := EER(tc.genuine, tc.impostor); !near(got, tc.want) {
				t.Errorf("EER = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEERMatchesRates: at the EER the two error rates of a fine-grained
// threshold sweep cross; the interpolated EER lies between the rates there.
func TestEERMatchesRates(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		var g, im []float64
		for range 200 {
			g = append(g, rng.NormFloat64())
		}
		for range 150 {
			im = append(im, 1.5+rng.NormFloat64())
		}
		eer := EER(g, im)
		// Sweep thresholds; find where miss - fa changes sign.
		lo, hi := math.Inf(1), math.Inf(-1)
		for thr := -5.0; thr <= 7; thr += 0.001 {
			var miss, fa float64
			for _, s := range g {
				if s >= thr {
					fa++
				}
			}
			for _, s := range im {
				if s < thr {
					miss++
				}
			}
			miss /= float64(len(im))
			fa /= float64(len(g))
			if math.Abs(miss-fa) < 0.02 {
				lo, hi = math.Min(lo, math.Min(miss, fa)), math.Max(hi, math.Max(miss, fa))
			}
		}
		if eer < lo-1e-9 || eer > hi+1e-9 {
			t.Errorf("trial %d: EER %v outside [%v, %v]", trial, eer, lo, hi)
		}
	}
}

func TestZeroMissFAR(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		genuine, impostor []float64
		want              float64
	}{
		"separated":           {[]float64{1, 2, 3}, []float64{4, 5}, 0},
		"half above":          {[]float64{1, 2, 3, 4}, []float64{2.5, 5}, 0.5},
		"tie counts as alarm": {[]float64{1, 2.5}, []float64{2.5, 5}, 0.5},
		"all above":           {[]float64{3, 4}, []float64{1, 5}, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := ZeroMissFAR(tc.genuine, tc.impostor); !near(got, tc.want) {
				t.Errorf("ZeroMissFAR = %v, want %v", got, tc.want)
			}
		})
	}
	if !math.IsNaN(ZeroMissFAR(nil, []float64{1})) || !math.IsNaN(EER([]float64{1}, nil)) {
		t.Error("rates of an empty set are not NaN")
	}
}

func TestMeanSD(t *testing.T) {
	t.Parallel()
	m, sd := meanSD([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if !near(m, 5) || !near(sd, math.Sqrt(32.0/7)) {
		t.Errorf("meanSD = %v, %v", m, sd)
	}
}
