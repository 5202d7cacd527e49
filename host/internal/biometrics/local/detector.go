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
// enrollment samples; hold times hardly change with practice, latencies do; and
// one feature far off says less than many a little off.
//
// For each feature i of a sample x the detector computes the deviation
//
//	u_i = (t(x'_i) - centre_i) / spread_i
//
// where t takes the logarithm of holds and down-down latencies (their spread grows
// with their length) and asinh(ud / upDownScaleMS) of up-down latencies (which can
// be negative: linear near 0, logarithmic for long pauses); centre_i is the mean
// of t over the user's most recent samples and spread_i the mean absolute
// deviation of t around its median over all the user's samples, shrunk toward the
// population's spread for that kind of feature (spreadPseudoSamples) and raised
// to a floor.
//
// x' is the sample at the user's tempo. The sample's tempo shift
//
//	delta = median over down-down latencies of (log dd_i - centre_i)
//
// is how much faster (negative) or slower the whole sample is than the user's
// model; x' divides every down-down latency by exp(delta) (each up-down latency
// changes with its down-down latency). So a user who got faster with practice is
// compared on their rhythm, and the tempo is scored once, on its own.
//
// The sample's score is a log-likelihood ratio, population against owner:
//
//	score = (sum_i LLR_kind(u_i) + tempoWeight * T(delta)) / (m + tempoWeight)
//
// over the m informative features (see holdFloorMS).
//
// LLR_kind(u) = log p(u | someone else) - log p(u | the owner), one table per
// kind of feature (hold, down-down, up-down), learned from a population of other
// typists (LearnPrior): how the deviations of their own later attempts, and of
// other people's attempts, from a model fitted on k of their samples are
// distributed. It is positive where other people's typing lies and grows, never
// shrinks, with the distance from the owner: the tables are made non-decreasing
// away from u = 0, so a pattern far from the owner always counts against it, and
// a far deviation never counts less than a nearer one (the population's own
// typists drift a long way with practice; that is what the tempo term is for).
// T(delta) is the same ratio for the tempo shift, floored at 0: a change of
// speed the owner shows is forgiven, one that other people show counts against,
// but speed is never evidence for the owner (a script can type at any speed).
// The score is a mean over features, so the same threshold serves phrases of
// every length (the population typed an 11-key password; longer phrases average
// more features and should separate typists better).
//
// A sample matches when its score is at most the table's threshold for the
// operating point (Standard or Strict), learned from the population for a chosen
// share of refused genuine attempts. The tables depend on k, the number of
// samples the model was fitted on, because few samples give noisy spreads.
//
// Nothing is tuned per user: the user's samples give the centres and spreads,
// the population gives the tables and thresholds. docs/page.md reports what this
// achieves on the benchmark (`smsplus biometrics eval`).

