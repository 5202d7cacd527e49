package local

import (
	"math"
	"slices"
)

// The detector. Killourhy and Maxion's best detectors on the CMU benchmark (scaled
// Manhattan, nearest neighbour) add up how far each feature lies from the user's
// samples in units of the user's own spread, and weigh every feature and both
// directions alike. Typing does not work that way: with practice people get
// faster, so later genuine attempts lie mostly on the fast side of a few
// enrollment samples, while someone typing the phrase for the first time lies on
// the slow side; hold times hardly change with practice, latencies do; and one
// feature far off says less than many a little off. On the benchmark (package
// eval, `smsplus biometrics eval`), the detector below has a mean EER of 0.043
// under the paper's protocol (scaled Manhattan 0.096) and 0.133 with 5
// enrollment samples (scaled Manhattan 0.257).
//
// For each feature i of a sample x the detector computes the deviation
//
//	u_i = (t(x_i) - centre_i) / spread_i
//
// where t takes the logarithm of holds and down-down latencies (their spread grows
// with their length) and asinh(ud / upDownScaleMS) of up-down latencies (which can
// be negative: linear near 0, logarithmic for long pauses); centre_i is the mean
// of t over the user's most recent samples and spread_i the mean absolute
// deviation of t around its median over all the user's samples, shrunk toward the
// population's spread for that kind of feature (spreadPseudoSamples) and raised
// to a floor. The sample's score is the mean over features of
//
//	LLR_kind(u_i) = log p(u | impostor) - log p(u | genuine)
//
// a log-likelihood ratio per kind of feature (hold, down-down, up-down), learned
// from a population of other typists (LearnPrior): how the deviations of their
// own later attempts, and of other people's first attempts, from a model fitted
// on k of their samples are distributed. The tables depend on k, the number of
// samples the model was fitted on, because few samples give noisy spreads. A
// sample matches when its score is at most the table's Accept threshold, also
// learned from the population, for a chosen share of refused genuine attempts.
// The score is a mean over features, so the same threshold serves phrases of
// every length (the population typed an 11-key password; longer phrases average
// more features and should separate typists better).
//
// Nothing is tuned per user: the user's samples give the centres and spreads,
// the population gives the tables and thresholds.

// Transform floors and spread floors. Virtual keyboards report holds of a few ms
// that carry no information; flooring them before the logarithm makes them all
// equal, so they neither help nor hurt.
const (
	holdFloorMS     = 20
	downDownFloorMS = 20
	logSpreadFloor  = 0.02 // 2%
	upDownScaleMS   = 50

	// centreWindow: the centre is the mean of at most this many of the most
	// recent samples (typing drifts; the spread uses every sample).
	centreWindow = 100

	// spreadPseudoSamples: a user's spread of a feature is shrunk toward the
	// population's, as if the population's were estimated from this many samples.
	// Three samples say little about a spread.
	spreadPseudoSamples = 3
)

// The likelihood-ratio tables are sampled at u = -gridMax, -gridMax+gridStep, ...,
// gridMax and interpolated linearly; deviations beyond the grid count as its ends.
const (
	gridStep = 0.5
	gridMax  = 15
	gridN    = int(2*gridMax/gridStep) + 1
)

func transform(k Kind, v float64) float64 {
	switch k {
	case Hold:
		return math.Log(math.Max(v, holdFloorMS))
	case DownDown:
		return math.Log(math.Max(v, downDownFloorMS))
	}
	return math.Asinh(v / upDownScaleMS)
}

func spreadFloor(k Kind) float64 {
	return logSpreadFloor
}

// Table holds what the population says about models fitted on Samples samples.
type Table struct {
	Samples int `json:"samples"`
	// LLR[kind][j] is the log-likelihood ratio at u = -gridMax + j*gridStep.
	LLR [numKinds][]float64 `json:"llr"`
	// Spread[kind] is the population's median spread of a feature of the kind,
	// toward which a user's spreads are shrunk (spreadPseudoSamples).
	Spread [numKinds]float64 `json:"spread"`
	// Accept is the highest score that matches.
	Accept float64 `json:"accept"`
	// Update is the highest score confident enough to update the profile.
	Update float64 `json:"update"`
}

// llr interpolates the table of kind k at deviation u.
func (t *Table) llr(k Kind, u float64) float64 {
	f := (u + gridMax) / gridStep
	tab := t.LLR[k]
	if f <= 0 {
		return tab[0]
	}
	if f >= float64(gridN-1) {
		return tab[gridN-1]
	}
	j := int(f)
	w := f - float64(j)
	return tab[j]*(1-w) + tab[j+1]*w
}

