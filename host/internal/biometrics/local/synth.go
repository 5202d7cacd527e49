package local

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// TimingProfile describes a simulated typist, for tests here and in other packages
// (the end-to-end test types phrases with it). Zero fields take the defaults noted.
type TimingProfile struct {
	HoldMS   float64 // mean time a key is held down; 0 = 100
	FlightMS float64 // mean time from releasing a key to pressing the next; 0 = 150
	// Rhythm seeds the typist's habits: how much longer or shorter than the mean
	// each key is held and each transition takes, per position and character pair
	// of the phrase. The same seed gives the same habits on the same phrase.
	Rhythm uint64
	// RhythmSpread is the log-scale SD of those habits; 0 = 0.3.
	RhythmSpread float64
	// JitterSD is the log-scale SD of the noise on every timing of one attempt;
	// 0 = 0.12 (about 12%).
	JitterSD float64
	// TempoSD is the log-scale SD of the overall speed of one attempt against
	// another; 0 = 0.05.
	TempoSD float64
}

func (p TimingProfile) withDefaults() TimingProfile {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&p.HoldMS, 100)
	def(&p.FlightMS, 150)
	def(&p.RhythmSpread, 0.3)
	def(&p.JitterSD, 0.12)
	def(&p.TempoSD, 0.05)
	return p
}

// habit is the typist's fixed factor for one timing: log-normal around 1, a
// deterministic function of the rhythm seed, the kind of timing, the position and
// the characters involved.
func (p TimingProfile) habit(kind byte, pos int, prev, cur rune) float64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range []uint64{p.Rhythm, uint64(kind), uint64(pos), uint64(prev), uint64(cur)} {
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		h.Write(b[:])
	}
	r := rand.New(rand.NewPCG(h.Sum64(), p.Rhythm))
	return math.Exp(p.RhythmSpread * r.NormFloat64())
}

// SynthesizePattern returns a pattern in the sp1 format for text, as the typist p
// might type it once; rng supplies the attempt's randomness.
func SynthesizePattern(text string, p TimingProfile, rng *rand.Rand) string {
	p = p.withDefaults()
	n := utf8.RuneCountInString(text)
	pat := Pattern{TextID: biometrics.TextID(text), Keys: make([]Key, 0, n)}
	tempo := math.Exp(p.TempoSD * rng.NormFloat64())
	noise := func() float64 { return tempo * math.Exp(p.JitterSD*rng.NormFloat64()) }

	var t float64 // key-down time of the current key
	prev := rune(0)
	i := 0
	for _, c := range text {
		if i > 0 {
			t += p.FlightMS * p.habit('f', i, prev, c) * noise()
		}
		hold := p.HoldMS * p.habit('h', i, 0, c) * noise()
		d := int(math.Round(t))
		h := min(max(int(math.Round(hold)), 1), maxHoldMS)
		pat.Keys = append(pat.Keys, Key{Down: d, Up: d + h})
		t += hold
		prev = c
		i++
	}
	return pat.String()
}
