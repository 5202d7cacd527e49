package host_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// oktaDeadline is how long Okta waits for a hook's answer before it gives up and
// texts the raw code itself.
const oktaDeadline = 3 * time.Second

// inTime sends a vendor's call with the vendor's deadline: an answer that is
// not complete by then fails the test, as it would fail the vendor.
func inTime(t testing.TB, req *http.Request, deadline time.Duration) e2e.Answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	a, err := e2e.Do(nil, req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s: no complete answer within the vendor's %s: %v", req.URL.Path, deadline, err)
	}
	return a
}

// TestEndToEndWithFakes runs the production engines (the TypingDNA client and
// twilio-go) against HTTP fakes of both APIs, through the real binaries, and
// checks each failure policy the way Okta sees it.
func TestEndToEndWithFakes(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	tw := twiliofake.New(t)
	td := fake.Start(t)
	env := append(append(e2e.TwilioEnv(tw), e2e.TypingDNAEnv(td)...), "HOOK_BUDGET_MS=1500")
	s := bin.Start(t, env...)

	// answer posts a hook for phone and returns Okta's view: the command status
	// or the error reason. Every answer must come within Okta's deadline.
	answer := func(t *testing.T, srv *e2e.Server, req *http.Request) (status, reason string) {
		t.Helper()
		a := inTime(t, req, oktaDeadline)
		if a.Status != http.StatusOK {
			t.Fatalf("okta hook: %s", a)
		}
		return a.OktaStatus(), a.OktaReason()
	}
	lastTo := func(phone string) string {
		for _, m := range tw.Messages() {
			if m.To == phone {
				return m.Body
			}
		}
		return ""
	}

	t.Run("delivered through twilio", func(t *testing.T) {
		if status, _ := answer(t, s, s.Example(t, "okta", "+12015550201", "123456")); status != "SUCCESSFUL" {
			t.Fatalf("status %q", status)
		}
		if body := lastTo("+12015550201"); !strings.Contains(body, s.Base+"/") || !strings.Contains(body, "123456") {
			t.Fatalf("twilio got %q; want the link and (enrolling) the code", body)
		}
	})

	t.Run("typingdna down: fallback sends the vendor's text", func(t *testing.T) {
		td.AddFault(fake.Fault{Op: fake.OpGetUser, Times: 3, Status: 503, Code: 49})
		defer td.ClearFaults()
		req := s.Example(t, "okta", "+12015550202", "246810")
		own := s.Parse(t, "okta", req).OTP.Message // what Okta would have texted
		if status, _ := answer(t, s, req); status != "SUCCESSFUL" {
			t.Fatalf("status %q", status)
		}
		if body := lastTo("+12015550202"); body != own || !strings.Contains(body, "246810") {
			t.Fatalf("twilio got %q, want Okta's own message %q", body, own)
		}
	})

	t.Run("twilio refuses the number", func(t *testing.T) {
		tw.SetOutcomeFor("+12015550203", twiliofake.Fail(21211))
		if _, reason := answer(t, s, s.Example(t, "okta", "+12015550203", "135791")); reason != "SMS_FAILED" {
			t.Fatalf("reason %q, want SMS_FAILED", reason)
		}
	})

	t.Run("twilio slower than the deadline: PENDING in time", func(t *testing.T) {
		// The budget is 1.5 s; answer enforces Okta's 3 s.
		tw.SetOutcomeFor("+12015550204", twiliofake.Slow(4*time.Second))
		if status, _ := answer(t, s, s.Example(t, "okta", "+12015550204", "112233")); status != "PENDING" {
			t.Fatalf("status %q; want PENDING inside Okta's 3 s", status)
		}
	})

	t.Run("typingdna down: fail closed", func(t *testing.T) {
		closed := bin.Start(t, append(env, "BIOMETRICS_FAILURE_POLICY=fail_closed")...)
		td.AddFault(fake.Fault{Op: fake.OpGetUser, Times: 3, Status: 503, Code: 49})
		defer td.ClearFaults()
		if _, reason := answer(t, closed, closed.Example(t, "okta", "+12015550205", "975310")); reason != "BIOMETRICS_UNAVAILABLE" {
			t.Fatalf("reason %q", reason)
		}
		if body := lastTo("+12015550205"); body != "" {
			t.Fatalf("fail closed still texted %q", body)
		}
	})

	t.Run("bad twilio credentials refuse to start", func(t *testing.T) {
		code, out := bin.Run(t, e2e.MergeEnv(s.Env, "TWILIO_API_SECRET=", "TWILIO_FROM_NUMBER=12"), "check-config")
		if code != 1 || !strings.Contains(out, "TWILIO_API_SECRET") || !strings.Contains(out, "TWILIO_FROM_NUMBER") {
			t.Fatalf("check-config: exit %d\n%s", code, out)
		}
	})
}
