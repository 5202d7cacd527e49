package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// Phrases of the lengths SMS+ hands out (10 to 24 characters).
var synthTexts = []string{
	"tree lamp",
	"blue river",
	"quiet horse run",
	"milk under paper",
	"sand cloud music",
	"happy fish jumps",
	"bright window farm",
	"small garden table",
	"seven green apples",
	"orange tiger smile",
}

var (
	typistA = TimingProfile{HoldMS: 90, FlightMS: 150, Rhythm: 11}
	typistB = TimingProfile{HoldMS: 160, FlightMS: 320, Rhythm: 77}
)

// enrollSynth enrolls user with k patterns of p on text and returns the engine.
// A sample the engine refuses as a near-copy of an earlier one is typed again,
// as on the page (a consistent simulated typist on a short phrase now and then
// comes within the replay floor).
func enrollSynth(t testing.TB, text string, p TimingProfile, k int, rng *rand.Rand) *Engine {
	t.Helper()
	e := New(newMemStore(), Options{EnrollSamples: k})
	textID := biometrics.TextID(text)
	for i := range k {
		res, err := e.Submit(context.Background(), "user", textID, text, SynthesizePattern(text, p, rng))
		if errors.Is(err, biometrics.ErrBadPattern) {
			res, err = e.Submit(context.Background(), "user", textID, text, SynthesizePattern(text, p, rng))
		}
		if err != nil {
			t.Fatalf("enroll sample %d: %v", i+1, err)
		}
		if res.Action != biometrics.ActionEnroll {
			t.Fatalf("enroll sample %d: action %q", i+1, res.Action)
		}
	}
	return e
}

// acceptRate enrolls a fresh engine with `enroll` and verifies up to `tries`
// patterns of `probe` until one matches, trials times, and returns the share of
// trials where the first attempt matched and where one of the tries did.
func acceptRate(t *testing.T, enroll, probe TimingProfile, trials, tries int, seed uint64) (first, within float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var firsts, withins int
	for i := range trials {
		text := synthTexts[i%len(synthTexts)]
		e := enrollSynth(t, text, enroll, 3, rng)
		for try := range tries {
			res, err := e.Submit(context.Background(), "user", biometrics.TextID(text), text, SynthesizePattern(text, probe, rng))
			if err != nil {
				t.Fatalf("trial %d: %v", i, err)
			}
			if res.Action != biometrics.ActionVerify {
				t.Fatalf("trial %d: action %q", i, res.Action)
			}
			if res.Match {
				if try == 0 {
					firsts++
				}
				withins++
				break
			}
		}
	}
	return float64(firsts) / float64(trials), float64(withins) / float64(trials)
}

// TestSyntheticAcceptance: a consistent typist is accepted at the first attempt,
// and within the three attempts a challenge allows
// (PER_CHALLENGE_MAX_FAILED_ATTEMPTS) nearly always.
func TestSyntheticAcceptance(t *testing.T) {
	t.Parallel()
	const trials = 200
	for name, p := range map[string]TimingProfile{"A": typistA, "B": typistB} {
		first, within := acceptRate(t, p, p, trials, 3, 1)
		t.Logf("typist %s verifies as itself: %.1f%% at the first attempt, %.1f%% within three", name, 100*first, 100*within)
		if first < 0.95 {
			t.Errorf("typist %s accepted at the first attempt %.1f%%, want >= 95%%", name, 100*first)
		}
		if within < 0.99 {
			t.Errorf("typist %s accepted within three attempts %.1f%%, want >= 99%%", name, 100*within)
		}
	}
}

func TestSyntheticRejection(t *testing.T) {
	t.Parallel()
	const trials = 200
	for name, c := range map[string]struct{ enroll, probe TimingProfile }{
		"B as A": {typistA, typistB},
		"A as B": {typistB, typistA},
	} {
		rate, within := acceptRate(t, c.enroll, c.probe, trials, 3, 2)
		t.Logf("%s: %.1f%% rejected, %.1f%% got in within three attempts", name, 100*(1-rate), 100*within)
		if rate > 0.01 || within > 0.02 {
			t.Errorf("%s: accepted %.1f%% of an impostor's patterns (%.1f%% within three), want <= 1%% (2%%)", name, 100*rate, 100*within)
		}
	}
}

// TestSyntheticCloseImpostor: typists with the owner's speed but other habits
// (the hard case for any timing detector: only the rhythm tells them apart)
// are refused nearly always. An engine blind to the rhythm would take them for
// the owner, whom it accepts at the first attempt (TestSyntheticAcceptance);
// the local engine lets in about 6% at the first attempt and 11% within the
// three a challenge allows (this seed). The bounds leave room for tuning, not
// for losing the rhythm.
func TestSyntheticCloseImpostor(t *testing.T) {
	t.Parallel()
	const trials = 200
	var first, within float64
	rhythms := []uint64{5, 12, 40}
	for _, r := range rhythms {
		close := typistA
		close.Rhythm = r
		f, w := acceptRate(t, typistA, close, trials, 3, 3)
		t.Logf("same speed, rhythm %d: %.1f%% rejected, %.1f%% got in within three attempts", r, 100*(1-f), 100*w)
		first += f / float64(len(rhythms))
		within += w / float64(len(rhythms))
	}
	if first > 0.10 || within > 0.20 {
		t.Errorf("close impostors got in %.1f%% at the first attempt, %.1f%% within three; want <= 10%% and <= 20%%", 100*first, 100*within)
	}
}

func TestSynthesizePatternIsValid(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 4))
	for _, text := range synthTexts {
		for _, p := range []TimingProfile{typistA, typistB, {}} {
			tp := SynthesizePattern(text, p, rng)
			pat, err := ParsePattern(tp)
			if err != nil {
				t.Fatalf("%q: %v", tp, err)
			}
			if err := pat.Check(); err != nil {
				t.Fatalf("%q: %v", tp, err)
			}
			if pat.TextID != biometrics.TextID(text) || len(pat.Keys) != len(text) {
				t.Fatalf("%q: text id or length wrong for %q", tp, text)
			}
		}
	}
}

func ExampleSynthesizePattern() {
	rng := rand.New(rand.NewPCG(1, 2))
	fmt.Println(SynthesizePattern("abc", TimingProfile{HoldMS: 90, FlightMS: 150, Rhythm: 1}, rng))
	// Output: sp1:4078610940:3:0,112;319,396;553,636
}
