package typingdna

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
)

func newEngine(t *testing.T, srv *fake.Server, mod func(*Options)) *Engine {
	t.Helper()
	opts := Options{Server: srv.URL, APIKey: srv.Key, APISecret: srv.Secret, Backoff: 2 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngineName(t *testing.T) {
	t.Parallel()
	if got := newEngine(t, fake.Start(t), nil).Name(); got != "typingdna" {
		t.Errorf("Name = %q", got)
	}
}

func TestEnrollment(t *testing.T) {
	t.Parallel()
	type seed struct {
		t fake.Typing
		n int
	}
	mobile := fake.Typing{Text: phrase, Typist: "alice"}
	desktop := fake.Typing{Text: phrase, Typist: "alice", Desktop: true}
	other := fake.Typing{Text: phrase2, Typist: "alice"}
	tests := map[string]struct {
		opts   Options
		seeds  []seed
		want   biometrics.Enrollment
		device string // the device query sent
	}{
		"new user":                    {Options{}, nil, biometrics.Enrollment{Samples: 0, Required: 1}, "mobile"},
		"one mobile pattern":          {Options{}, []seed{{mobile, 1}}, biometrics.Enrollment{Samples: 1, Required: 1, Enrolled: true}, "mobile"},
		"desktop patterns only":       {Options{}, []seed{{desktop, 2}}, biometrics.Enrollment{Samples: 0, Required: 1}, "mobile"},
		"another text only":           {Options{}, []seed{{other, 5}}, biometrics.Enrollment{Samples: 0, Required: 1}, "mobile"},
		"device desktop":              {Options{Device: "desktop"}, []seed{{desktop, 2}, {mobile, 1}}, biometrics.Enrollment{Samples: 2, Required: 1, Enrolled: true}, "desktop"},
		"device all sums":             {Options{Device: "all"}, []seed{{desktop, 2}, {mobile, 1}}, biometrics.Enrollment{Samples: 3, Required: 1, Enrolled: true}, ""},
		"auto mode, two":              {Options{Mode: "auto"}, []seed{{mobile, 2}}, biometrics.Enrollment{Samples: 2, Required: 3}, "mobile"},
		"auto mode, three":            {Options{Mode: "auto"}, []seed{{mobile, 3}}, biometrics.Enrollment{Samples: 3, Required: 3, Enrolled: true}, "mobile"},
		"pattern type sent as asked":  {Options{PatternType: "1"}, []seed{{mobile, 2}}, biometrics.Enrollment{Samples: 2, Required: 1, Enrolled: true}, "mobile"},
		"type 2 does not count typ 1": {Options{PatternType: "2"}, []seed{{mobile, 2}}, biometrics.Enrollment{Required: 1}, "mobile"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fake.Start(t)
			for _, s := range tc.seeds {
				srv.Seed(alice, s.t, s.n)
			}
			e := newEngine(t, srv, func(o *Options) {
				o.Device, o.Mode, o.PatternType = tc.opts.Device, tc.opts.Mode, tc.opts.PatternType
			})
			got, err := e.Enrollment(context.Background(), alice, textID)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Enrollment = %+v, want %+v", got, tc.want)
			}
			n, err := e.PatternCount(context.Background(), alice, textID)
			if err != nil || n != tc.want.Samples {
				t.Errorf("PatternCount = %d, %v; want %d", n, err, tc.want.Samples)
			}
			q := srv.Requests()[0].Query
			if q.Get("textid") != textID || q.Get("device") != tc.device || q.Get("type") != tc.opts.PatternType {
				t.Errorf("query %v: want textid=%s device=%q type=%q", q, textID, tc.device, tc.opts.PatternType)
			}
		})
	}
}

func TestEnrollmentErrors(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.AddFault(fake.Fault{Op: fake.OpGetUser, Status: 503, Code: 49})
	e := newEngine(t, srv, nil)
	if _, err := e.Enrollment(context.Background(), alice, textID); !errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("Enrollment with TypingDNA down: %v", err)
	}
}

