package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// fakeHook is a bridge whose Respond echoes the outcome as JSON, so tests can see
// exactly what the host asked it to answer.
type fakeHook struct {
	parse    func(ctx context.Context, r *bridge.Request) (*bridge.ParseResult, error)
	dead     bool
	deadline time.Duration
}

func (f *fakeHook) Parse(ctx context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
	return f.parse(ctx, r)
}

func (f *fakeHook) Respond(_ context.Context, o *bridge.Outcome) (*bridge.Response, error) {
	status := 200
	if o.Kind == bridge.OutcomeRejected {
		status = answer.Status(o.Reason)
	}
	return echoAnswer(status, o.Kind.String(), o.Reason, o.TransactionID), nil
}

// echoAnswer is the fake bridges' answer: what the host asked them to say.
func echoAnswer(status int, kind string, reason bridge.Reason, txn string) *bridge.Response {
	code := ""
	if reason != bridge.ReasonUnspecified {
		code = reason.String()
	}
	body, _ := json.Marshal(map[string]any{"kind": kind, "code": code, "txn": txn})
	return &bridge.Response{Status: status, Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}},
		// A bridge cannot speak for the host: the outcome headers are its own.
		{Name: "smsplus-outcome", Values: []string{"delivered"}},
	}}
}

// rejectAs is a Parse that refuses every call, rendering the answer itself.
func rejectAs(status int, reason bridge.Reason) func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
	return func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
		return bridge.Reject(reason, echoAnswer(status, "rejected", reason, "")), nil
	}
}

func (f *fakeHook) Alive() bool                              { return !f.dead }
func (f *fakeHook) Deadline() time.Duration                  { return f.deadline }
func (f *fakeHook) Rendered(bridge.Outcome) *bridge.Response { return nil }
func (f *fakeHook) Unavailable() *bridge.Response {
	return &bridge.Response{Status: 200, Body: []byte(`{"kind":"unavailable"}`)}
}

type nullVerifier struct{}

func (nullVerifier) Name() string { return "null" }
func (nullVerifier) Enrollment(context.Context, string, string) (biometrics.Enrollment, error) {
	return biometrics.Enrollment{Required: 3}, nil
}
func (nullVerifier) Submit(context.Context, string, string, string, string) (biometrics.Result, error) {
	return biometrics.Result{}, biometrics.ErrBadPattern
}
func (nullVerifier) Delete(context.Context, string) error { return nil }

type outbox struct {
	mu   sync.Mutex
	msgs []sms.Message
}

func (o *outbox) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return sms.Receipt{ID: "x"}, nil
}

func (o *outbox) count() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.msgs) }

func otpEvent(phone string) func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
	return func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
		return &bridge.ParseResult{OTP: &bridge.OTPEvent{Phone: phone, OTP: "123456", Channel: bridge.ChannelSMS}}, nil
	}
}

func newTestServer(t *testing.T, hooks map[string]*fakeHook, tweak func(*Options)) (*Server, *outbox) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := seal.New(nil)
	out := &outbox{}
	svc := challenge.New(challenge.Settings{
		BaseURL: "https://sms.example", HashSalt: "s", DefaultLanguage: "en", ChallengeTTL: time.Minute,
		PerChallengeMaxFailedAttempts: 3, MaxFailedAttempts: 5, LockoutDuration: time.Minute,
	}, challenge.Deps{Store: st, Sender: out, Verifier: nullVerifier{}, Sealer: sealer,
		NewPhrase: func(string) (challenge.Phrase, error) { return challenge.Phrase{Text: "blue river", TextID: "1"}, nil }})
	o := Options{
		Service: svc,
		Hooks: func(id string) (Hook, bool) {
			h, ok := hooks[id]
			return h, ok
		},
		Static:       fstest.MapFS{"page.css": {Data: []byte("body{}")}},
		MaxBodyBytes: 1024,
	}
	if tweak != nil {
		tweak(&o)
	}
	return New(o), out
}

func do(s http.Handler, method, path, ctype, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not JSON (%d): %q", rec.Code, rec.Body.String())
	}
	return m
}

