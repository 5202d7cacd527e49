package typingdna

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
)

// A user id as SMS+ makes them: SHA-256 hex.
const (
	alice   = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	bob     = "b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3f4f4f4f405050505161616162727272"
	phrase  = "blue river stone"
	phrase2 = "seven quiet owls"
)

var textID = biometrics.TextID(phrase)

func newClient(t *testing.T, srv *fake.Server, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{Server: srv.URL, APIKey: srv.Key, APISecret: srv.Secret, Backoff: 2 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func typed(who string) string { return fake.Pattern(fake.Typing{Text: phrase, Typist: who}) }

func TestGetUser(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, 2)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice", Desktop: true}, 1)
	srv.Seed(alice, fake.Typing{Text: phrase2, Typist: "alice"}, 4)
	c := newClient(t, srv, nil)

	tests := map[string]struct {
		q    UserQuery
		want UserCounts
	}{
		"text":                {UserQuery{TextID: textID}, UserCounts{Count: 1, MobileCount: 2, Type: "all"}},
		"text mobile":         {UserQuery{TextID: textID, Device: "mobile"}, UserCounts{Count: 0, MobileCount: 2, Type: "all"}},
		"text type 1":         {UserQuery{TextID: textID, Type: "1"}, UserCounts{Count: 1, MobileCount: 2, Type: "1"}},
		"text type 2":         {UserQuery{TextID: textID, Type: "2"}, UserCounts{Type: "2"}},
		"other text":          {UserQuery{TextID: biometrics.TextID(phrase2)}, UserCounts{MobileCount: 4, Type: "all"}},
		"every text and type": {UserQuery{}, UserCounts{Count: 1, MobileCount: 6, Type: "all"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := c.GetUser(context.Background(), alice, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("GetUser = %+v, want %+v", got, tc.want)
			}
		})
	}

	// What went over the wire, seen by the server: each query exactly as asked.
	want := map[string]bool{}
	for _, tc := range tests {
		want[tc.q.values().Encode()] = true
	}
	got := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet || r.Path != "/user/"+alice || !r.Authorized || r.Op != fake.OpGetUser {
			t.Errorf("request %+v: want an authorized GET /user/{id}", r)
		}
		got[r.Query.Encode()] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queries sent %v, want %v", got, want)
	}
	if !want["device=mobile&textid="+textID] {
		t.Error("test table lost its device=mobile case")
	}
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, 2)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice", Desktop: true}, 1)
	srv.Seed(alice, fake.Typing{Text: phrase2, Typist: "alice"}, 3)
	c := newClient(t, srv, nil)
	ctx := context.Background()

	n, err := c.DeleteUser(ctx, alice, UserQuery{TextID: textID, Device: "mobile"})
	if err != nil || n != 2 {
		t.Fatalf("DeleteUser(text, mobile) = %d, %v; want 2", n, err)
	}
	if d, m := srv.Patterns(alice, textID); d != 1 || m != 0 {
		t.Errorf("after a mobile delete: desktop %d mobile %d, want 1 0", d, m)
	}
	n, err = c.DeleteUser(ctx, alice, UserQuery{})
	if err != nil || n != 4 {
		t.Fatalf("DeleteUser(all) = %d, %v; want 4", n, err)
	}
	if d, m := srv.Patterns(alice, biometrics.TextID(phrase2)); d+m != 0 {
		t.Errorf("patterns left after deleting all: %d", d+m)
	}
	n, err = c.DeleteUser(ctx, alice, UserQuery{})
	if err != nil || n != 0 {
		t.Fatalf("DeleteUser of nobody = %d, %v; want 0, nil", n, err)
	}
	reqs := srv.Requests()
	if q := reqs[0].Query; q.Get("textid") != textID || q.Get("device") != "mobile" || reqs[0].Method != http.MethodDelete {
		t.Errorf("first delete sent %s %v", reqs[0].Method, q)
	}
	if len(reqs[1].Query) != 0 {
		t.Errorf("delete-all sent a query %v", reqs[1].Query)
	}
}