func TestSubmitVerifyMode(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	e := newEngine(t, srv, func(o *Options) { o.Quality = 3 })
	ctx := context.Background()
	steps := []struct {
		typist string
		want   biometrics.Result
	}{
		{"alice", biometrics.Result{Action: biometrics.ActionEnroll, Enrollment: biometrics.Enrollment{Samples: 1, Required: 1, Enrolled: true}}},
		{"alice", biometrics.Result{Action: biometrics.ActionVerify, Match: true, Score: 92, Enrollment: biometrics.Enrollment{Samples: 2, Required: 1, Enrolled: true}}},
		{"mallory", biometrics.Result{Action: biometrics.ActionVerify, Match: false, Score: 18, Enrollment: biometrics.Enrollment{Samples: 2, Required: 1, Enrolled: true}}},
		{"alice", biometrics.Result{Action: biometrics.ActionVerify, Match: true, Score: 92, Enrollment: biometrics.Enrollment{Samples: 3, Required: 1, Enrolled: true}}},
	}
	for i, s := range steps {
		got, err := e.Submit(ctx, alice, textID, phrase, typed(s.typist))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.want {
			t.Errorf("step %d (%s): Submit = %+v, want %+v", i, s.typist, got, s.want)
		}
	}
	if n := srv.Calls(fake.OpVerify); n != len(steps) {
		t.Errorf("verify calls = %d, want %d", n, len(steps))
	}
	for _, r := range srv.Requests() {
		if r.Op == fake.OpVerify && r.Form.Get("quality") != "3" {
			t.Errorf("quality not sent: %v", r.Form)
		}
	}
}

func TestSubmitAutoMode(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	e := newEngine(t, srv, func(o *Options) { o.Mode = "auto" })
	ctx := context.Background()
	wantSamples := []int{1, 2, 3, 4}
	wantActions := []biometrics.Action{biometrics.ActionEnroll, biometrics.ActionEnroll, biometrics.ActionEnroll, biometrics.ActionVerify}
	for i := range wantSamples {
		got, err := e.Submit(ctx, alice, textID, phrase, typed("alice"))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want := biometrics.Enrollment{Samples: wantSamples[i], Required: 3, Enrolled: wantSamples[i] >= 3}
		if got.Action != wantActions[i] || got.Enrollment != want || got.Match != (i == 3) {
			t.Errorf("step %d: %+v, want action %s, match %v, %+v", i, got, wantActions[i], i == 3, want)
		}
	}
	if srv.Calls(fake.OpAuto) != 4 || srv.Calls(fake.OpVerify) != 0 {
		t.Errorf("auto mode used verify %d times, auto %d times", srv.Calls(fake.OpVerify), srv.Calls(fake.OpAuto))
	}
}

func TestSubmitScriptedVerdicts(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, 2)
	srv.Seed(bob, fake.Typing{Text: phrase, Typist: "bob"}, 2)
	e := newEngine(t, srv, nil)
	ctx := context.Background()

	srv.SetVerdict(alice, fake.VerdictFail)
	srv.SetVerdict("", fake.VerdictPass)
	tests := map[string]struct {
		user, typist string
		match        bool
	}{
		"alice scripted to fail": {alice, "alice", false},
		"bob passes anyone":      {bob, "mallory", true},
	}
	for name, tc := range tests {
		got, err := e.Submit(ctx, tc.user, textID, phrase, typed(tc.typist))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Action != biometrics.ActionVerify || got.Match != tc.match {
			t.Errorf("%s: %+v, want match %v", name, got, tc.match)
		}
	}
}