// Transform floors and spread floors. Virtual keyboards report holds of a few ms
// that carry no information: flooring them before the logarithm makes them all
// equal, and a hold that is under the floor in the attempt and in every one of
// the owner's samples is left out of the score (shape.floored), so they neither
// help nor hurt.
const (
	holdFloorMS     = 20
	downDownFloorMS = 20
	logSpreadFloor  = 0.02 // 2%
	upDownScaleMS   = 50

	// centreWindow: the centre is the mean of at most this many of the most
	// recent samples (typing drifts; the spread uses every sample). In the
	// eval's simulated logins, 5 instead of 100 accepts 1 point fewer
	// zero-effort impostors at 0.3 points more genuine first typings.
	centreWindow = 5

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

// The tempo table is sampled at delta = -tempoMax, -tempoMax+tempoStep, ...,
// tempoMax (natural log units: -1.5 is 4.5 times faster, 1.5 as much slower).
const (
	tempoStep = 0.05
	tempoMax  = 1.5
	tempoN    = int(2*tempoMax/tempoStep) + 1

	// tempoWeight: the tempo shift counts as much as this many features. It
	// summarizes every latency at once, so it weighs more than one of them.
	tempoWeight = 3
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
	// Tempo[j] is the log-likelihood ratio of a tempo shift of
	// -tempoMax + j*tempoStep, at least 0. Empty: the tempo is not scored.
	Tempo []float64 `json:"tempo,omitempty"`
	// Spread[kind] is the population's median spread of a feature of the kind,
	// toward which a user's spreads are shrunk (spreadPseudoSamples).
	Spread [numKinds]float64 `json:"spread"`
	// Accept is the highest score that matches at the Standard operating point.
	Accept float64 `json:"accept"`
	// Strict is the highest score that matches at the Strict operating point.
	Strict float64 `json:"strict"`
	// Update is the highest score confident enough to update the profile.
	Update float64 `json:"update"`
}

// OperatingPoint chooses the threshold a verification is held to.
type OperatingPoint int

const (
	// Standard is the usual threshold (Table.Accept).
	Standard OperatingPoint = iota
	// Strict is a much stricter one (Table.Strict), for a verification from a
	// device the user has not verified on before.
	Strict
)

func (op OperatingPoint) String() string {
	if op == Strict {
		return "strict"
	}
	return "standard"
}

// threshold is the highest score that matches at op.
func (t *Table) threshold(op OperatingPoint) float64 {
	if op == Strict {
		return t.Strict
	}
	return t.Accept
}

// tempo interpolates the tempo table at shift d; 0 without a table.
func (t *Table) tempo(d float64) float64 {
	if len(t.Tempo) == 0 {
		return 0
	}
	return interpolate(t.Tempo, (d+tempoMax)/tempoStep)
}

// llr interpolates the table of kind k at deviation u. Deviations beyond the
// grid count as its ends, which are its largest values (the tables are
// non-decreasing away from 0).
func (t *Table) llr(k Kind, u float64) float64 {
	return interpolate(t.LLR[k], (u+gridMax)/gridStep)
}

// interpolate returns tab at fractional index f, linearly between grid points,
// clamped to the ends.
func interpolate(tab []float64, f float64) float64 {
	n := len(tab)
	if f <= 0 {
		return tab[0]
	}
	if f >= float64(n-1) {
		return tab[n-1]
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
// transformed units. floored marks the hold features whose every sample is at or
// under holdFloorMS: a virtual keyboard that reports holds of a few ms, which
// say nothing about the typist.
type shape struct {
	centre, spread []float64
	floored        []bool
}

// fitShape fits centres and spreads; prior gives the population spreads to
// shrink toward (nil: no shrinkage).
func fitShape(samples [][]float64, prior *[numKinds]float64) shape {
	m := len(samples[0])
	s := shape{centre: make([]float64, m), spread: make([]float64, m), floored: make([]bool, m)}
	recent := samples[max(0, len(samples)-centreWindow):]
	col := make([]float64, len(samples))
	for i := range m {
		k := KindOf(i, m)
		s.floored[i] = k == Hold
		for j, x := range samples {
			col[j] = transform(k, x[i])
			s.floored[i] = s.floored[i] && x[i] <= holdFloorMS
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

// tempoShift returns delta, the median over the down-down latencies of x of
// log dd - centre: how much faster (negative) or slower than the model x is as
// a whole. 0 for a single key.
func (s shape) tempoShift(x []float64) float64 {
	m := len(x)
	n := (m + 2) / 3
	if n < 2 {
		return 0
	}
	var buf [MaxKeys]float64
	d := buf[:0]
	for i := n; i < 2*n-1; i++ {
		d = append(d, transform(DownDown, x[i])-s.centre[i])
	}
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// deviations returns u_i for every feature of x at the model's tempo (x's
// down-down latencies divided by exp(delta), its up-down latencies recomputed
// from them), and delta. Features that carry no information (see floored) get
// NaN.
func (s shape) deviations(x []float64, u []float64) ([]float64, float64) {
	m := len(x)
	n := (m + 2) / 3
	delta := s.tempoShift(x)
	f := math.Exp(-delta)
	u = u[:0]
	for i, v := range x {
		k := KindOf(i, m)
		switch k {
		case Hold:
			if s.floored[i] && v <= holdFloorMS {
				u = append(u, math.NaN())
				continue
			}
		case DownDown:
			v *= f
		case UpDown:
			// up-down j = down-down j - hold j: it changes as its down-down does.
			j := i - (2*n - 1)
			v += x[n+j] * (f - 1)
		}
		u = append(u, (transform(k, v)-s.centre[i])/s.spread[i])
	}
	return u, delta
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
// informative features and its tempo (see the package's detector notes). Lower
// is more like the user; it matches when at most Threshold(op). A sample with no
// informative feature scores +Inf.
func (m *Model) Score(x []float64) float64 {
	var buf [3 * MaxKeys]float64
	u, delta := m.deviations(x, buf[:0])
	var s, w float64
	for i, v := range u {
		if !math.IsNaN(v) {
			s += m.table.llr(KindOf(i, len(u)), v)
			w++
		}
	}
	if w == 0 {
		return math.Inf(1)
	}
	if len(x) > 1 && len(m.table.Tempo) > 0 {
		s += tempoWeight * m.table.tempo(delta)
		w += tempoWeight
	}
	return s / w
}

// Accept is the highest score that matches at the Standard operating point.
func (m *Model) Accept() float64 { return m.table.Accept }

// Threshold is the highest score that matches at op.
func (m *Model) Threshold(op OperatingPoint) float64 { return m.table.threshold(op) }

// Update is the highest score that may update the profile.
func (m *Model) Update() float64 { return m.table.Update }

// Decision is the detector's verdict on a verification attempt.
type Decision struct {
	Score  float64 // the attempt's score under the model of enrolled + recent samples
	Accept float64 // that model's threshold at the operating point
	Match  bool    // Score <= Accept
	// Keep: the attempt may join the user's recent samples. It must score at most
	// the model's Update threshold (well inside Accept) and, as a guard against
	// drift and poisoning, also match the model of the enrollment samples alone,
	// so that a run of borderline successes cannot walk the profile away from the
	// person who enrolled.
	Keep bool
}

// Decide scores the attempt x against a user's enrollment samples and recent
// confident successes (oldest first) and says whether it matches at op and
// whether to keep it. enrolled must not be empty.
func (p *Prior) Decide(enrolled, recent [][]float64, x []float64, op OperatingPoint) Decision {
	return p.models(enrolled, recent).decide(x, op)
}

// models are the models a decision needs: of the enrollment and recent samples
// together, and (when there are recent ones) of the enrollment samples alone.
type models struct {
	all, enrolled *Model
}

func (p *Prior) models(enrolled, recent [][]float64) models {
	m := models{all: p.Fit(append(enrolled[:len(enrolled):len(enrolled)], recent...))}
	if len(recent) > 0 {
		m.enrolled = p.Fit(enrolled)
	}
	return m
}

func (m models) decide(x []float64, op OperatingPoint) Decision {
	s := m.all.Score(x)
	d := Decision{Score: s, Accept: m.all.Threshold(op), Match: s <= m.all.Threshold(op)}
	if d.Match && s <= m.all.Update() {
		d.Keep = m.enrolled == nil || m.enrolled.Score(x) <= m.enrolled.Accept()
	}
	return d
}
