package e2e

import (
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// Typist types phrases with a fixed timing profile, as one person would, in the
// local engine's pattern format. The page shows the phrase as an image, so a
// test cannot read it: it types a stand-in of the same length and puts the page's
// text id in the pattern (the recorder sends timings, never characters). A Typist
// is safe for concurrent use.
type Typist struct {
	mu      sync.Mutex
	profile local.TimingProfile
	rng     *rand.Rand
}

// NewTypist returns a typist with profile p; seed drives the attempt-to-attempt
// variation.
func NewTypist(p local.TimingProfile, seed uint64) *Typist {
	return &Typist{profile: p, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Owner is a typist with the rhythm the harness uses for phone owners.
func Owner(seed uint64) *Typist {
	return NewTypist(local.TimingProfile{HoldMS: 95, FlightMS: 160, Rhythm: 1}, seed)
}

// Impostor is a typist clearly unlike Owner: slower, with other habits.
func Impostor(seed uint64) *Typist {
	return NewTypist(local.TimingProfile{HoldMS: 170, FlightMS: 330, Rhythm: 99}, seed)
}

// Type returns one attempt at a phrase of n characters with the page's textID.
func (ty *Typist) Type(textID string, n int) string {
	ty.mu.Lock()
	pat := local.SynthesizePattern(strings.Repeat("e", n), ty.profile, ty.rng)
	ty.mu.Unlock()
	parts := strings.SplitN(pat, ":", 3)
	return parts[0] + ":" + textID + ":" + parts[2]
}

// TypeN returns n attempts.
func (ty *Typist) TypeN(count int, textID string, n int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = ty.Type(textID, n)
	}
	return out
}
