package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/storage"
)

const testText = "quiet horse run"

var testTextID = biometrics.TextID(testText)

func newTestEngine(t *testing.T, k int) (*Engine, *memStore) {
	t.Helper()
	s := newMemStore()
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return New(s, Options{EnrollSamples: k, Now: func() time.Time { return fixed }}), s
}

func TestEngineName(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t, 0)
	if e.Name() != "local" {
		t.Errorf("Name() = %q", e.Name())
	}
}

func TestEnrollmentProgression(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range []int{0, 1, 3, 5} {
		e, _ := newTestEngine(t, k)
		want := k
		if want == 0 {
			want = 3
		}
		got, err := e.Enrollment(ctx, "u1", testTextID)
		if err != nil {
			t.Fatal(err)
		}
		if got != (biometrics.Enrollment{Samples: 0, Required: want}) {
			t.Fatalf("k=%d: initial enrollment %+v", k, got)
		}
		rng := rand.New(rand.NewPCG(uint64(k), 1))
		for i := 1; i <= want; i++ {
			res, err := e.Submit(ctx, "u1", testTextID, testText, SynthesizePattern(testText, typistA, rng))
			if err != nil {
				t.Fatal(err)
			}
			wantRes := biometrics.Result{
				Action: biometrics.ActionEnroll, Match: true,
				Enrollment: biometrics.Enrollment{Samples: i, Required: want, Enrolled: i == want},
			}
			if !reflect.DeepEqual(res, wantRes) {
				t.Fatalf("k=%d sample %d: got %+v, want %+v", k, i, res, wantRes)
			}
			got, err := e.Enrollment(ctx, "u1", testTextID)
			if err != nil || got != wantRes.Enrollment {
				t.Fatalf("k=%d sample %d: Enrollment() = %+v, %v", k, i, got, err)
			}
		}
		res, err := e.Submit(ctx, "u1", testTextID, testText, SynthesizePattern(testText, typistA, rng))
		if err != nil {
			t.Fatal(err)
		}
		if res.Action != biometrics.ActionVerify || !res.Match || res.Score < 1 {
			t.Errorf("k=%d: verify after enrollment: %+v", k, res)
		}
		if res.Enrollment.Samples != want {
			t.Errorf("k=%d: verify changed the profile: %+v", k, res.Enrollment)
		}
		// Other users and other texts are not enrolled.
		if got, _ := e.Enrollment(ctx, "u2", testTextID); got.Samples != 0 {
			t.Errorf("k=%d: other user has %+v", k, got)
		}
		if got, _ := e.Enrollment(ctx, "u1", biometrics.TextID("other text")); got.Samples != 0 {
			t.Errorf("k=%d: other text has %+v", k, got)
		}
	}
}

// storedText returns the stored profile of the test text.
func storedText(t *testing.T, s *memStore, user string) *textProfile {
	t.Helper()
	raw, err := s.Get(context.Background(), storage.Profiles, user)
	if err != nil {
		t.Fatal(err)
	}
	var p profile
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p.Texts[testTextID]
}

func TestVerifyUpdatesProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 3 {
		if _, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	enrolled := storedText(t, s, "u").Samples

	// An impostor: refused, leaves its timings among the failed attempts and
	// nothing else.
	res, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistB, rng))
	if err != nil || res.Match {
		t.Fatalf("impostor: %+v, %v", res, err)
	}
	tp := storedText(t, s, "u")
	if len(tp.Failed) != 1 || len(tp.Passed) != 0 || len(tp.Recent) != 0 || !reflect.DeepEqual(tp.Samples, enrolled) {
		t.Fatalf("after an impostor: %d failed, %d passed, %d recent, samples changed %t", len(tp.Failed), len(tp.Passed), len(tp.Recent), !reflect.DeepEqual(tp.Samples, enrolled))
	}

	// The owner, many times: confident successes join Recent, at most MaxRecent,
	// and never replace the enrollment samples.
	matches, kept := 0, 0
	for range 40 {
		res, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng))
		if err != nil {
			t.Fatal(err)
		}
		if res.Action != biometrics.ActionVerify || res.Enrollment.Samples != 3 {
			t.Fatalf("owner: %+v", res)
		}
		if res.Match {
			matches++
			if res.Score < 1 {
				t.Errorf("a match scored %v < 1", res.Score)
			}
		} else if res.Score >= 1 {
			t.Errorf("a refusal scored %v >= 1", res.Score)
		}
		before := len(tp.Recent)
		tp = storedText(t, s, "u")
		if len(tp.Recent) > before {
			kept++
			if !res.Match {
				t.Error("a refused attempt was kept")
			}
		}
	}
	if matches < 30 || kept == 0 {
		t.Errorf("owner matched %d of 40, %d kept", matches, kept)
	}
	if len(tp.Recent) > MaxRecent || len(tp.Passed) != min(matches, maxPassed) || len(tp.Failed) != min(41-matches, maxFailed) || !reflect.DeepEqual(tp.Samples, enrolled) {
		t.Errorf("after 41 attempts (%d matches): %d recent, %d passed, %d failed, samples changed %t",
			matches, len(tp.Recent), len(tp.Passed), len(tp.Failed), !reflect.DeepEqual(tp.Samples, enrolled))
	}
}