func TestSubmitRefusesBeforeCalling(t *testing.T) {
	t.Parallel()
	good := typed("alice")
	head, rest, _ := strings.Cut(good, "|")
	f := strings.Split(head, ",")
	tests := map[string]struct {
		device  string
		pattern string
	}{
		"empty":                {"", "  "},
		"any-text pattern":     {"", "12,180,33,0.5,1,2,3,4,5"},
		"another text":         {"", fake.Pattern(fake.Typing{Text: phrase2, Typist: "alice"})},
		"desktop on mobile":    {"", fake.Pattern(fake.Typing{Text: phrase, Typist: "alice", Desktop: true})},
		"mobile on desktop":    {"desktop", good},
		"mobile without":       {"", fake.Pattern(fake.Typing{Text: phrase, Typist: "alice", NoMotion: true})},
		"mobile empty motion":  {"", strings.SplitN(good, "#", 2)[0] + "##"},
		"bad mobile flag":      {"all", strings.Join(append([]string{"7"}, f[1:]...), ",") + "|" + rest},
		"dual, second foreign": {"", good + ";" + fake.Pattern(fake.Typing{Text: phrase2, Typist: "alice"})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fake.Start(t)
			e := newEngine(t, srv, func(o *Options) { o.Device = tc.device })
			_, err := e.Submit(context.Background(), alice, textID, phrase, tc.pattern)
			var pe *PatternError
			if !errors.Is(err, biometrics.ErrBadPattern) || !errors.As(err, &pe) {
				t.Errorf("Submit: %v, want a PatternError", err)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d calls for a pattern refused locally", n)
			}
		})
	}
	// And the checks let real ones through, on every device setting.
	for _, device := range []string{"", "all"} {
		srv := fake.Start(t)
		e := newEngine(t, srv, func(o *Options) { o.Device = device })
		if _, err := e.Submit(context.Background(), alice, textID, phrase, good+";"+typed("alice")); err != nil {
			t.Errorf("device %q: a valid dual pattern was refused: %v", device, err)
		}
	}
	srv := fake.Start(t)
	e := newEngine(t, srv, func(o *Options) { o.Device = "desktop" })
	if _, err := e.Submit(context.Background(), alice, textID, phrase, fake.Pattern(fake.Typing{Text: phrase, Desktop: true})); err != nil {
		t.Errorf("desktop device refused a desktop pattern: %v", err)
	}
}

func TestSubmitErrors(t *testing.T) {
	t.Parallel()
	t.Run("replay", func(t *testing.T) {
		t.Parallel()
		srv := fake.Start(t)
		e := newEngine(t, srv, nil)
		p := typed("alice")
		if _, err := e.Submit(context.Background(), alice, textID, phrase, p); err != nil {
			t.Fatal(err)
		}
		_, err := e.Submit(context.Background(), alice, textID, phrase, p)
		if !errors.Is(err, biometrics.ErrBadPattern) || !errors.Is(err, ErrReplay) {
			t.Errorf("replayed pattern: %v", err)
		}
	})
	t.Run("auto-enroll off", func(t *testing.T) {
		t.Parallel()
		srv := fake.Start(t)
		srv.SetAutoEnroll(false)
		e := newEngine(t, srv, nil)
		_, err := e.Submit(context.Background(), alice, textID, phrase, typed("alice"))
		if !errors.Is(err, biometrics.ErrUnavailable) || !strings.Contains(err.Error(), "auto-enroll") {
			t.Errorf("auto-enroll off: %v", err)
		}
		if d, m := srv.Patterns(alice, textID); d+m != 0 {
			t.Error("the fake enrolled with auto-enroll off")
		}
	})
	t.Run("bad credentials", func(t *testing.T) {
		t.Parallel()
		srv := fake.Start(t)
		e := newEngine(t, srv, func(o *Options) { o.APIKey = "nope" })
		_, err := e.Submit(context.Background(), alice, textID, phrase, typed("alice"))
		if !errors.Is(err, biometrics.ErrUnavailable) || !errors.Is(err, ErrCredentials) {
			t.Errorf("bad key: %v", err)
		}
	})
	t.Run("server pattern check", func(t *testing.T) {
		t.Parallel()
		srv := fake.Start(t)
		e := newEngine(t, srv, nil)
		// Passes the local shape check, fails TypingDNA's (a key is not numeric).
		p := typed("alice")
		i := strings.Index(p, "|")
		j := strings.Index(p[i+1:], ",")
		broken := p[:i+1] + "x" + p[i+1+j:]
		_, err := e.Submit(context.Background(), alice, textID, phrase, broken)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 445 || ae.Code != 36 || !errors.Is(err, biometrics.ErrBadPattern) {
			t.Errorf("invalid pattern: %v, want 445/36", err)
		}
	})
}

