package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/sdk/bridge"
)

type observed struct {
	bridge, outcome, reason string
	took                    time.Duration
}

type observer struct {
	mu  sync.Mutex
	got []observed
}

func (o *observer) ObserveHook(b, outcome, reason string, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observed{b, outcome, reason, took})
}

func TestHookObserver(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		hook        *fakeHook
		wantOutcome string
		wantReason  string
	}{
		"delivered":                {hook: &fakeHook{parse: otpEvent("+15555550100")}, wantOutcome: "delivered"},
		"rejected":                 {hook: &fakeHook{parse: rejectAs(http.StatusUnauthorized, bridge.ReasonUnauthorized)}, wantOutcome: "rejected", wantReason: "unauthorized"},
		"reason of a newer SDK":    {hook: &fakeHook{parse: rejectAs(http.StatusBadRequest, bridge.Reason(99))}, wantOutcome: "rejected", wantReason: "other"},
		"failed":                   {hook: &fakeHook{parse: otpEvent("555")}, wantOutcome: "failed", wantReason: "invalid_phone"},
		"plugin unavailable":       {hook: &fakeHook{dead: true}, wantOutcome: hookflow.OutcomeUnavailable, wantReason: "bridge_unavailable"},
		"body refused by the host": {hook: &fakeHook{parse: otpEvent("+15555550100")}, wantOutcome: "rejected", wantReason: "body_too_large"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			obs := &observer{}
			s, _ := newTestServer(t, map[string]*fakeHook{"okta": tc.hook}, func(o *Options) {
				o.Flow = hookflow.New(o.Service, hookflow.Options{Observer: obs})
			})
			body := "{}"
			if name == "body refused by the host" {
				body = strings.Repeat("x", 2048)
			}
			if rec := do(s, "POST", "/hooks/okta", "application/json", body); rec.Code == 0 {
				t.Fatal("no answer")
			}
			do(s, "POST", "/hooks/unknown", "application/json", "{}") // not a bridge: not counted
			if len(obs.got) != 1 {
				t.Fatalf("observed %d hooks, want 1: %+v", len(obs.got), obs.got)
			}
			got := obs.got[0]
			if got.bridge != "okta" || got.outcome != tc.wantOutcome || got.reason != tc.wantReason || got.took <= 0 {
				t.Errorf("observed %+v, want okta %s %q", got, tc.wantOutcome, tc.wantReason)
			}
		})
	}
}

func TestDrainTurnsUnreadyFirst(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, map[string]*fakeHook{"okta": {parse: otpEvent("+15555550100")}}, nil)
	if rec := do(s, "GET", "/readyz", "", ""); rec.Code != 200 || rec.Header().Get("Connection") == "close" {
		t.Fatalf("before drain: %d %v", rec.Code, rec.Header())
	}
	s.Drain()
	if !s.Draining() {
		t.Fatal("Draining() is false after Drain")
	}
	rec := do(s, "GET", "/readyz", "", "")
	if rec.Code != http.StatusServiceUnavailable || decode(t, rec)["status"] != "draining" {
		t.Fatalf("/readyz while draining: %d %s", rec.Code, rec.Body)
	}
	// Everything else is still served, asking clients to reconnect elsewhere.
	if rec := do(s, "GET", "/healthz", "", ""); rec.Code != 200 || rec.Header().Get("Connection") != "close" {
		t.Errorf("/healthz while draining: %d %v", rec.Code, rec.Header())
	}
	if rec := do(s, "POST", "/hooks/okta", "application/json", "{}"); rec.Code != 200 || decode(t, rec)["kind"] != "delivered" {
		t.Errorf("hook while draining: %d %s", rec.Code, rec.Body)
	}
}

func TestMetricsRoute(t *testing.T) {
	t.Parallel()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("smsplus_up 1\n")) })
	tests := map[string]struct {
		handler    http.Handler
		token      string
		auth       string
		wantStatus int
	}{
		"off":          {wantStatus: http.StatusNotFound},
		"open":         {handler: metrics, wantStatus: 200},
		"no token":     {handler: metrics, token: "0123456789abcdef", wantStatus: 401},
		"wrong token":  {handler: metrics, token: "0123456789abcdef", auth: "Bearer 0123456789abcdeX", wantStatus: 401},
		"not bearer":   {handler: metrics, token: "0123456789abcdef", auth: "Basic 0123456789abcdef", wantStatus: 401},
		"right token":  {handler: metrics, token: "0123456789abcdef", auth: "Bearer 0123456789abcdef", wantStatus: 200},
		"post refused": {handler: metrics, wantStatus: 405},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestServer(t, nil, func(o *Options) { o.Metrics, o.MetricsToken = tc.handler, tc.token })
			method := "GET"
			if name == "post refused" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.wantStatus)
			}
			if tc.wantStatus == 200 && !strings.Contains(rec.Body.String(), "smsplus_up 1") {
				t.Errorf("body %q", rec.Body)
			}
			if tc.wantStatus == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %v", rec.Header())
			}
		})
	}
}
