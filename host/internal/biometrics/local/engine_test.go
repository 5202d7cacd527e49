package local

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
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

func TestVerifyDoesNotUpdateProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, s := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 3 {
		if _, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, typistA, rng)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := s.Get(ctx, storage.Profiles, "u")
	for _, p := range []TimingProfile{typistA, typistB} {
		if _, err := e.Submit(ctx, "u", testTextID, testText, SynthesizePattern(testText, p, rng)); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := s.Get(ctx, storage.Profiles, "u")
	if string(before) != string(after) {
		t.Errorf("profile changed on verify:\n%s\n%s", before, after)
	}
}

func TestSubmitBadPatterns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := SynthesizePattern(testText, typistA, rand.New(rand.NewPCG(1, 1)))
	tests := map[string]struct {
		textID, text, tp string
	}{
		"unparsable":       {testTextID, testText, "nonsense"},
		"wrong text id":    {biometrics.TextID("other words"), testText, good},
		"wrong length":     {testTextID, testText + "s", good},
		"text shorter":     {testTextID, "quiet horse", good},
		"machine-like":     {biometrics.TextID("abcde"), "abcde", "sp1:" + biometrics.TextID("abcde") + ":5:0,50;100,150;200,250;300,350;400,450"},
		"zero hold":        {biometrics.TextID("abcd"), "abcd", "sp1:" + biometrics.TextID("abcd") + ":4:0,50;100,100;230,250;300,350"},
		"too slow overall": {biometrics.TextID("abcd"), "abcd", "sp1:" + biometrics.TextID("abcd") + ":4:0,50;100,150;230,250;61000,61050"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, s := newTestEngine(t, 3)
			res, err := e.Submit(ctx, "u", tc.textID, tc.text, tc.tp)
			if !errors.Is(err, biometrics.ErrBadPattern) {
				t.Fatalf("Submit = %+v, %v; want ErrBadPattern", res, err)
			}
			if keys := s.keys(storage.Profiles); len(keys) != 0 {
				t.Errorf("a bad pattern was stored: %v", keys)
			}
		})
	}
}

func TestReplayRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newTestEngine(t, 3)
	rng := rand.New(rand.NewPCG(5, 5))
	var enrolled []string
	for range 3 {
		tp := SynthesizePattern(testText, typistA, rng)
		if _, err := e.Submit(ctx, "u", testTextID, testText, tp); err != nil {
			t.Fatal(err)
		}
		enrolled = append(enrolled, tp)
	}
	for i, tp := range enrolled {
		res, err := e.Submit(ctx, "u", testTextID, testText, tp)
		if err != nil {
			t.Fatal(err)
		}
		if res.Action != biometrics.ActionVerify || res.Match {
			t.Errorf("exact replay of sample %d: %+v", i+1, res)
		}
		// Each timing moved by up to 1 ms is still a replay.
		p, _ := ParsePattern(tp)
		for j := 1; j < len(p.Keys); j++ {
			p.Keys[j].Down += j % 2
			p.Keys[j].Up -= j % 2
		}
		res, err = e.Submit(ctx, "u", testTextID, testText, p.String())
		if err != nil {
			t.Fatal(err)
		}
		if res.Match {
			t.Errorf("near replay of sample %d matched: %+v", i+1, res)
		}
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
