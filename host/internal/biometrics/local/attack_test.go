package local

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// The attacks of issue 12 against the engine, each with owners whose genuine
// repetitions still pass. Owners are simulated typists (synth.go) and CMU
// benchmark subjects (testdata/cmu_owners.json, written by
// host/internal/biometrics/eval/fixture_test.go). `smsplus biometrics eval`
// measures the same attacks over the whole benchmark.

// cmuText stands for the benchmark's password: 11 characters for its 11 keys
// (".tie5Roanl" and Return). The engine looks only at the text's length and id.
const cmuText = ".tie5Roanl\n"

type cmuOwner struct {
	Subject string    `json:"subject"`
	First   [][]int32 `json:"first"`  // session 1, repetitions 1-5
	Logins  [][]int32 `json:"logins"` // first typing of sessions 2-8
	Median  []int32   `json:"median"` // the population-median pattern against this owner
}

func loadCMUOwners(t *testing.T) []cmuOwner {
	t.Helper()
	raw, err := os.ReadFile("testdata/cmu_owners.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct{ Owners []cmuOwner }
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Owners) < 10 {
		t.Fatalf("%d owners in the fixture", len(fx.Owners))
	}
	return fx.Owners
}

// timingsPattern is the sp1 pattern of timings (n holds, then n-1 down-down
// latencies) for text: the first key goes down at 0.
func timingsPattern(text string, t []int32) string {
	n := len(t)/2 + 1
	p := Pattern{TextID: biometrics.TextID(text), Keys: make([]Key, n)}
	down := 0
	for i := range n {
		if i > 0 {
			down += int(t[n+i-1])
		}
		p.Keys[i] = Key{Down: down, Up: down + int(t[i])}
	}
	return p.String()
}

// submit sends timings for text as user's pattern.
func submit(t *testing.T, e *Engine, text string, tm []int32) (biometrics.Result, error) {
	t.Helper()
	return e.Submit(context.Background(), "user", biometrics.TextID(text), text, timingsPattern(text, tm))
}

// accepted reports whether the engine verified and matched timings; a pattern
// refused as bad is not accepted.
func accepted(t *testing.T, e *Engine, text string, tm []int32) bool {
	t.Helper()
	res, err := submit(t, e, text, tm)
	if err != nil && !errors.Is(err, biometrics.ErrBadPattern) {
		t.Fatal(err)
	}
	if err == nil && res.Action != biometrics.ActionVerify {
		t.Fatalf("action %q, want verify", res.Action)
	}
	return err == nil && res.Match
}

// enrollCMU returns an engine with the owner enrolled on its first three
// repetitions (a repetition the engine refuses is typed again, as on the page).
func enrollCMU(t *testing.T, o cmuOwner) *Engine {
	t.Helper()
	e := New(newMemStore(), Options{EnrollSamples: 3})
	n := 0
	for _, s := range o.First {
		if n == 3 {
			break
		}
		res, err := submit(t, e, cmuText, s)
		if errors.Is(err, biometrics.ErrBadPattern) {
			continue
		}
		if err != nil || res.Action != biometrics.ActionEnroll {
			t.Fatalf("%s: enroll: %+v, %v", o.Subject, res, err)
		}
		n++
	}
	if n < 3 {
		t.Fatalf("%s: only %d enrollment samples accepted", o.Subject, n)
	}
	return e
}

// jitter moves every key event but the first key-down by a uniform whole number
// of ms in [-j, j], keeping key order and holds of at least 1 ms: a replay
// script's jitter.
func jitter(tm []int32, j int, rng *rand.Rand) []int32 {
	n := len(tm)/2 + 1
	down, up := make([]int, n), make([]int, n)
	r := func() int { return rng.IntN(2*j+1) - j }
	for i := range n {
		if i > 0 {
			down[i] = down[i-1] + int(tm[n+i-1])
		}
		up[i] = down[i] + int(tm[i])
	}
	for i := range n {
		if i > 0 {
			down[i] = max(down[i]+r(), down[i-1])
		}
		up[i] = max(up[i]+r(), down[i]+1)
	}
	out := make([]int32, len(tm))
	for i := range n {
		out[i] = int32(up[i] - down[i])
		if i > 0 {
			out[n+i-1] = int32(down[i] - down[i-1])
		}
	}
	return out
}