// Prior is the population knowledge the detector needs: one table per
// enrollment size, in ascending order of Samples.
type Prior struct {
	Tables []Table `json:"tables"`
}

// table returns the table for a model of k samples: the one learned for the
// largest size not above k (the first when k is below all of them).
func (p *Prior) table(k int) *Table {
	t := &p.Tables[0]
	for i := range p.Tables {
		if p.Tables[i].Samples <= k {
			t = &p.Tables[i]
		}
	}
	return t
}

// shape is the per-feature centre and spread of a user's samples, in
// transformed units.
type shape struct {
	centre, spread []float64
}

// fitShape fits centres and spreads; prior gives the population spreads to
// shrink toward (nil: no shrinkage).
func fitShape(samples [][]float64, prior *[numKinds]float64) shape {
	m := len(samples[0])
	s := shape{centre: make([]float64, m), spread: make([]float64, m)}
	recent := samples[max(0, len(samples)-centreWindow):]
	col := make([]float64, len(samples))
	for i := range m {
		k := KindOf(i, m)
		for j, x := range samples {
			col[j] = transform(k, x[i])
		}
		var c float64
		for _, v := range col[len(samples)-len(recent):] {
			c += v
		}
		s.centre[i] = c / float64(len(recent))
		med := median(col)
		var d float64
		for _, v := range col {
			d += math.Abs(v - med)
		}
		sp := d / float64(len(col))
		if prior != nil && prior[k] > 0 {
			n := float64(len(col))
			sp = math.Sqrt((n*sp*sp + spreadPseudoSamples*prior[k]*prior[k]) / (n + spreadPseudoSamples))
		}
		s.spread[i] = math.Max(sp, spreadFloor(k))
	}
	return s
}

// deviations returns u_i for every feature of x.
func (s shape) deviations(x []float64, u []float64) []float64 {
	m := len(x)
	u = u[:0]
	for i, v := range x {
		u = append(u, (transform(KindOf(i, m), v)-s.centre[i])/s.spread[i])
	}
	return u
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Model is a user's model: the shape of their samples and the table for as many
// samples.
type Model struct {
	shape
	table *Table
}

// Fit returns the model of a user's samples (feature vectors of equal length, in
// the order typed). It panics on no samples.
func (p *Prior) Fit(samples [][]float64) *Model {
	t := p.table(len(samples))
	return t.fit(samples)
}

func (t *Table) fit(samples [][]float64) *Model {
	return &Model{shape: fitShape(samples, &t.Spread), table: t}
}

// Score is the sample's anomaly score: the mean log-likelihood ratio over its
// features. Lower is more like the user; it matches when at most Accept().
func (m *Model) Score(x []float64) float64 {
	var buf [3 * MaxKeys]float64
	u := m.deviations(x, buf[:0])
	var s float64
	for i, v := range u {
		s += m.table.llr(KindOf(i, len(u)), v)
	}
	return s / float64(len(u))
}

// Accept is the highest score that matches.
func (m *Model) Accept() float64 { return m.table.Accept }

// Update is the highest score that may update the profile.
func (m *Model) Update() float64 { return m.table.Update }

// Decision is the detector's verdict on a verification attempt.
type Decision struct {
	Score  float64 // the attempt's score under the model of enrolled + recent samples
	Accept float64 // that model's threshold
	Match  bool    // Score <= Accept
	// Keep: the attempt may join the user's recent samples. It must score at most
	// the model's Update threshold (well inside Accept) and, as a guard against
	// drift and poisoning, also match the model of the enrollment samples alone,
	// so that a run of borderline successes cannot walk the profile away from the
	// person who enrolled.
	Keep bool
}

// Decide scores the attempt x against a user's enrollment samples and recent
// confident successes (oldest first) and says whether it matches and whether to
// keep it. enrolled must not be empty.
func (p *Prior) Decide(enrolled, recent [][]float64, x []float64) Decision {
	m := p.Fit(append(enrolled[:len(enrolled):len(enrolled)], recent...))
	s := m.Score(x)
	d := Decision{Score: s, Accept: m.Accept(), Match: s <= m.Accept()}
	if d.Match && s <= m.Update() {
		if len(recent) == 0 {
			d.Keep = true
		} else {
			orig := p.Fit(enrolled)
			d.Keep = orig.Score(x) <= orig.Accept()
		}
	}
	return d
}