func TestSubmitCountFallback(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, 4)
	srv.AddFault(fake.Fault{Op: fake.OpGetUser, Status: 503, Code: 49})
	e := newEngine(t, srv, nil)
	got, err := e.Submit(context.Background(), alice, textID, phrase, typed("alice"))
	if err != nil {
		t.Fatal(err)
	}
	// TypingDNA verified and enrolled (5 patterns now), but the count cannot be
	// read: the result keeps the verdict and reports the proven lower bound.
	want := biometrics.Result{Action: biometrics.ActionVerify, Match: true, Score: 92,
		Enrollment: biometrics.Enrollment{Samples: 1, Required: 1, Enrolled: true}}
	if got != want {
		t.Errorf("Submit = %+v, want %+v", got, want)
	}
	if _, m := srv.Patterns(alice, textID); m != 5 {
		t.Errorf("fake holds %d patterns, want 5", m)
	}
	if n := srv.Calls(fake.OpGetUser); n != DefaultMaxAttempts {
		t.Errorf("count retried %d times, want %d", n, DefaultMaxAttempts)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, 3)
	srv.Seed(alice, fake.Typing{Text: phrase2, Typist: "alice", Desktop: true}, 2)
	srv.Seed(bob, fake.Typing{Text: phrase, Typist: "bob"}, 1)
	e := newEngine(t, srv, nil)
	if err := e.Delete(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{phrase, phrase2} {
		if d, m := srv.Patterns(alice, biometrics.TextID(text)); d+m != 0 {
			t.Errorf("%q: %d patterns left", text, d+m)
		}
	}
	if _, m := srv.Patterns(bob, textID); m != 1 {
		t.Error("deleting alice touched bob")
	}
	r := srv.Requests()[0]
	if r.Op != fake.OpDeleteUser || len(r.Query) != 0 {
		t.Errorf("delete sent %s %v; want every pattern (no filters)", r.Op, r.Query)
	}
	// A second delete (nothing left) is fine too.
	if err := e.Delete(context.Background(), alice); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestEnginePositions(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	e := newEngine(t, srv, nil)
	ctx := context.Background()
	got, err := e.Positions(ctx, alice, typed("alice"))
	if err != nil || !reflect.DeepEqual(got, []int{3}) {
		t.Fatalf("Positions = %v, %v", got, err)
	}
	srv.SetPositions("", 1)
	if got, err = e.Positions(ctx, alice, typed("alice")); err != nil || !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("wrong position: %v, %v", got, err)
	}
	srv.SetPositions(alice, 3)
	if got, err = e.Positions(ctx, alice, typed("alice")); err != nil || !reflect.DeepEqual(got, []int{3}) {
		t.Errorf("per-user position: %v, %v", got, err)
	}
	if got, err = e.Positions(ctx, bob, typed("bob")); err != nil || !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("global position for bob: %v, %v", got, err)
	}
	calls := len(srv.Requests())
	if _, err := e.Positions(ctx, alice, fake.Pattern(fake.Typing{Text: phrase, Desktop: true})); !errors.Is(err, biometrics.ErrBadPattern) {
		t.Errorf("desktop pattern: %v", err)
	}
	if len(srv.Requests()) != calls {
		t.Error("a locally refused pattern reached TypingDNA")
	}
	srv.AddFault(fake.Fault{Op: fake.OpPosition, Status: 503, Code: 49})
	if _, err := e.Positions(ctx, alice, typed("alice")); !errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("position with TypingDNA down: %v", err)
	}
}

