package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/metrics"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// scrape returns the exposition text of m's handler.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("metrics: %d %s", rec.Code, body)
	}
	return string(body)
}

// want fails unless every line is in the exposition text.
func want(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
}

type recorder struct{ events []string }

func (r *recorder) Record(event, user string, fields map[string]any) {
	r.events = append(r.events, event)
}

func TestAuditorCountsVerificationsAndLockouts(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	next := &recorder{}
	a := m.Auditor(next)
	for _, e := range []string{"challenge_created", "enrollment_sample", "enrollment_sample", "otp_revealed",
		"verify_failed", "verify_failed", "user_locked", "wrong_position", "refused_rate"} {
		a.Record(e, "u", nil)
	}
	if len(next.events) != 9 {
		t.Fatalf("the decorated auditor got %d events, want 9", len(next.events))
	}
	want(t, scrape(t, m),
		`smsplus_verifications_total{result="enroll_sample"} 2`,
		`smsplus_verifications_total{result="match"} 1`,
		`smsplus_verifications_total{result="mismatch"} 2`,
		`smsplus_verifications_total{result="wrong_position"} 1`,
		`smsplus_lockouts_total 1`,
		`smsplus_challenge_events_total{event="challenge_created"} 1`,
		`smsplus_challenge_events_total{event="refused_rate"} 1`,
		`smsplus_challenge_events_total{event="user_locked"} 1`,
	)
}

type sendFunc func(context.Context, sms.Message) (sms.Receipt, error)

func (f sendFunc) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) { return f(ctx, m) }

func TestSenderCountsResults(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	errs := []error{nil, nil, fmt.Errorf("twilio: %w: 21211", sms.ErrRejected),
		fmt.Errorf("twilio: %w: %w", sms.ErrUnavailable, context.DeadlineExceeded),
		fmt.Errorf("twilio: %w: 503", sms.ErrUnavailable), errors.New("surprise")}
	i := 0
	s := m.Sender(sendFunc(func(context.Context, sms.Message) (sms.Receipt, error) {
		err := errs[i]
		i++
		return sms.Receipt{ID: "SM1"}, err
	}))
	for range errs {
		_, _ = s.Send(context.Background(), sms.Message{To: "+15555550100", Body: "x"})
	}
	text := scrape(t, m)
	want(t, text,
		`smsplus_sms_sends_total{result="sent"} 2`,
		`smsplus_sms_sends_total{result="rejected"} 1`,
		`smsplus_sms_sends_total{result="timeout"} 1`,
		`smsplus_sms_sends_total{result="unavailable"} 1`,
		`smsplus_sms_sends_total{result="error"} 1`,
		`smsplus_sms_send_duration_seconds_count 6`,
	)
	if strings.Contains(text, "+15555550100") {
		t.Error("the metrics carry the phone number")
	}
}

// failingStore answers every call with err.
type failingStore struct{ err error }

func (f failingStore) Create(context.Context, storage.Namespace, string, []byte, time.Duration) error {
	return f.err
}
func (f failingStore) Put(context.Context, storage.Namespace, string, []byte, time.Duration) error {
	return f.err
}
func (f failingStore) Get(context.Context, storage.Namespace, string) ([]byte, error) {
	return nil, f.err
}
func (f failingStore) Take(context.Context, storage.Namespace, string) ([]byte, error) {
	return nil, f.err
}
func (f failingStore) Delete(context.Context, storage.Namespace, string) error { return f.err }
func (f failingStore) Incr(context.Context, storage.Namespace, string, time.Duration) (int64, error) {
	return 0, f.err
}
func (f failingStore) Count(context.Context, storage.Namespace, string) (int64, error) {
	return 0, f.err
}
func (f failingStore) Ping(context.Context) error { return f.err }
func (f failingStore) Close() error               { return f.err }

