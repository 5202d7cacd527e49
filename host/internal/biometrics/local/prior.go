package local

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Typist is one member of a population the detector learns its tables from: the
// feature vectors of one phrase typed repeatedly, all of the same length.
type Typist struct {
	// Early samples, in the order typed. A model is fitted on the first k; the
	// first ImpostorSamples play an impostor against every other typist's model.
	Early [][]float64
	// Later samples of the same typist, typed on another day: the genuine attempts
	// against the model fitted on Early.
	Later [][]float64
}

// LearnOptions configure LearnPrior.
type LearnOptions struct {
	// Samples lists the enrollment sizes to learn tables for.
	Samples []int
	// ImpostorSamples: how many of each typist's first Early samples play the
	// impostor; 0 = 5.
	ImpostorSamples int
	// AcceptFRR: the share of the population's genuine Later samples the Accept
	// threshold refuses; 0 = DefaultAcceptFRR.
	AcceptFRR float64
	// UpdateShare: the share of the population's genuine Later samples that score
	// at most Update (confident enough to update a profile); 0 = DefaultUpdateShare.
	UpdateShare float64
}

// Defaults of the operating point. DefaultAcceptFRR favours the genuine user: SMS+
// users type their phrase once per login, not hundreds of times like the
// benchmark's typists, and a refused user is locked out after a few tries. At
// 0.05 a consistent (simulated) typist passes 99% of first attempts; on the
// benchmark, 2-5% of genuine attempts are refused and, with 3 enrollment
// samples, 39% of first-time impostor attempts accepted, falling to 14% as
// profile updates accumulate (`smsplus biometrics eval --diagnostics`). 0.10
// would accept 29% at first and refuse a simulated typist's first attempt 10% of
// the time.
const (
	DefaultAcceptFRR   = 0.05
	DefaultUpdateShare = 0.50
	// Laplace smoothing of the histograms, in samples per grid point.
	histSmoothing = 1
	// farDeviation: from this many spreads on, a deviation counts against the
	// user or not at all. On the benchmark, typists get much faster with
	// practice (sessions 5-8 are 40% faster than the first repetitions), so the
	// learned ratio forgives even large speed-ups; that would let a much faster
	// typist pass on the latencies and be caught by the holds alone. SMS+ users
	// type their phrase far less often. The floor costs 0.016 of mean EER under
	// protocol enroll5 (0.117 without it) and nothing under paper.
	farDeviation = 3
)

// LearnPrior learns the detector's tables from a population. It skips the
// enrollment sizes fewer than two typists have Early samples for. For each
// enrollment size k and each typist with at least k Early samples, it fits the
// typist's model on the first k Early samples and collects the deviations u of
// the typist's Later samples (genuine) and of every other typist's first
// ImpostorSamples Early samples (impostor), per kind of feature, into histograms on
// the table's grid. The table is their smoothed log ratio; the thresholds are
// quantiles of the population's genuine scores under it.
func LearnPrior(typists []Typist, opt LearnOptions) (*Prior, error) {
	if opt.ImpostorSamples <= 0 {
		opt.ImpostorSamples = 5
	}
	if opt.AcceptFRR <= 0 {
		opt.AcceptFRR = DefaultAcceptFRR
	}
	if opt.UpdateShare <= 0 {
		opt.UpdateShare = DefaultUpdateShare
	}
	if len(typists) < 2 {
		return nil, errors.New("learn prior: need at least two typists")
	}
	ks := slices.Clone(opt.Samples)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	p := &Prior{}
	for _, k := range ks {
		if k < 1 {
			return nil, fmt.Errorf("learn prior: enrollment size %d", k)
		}
		t, err := learnTable(typists, k, opt)
		if errors.Is(err, errTooFewTypists) {
			// A small population cannot learn tables for large enrollments;
			// models of that many samples use the largest table learned.
			continue
		}
		if err != nil {
			return nil, err
		}
		p.Tables = append(p.Tables, *t)
	}
	if len(p.Tables) == 0 {
		return nil, fmt.Errorf("learn prior: %w for any of the sizes %v", errTooFewTypists, ks)
	}
	return p, nil
}