func TestNewEngineOptions(t *testing.T) {
	t.Parallel()
	base := Options{APIKey: "k", APISecret: "s"}
	tests := map[string]struct {
		mod func(*Options)
		ok  bool
	}{
		"defaults":     {func(*Options) {}, true},
		"all options":  {func(o *Options) { o.Device, o.Mode, o.Quality, o.PatternType = "ALL", "auto", 2, "2" }, true},
		"bad device":   {func(o *Options) { o.Device = "tablet" }, false},
		"bad mode":     {func(o *Options) { o.Mode = "save" }, false},
		"bad quality":  {func(o *Options) { o.Quality = 4 }, false},
		"bad type":     {func(o *Options) { o.PatternType = "3" }, false},
		"client error": {func(o *Options) { o.APISecret = "" }, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			e, err := New(o)
			if (err == nil) != tc.ok {
				t.Fatalf("New err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && (e.Client() == nil || e.required < 1) {
				t.Error("engine not set up")
			}
		})
	}
	e, err := New(base)
	if err != nil || e.device != DeviceMobile || e.mode != ModeVerify || e.required != 1 {
		t.Errorf("defaults: %+v, %v", e, err)
	}
}

func TestSubmitStrict(t *testing.T) {
	t.Parallel()
	strong := fake.Match{Score: 92, NetScore: 90, HighConfidence: true}
	tests := map[string]struct {
		opts    Options
		seeded  int // alice's patterns before
		typist  string
		match   *fake.Match
		want    bool
		wantErr error
	}{
		"still enrolling":                   {Options{}, 0, "alice", nil, false, biometrics.ErrBadPattern},
		"auto mode, two patterns":           {Options{Mode: "auto"}, 2, "alice", nil, false, biometrics.ErrBadPattern},
		"strong match":                      {Options{}, 1, "alice", nil, true, nil},
		"strong match, auto mode":           {Options{Mode: "auto"}, 3, "alice", nil, true, nil},
		"match scored 85":                   {Options{}, 1, "alice", &fake.Match{Score: 85, NetScore: 85, HighConfidence: true}, false, nil},
		"match without high confidence":     {Options{}, 1, "alice", &fake.Match{Score: 95, NetScore: 94}, false, nil},
		"match scored 85, minimum 80":       {Options{StrictMinScore: 80}, 1, "alice", &fake.Match{Score: 85, NetScore: 85, HighConfidence: true}, true, nil},
		"another typist":                    {Options{}, 1, "mallory", &strong, false, nil},
		"quality 1 for usual verifications": {Options{Quality: 1}, 1, "alice", nil, true, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fake.Start(t)
			if tc.seeded > 0 {
				srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, tc.seeded)
			}
			if tc.match != nil {
				srv.SetMatch(alice, *tc.match)
			}
			e := newEngine(t, srv, func(o *Options) {
				o.Mode, o.Quality, o.StrictMinScore = tc.opts.Mode, tc.opts.Quality, tc.opts.StrictMinScore
			})
			res, err := e.SubmitStrict(context.Background(), alice, textID, phrase, typed(tc.typist))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("SubmitStrict: %+v, %v; want %v", res, err, tc.wantErr)
				}
				if n := srv.Calls(fake.OpVerify) + srv.Calls(fake.OpAuto); n != 0 {
					t.Errorf("%d verify or auto calls for a user still enrolling", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != biometrics.ActionVerify || res.Match != tc.want || !res.Enrollment.Enrolled {
				t.Errorf("SubmitStrict = %+v, want a verification with match %t", res, tc.want)
			}
			if srv.Calls(fake.OpAuto) != 0 || srv.Calls(fake.OpVerify) != 1 {
				t.Errorf("calls: %d auto, %d verify; want one verify", srv.Calls(fake.OpAuto), srv.Calls(fake.OpVerify))
			}
			for _, r := range srv.Requests() {
				if r.Op == fake.OpVerify && r.Form.Get("quality") != "3" {
					t.Errorf("strict verify sent quality %q, want 3", r.Form.Get("quality"))
				}
			}
		})
	}
}

func TestStrictMinScoreOption(t *testing.T) {
	t.Parallel()
	for _, bad := range []float64{-1, 101} {
		if _, err := New(Options{APIKey: "k", APISecret: "s", StrictMinScore: bad}); err == nil {
			t.Errorf("StrictMinScore %v accepted", bad)
		}
	}
}