func TestHookOutcomes(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		hook       *fakeHook
		path, body string
		wantStatus int
		wantKind   string
		wantCode   string
		wantReason string // the reason header, when the body does not carry it (default wantCode)
		wantSMS    int
	}{
		"delivered":          {hook: &fakeHook{parse: otpEvent("+15555550100")}, wantStatus: 200, wantKind: "delivered", wantSMS: 1},
		"invalid phone":      {hook: &fakeHook{parse: otpEvent("9876543210")}, wantStatus: 200, wantKind: "failed", wantCode: "invalid_phone"},
		"rejected by bridge": {hook: &fakeHook{parse: rejectAs(401, bridge.ReasonUnauthorized)}, wantStatus: 401, wantKind: "rejected", wantCode: "unauthorized"},
		"test ping": {hook: &fakeHook{parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
			return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
		}}, wantStatus: 200, wantKind: "test_ok"},
		"body too large": {hook: &fakeHook{parse: otpEvent("+15555550100")}, body: strings.Repeat("x", 1025),
			wantStatus: 413, wantKind: "rejected", wantCode: "body_too_large"},
		"bridge error": {hook: &fakeHook{parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
			return nil, fmt.Errorf("boom")
		}}, wantStatus: 200, wantKind: "failed", wantCode: "internal_error"},
		"bridge down": {hook: &fakeHook{dead: true}, wantStatus: 200, wantKind: "unavailable", wantReason: "bridge_unavailable"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, out := newTestServer(t, map[string]*fakeHook{"acme": tc.hook}, nil)
			body := tc.body
			if body == "" {
				body = "{}"
			}
			rec := do(s, http.MethodPost, "/hooks/acme", "application/json", body)
			m := decode(t, rec)
			if rec.Code != tc.wantStatus || m["kind"] != tc.wantKind || (tc.wantCode != "" && m["code"] != tc.wantCode) {
				t.Fatalf("got %d %v, want %d %s %s", rec.Code, m, tc.wantStatus, tc.wantKind, tc.wantCode)
			}
			// The outcome in the same words for every vendor.
			if got := rec.Header().Get(HeaderOutcome); got != tc.wantKind {
				t.Errorf("%s: %q, want %q", HeaderOutcome, got, tc.wantKind)
			}
			wantReason := tc.wantReason
			if wantReason == "" {
				wantReason = tc.wantCode
			}
			if got := rec.Header().Get(HeaderReason); got != wantReason {
				t.Errorf("%s: %q, want %q", HeaderReason, got, wantReason)
			}
			if out.count() != tc.wantSMS {
				t.Fatalf("%d SMS sent, want %d", out.count(), tc.wantSMS)
			}
			if tc.wantKind == "delivered" {
				link := regexp.MustCompile(`https://sms\.example/([A-Za-z0-9_-]{22})`).FindStringSubmatch(out.msgs[0].Body)
				if link == nil || m["txn"] != challenge.TransactionID(link[1]) {
					t.Fatalf("txn %v does not name the challenge of %q", m["txn"], out.msgs[0].Body)
				}
			}
		})
	}
}

func TestUnknownBridgeAndMethod(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, nil, nil)
	rec := do(s, http.MethodPost, "/hooks/nope", "application/json", "{}")
	if m := decode(t, rec); rec.Code != 404 || m["code"] != "unknown_bridge" {
		t.Fatalf("unknown bridge: %d %v", rec.Code, m)
	}
	// GET reaches the bridge (PingOne may send GET); an unknown bridge is 404.
	rec = do(s, http.MethodGet, "/hooks/nope", "", "")
	if m := decode(t, rec); rec.Code != 404 || m["code"] != "unknown_bridge" {
		t.Fatalf("GET of an unknown bridge's hook: %d %v", rec.Code, m)
	}
	rec = do(s, http.MethodPut, "/hooks/nope", "", "")
	if m := decode(t, rec); rec.Code != 405 || m["error"] != "method_not_allowed" {
		t.Fatalf("PUT hook: %d %v", rec.Code, m)
	}
}

func TestVerifyBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, nil, nil)
	cid := strings.Repeat("A", 22)
	tests := map[string]struct {
		ctype, body string
		status      int
		code        float64
		name        string
	}{
		"not json":      {"text/plain", `{}`, 415, 100, "unsupported_media_type"},
		"malformed":     {"application/json", `{"cid":`, 400, 100, "malformed_request"},
		"unknown field": {"application/json", `{"cid":"a","tp":"b","textId":"c","x":1}`, 400, 100, "malformed_request"},
		"trailing":      {"application/json", `{"cid":"a","tp":"b","textId":"c"} {}`, 400, 100, "malformed_request"},
		"wrong type":    {"application/json", `{"cid":1,"tp":"b","textId":"c"}`, 400, 100, "malformed_request"},
		// An unknown link is answered before the pattern is looked at (Node SMS+: 101).
		"unknown cid, pattern not a string": {"application/json", `{"cid":"` + cid + `","tp":[1,2],"textId":"c"}`, 404, 101, "link_expired_or_invalid"},
		"unknown cid, text id not a string": {"application/json", `{"cid":"` + cid + `","tp":"b","textId":{}}`, 404, 101, "link_expired_or_invalid"},
		"bad cid, pattern not a string":     {"application/json", `{"cid":"a","tp":7,"textId":"c"}`, 404, 101, "link_expired_or_invalid"},
		"missing tp":                        {"application/json", `{"cid":"a","textId":"c"}`, 400, 100, "missing_required_data"},
		"unknown cid":                       {"application/json", `{"cid":"` + cid + `","tp":"b","textId":"c"}`, 404, 101, "link_expired_or_invalid"},
		"too large":                         {"application/json", `{"cid":"` + strings.Repeat("a", 20000) + `"}`, 413, 100, "body_too_large"},
		// encoding/json would keep the last cid, or fill cid from CID: ambiguous.
		"duplicate key":   {"application/json", `{"cid":"a","tp":"b","textId":"c","cid":"` + cid + `"}`, 400, 100, "malformed_request"},
		"case-folded key": {"application/json", `{"cid":"` + cid + `","CID":"a","tp":"b","textId":"c"}`, 400, 100, "malformed_request"},
		"escaped key":     {"application/json", `{"tp":"b","t\u0070":"x","textId":"c","cid":"` + cid + `"}`, 400, 100, "malformed_request"},
		"too deep":        {"application/json", `{"cid":"` + cid + `","tp":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"textId":"c"}`, 400, 100, "malformed_request"},
		"not UTF-8":       {"application/json", "{\"cid\":\"" + cid + "\xff\",\"tp\":\"b\",\"textId\":\"c\"}", 400, 100, "malformed_request"},
		"charset":         {"application/json; charset=utf-8", `{"cid":"` + cid + `","tp":"b","textId":"c"}`, 404, 101, "link_expired_or_invalid"},
		"json-like type":  {"application/jsonp", `{"cid":"` + cid + `","tp":"b","textId":"c"}`, 415, 100, "unsupported_media_type"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := do(s, http.MethodPost, "/verify-otp", tc.ctype, tc.body)
			m := decode(t, rec)
			if rec.Code != tc.status || m["code"] != tc.code || m["error"] != tc.name || m["message"] == "" {
				t.Fatalf("got %d %v, want %d %v %s", rec.Code, m, tc.status, tc.code, tc.name)
			}
		})
	}
}

func TestPagesAndHeaders(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, nil, nil)
	rec := do(s, http.MethodGet, "/"+strings.Repeat("A", 22), "", "")
	if rec.Code != 404 || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("unknown link: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if rec := do(s, http.MethodGet, "/static/page.css", "", ""); rec.Code != 200 || rec.Body.String() != "body{}" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "max-age") {
		t.Fatalf("static: %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Cache-Control"))
	}
	if rec := do(s, http.MethodGet, "/static/", "", ""); rec.Code != 404 {
		t.Fatalf("directory listing: %d", rec.Code)
	}
	if rec := do(s, http.MethodGet, "/healthz", "", ""); rec.Code != 200 {
		t.Fatalf("healthz: %d", rec.Code)
	}
	if rec := do(s, http.MethodGet, "/readyz", "", ""); rec.Code != 200 {
		t.Fatalf("readyz: %d", rec.Code)
	}
	notReady, _ := newTestServer(t, nil, func(o *Options) { o.Ready = func(context.Context) error { return fmt.Errorf("store down") } })
	if rec := do(notReady, http.MethodGet, "/readyz", "", ""); rec.Code != 503 || strings.Contains(rec.Body.String(), "store down") {
		t.Fatalf("readyz when not ready: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAccountRoutesBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, nil, nil)
	id := strings.Repeat("B", 22)
	tests := map[string]struct {
		path, body string
		status     int
		code       float64
	}{
		"reset missing phone":     {"/reset-account", `{"cid":"` + id + `"}`, 400, 100},
		"reset national phone":    {"/reset-account", `{"cid":"` + id + `","phone":"5555550100"}`, 400, 112},
		"reset unknown challenge": {"/reset-account", `{"cid":"` + id + `","phone":"+15555550100"}`, 404, 101},
		"reset unknown field":     {"/reset-account", `{"cid":"` + id + `","phone":"+15555550100","x":1}`, 400, 100},
		"reset folded phone":      {"/reset-account", `{"cid":"` + id + `","phone":"+15555550100","Phone":"+15555550101"}`, 400, 100},
		"disable duplicate token": {"/disable-account", `{"disableTid":"x","disableTid":"` + id + `","phone":"+15555550100"}`, 400, 100},
		"reset-now node names":    {"/reset-account-now", `{"cid":"` + id + `","phoneNumber":"+15555550100"}`, 404, 101},
		"reset-now our names":     {"/reset-account-now", `{"resetNowTid":"` + id + `","phone":"+15555550100"}`, 404, 101},
		"reset-now missing":       {"/reset-account-now", `{"phoneNumber":"+15555550100"}`, 400, 100},
		"disable unknown token":   {"/disable-account", `{"disableTid":"` + id + `","phone":"+15555550100"}`, 404, 101},
		"disable junk token":      {"/disable-account", `{"disableTid":"../../x","phone":"+15555550100"}`, 404, 101},
		"disable missing token":   {"/disable-account", `{"phone":"+15555550100"}`, 400, 100},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := do(s, http.MethodPost, tc.path, "application/json", tc.body)
			if m := decode(t, rec); rec.Code != tc.status || m["code"] != tc.code {
				t.Fatalf("got %d %v, want %d code %v", rec.Code, m, tc.status, tc.code)
			}
		})
	}
}