// nearConstant is n keys held hold ms, pressed dd ms apart, both alternating by
// +-alt ms in opposite phase (so the up-down intervals alternate too): a
// phrase-agnostic script.
func nearConstant(n, hold, dd, alt int) []int32 {
	t := make([]int32, 2*n-1)
	for i := range n {
		t[i] = int32(hold + alt*(1-2*(i%2)))
	}
	for i := range n - 1 {
		t[n+i] = int32(dd - alt*(1-2*(i%2)))
	}
	return t
}

// synthTimings is one attempt of typist p on text, as timings.
func synthTimings(t *testing.T, text string, p TimingProfile, rng *rand.Rand) []int32 {
	t.Helper()
	pat, err := ParsePattern(SynthesizePattern(text, p, rng))
	if err != nil {
		t.Fatal(err)
	}
	return pat.timings()
}

// TestAttackNearConstant: a script that types any phrase with a fixed hold and
// key-to-key interval, alternating by a few ms, is refused, for owners of that
// very speed whose rhythm is even (some people's is) as for CMU owners; the
// owners' own typing passes. Today's engine refused only exactly equal
// intervals and, measured in issue 12, accepted this pattern for 69% of the
// benchmark's subjects; here it accepts it for the even typists.
func TestAttackNearConstant(t *testing.T) {
	t.Parallel()
	owners := loadCMUOwners(t)
	rng := rand.New(rand.NewPCG(21, 21))
	for _, alt := range []int{0, 2, 3, 5, 8} {
		for _, o := range owners {
			e := enrollCMU(t, o)
			if accepted(t, e, cmuText, nearConstant(len(cmuText), 83, 225, alt)) {
				t.Errorf("alternation %d ms: accepted for CMU owner %s", alt, o.Subject)
			}
		}
		// Simulated owners typing at that very speed, more or less evenly.
		for _, even := range []float64{0.08, 0.12, 0.2} {
			p := TimingProfile{HoldMS: 83, FlightMS: 142, Rhythm: 5, RhythmSpread: even}
			e := enrollSynth(t, testText, p, 3, rng)
			if accepted(t, e, testText, nearConstant(len(testText), 83, 225, alt)) {
				t.Errorf("alternation %d ms: accepted for a simulated owner of that speed (rhythm spread %v)", alt, even)
			}
			if !acceptedWithin(t, e, testText, p, rng, 3) {
				t.Errorf("alternation %d ms: the simulated owner (rhythm spread %v) does not pass", alt, even)
			}
		}
	}
	passes := 0
	for _, o := range owners {
		if accepted(t, enrollCMU(t, o), cmuText, o.Logins[0]) {
			passes++
		}
	}
	if passes < len(owners)*3/4 {
		t.Errorf("%d of %d CMU owners pass their next login", passes, len(owners))
	}
}

// acceptedWithin reports whether one of tries fresh attempts of typist p
// matches.
func acceptedWithin(t *testing.T, e *Engine, text string, p TimingProfile, rng *rand.Rand, tries int) bool {
	t.Helper()
	for range tries {
		if accepted(t, e, text, synthTimings(t, text, p, rng)) {
			return true
		}
	}
	return false
}

// TestAttackReplay: a captured genuine pattern sent again with each key event
// moved by a few ms is refused, whether the engine accepted the original as a
// login or kept it as an enrollment sample; the owner's next genuine login
// still passes. Today's engine accepted +-8 ms replays 99% of the time.
func TestAttackReplay(t *testing.T) {
	t.Parallel()
	owners := loadCMUOwners(t)
	rng := rand.New(rand.NewPCG(22, 22))
	tests := []struct {
		name   string
		jitter int
	}{
		{"exact", 0}, {"+-4 ms", 4}, {"+-8 ms", 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(tc.jitter), 23))
			nextPasses := 0
			for _, o := range owners {
				e := enrollCMU(t, o)
				captured := o.First[2] // an enrollment sample
				for i, login := range o.Logins[:4] {
					for range 3 {
						if accepted(t, e, cmuText, jitter(captured, tc.jitter, rng)) {
							t.Errorf("owner %s, before login %d: a replay accepted", o.Subject, i+1)
						}
					}
					if accepted(t, e, cmuText, login) {
						captured = login
						if i == 3 {
							nextPasses++
						}
					}
				}
			}
			if nextPasses < len(owners)*3/4 {
				t.Errorf("after the replays, %d of %d owners pass their login", nextPasses, len(owners))
			}
		})
	}
	// +-20 ms moves timings by up to 40 ms, as far as a consistent typist's own
	// retyping: the limit follows how closely this owner retypes (replay.go).
	// A deliberate typist's (typistB) is refused; so is each CMU owner's for
	// most captures.
	t.Run("+-20 ms", func(t *testing.T) {
		t.Parallel()
		e := enrollSynth(t, testText, typistB, 3, rng)
		var captured []int32
		for captured == nil {
			if tm := synthTimings(t, testText, typistB, rng); accepted(t, e, testText, tm) {
				captured = tm
			}
		}
		for i := range 20 {
			if accepted(t, e, testText, jitter(captured, 20, rng)) {
				t.Errorf("replay %d of a simulated owner's login accepted", i+1)
			}
		}
		if !acceptedWithin(t, e, testText, typistB, rng, 3) {
			t.Error("the simulated owner no longer passes")
		}
		caught, tried := 0, 0
		for _, o := range owners {
			e := enrollCMU(t, o)
			captured := o.First[2]
			for _, login := range o.Logins[:4] {
				if !accepted(t, e, cmuText, jitter(captured, 20, rng)) {
					caught++
				}
				tried++
				if accepted(t, e, cmuText, login) {
					captured = login
				}
			}
		}
		if caught < tried*3/4 {
			t.Errorf("CMU owners: %d of %d +-20 ms replays refused", caught, tried)
		}
	})
}

