package eval

import (
	"math"
	"slices"
)

// Scores are anomaly scores: higher means less like the genuine user. A detector
// flags a sample as an impostor when its score reaches the threshold.

// rocPoint is one operating point: the share of impostors missed (accepted) and
// the share of genuine samples falsely flagged.
type rocPoint struct{ miss, fa float64 }

// roc lists the operating points of every distinct threshold, from "flag nothing"
// (miss 1, fa 0) to "flag everything" (miss 0, fa 1). A sample is flagged when its
// score is >= the threshold, so tied scores move together, as in ROCR, which the
// benchmark's evaluation script uses.
func roc(genuine, impostor []float64) []rocPoint {
	type scored struct {
		s        float64
		impostor bool
	}
	all := make([]scored, 0, len(genuine)+len(impostor))
	for _, s := range genuine {
		all = append(all, scored{s, false})
	}
	for _, s := range impostor {
		all = append(all, scored{s, true})
	}
	slices.SortFunc(all, func(a, b scored) int { return -cmpFloat(a.s, b.s) })
	ng, ni := float64(len(genuine)), float64(len(impostor))
	pts := []rocPoint{{1, 0}}
	var flaggedG, flaggedI float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			if all[j].impostor {
				flaggedI++
			} else {
				flaggedG++
			}
			j++
		}
		pts = append(pts, rocPoint{miss: 1 - flaggedI/ni, fa: flaggedG / ng})
		i = j
	}
	return pts
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// EER is the equal-error rate: where the miss rate equals the false-alarm rate,
// interpolated linearly between the last ROC point with miss >= fa and the first
// with miss < fa (the benchmark's evaluation script does the same).
func EER(genuine, impostor []float64) float64 {
	pts := roc(genuine, impostor)
	for i := 1; i < len(pts); i++ {
		x, y := pts[i-1], pts[i]
		if y.miss-y.fa < 0 {
			// x.miss - x.fa >= 0: the crossing lies between x and y.
			a := (x.miss - x.fa) / ((y.fa - x.fa) - (y.miss - x.miss))
			return x.miss + a*(y.miss-x.miss)
		}
	}
	// Never crossed: only possible when one set is empty.
	return math.NaN()
}

// ZeroMissFAR is the false-alarm rate at the lowest threshold that still lets no
// impostor through: the share of genuine samples scoring at or above the lowest
// impostor score.
func ZeroMissFAR(genuine, impostor []float64) float64 {
	if len(impostor) == 0 || len(genuine) == 0 {
		return math.NaN()
	}
	lo := slices.Min(impostor)
	n := 0
	for _, s := range genuine {
		if s >= lo {
			n++
		}
	}
	return float64(n) / float64(len(genuine))
}

// meanSD returns the mean and the sample standard deviation.
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}