// TestPoisoningGuard: someone close to the owner who keeps trying cannot walk
// the profile toward themselves: the enrollment samples never change, at most
// MaxRecent successes are kept, and each of them is one the enrollment samples
// alone accept.
func TestPoisoningGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(10, 10))
	for range 3 {
		if _, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	enrolled := storedText(t, s, "u").Samples
	// The owner's habits, typed 5% slower, often matches; the owner logs in now
	// and then.
	close := TimingProfile{HoldMS: 95, FlightMS: 158, Rhythm: typistA.Rhythm}
	matches := 0
	for i := range 200 {
		p := close
		if i%10 == 0 {
			p = typistA
		}
		res, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, p, rng))
		if err != nil {
			t.Fatal(err)
		}
		if res.Match && p == close {
			matches++
		}
	}
	tp := storedText(t, s, "u")
	if !reflect.DeepEqual(tp.Samples, enrolled) {
		t.Error("the enrollment samples changed")
	}
	if len(tp.Recent) == 0 || len(tp.Recent) > MaxRecent {
		t.Fatalf("%d recent samples, want 1..%d", len(tp.Recent), MaxRecent)
	}
	orig := e.prior.Fit(featureRows(tp.Samples))
	for _, r := range tp.Recent {
		if orig.Score(Features(r)) > orig.Accept() {
			t.Errorf("kept a sample the enrollment samples refuse: %v", r)
		}
	}
	t.Logf("close typist matched %d of 180; %d samples kept", matches, len(tp.Recent))
}

// TestReplayOfAttemptRefused: a verification attempt, matched or not, cannot be
// sent again.
func TestReplayOfAttemptRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(11, 11))
	for range 3 {
		if _, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	var matched string
	for matched == "" {
		tp := SynthesizePattern(testText, typistA, rng)
		res, err := e.Submit(ctx, "u", testTextID, testText, tp)
		if err != nil {
			t.Fatal(err)
		}
		if res.Match {
			matched = tp
		}
	}
	refused := SynthesizePattern(testText, typistB, rng)
	if res, err := e.Submit(ctx, "u", testTextID, testText, refused); err != nil || res.Match {
		t.Fatalf("impostor: %+v, %v", res, err)
	}
	for name, tp := range map[string]string{"matched attempt": matched, "refused attempt": refused} {
		res, err := e.Submit(ctx, "u", testTextID, testText, tp)
		if err != nil || res.Action != biometrics.ActionVerify || res.Match {
			t.Errorf("replay of the %s: %+v, %v", name, res, err)
		}
	}
	// A fresh attempt of the owner still matches (the engine is not refusing
	// everything).
	ok := false
	for range 5 {
		res, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng))
		if err != nil {
			t.Fatal(err)
		}
		ok = ok || res.Match
	}
	if !ok {
		t.Error("the owner no longer matches")
	}
}

func TestDuplicateEnrollmentSampleRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newTestEngine(t, 3)
	tp := SynthesizePattern(testText, typistA, rand.New(rand.NewPCG(6, 6)))
	if _, err := e.Submit(ctx, "u", testTextID, testText, tp); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Submit(ctx, "u", testTextID, testText, tp); !errors.Is(err, biometrics.ErrBadPattern) {
		t.Fatalf("second copy of a sample: %v, want ErrBadPattern", err)
	}
	if got, _ := e.Enrollment(ctx, "u", testTextID); got.Samples != 1 {
		t.Errorf("samples = %d, want 1", got.Samples)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 2)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, user := range []string{"u1", "u2"} {
		for _, text := range []string{testText, "blue river"} {
			if _, err := e.Submit(ctx, user, biometrics.TextID(text), text, SynthesizePattern(text, typistA, rng)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Delete(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{testText, "blue river"} {
		if got, _ := e.Enrollment(ctx, "u1", biometrics.TextID(text)); got.Samples != 0 {
			t.Errorf("after Delete, u1 %q: %+v", text, got)
		}
		if got, _ := e.Enrollment(ctx, "u2", biometrics.TextID(text)); got.Samples != 1 {
			t.Errorf("Delete(u1) touched u2 %q: %+v", text, got)
		}
	}
	if keys := s.keys(storage.Profiles); !reflect.DeepEqual(keys, []string{"u2"}) {
		t.Errorf("profiles left: %v", keys)
	}
	if err := e.Delete(ctx, "nobody"); err != nil {
		t.Errorf("Delete of a missing profile: %v", err)
	}
	// A deleted user enrolls again from scratch.
	res, err := e.Submit(ctx, "u1", testTextID, testText, SynthesizePattern(testText, typistB, rng))
	if err != nil || res.Action != biometrics.ActionEnroll || res.Enrollment.Samples != 1 {
		t.Errorf("re-enroll after Delete: %+v, %v", res, err)
	}
}

func TestProfileStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(8, 8))
	texts := []string{"tree lamp", "blue river", "quiet horse run", "milk under paper", "sand cloud music", "happy fish jumps"}
	for i, text := range texts {
		e.now = func() time.Time { return time.Unix(int64(1000+i), 0) }
		if _, err := e.Submit(ctx, "u", biometrics.TextID(text), text, SynthesizePattern(text, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := s.Get(ctx, storage.Profiles, "u")
	if err != nil {
		t.Fatal(err)
	}
	var p profile
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.V != profileVersion || len(p.Texts) != maxTexts {
		t.Fatalf("profile v%d with %d texts, want v%d with %d", p.V, len(p.Texts), profileVersion, maxTexts)
	}
	for _, text := range texts[:len(texts)-maxTexts] {
		if _, ok := p.Texts[biometrics.TextID(text)]; ok {
			t.Errorf("oldest text %q kept", text)
		}
	}
	tp := p.Texts[biometrics.TextID("happy fish jumps")]
	if tp == nil || tp.N != 16 || len(tp.Samples) != 1 || len(tp.Samples[0]) != 2*16-1 || tp.Updated != 1005 {
		t.Errorf("stored text: %+v", tp)
	}
	// No TTL: the record is still there much later.
	s.now = func() time.Time { return time.Now().Add(10 * 365 * 24 * time.Hour) }
	if _, err := s.Get(ctx, storage.Profiles, "u"); err != nil {
		t.Errorf("profile expired: %v", err)
	}
}

func TestStoreFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 3)
	s.fail = errors.Join(storage.ErrUnavailable, errors.New("connection refused"))
	tp := SynthesizePattern(testText, typistA, rand.New(rand.NewPCG(1, 1)))
	if _, err := e.Submit(ctx, "u", testTextID, testText, tp); !errors.Is(err, biometrics.ErrUnavailable) || !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Submit: %v", err)
	}
	if _, err := e.Enrollment(ctx, "u", testTextID); !errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("Enrollment: %v", err)
	}
	if err := e.Delete(ctx, "u"); !errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("Delete: %v", err)
	}

	// A corrupt profile fails closed instead of letting someone enroll anew.
	s.fail = nil
	_ = s.Put(ctx, storage.Profiles, "u", []byte("{not json"), 0)
	if _, err := e.Submit(ctx, "u", testTextID, testText, tp); !errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("Submit on a corrupt profile: %v", err)
	}
	_ = s.Put(ctx, storage.Profiles, "u", []byte(`{"v":99,"texts":{}}`), 0)
	if _, err := e.Enrollment(ctx, "u", testTextID); !errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("Enrollment on a newer profile: %v", err)
	}
}