func TestPageRateLimitPerClientIP(t *testing.T) {
	t.Parallel()
	_, lb, _ := net.ParseCIDR("192.0.2.0/24")
	for name, tc := range map[string]struct {
		proxies []*net.IPNet
		// requests from the same peer; with a trusted proxy each names another client
		wantLimited bool
	}{
		"public peer: a forged X-Forwarded-For does not change the client": {nil, true},
		"trusted proxy: each forwarded client has its own budget":          {[]*net.IPNet{lb}, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestServer(t, nil, func(o *Options) { o.PageRatePerMinute = 10; o.TrustedProxies = tc.proxies })
			limited := false
			for i := range 12 {
				req := httptest.NewRequest(http.MethodPost, "/verify-otp", strings.NewReader(`{}`))
				req.Header.Set("Content-Type", "application/json")
				req.RemoteAddr = "192.0.2.10:4321"
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code == http.StatusTooManyRequests {
					limited = true
					if m := decode(t, rec); m["error"] != "rate_limited" || rec.Header().Get("Retry-After") == "" {
						t.Fatalf("429 answer: %v", m)
					}
				}
			}
			if limited != tc.wantLimited {
				t.Fatalf("limited = %v, want %v", limited, tc.wantLimited)
			}
		})
	}
	// A private peer is not trusted by default: a client on the same network as
	// SMS+ cannot pick its identity with the header. Behind an ingress the
	// operator says TRUSTED_PROXIES=private, and users are told apart by it.
	_, private10, _ := net.ParseCIDR("10.0.0.0/8")
	for name, tc := range map[string]struct {
		proxies     []*net.IPNet
		wantLimited bool
	}{
		"private peer, no trusted proxies": {nil, true},
		"private peer, trusted ingress":    {[]*net.IPNet{private10}, false},
	} {
		s, _ := newTestServer(t, nil, func(o *Options) { o.PageRatePerMinute = 2; o.TrustedProxies = tc.proxies })
		limited := false
		for i := range 5 {
			req := httptest.NewRequest(http.MethodPost, "/verify-otp", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "10.1.2.3:4321"
			// The ingress appends the client it saw; a forged first entry must not count.
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.9, 203.0.113.%d", i))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			limited = limited || rec.Code == http.StatusTooManyRequests
		}
		if limited != tc.wantLimited {
			t.Fatalf("%s: limited = %v, want %v", name, limited, tc.wantLimited)
		}
	}
	s, _ := newTestServer(t, nil, func(o *Options) { o.PageRatePerMinute = 2 })
	for range 5 {
		if rec := do(s, http.MethodPost, "/hooks/nope", "application/json", "{}"); rec.Code == http.StatusTooManyRequests {
			t.Fatal("hooks are not behind the page limit")
		}
	}
}