func TestStoreCountsFailuresNotAnswers(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	ctx := context.Background()
	calls := func(s storage.Store) {
		_ = s.Create(ctx, storage.Users, "k", nil, 0)
		_ = s.Put(ctx, storage.Users, "k", nil, 0)
		_, _ = s.Get(ctx, storage.Users, "k")
		_, _ = s.Take(ctx, storage.Challenges, "k")
		_ = s.Delete(ctx, storage.Users, "k")
		_, _ = s.Incr(ctx, storage.UserFailures, "k", time.Minute)
		_, _ = s.Count(ctx, storage.UserFailures, "k")
		_ = s.Ping(ctx)
	}
	// Answers and a caller that gave up are not store failures.
	for _, err := range []error{nil, storage.ErrNotFound, storage.ErrExists, fmt.Errorf("get: %w", context.Canceled)} {
		calls(m.Store(failingStore{err}))
	}
	calls(m.Store(failingStore{fmt.Errorf("redis: %w: dial tcp: refused", storage.ErrUnavailable)}))
	s := m.Store(failingStore{fmt.Errorf("get: %w", context.DeadlineExceeded)})
	_, _ = s.Get(ctx, storage.Users, "k")
	_, _ = s.Get(ctx, storage.Users, "k")
	_ = m.Store(failingStore{errors.New("corrupt page")}).Close()

	text := scrape(t, m)
	want(t, text,
		`smsplus_store_errors_total{kind="unavailable",op="create"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="put"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="get"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="take"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="delete"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="incr"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="count"} 1`,
		`smsplus_store_errors_total{kind="unavailable",op="ping"} 1`,
		`smsplus_store_errors_total{kind="timeout",op="get"} 2`,
		`smsplus_store_errors_total{kind="other",op="close"} 1`,
	)
	if n := strings.Count(text, "\nsmsplus_store_errors_total{"); n != 10 {
		t.Errorf("%d store error series, want 10:\n%s", n, text)
	}
	// Every call is counted, answer or failure: 5 rounds, 2 more gets, 1 close.
	want(t, text, `smsplus_store_calls_total{op="get"} 7`, `smsplus_store_calls_total{op="incr"} 5`,
		`smsplus_store_calls_total{op="close"} 1`)
}

func TestHooksPluginsAndBuildInfo(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ObserveHook("okta", "delivered", "", 120*time.Millisecond)
	m.ObserveHook("okta", "delivered", "", 2900*time.Millisecond)
	m.ObserveHook("okta", "failed", "overloaded", 5*time.Millisecond)
	m.ObserveHook("auth0", "unavailable", "bridge_unavailable", time.Millisecond)
	restarts := uint64(0)
	m.Plugins(func() []metrics.Plugin {
		return []metrics.Plugin{{ID: "auth0", Restarts: restarts, Up: false}, {ID: "okta", Restarts: 0, Up: true, Deadline: 3 * time.Second}}
	})
	dropped := 0.0
	m.CounterFunc("audit_dropped_total", "dropped", func() float64 { return dropped })
	restarts, dropped = 3, 7

	text := scrape(t, m)
	want(t, text,
		`smsplus_hooks_total{bridge="okta",outcome="delivered",reason="none"} 2`,
		`smsplus_hooks_total{bridge="okta",outcome="failed",reason="overloaded"} 1`,
		`smsplus_hooks_total{bridge="auth0",outcome="unavailable",reason="bridge_unavailable"} 1`,
		`smsplus_hook_duration_seconds_bucket{bridge="okta",le="0.25"} 2`,
		`smsplus_hook_duration_seconds_bucket{bridge="okta",le="2.5"} 2`,
		`smsplus_hook_duration_seconds_bucket{bridge="okta",le="3"} 3`,
		`smsplus_hook_duration_seconds_count{bridge="okta"} 3`,
		`smsplus_plugin_restarts_total{bridge="auth0"} 3`,
		`smsplus_plugin_restarts_total{bridge="okta"} 0`,
		`smsplus_plugin_up{bridge="auth0"} 0`,
		`smsplus_plugin_up{bridge="okta"} 1`,
		`smsplus_bridge_deadline_seconds{bridge="okta"} 3`,
		`smsplus_audit_dropped_total 7`,
		`smsplus_lockouts_total 0`,
	)
	if strings.Contains(text, `smsplus_bridge_deadline_seconds{bridge="auth0"}`) {
		t.Error("a bridge without a known deadline exports one")
	}
	if !strings.Contains(text, "\nsmsplus_build_info{") || !strings.Contains(text, "\ngo_goroutines ") ||
		!strings.Contains(text, "\nprocess_resident_memory_bytes ") {
		t.Errorf("build, Go runtime or process metrics missing:\n%s", text)
	}
}