// TestAttackPopulationMedian: a pattern built from a population's median
// timings, from typists more practiced (faster) than the owner was when
// enrolling, is refused; the owner passes. Today's engine forgave any deviation
// toward faster typing (the median of a practiced population lies there) and
// accepted the benchmark's median pattern for 88% of its subjects.
func TestAttackPopulationMedian(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(24, 24))
	const typists = 41
	refused := 0
	for i, text := range synthTexts {
		// The population: practiced typists, 25% faster than the owner.
		var pop [][]int32
		for j := range typists {
			p := TimingProfile{HoldMS: 90, FlightMS: 110, Rhythm: uint64(1000 + 100*i + j)}
			pop = append(pop, synthTimings(t, text, p, rng))
		}
		median := make([]int32, len(pop[0]))
		for k := range median {
			col := make([]float64, len(pop))
			for j := range pop {
				col[j] = float64(pop[j][k])
			}
			median[k] = int32(quantile(col, 0.5))
		}
		owner := TimingProfile{HoldMS: 95, FlightMS: 150, Rhythm: uint64(7 + i)}
		e := enrollSynth(t, text, owner, 3, rng)
		if !accepted(t, e, text, median) {
			refused++
		}
		if !acceptedWithin(t, e, text, owner, rng, 3) {
			t.Errorf("%q: the owner does not pass within three attempts", text)
		}
	}
	// On the benchmark the engine still accepts the median for most subjects
	// (docs/page.md): their first three typings are clumsier than their later
	// ones, so the median lies where they are heading. Owners with a rhythm of
	// their own refuse it.
	if refused*4 < len(synthTexts)*3 {
		t.Errorf("the population-median pattern refused for %d of %d owners, want 3 in 4", refused, len(synthTexts))
	}
}

// TestAttackZeroEffortCMU: other people's ordinary typing of the phrase (their
// first five typings), each attempt against a fresh profile of each CMU owner,
// is mostly refused, and the owners' logins pass. Today's engine accepted 40%
// of these attempts (32% on the whole benchmark, issue 12).
func TestAttackZeroEffortCMU(t *testing.T) {
	t.Parallel()
	owners := loadCMUOwners(t)
	acc, tried, genuine := 0, 0, 0
	for i, o := range owners {
		for j, other := range owners {
			if j == i {
				continue
			}
			for _, s := range other.First {
				if accepted(t, enrollCMU(t, o), cmuText, s) {
					acc++
				}
				tried++
			}
		}
		e := enrollCMU(t, o)
		for _, login := range o.Logins {
			if accepted(t, e, cmuText, login) {
				genuine++
			}
		}
	}
	t.Logf("zero-effort: %d of %d accepted; genuine logins: %d of %d", acc, tried, genuine, len(owners)*7)
	if acc*3 > tried {
		t.Errorf("zero-effort impostors: %d of %d attempts accepted, want at most a third", acc, tried)
	}
	if float64(genuine) < 0.85*float64(len(owners)*7) {
		t.Errorf("genuine logins: %d of %d accepted, want at least 85%%", genuine, len(owners)*7)
	}
}