var errTooFewTypists = errors.New("fewer than two typists with enough samples")

func learnTable(typists []Typist, k int, opt LearnOptions) (*Table, error) {
	t := &Table{Samples: k}
	var members []int
	for j, ty := range typists {
		if len(ty.Early) >= k && len(ty.Later) > 0 {
			members = append(members, j)
		}
	}
	if len(members) < 2 {
		return nil, errTooFewTypists
	}
	width := len(typists[members[0]].Early[0])
	for _, ty := range typists {
		for _, set := range [][][]float64{ty.Early, ty.Later} {
			for _, x := range set {
				if len(x) != width {
					return nil, errors.New("learn prior: typists' samples differ in length")
				}
			}
		}
	}

	// 1. The population's spreads, to shrink users' spreads toward.
	var spreads [numKinds][]float64
	for _, j := range members {
		s := fitShape(typists[j].Early[:k], nil)
		for i, v := range s.spread {
			kind := KindOf(i, width)
			spreads[kind] = append(spreads[kind], v)
		}
	}
	for kind := range numKinds {
		if len(spreads[kind]) > 0 {
			t.Spread[kind] = median(spreads[kind])
		}
	}

	// 2. Deviations of genuine and impostor samples, into histograms on the grid.
	var gen, imp [numKinds][gridN]float64
	add := func(h *[numKinds][gridN]float64, u []float64) {
		for i, v := range u {
			// Split each count between the two grid points around it.
			f := math.Min(math.Max((v+gridMax)/gridStep, 0), float64(gridN-1))
			j := min(int(f), gridN-2)
			w := f - float64(j)
			kind := KindOf(i, len(u))
			h[kind][j] += 1 - w
			h[kind][j+1] += w
		}
	}
	impostors := func(j int, f func(x []float64)) {
		for o, ty := range typists {
			if o != j {
				for _, x := range ty.Early[:min(opt.ImpostorSamples, len(ty.Early))] {
					f(x)
				}
			}
		}
	}
	shapes := make([]shape, len(members))
	var u []float64
	for si, j := range members {
		shapes[si] = fitShape(typists[j].Early[:k], &t.Spread)
		for _, x := range typists[j].Later {
			u = shapes[si].deviations(x, u)
			add(&gen, u)
		}
		impostors(j, func(x []float64) {
			u = shapes[si].deviations(x, u)
			add(&imp, u)
		})
	}
	for kind := range numKinds {
		var ng, ni float64
		for j := range gridN {
			ng += gen[kind][j]
			ni += imp[kind][j]
		}
		t.LLR[kind] = make([]float64, gridN)
		const a = histSmoothing
		for j := range gridN {
			pi := (imp[kind][j] + a) / (ni + a*float64(gridN))
			pg := (gen[kind][j] + a) / (ng + a*float64(gridN))
			t.LLR[kind][j] = math.Round(math.Log(pi/pg)*1e4) / 1e4
		}
		// A deviation of farDeviation spreads or more is never evidence for the
		// user, even where the population's typists drifted that far (see
		// farDeviation).
		for j := range gridN {
			if u := -gridMax + float64(j)*gridStep; math.Abs(u) >= farDeviation {
				t.LLR[kind][j] = math.Max(t.LLR[kind][j], 0)
			}
		}
	}

	// 3. Thresholds: quantiles of the genuine scores under the finished table.
	var scores []float64
	for _, j := range members {
		m := t.fit(typists[j].Early[:k])
		for _, x := range typists[j].Later {
			scores = append(scores, m.Score(x))
		}
	}
	t.Accept = math.Round(quantile(scores, 1-opt.AcceptFRR)*1e4) / 1e4
	t.Update = math.Round(quantile(scores, opt.UpdateShare)*1e4) / 1e4
	return t, nil
}

// quantile returns the q-quantile of xs (linear interpolation between order
// statistics).
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	f := q * float64(len(s)-1)
	j := int(f)
	if j >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[j] + (f-float64(j))*(s[j+1]-s[j])
}
