package local

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// population returns n one-key typists, typist j holding keys about
// 60 * 1.4^j ms with 5% jitter: each typist's later samples lie close to their
// own early ones and far from everyone else's.
func population(n, early, later int, seed uint64) []Typist {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]Typist, n)
	for j := range out {
		h := 60 * math.Pow(1.4, float64(j))
		sample := func() []float64 { return []float64{h * math.Exp(0.05*rng.NormFloat64())} }
		for range early {
			out[j].Early = append(out[j].Early, sample())
		}
		for range later {
			out[j].Later = append(out[j].Later, sample())
		}
	}
	return out
}

func TestLearnPriorSeparatesTypists(t *testing.T) {
	t.Parallel()
	pop := population(8, 10, 40, 1)
	p, err := LearnPrior(pop, LearnOptions{Samples: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tables) != 1 || p.Tables[0].Samples != 3 {
		t.Fatalf("tables %+v", p.Tables)
	}
	tab := &p.Tables[0]
	// Genuine deviations are small, impostors' are large: the ratio favours the
	// genuine typist near 0 and the impostor in the tails.
	if tab.llr(Hold, 0) >= 0 || tab.llr(Hold, 15) <= 0 || tab.llr(Hold, -15) <= 0 {
		t.Errorf("LLR at 0, +15, -15: %v %v %v", tab.llr(Hold, 0), tab.llr(Hold, 15), tab.llr(Hold, -15))
	}
	if tab.Update > tab.Accept {
		t.Errorf("update threshold %v above accept %v", tab.Update, tab.Accept)
	}
	// Accept refuses DefaultAcceptFRR of the population's genuine samples and
	// Update passes DefaultUpdateShare of them (up to ties and rounding).
	var refused, confident, n int
	for _, ty := range pop {
		m := p.Fit(ty.Early[:3])
		for _, x := range ty.Later {
			s := m.Score(x)
			if s > m.Accept() {
				refused++
			}
			if s <= m.Update() {
				confident++
			}
			n++
		}
	}
	if r := float64(refused) / float64(n); math.Abs(r-DefaultAcceptFRR) > 0.02 {
		t.Errorf("population refused at Accept: %.3f, want %.2f", r, DefaultAcceptFRR)
	}
	if c := float64(confident) / float64(n); math.Abs(c-DefaultUpdateShare) > 0.02 {
		t.Errorf("population confident at Update: %.3f, want %.2f", c, DefaultUpdateShare)
	}
	// Impostors: another typist's samples never match.
	m := p.Fit(pop[0].Early[:3])
	for _, x := range pop[3].Later {
		if m.Score(x) <= m.Accept() {
			t.Fatalf("typist 3's sample %v matches typist 0", x)
		}
	}
	// The same population gives the same prior.
	q, _ := LearnPrior(pop, LearnOptions{Samples: []int{3}})
	if !reflect.DeepEqual(p, q) {
		t.Error("LearnPrior is not deterministic")
	}
}

// TestLearnPriorFarDeviations: typists whose later samples are much faster than
// their early ones make large negative deviations genuine-like in the raw ratio;
// the tables never count a deviation less against the owner than a nearer one.
func TestLearnPriorFarDeviations(t *testing.T) {
	t.Parallel()
	pop := population(8, 10, 40, 5)
	for j := range pop {
		for _, x := range pop[j].Later {
			x[0] *= 0.88 // 12% shorter holds later: u around -3.5
		}
	}
	p, err := LearnPrior(pop, LearnOptions{Samples: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	tab := &p.Tables[0]
	checkOutward(t, tab)
	if tab.llr(Hold, -3.5) < tab.llr(Hold, 0) {
		t.Errorf("LLR at -3.5, where the genuine samples are, = %v, below the LLR at 0 %v", tab.llr(Hold, -3.5), tab.llr(Hold, 0))
	}
}

// checkOutward checks that every table of tab is non-decreasing away from 0.
func checkOutward(t *testing.T, tab *Table) {
	t.Helper()
	for k := range numKinds {
		for u := 0.0; u < gridMax; u += gridStep {
			if tab.llr(k, u+gridStep) < tab.llr(k, u) || tab.llr(k, -u-gridStep) < tab.llr(k, -u) {
				t.Errorf("table %d kind %v: LLR falls away from 0 at |u| = %v", tab.Samples, k, u)
			}
		}
	}
}

func TestLearnPriorAcceptFRR(t *testing.T) {
	t.Parallel()
	pop := population(6, 10, 50, 2)
	loose, _ := LearnPrior(pop, LearnOptions{Samples: []int{3}, AcceptFRR: 0.05, StrictFRR: 0.2})
	strict, _ := LearnPrior(pop, LearnOptions{Samples: []int{3}, AcceptFRR: 0.3, StrictFRR: 0.6})
	if loose.Tables[0].Accept <= strict.Tables[0].Accept {
		t.Errorf("accept at 5%% FRR %v not above accept at 30%% FRR %v", loose.Tables[0].Accept, strict.Tables[0].Accept)
	}
	for _, p := range []*Prior{loose, strict} {
		if tab := p.Tables[0]; tab.Strict >= tab.Accept {
			t.Errorf("strict threshold %v not below accept %v", tab.Strict, tab.Accept)
		}
	}
	if loose.Tables[0].Strict <= strict.Tables[0].Strict {
		t.Errorf("strict at 20%% FRR %v not above strict at 60%% FRR %v", loose.Tables[0].Strict, strict.Tables[0].Strict)
	}
}

func TestLearnPriorSizes(t *testing.T) {
	t.Parallel()
	pop := population(4, 6, 10, 3)
	// 10 and 95 early samples: nobody has them; those sizes are skipped.
	p, err := LearnPrior(pop, LearnOptions{Samples: []int{95, 2, 10, 6, 2}})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, tab := range p.Tables {
		sizes = append(sizes, tab.Samples)
		for k := range numKinds {
			if len(tab.LLR[k]) != gridN {
				t.Errorf("table %d kind %v: %d grid points", tab.Samples, k, len(tab.LLR[k]))
			}
		}
	}
	if !reflect.DeepEqual(sizes, []int{2, 6}) {
		t.Errorf("sizes %v, want [2 6]", sizes)
	}
}

func TestLearnPriorErrors(t *testing.T) {
	t.Parallel()
	pop := population(3, 5, 5, 4)
	mixed := population(3, 5, 5, 4)
	mixed[1].Later[0] = []float64{1, 2, 3, 4}
	tests := map[string]struct {
		typists []Typist
		sizes   []int
	}{
		"one typist":        {pop[:1], []int{2}},
		"no sizes":          {pop, nil},
		"size 0":            {pop, []int{0, 2}},
		"all sizes too big": {pop, []int{6, 10}},
		"lengths differ":    {mixed, []int{2}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if p, err := LearnPrior(tc.typists, LearnOptions{Samples: tc.sizes}); err == nil {
				t.Errorf("LearnPrior = %+v, want an error", p)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	xs := []float64{4, 1, 3, 2}
	for q, want := range map[float64]float64{0: 1, 0.5: 2.5, 1: 4, 0.9: 3.7} {
		if got := quantile(xs, q); !close(got, want) {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if xs[0] != 4 {
		t.Error("quantile sorted its argument")
	}
}

func TestDefaultPrior(t *testing.T) {
	t.Parallel()
	p := DefaultPrior()
	var sizes []int
	for _, tab := range p.Tables {
		sizes = append(sizes, tab.Samples)
		if tab.Update >= tab.Accept || tab.Strict >= tab.Accept {
			t.Errorf("table %d: update %v or strict %v not below accept %v", tab.Samples, tab.Update, tab.Strict, tab.Accept)
		}
		if len(tab.Tempo) != tempoN || slices.Min(tab.Tempo) < 0 || tab.tempo(0) >= tab.tempo(tempoMax) {
			t.Errorf("table %d: tempo table %v: want %d values, none below 0, larger far away", tab.Samples, tab.Tempo, tempoN)
		}
		for k := range numKinds {
			if tab.Spread[k] <= 0 {
				t.Errorf("table %d kind %v: spread %v", tab.Samples, k, tab.Spread[k])
			}
			// Small deviations are the genuine typist's, large ones an
			// impostor's, on either side.
			best := math.Inf(1)
			for u := -3.0; u <= 3; u += gridStep {
				best = math.Min(best, tab.llr(k, u))
			}
			if best >= 0 || tab.llr(k, gridMax) <= 0 || tab.llr(k, -gridMax) <= 0 {
				t.Errorf("table %d kind %v: lowest LLR near 0 %v, at the ends %v %v", tab.Samples, k, best, tab.llr(k, -gridMax), tab.llr(k, gridMax))
			}
		}
		checkOutward(t, &tab)
	}
	if !reflect.DeepEqual(sizes, TableSizes) {
		t.Errorf("built-in prior has tables %v, want %v", sizes, TableSizes)
	}
}