func TestConcurrentEnrollment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newTestEngine(t, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		tp := SynthesizePattern(testText, typistA, rand.New(rand.NewPCG(uint64(i), 42)))
		wg.Go(func() {
			if _, err := e.Submit(ctx, "u", testTextID, testText, tp); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := e.Enrollment(ctx, "u", testTextID)
	if err != nil || got != (biometrics.Enrollment{Samples: 8, Required: 8, Enrolled: true}) {
		t.Errorf("after 8 concurrent samples: %+v, %v", got, err)
	}
}

func enrollUser(t *testing.T, e *Engine, user string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	for range e.required {
		if _, err := e.Submit(context.Background(), user, testTextID, testText, SynthesizePattern(testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSealedProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	e := New(s, Options{EnrollSamples: 3, Sealer: sealer})
	enrollUser(t, e, "u", 1)

	raw, _ := s.Get(ctx, storage.Profiles, "u")
	if len(raw) == 0 || raw[0] == '{' || bytes.Contains(raw, []byte("samples")) {
		t.Fatalf("profile stored in the clear: %.80q", raw)
	}
	// The same key reads it back.
	e2 := New(s, Options{EnrollSamples: 3, Sealer: sealer})
	if got, err := e2.Enrollment(ctx, "u", testTextID); err != nil || !got.Enrolled {
		t.Errorf("with the key: %+v, %v", got, err)
	}
	// Without the key, with another key, or moved to another user's record, it
	// does not open, and the engine fails closed rather than starting afresh.
	other, _ := seal.New(bytes.Repeat([]byte{8}, 32))
	_ = s.Put(ctx, storage.Profiles, "v", raw, 0)
	for name, c := range map[string]struct {
		e    *Engine
		user string
	}{
		"no key":       {New(s, Options{EnrollSamples: 3}), "u"},
		"other key":    {New(s, Options{EnrollSamples: 3, Sealer: other}), "u"},
		"other record": {e, "v"},
	} {
		if _, err := c.e.Enrollment(ctx, c.user, testTextID); !errors.Is(err, biometrics.ErrUnavailable) {
			t.Errorf("%s: Enrollment = %v, want ErrUnavailable", name, err)
		}
		tp := SynthesizePattern(testText, typistA, rand.New(rand.NewPCG(2, 2)))
		if _, err := c.e.Submit(ctx, c.user, testTextID, testText, tp); !errors.Is(err, biometrics.ErrUnavailable) {
			t.Errorf("%s: Submit = %v, want ErrUnavailable", name, err)
		}
	}
	// Delete removes it.
	if err := e.Delete(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, storage.Profiles, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
}

// TestPlainProfileSealedOnWrite: profiles written before a data key was set (plain
// JSON, profile version 1) still work and are sealed at their next write.
func TestPlainProfileSealedOnWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newMemStore()
	rng := rand.New(rand.NewPCG(3, 3))
	var v1 struct {
		V     int                       `json:"v"`
		Texts map[string]map[string]any `json:"texts"`
	}
	v1.V = 1
	var samples [][]int32
	for range 3 {
		p, _ := ParsePattern(SynthesizePattern(testText, typistA, rng))
		samples = append(samples, p.timings())
	}
	v1.Texts = map[string]map[string]any{testTextID: {"n": len(testText), "samples": samples, "updated": 1}}
	raw, _ := json.Marshal(v1)
	_ = s.Put(ctx, storage.Profiles, "u", raw, 0)

	sealer, _ := seal.New(bytes.Repeat([]byte{9}, 32))
	e := New(s, Options{EnrollSamples: 3, Sealer: sealer})
	if got, err := e.Enrollment(ctx, "u", testTextID); err != nil || got != (biometrics.Enrollment{Samples: 3, Required: 3, Enrolled: true}) {
		t.Fatalf("version 1 plain profile: %+v, %v", got, err)
	}
	res, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng))
	if err != nil || res.Action != biometrics.ActionVerify {
		t.Fatalf("verify on a version 1 profile: %+v, %v", res, err)
	}
	raw, _ = s.Get(ctx, storage.Profiles, "u")
	if raw[0] == '{' {
		t.Error("the profile was not sealed at its next write")
	}
	if got, err := e.Enrollment(ctx, "u", testTextID); err != nil || got.Samples != 3 {
		t.Errorf("after resealing: %+v, %v", got, err)
	}
}

// TestSealerWithoutKey: a Sealer without a key frames the JSON but does not
// encrypt it; the engine reads its own writes.
func TestSealerWithoutKey(t *testing.T) {
	t.Parallel()
	sealer, _ := seal.New(nil)
	s := newMemStore()
	e := New(s, Options{EnrollSamples: 2, Sealer: sealer})
	enrollUser(t, e, "u", 4)
	if got, err := e.Enrollment(context.Background(), "u", testTextID); err != nil || !got.Enrolled {
		t.Errorf("Enrollment = %+v, %v", got, err)
	}
}

// TestSubmitStrict: a strict verification needs an enrolled user, and accepts
// only what the standard one also accepts, and fewer of an impostor's attempts.
func TestSubmitStrict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(31, 31))
	if _, err := e.SubmitStrict(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng)); !errors.Is(err, biometrics.ErrBadPattern) {
		t.Fatalf("strict verification of a user without a profile: %v, want ErrBadPattern", err)
	}
	for range 3 {
		if _, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.SubmitStrict(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng))
	if err != nil || res.Action != biometrics.ActionVerify || res.Enrollment.Samples != 3 {
		t.Fatalf("strict verification: %+v, %v", res, err)
	}
	// The same attempts at both points, on a profile that does not change.
	p := NewProfile(nil, 3)
	for range 3 {
		if err := p.Enroll(synthTimings(t, testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	close := TimingProfile{HoldMS: 100, FlightMS: 170, Rhythm: typistA.Rhythm + 1}
	var standard, strict [2]int
	for i := range 400 {
		who := typistA
		if i%2 == 1 {
			who = close
		}
		tm := synthTimings(t, testText, who, rng)
		s, err1 := p.Try(tm, Standard)
		st, err2 := p.Try(tm, Strict)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if st.Match && !s.Match {
			t.Fatalf("strict accepts what standard refuses: %+v %+v", st, s)
		}
		if s.Match {
			standard[i%2]++
		}
		if st.Match {
			strict[i%2]++
		}
	}
	t.Logf("owner: %d standard, %d strict of 200; a close typist: %d standard, %d strict", standard[0], strict[0], standard[1], strict[1])
	if strict[1] >= standard[1] || strict[0] < 100 {
		t.Errorf("strict accepts %d of a close typist's attempts (standard %d) and %d of the owner's", strict[1], standard[1], strict[0])
	}
}

// TestProfileVersions: a version 2 profile (fingerprints of attempts) is read,
// still refuses a replay of a fingerprinted attempt, and is written back as
// version 3 with the fingerprints aging out; a profile from a newer version
// fails closed and says so.
func TestProfileVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(32, 32))
	tp := &textProfile{N: len(testText)}
	for range 3 {
		tp.Samples = append(tp.Samples, synthTimings(t, testText, typistA, rng))
	}
	attempt := synthTimings(t, testText, typistA, rng)
	tp.Seen = []fingerprint{newFingerprint(synthTimings(t, testText, typistB, rng)), newFingerprint(attempt)}
	raw, err := json.Marshal(map[string]any{"v": 2, "texts": map[string]*textProfile{testTextID: tp}})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Put(ctx, storage.Profiles, "user", raw, 0) // the user submit sends as
	res, err := submit(t, e, testText, attempt)
	// Refused as a replay: not scored.
	if err != nil || res.Action != biometrics.ActionVerify || res.Match || res.Score != 0 {
		t.Fatalf("replay of an attempt fingerprinted by version 2: %+v, %v", res, err)
	}
	var fresh []int32
	for fresh == nil {
		if tm := synthTimings(t, testText, typistA, rng); accepted(t, e, testText, tm) {
			fresh = tm
		}
	}
	got := storedText(t, s, "user")
	var p profile
	raw, _ = s.Get(ctx, storage.Profiles, "user")
	_ = json.Unmarshal(raw, &p)
	if p.V != profileVersion || len(got.Seen) >= 2 || len(got.Passed) == 0 {
		t.Errorf("after new attempts: v%d, %d fingerprints, %d passed", p.V, len(got.Seen), len(got.Passed))
	}

	_ = s.Put(ctx, storage.Profiles, "w", []byte(`{"v":4,"texts":{}}`), 0)
	_, err = e.Submit(ctx, "w", testTextID, testText, SynthesizePattern(testText, typistA, rng))
	if !errors.Is(err, biometrics.ErrUnavailable) || !strings.Contains(err.Error(), "profile version 4") {
		t.Errorf("a version 4 profile: %v, want ErrUnavailable naming the version", err)
	}
}