func TestVerifyEnrollsThenCompares(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	c := newClient(t, srv, nil)
	ctx := context.Background()

	steps := []struct {
		pattern string
		want    Outcome
	}{
		{typed("alice"), Outcome{Action: "enroll", Enrolled: true}},
		{typed("alice"), Outcome{Action: "verify;enroll", Result: 1, Score: 92, NetScore: 90, HighConfidence: true, Enrolled: true}},
		{typed("mallory"), Outcome{Action: "verify", Result: 0, Score: 18, NetScore: 15, HighConfidence: true}},
	}
	for i, s := range steps {
		got, err := c.Verify(ctx, alice, VerifyRequest{Pattern: s.pattern, Quality: 2})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.want {
			t.Errorf("step %d: Verify = %+v, want %+v", i, got, s.want)
		}
	}
	if !steps[0].want.Enrolls() || steps[0].want.Verified() || !steps[1].want.Verified() || !steps[1].want.Enrolls() {
		t.Error("Outcome.Verified/Enrolls misread the actions")
	}
	for i, r := range srv.Requests() {
		if r.ContentType != "application/x-www-form-urlencoded" || r.Method != http.MethodPost || r.Path != "/verify/"+alice {
			t.Errorf("request %d: %s %s %q", i, r.Method, r.Path, r.ContentType)
		}
		if r.Form.Get("tp") != steps[i].pattern || r.Form.Get("quality") != "2" || len(r.Form) != 2 {
			t.Errorf("request %d: form %v does not carry exactly tp and quality", i, r.Form)
		}
		if !r.Authorized {
			t.Errorf("request %d: Basic auth not accepted", i)
		}
	}
}

func TestPositions(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	c := newClient(t, srv, nil)
	ctx := context.Background()
	p := typed("alice")

	got, err := c.Positions(ctx, alice, p)
	if err != nil || !reflect.DeepEqual(got, []int{3}) {
		t.Fatalf("Positions = %v, %v; want [3]", got, err)
	}
	srv.SetPositions(alice, 1, 2)
	got, err = c.Positions(ctx, alice, p)
	if err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("Positions = %v, %v; want [1 2]", got, err)
	}
	r := srv.Requests()[0]
	if r.Op != fake.OpPosition || r.Form.Get("position_only") != "true" || r.Form.Get("tp") != p {
		t.Errorf("position request %+v", r)
	}
	// Nothing stored, nothing remembered: the same pattern can be verified next.
	if d, m := srv.Patterns(alice, textID); d+m != 0 {
		t.Errorf("a position check stored %d patterns", d+m)
	}
	if _, err := c.Verify(ctx, alice, VerifyRequest{Pattern: p}); err != nil {
		t.Errorf("verify after a position check: %v", err)
	}
}

