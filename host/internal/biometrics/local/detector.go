package local

import "math"

// The detector is the scaled Manhattan distance of Killourhy and Maxion (DSN 2009),
// the best of the 14 detectors they compared on the CMU benchmark, adapted to the
// few enrollment samples SMS+ collects:
//
//	distance(x) = mean over features i of |x_i - mean_i| / spread_i
//
// where spread_i is the mean absolute deviation of feature i over the enrollment
// samples, raised to a floor. With three samples the deviation of a feature can be
// near zero by chance, and one such feature would then dominate every distance; the
// floor (a few milliseconds plus a fraction of the feature's mean, since slow
// intervals vary more than fast ones) keeps each feature's weight sane.
//
// The distance is already in units of the typist's own variation, so the
// acceptance threshold is a constant that only depends on how many samples the
// spreads were estimated from (fewer samples underestimate them, which inflates
// genuine distances). The constants were calibrated on the CMU benchmark
// (cmu_test.go) for a false-reject rate near 10% per attempt with three enrollment
// samples. A threshold derived from each enrollment by leave-one-out was tried
// and measured no better there: with two samples left in, its estimate is mostly
// noise.
const (
	spreadFloorMS   = 5.0  // absolute floor on a feature's spread, ms
	spreadFloorFrac = 0.10 // floor as a fraction of the feature's mean

	// threshold(k) = thresholdBase + thresholdSlope/k for k enrollment samples.
	thresholdBase  = 1.6
	thresholdSlope = 1.5

	// replayToleranceMS: a pattern whose features all lie within this distance of a
	// stored sample is a replay of it (each timing within 1 ms gives features
	// within 2 ms).
	replayToleranceMS = 2
)

// model is the per-feature centre and spread of a set of samples.
type model struct {
	mean   []float64
	spread []float64
}

func newModel(samples [][]int32) model {
	n := len(samples[0])
	m := model{mean: make([]float64, n), spread: make([]float64, n)}
	k := float64(len(samples))
	for _, s := range samples {
		for i, v := range s {
			m.mean[i] += float64(v)
		}
	}
	for i := range m.mean {
		m.mean[i] /= k
	}
	for _, s := range samples {
		for i, v := range s {
			m.spread[i] += math.Abs(float64(v) - m.mean[i])
		}
	}
	for i := range m.spread {
		floor := spreadFloorMS + spreadFloorFrac*math.Abs(m.mean[i])
		m.spread[i] = math.Max(m.spread[i]/k, floor)
	}
	return m
}

// distance is the scaled Manhattan distance of x from the model, averaged over
// features so that phrases of different lengths compare on one scale.
func (m model) distance(x []int32) float64 {
	var sum float64
	for i, v := range x {
		sum += math.Abs(float64(v)-m.mean[i]) / m.spread[i]
	}
	return sum / float64(len(x))
}

// threshold is the largest distance accepted from a model of k samples.
func threshold(k int) float64 {
	return thresholdBase + thresholdSlope/float64(max(k, 1))
}

// isReplay reports whether x repeats one of the samples, timing for timing.
func isReplay(x []int32, samples [][]int32) bool {
	for _, s := range samples {
		if len(s) != len(x) {
			continue
		}
		same := true
		for i := range x {
			if d := x[i] - s[i]; d > replayToleranceMS || d < -replayToleranceMS {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}
