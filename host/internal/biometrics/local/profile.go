package local

import (
	"errors"
	"slices"
)

// Profile is one user's profile of one phrase, held in memory and decided
// exactly as Engine decides (the same pattern checks, replay limit, model,
// thresholds and updates), without a store, a lock or sealing. Package eval
// measures the engine through it, so what it reports is what the engine does.
//
// Timings are what a profile stores of a pattern: n holds, then n-1 down-down
// latencies, in ms (see Features).
type Profile struct {
	prior    *Prior
	required int
	tp       textProfile
	judge    *judge // for the profile as it stands; nil after a change
}

// NewProfile returns an empty profile that verifies once it has required
// enrollment samples (0 = DefaultEnrollSamples), with prior (nil =
// DefaultPrior()).
func NewProfile(prior *Prior, required int) *Profile {
	if prior == nil {
		prior = DefaultPrior()
	}
	if required <= 0 {
		required = DefaultEnrollSamples
	}
	return &Profile{prior: prior, required: required}
}

var errNotEnrolled = errors.New("local: profile is still enrolling")

// Enroll adds an enrollment sample. Like Submit, it refuses (ErrBadPattern) a
// pattern no human types, one of another length, and a near-copy of a sample.
func (p *Profile) Enroll(t []int32) error {
	if err := p.check(t); err != nil {
		return err
	}
	if len(p.tp.Samples) >= p.required {
		return errors.New("local: profile is enrolled")
	}
	if p.tp.replaysWithin(t, ReplayFloorMS) {
		return badPattern("pattern repeats an enrolled sample")
	}
	p.tp.N = len(t)/2 + 1
	p.tp.Samples = append(p.tp.Samples, slices.Clone(t))
	p.judge = nil
	return nil
}

// Try verifies timings at op and leaves the profile as it is: the verdict an
// attempt would get. ErrBadPattern: a pattern Submit refuses before verifying.
func (p *Profile) Try(t []int32, op OperatingPoint) (Verdict, error) {
	if err := p.check(t); err != nil {
		return Verdict{}, err
	}
	if len(p.tp.Samples) < p.required {
		return Verdict{}, errNotEnrolled
	}
	if p.judge == nil {
		p.judge = p.tp.judge(p.prior)
	}
	return p.judge.decide(t, op), nil
}

// Verify verifies timings at op and records the attempt as Submit does (for the
// replay check, and for the model when confident).
func (p *Profile) Verify(t []int32, op OperatingPoint) (Verdict, error) {
	v, err := p.Try(t, op)
	if err != nil {
		return v, err
	}
	p.tp.record(slices.Clone(t), v)
	p.judge = nil
	return v, nil
}

// check applies Submit's checks to timings: the phrase's length once known,
// and Pattern.Check.
func (p *Profile) check(t []int32) error {
	if len(t)%2 == 0 {
		return badPattern("%d timings: want n holds and n-1 latencies", len(t))
	}
	if p.tp.N != 0 && len(t) != 2*p.tp.N-1 {
		return badPattern("pattern has %d keys, the phrase %d", len(t)/2+1, p.tp.N)
	}
	return PatternOf("", t).Check()
}

// PatternOf returns the pattern whose timings (n holds, then n-1 down-down
// latencies, in ms) are t, for text id textID: the first key goes down at 0.
func PatternOf(textID string, t []int32) Pattern {
	n := len(t)/2 + 1
	p := Pattern{TextID: textID, Keys: make([]Key, n)}
	down := 0
	for i := range n {
		if i > 0 {
			down += int(t[n+i-1])
		}
		p.Keys[i] = Key{Down: down, Up: down + int(t[i])}
	}
	return p
}