func TestPositionsIgnoredFlag(t *testing.T) {
	t.Parallel()
	// A server that ignores position_only answers a full verify; the client
	// must not read that as "no positions".
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"message":"Done","message_code":1,"success":1,"result":1,"action":"verify","status":200}`))
	}))
	t.Cleanup(ts.Close)
	c, err := NewClient(Options{Server: ts.URL, APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Positions(context.Background(), alice, typed("alice"))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindUnexpected || !errors.Is(err, biometrics.ErrUnavailable) {
		t.Fatalf("Positions on a full verify answer: %v; want KindUnexpected", err)
	}
}

func TestSaveAndAuto(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	c := newClient(t, srv, nil)
	ctx := context.Background()

	p := typed("alice")
	if err := c.Save(ctx, alice, p); err != nil {
		t.Fatal(err)
	}
	if _, m := srv.Patterns(alice, textID); m != 1 {
		t.Errorf("after save: %d mobile patterns, want 1", m)
	}
	if err := c.Save(ctx, alice, p); !errors.Is(err, ErrReplay) || !errors.Is(err, biometrics.ErrBadPattern) {
		t.Errorf("saving the same pattern again: %v; want ErrReplay", err)
	}

	// /auto enrolls until 3 patterns, then compares.
	wantActions := []string{"enroll", "enroll", "verify;enroll", "verify"}
	typists := []string{"bob", "bob", "bob", "mallory"}
	srv.Seed(bob, fake.Typing{Text: phrase, Typist: "bob"}, 1)
	for i, want := range wantActions {
		o, err := c.Auto(ctx, bob, typed(typists[i]))
		if err != nil {
			t.Fatalf("auto %d: %v", i, err)
		}
		if o.Action != want {
			t.Errorf("auto %d: action %q, want %q", i, o.Action, want)
		}
	}
	if n := srv.Calls(fake.OpAuto); n != 4 {
		t.Errorf("auto calls = %d, want 4", n)
	}
	for _, r := range srv.Requests() {
		if r.ContentType != "application/x-www-form-urlencoded" || len(r.Form) != 1 || r.Form.Get("tp") == "" {
			t.Errorf("%s %s: content type %q form %v", r.Method, r.Path, r.ContentType, r.Form)
		}
	}
}

func TestReplayIsBadPatternAndNotRetried(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	c := newClient(t, srv, nil)
	p := typed("alice")
	if _, err := c.Verify(context.Background(), alice, VerifyRequest{Pattern: p}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Verify(context.Background(), alice, VerifyRequest{Pattern: p})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 2 || ae.Status != 200 || ae.Kind != KindReplay {
		t.Fatalf("second verify: %v; want replay, HTTP 200, code 2", err)
	}
	if !errors.Is(err, biometrics.ErrBadPattern) || errors.Is(err, biometrics.ErrUnavailable) {
		t.Errorf("replay should be a bad pattern only: %v", err)
	}
	if n := srv.Calls(fake.OpVerify); n != 2 {
		t.Errorf("verify calls = %d, want 2", n)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	c := newClient(t, srv, func(o *Options) { o.APISecret = "wrong-secret" })
	ctx := context.Background()
	p := typed("alice")
	calls := map[string]func() error{
		"get user":    func() error { _, err := c.GetUser(ctx, alice, UserQuery{TextID: textID}); return err },
		"delete user": func() error { _, err := c.DeleteUser(ctx, alice, UserQuery{}); return err },
		"verify":      func() error { _, err := c.Verify(ctx, alice, VerifyRequest{Pattern: p}); return err },
		"position":    func() error { _, err := c.Positions(ctx, alice, p); return err },
		"save":        func() error { return c.Save(ctx, alice, p) },
		"auto":        func() error { _, err := c.Auto(ctx, alice, p); return err },
	}
	for name, call := range calls {
		err := call()
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != 32 || ae.Kind != KindCredentials {
			t.Errorf("%s: %v; want 401/32 credentials", name, err)
			continue
		}
		if !errors.Is(err, biometrics.ErrUnavailable) || !errors.Is(err, ErrCredentials) || errors.Is(err, biometrics.ErrBadPattern) {
			t.Errorf("%s: %v does not map to ErrUnavailable+ErrCredentials only", name, err)
		}
		if !strings.Contains(err.Error(), "TypingDNA rejected the API key/secret") || !strings.HasPrefix(err.Error(), "typingdna "+name+":") {
			t.Errorf("%s: unclear message %q", name, err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != len(calls) {
		t.Errorf("%d requests for %d calls: credentials errors must not be retried", len(reqs), len(calls))
	}
	for _, r := range reqs {
		if r.Authorized {
			t.Errorf("fake accepted a wrong secret on %s", r.Path)
		}
	}
}

// TestFailureClasses scripts TypingDNA's failure answers and checks each call's
// error class and how many times it was tried.
func TestFailureClasses(t *testing.T) {
	t.Parallel()
	type call func(context.Context, *Client) error
	get := func(ctx context.Context, c *Client) error {
		_, err := c.GetUser(ctx, alice, UserQuery{TextID: textID})
		return err
	}
	del := func(ctx context.Context, c *Client) error {
		_, err := c.DeleteUser(ctx, alice, UserQuery{})
		return err
	}
	verify := func(ctx context.Context, c *Client) error {
		_, err := c.Verify(ctx, alice, VerifyRequest{Pattern: typed("alice")})
		return err
	}
	position := func(ctx context.Context, c *Client) error {
		_, err := c.Positions(ctx, alice, typed("alice"))
		return err
	}
	save := func(ctx context.Context, c *Client) error { return c.Save(ctx, alice, typed("alice")) }
	auto := func(ctx context.Context, c *Client) error { _, err := c.Auto(ctx, alice, typed("alice")); return err }

	const bad, unavailable, ok = "bad pattern", "unavailable", "ok"
	tests := map[string]struct {
		fault fake.Fault
		call  call
		want  string // ok, bad pattern, unavailable
		kind  Kind
		calls int
	}{
		"get 503 twice then ok":          {fake.Fault{Op: fake.OpGetUser, Status: 503, Code: 49, Times: 2}, get, ok, 0, 3},
		"get 500 always":                 {fake.Fault{Op: fake.OpGetUser, Status: 500, Code: 48}, get, unavailable, KindTransient, 3},
		"get 429 once then ok":           {fake.Fault{Op: fake.OpGetUser, Status: 429, Code: 52, Times: 1}, get, ok, 0, 2},
		"get 452 once then ok":           {fake.Fault{Op: fake.OpGetUser, Status: 452, Code: 43, Times: 1}, get, ok, 0, 2},
		"get 451 maintenance":            {fake.Fault{Op: fake.OpGetUser, Status: 451, Code: 45}, get, unavailable, KindTransient, 3},
		"get 454 match server":           {fake.Fault{Op: fake.OpGetUser, Status: 454, Code: 47}, get, unavailable, KindTransient, 3},
		"get 200 success 0 code 49 once": {fake.Fault{Op: fake.OpGetUser, Status: 200, Code: 49, Times: 1}, get, ok, 0, 2},
		"get proxy 502 html":             {fake.Fault{Op: fake.OpGetUser, Status: 502, Body: "<html>Bad Gateway</html>"}, get, unavailable, KindTransient, 3},
		"get html 200":                   {fake.Fault{Op: fake.OpGetUser, Status: 200, Body: "<html>hi</html>"}, get, unavailable, KindUnexpected, 1},
		"get 400 not retried":            {fake.Fault{Op: fake.OpGetUser, Status: 400, Code: 31}, get, unavailable, KindConfig, 1},
		"get 403 invalid key":            {fake.Fault{Op: fake.OpGetUser, Status: 403, Code: 33}, get, unavailable, KindCredentials, 1},
		"get 461 user quota":             {fake.Fault{Op: fake.OpGetUser, Status: 461, Code: 51}, get, unavailable, KindConfig, 1},
		"get 404 wrong server":           {fake.Fault{Op: fake.OpGetUser, Status: 404, Body: "not here"}, get, unavailable, KindConfig, 1},
		"delete 503 once then ok":        {fake.Fault{Op: fake.OpDeleteUser, Status: 503, Code: 49, Times: 1}, del, ok, 0, 2},
		"delete 500 always":              {fake.Fault{Op: fake.OpDeleteUser, Status: 500, Code: 48}, del, unavailable, KindTransient, 3},
		"delete 404/38 is nothing":       {fake.Fault{Op: fake.OpDeleteUser, Status: 404, Code: 38}, del, ok, 0, 1},
		"verify 503 not retried":         {fake.Fault{Op: fake.OpVerify, Status: 503, Code: 49, Times: 1}, verify, unavailable, KindTransient, 1},
		"verify 429 not retried":         {fake.Fault{Op: fake.OpVerify, Status: 429, Code: 52, Times: 1}, verify, unavailable, KindTransient, 1},
		"verify 200 success 0 code 4":    {fake.Fault{Op: fake.OpVerify, Status: 200, Code: 4}, verify, unavailable, KindConfig, 1},
		"verify 200 success 0 code 3":    {fake.Fault{Op: fake.OpVerify, Status: 200, Code: 3}, verify, bad, KindBadPattern, 1},
		"verify 200 success 0 code 99":   {fake.Fault{Op: fake.OpVerify, Status: 200, Code: 99}, verify, unavailable, KindUnexpected, 1},
		"verify 445/36":                  {fake.Fault{Op: fake.OpVerify, Status: 445, Code: 36}, verify, bad, KindBadPattern, 1},
		"verify 449/41":                  {fake.Fault{Op: fake.OpVerify, Status: 449, Code: 41}, verify, bad, KindBadPattern, 1},
		"verify 448/40":                  {fake.Fault{Op: fake.OpVerify, Status: 448, Code: 40}, verify, bad, KindBadPattern, 1},
		"verify 450/44":                  {fake.Fault{Op: fake.OpVerify, Status: 450, Code: 44}, verify, bad, KindBadPattern, 1},
		"verify 453/46":                  {fake.Fault{Op: fake.OpVerify, Status: 453, Code: 46}, verify, bad, KindBadPattern, 1},
		"verify 445 without code":        {fake.Fault{Op: fake.OpVerify, Status: 445, Body: "invalid"}, verify, bad, KindBadPattern, 1},
		"position 503 not retried":       {fake.Fault{Op: fake.OpPosition, Status: 503, Code: 49, Times: 1}, position, unavailable, KindTransient, 1},
		"position 453/46":                {fake.Fault{Op: fake.OpPosition, Status: 453, Code: 46}, position, bad, KindBadPattern, 1},
		"save 500 not retried":           {fake.Fault{Op: fake.OpSave, Status: 500, Code: 48, Times: 1}, save, unavailable, KindTransient, 1},
		"save 456 subscription":          {fake.Fault{Op: fake.OpSave, Status: 456, Code: 53}, save, unavailable, KindConfig, 1},
		"auto 503 not retried":           {fake.Fault{Op: fake.OpAuto, Status: 503, Code: 49, Times: 1}, auto, unavailable, KindTransient, 1},
		"auto 445/36":                    {fake.Fault{Op: fake.OpAuto, Status: 445, Code: 36}, auto, bad, KindBadPattern, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fake.Start(t)
			srv.AddFault(tc.fault)
			c := newClient(t, srv, nil)
			err := tc.call(context.Background(), c)
			switch tc.want {
			case ok:
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
			case bad:
				if !errors.Is(err, biometrics.ErrBadPattern) || errors.Is(err, biometrics.ErrUnavailable) {
					t.Fatalf("err = %v, want ErrBadPattern only", err)
				}
			case unavailable:
				if !errors.Is(err, biometrics.ErrUnavailable) || errors.Is(err, biometrics.ErrBadPattern) {
					t.Fatalf("err = %v, want ErrUnavailable only", err)
				}
			}
			var ae *APIError
			if tc.want != ok && (!errors.As(err, &ae) || ae.Kind != tc.kind) {
				t.Errorf("err = %v, want kind %v", err, tc.kind)
			}
			if got := len(srv.Requests()); got != tc.calls {
				t.Errorf("%d requests, want %d", got, tc.calls)
			}
		})
	}
}

func TestSlowAnswers(t *testing.T) {
	t.Parallel()
	// The fake answers after serverDelay, far past every budget below: a client
	// that ignored its budget would return only then (or at the longer of its
	// two limits, 5 s): returning before is what the budget promises.
	const serverDelay = 20 * time.Second
	const ignored = 5 * time.Second
	tests := map[string]struct {
		op       fake.Op
		deadline time.Duration // the caller's
		timeout  time.Duration // TYPINGDNA_TIMEOUT_MS
		call     func(context.Context, *Client) error
	}{
		"get past the caller's deadline": {fake.OpGetUser, 150 * time.Millisecond, 0, func(ctx context.Context, c *Client) error {
			_, err := c.GetUser(ctx, alice, UserQuery{TextID: textID})
			return err
		}},
		"verify past the caller's deadline": {fake.OpVerify, 150 * time.Millisecond, 0, func(ctx context.Context, c *Client) error {
			_, err := c.Verify(ctx, alice, VerifyRequest{Pattern: typed("alice")})
			return err
		}},
		"get past the timeout": {fake.OpGetUser, 0, 150 * time.Millisecond, func(ctx context.Context, c *Client) error {
			_, err := c.GetUser(ctx, alice, UserQuery{TextID: textID})
			return err
		}},
		"delete past the shorter of both": {fake.OpDeleteUser, 5 * time.Second, 150 * time.Millisecond, func(ctx context.Context, c *Client) error {
			_, err := c.DeleteUser(ctx, alice, UserQuery{})
			return err
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := fake.Start(t)
			srv.AddFault(fake.Fault{Op: tc.op, Delay: serverDelay})
			c := newClient(t, srv, func(o *Options) { o.Timeout = tc.timeout })
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			budget := min(nonZero(tc.deadline), nonZero(tc.timeout))
			start := time.Now()
			err := tc.call(ctx, c)
			if elapsed := time.Since(start); elapsed >= ignored {
				t.Errorf("returned after %v: it waited past its budget of %v", elapsed, budget)
			}
			var ae *APIError
			if !errors.Is(err, biometrics.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) ||
				!errors.As(err, &ae) || ae.Kind != KindTransient {
				t.Errorf("err = %v, want a transient ErrUnavailable wrapping DeadlineExceeded", err)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests; nothing may be retried once the time is up", n)
			}
		})
	}
}

func nonZero(d time.Duration) time.Duration {
	if d == 0 {
		return time.Hour
	}
	return d
}

func TestSlowButInTime(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.Seed(alice, fake.Typing{Text: phrase, Typist: "alice"}, 2)
	srv.AddFault(fake.Fault{Op: fake.OpGetUser, Delay: 80 * time.Millisecond})
	c := newClient(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	got, err := c.GetUser(ctx, alice, UserQuery{TextID: textID})
	if err != nil || got.MobileCount != 2 {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	if time.Since(start) < 80*time.Millisecond {
		t.Error("the scripted delay did not apply")
	}
}

func TestRetriesStopAtTheDeadline(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	srv.AddFault(fake.Fault{Op: fake.OpGetUser, Status: 503, Code: 49})
	c := newClient(t, srv, func(o *Options) { o.Backoff = 10 * time.Second; o.MaxAttempts = 5 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.GetUser(ctx, alice, UserQuery{TextID: textID})
	if !errors.Is(err, biometrics.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	// The first backoff (1-2 s: the cap) plus an attempt does not fit in 1 s:
	// the client answers at once with the 503, its deadline still ahead, instead
	// of sleeping into it.
	if ctx.Err() != nil {
		t.Errorf("returned at its deadline (%v); should not wait for a retry that cannot fit", ctx.Err())
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != 49 {
		t.Errorf("err = %v, want the 503 answer", err)
	}
}

func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	for _, attempts := range []int{1, 2, 4} {
		srv := fake.Start(t)
		srv.AddFault(fake.Fault{Op: fake.OpGetUser, Status: 500, Code: 48})
		c := newClient(t, srv, func(o *Options) { o.MaxAttempts = attempts })
		if _, err := c.GetUser(context.Background(), alice, UserQuery{}); err == nil {
			t.Fatal("want an error")
		}
		if n := len(srv.Requests()); n != attempts {
			t.Errorf("MaxAttempts %d: %d requests", attempts, n)
		}
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	srv := fake.New("k", "s")
	url := srv.URL
	srv.Close()
	c, err := NewClient(Options{Server: url, APIKey: "k", APISecret: "s", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), alice, UserQuery{TextID: textID})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindTransient || ae.Err == nil || !errors.Is(err, biometrics.ErrUnavailable) {
		t.Fatalf("err = %v, want a transient transport error", err)
	}
	if strings.Contains(err.Error(), alice[:12]) {
		t.Errorf("error shows the user id: %q", err)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var hit atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit.Add(1) }))
	t.Cleanup(elsewhere.Close)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(ts.Close)
	c, err := NewClient(Options{Server: ts.URL, APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Verify(context.Background(), alice, VerifyRequest{Pattern: typed("alice")})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindUnexpected || ae.Status != http.StatusTemporaryRedirect {
		t.Errorf("err = %v, want an unexpected 307", err)
	}
	if hit.Load() != 0 {
		t.Error("the pattern followed the redirect")
	}
}

func TestLenientEnvelope(t *testing.T) {
	t.Parallel()
	// message_code and numbers as strings, as some TypingDNA clients type them.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"message":"Done","message_code":"1","success":"1","count":"2","mobilecount":3,"type":2,"status":"200"}`))
	}))
	t.Cleanup(ts.Close)
	c, err := NewClient(Options{Server: ts.URL + "/", APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(context.Background(), alice, UserQuery{})
	if err != nil || got != (UserCounts{Count: 2, MobileCount: 3, Type: "2"}) {
		t.Errorf("GetUser = %+v, %v", got, err)
	}
}

func TestServerPathPrefix(t *testing.T) {
	t.Parallel()
	var path atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.EscapedPath())
		_, _ = w.Write([]byte(`{"message":"Done","message_code":1,"success":1,"count":0,"mobilecount":0,"status":200}`))
	}))
	t.Cleanup(ts.Close)
	c, err := NewClient(Options{Server: ts.URL + "/typingdna/", APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(context.Background(), "odd/user id", UserQuery{}); err != nil {
		t.Fatal(err)
	}
	if got := path.Load(); got != "/typingdna/user/odd%2Fuser%20id" {
		t.Errorf("path = %v", got)
	}
}

// TestNothingSecretInLogsOrErrors runs failing calls with debug logging and
// checks neither the logs nor the errors hold the secret, the user id or the
// pattern.
func TestNothingSecretInLogsOrErrors(t *testing.T) {
	t.Parallel()
	srv := fake.Start(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv, func(o *Options) { o.Logger = log })
	bad := newClient(t, srv, func(o *Options) { o.Logger = log; o.APISecret = "s3cr3t-wrong" })
	ctx := context.Background()
	p := typed("alice")

	srv.AddFault(fake.Fault{Op: fake.OpGetUser, Status: 503, Code: 49, Times: 3})
	var errs []error
	_, err := c.GetUser(ctx, alice, UserQuery{TextID: textID})
	errs = append(errs, err)
	_, err = c.Verify(ctx, alice, VerifyRequest{Pattern: "0,3.2|garbage"})
	errs = append(errs, err)
	_, err = bad.Verify(ctx, alice, VerifyRequest{Pattern: p})
	errs = append(errs, err)

	if !strings.Contains(buf.String(), "typingdna retry") || !strings.Contains(buf.String(), maskID(alice)) {
		t.Fatalf("expected retry lines with the masked user id, got:\n%s", buf.String())
	}
	texts := []string{buf.String()}
	for _, e := range errs {
		if e == nil {
			t.Fatal("a failing call succeeded")
		}
		texts = append(texts, e.Error())
	}
	for _, s := range texts {
		for _, secret := range []string{srv.Secret, "s3cr3t-wrong", alice[:16], p[:40], "garbage"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks %q", s, secret)
			}
		}
	}
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		opts Options
		ok   bool
	}{
		"defaults":       {Options{APIKey: "k", APISecret: "s"}, true},
		"custom server":  {Options{Server: "http://localhost:9999/", APIKey: "k", APISecret: "s"}, true},
		"no key":         {Options{APISecret: "s"}, false},
		"no secret":      {Options{APIKey: "k"}, false},
		"not a URL":      {Options{Server: "api.typingdna.com", APIKey: "k", APISecret: "s"}, false},
		"ftp":            {Options{Server: "ftp://api.typingdna.com", APIKey: "k", APISecret: "s"}, false},
		"query":          {Options{Server: "https://api.typingdna.com?x=1", APIKey: "k", APISecret: "s"}, false},
		"negative retry": {Options{APIKey: "k", APISecret: "s", MaxAttempts: -1}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("NewClient err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && (c.timeout != DefaultTimeout || c.maxAttempts != DefaultMaxAttempts || c.base == "" || strings.HasSuffix(c.base, "/")) {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}
