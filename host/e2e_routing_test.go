package host_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// TestEndToEndRouting runs two Twilio accounts (two fakes driven by
// twilio-go) as a route through the real binaries: failover within Okta's
// deadline, signed status callbacks recorded once, forged ones refused, and an
// undelivered text re-sent once through the other account.
func TestEndToEndRouting(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	primary, backup := twiliofake.New(t), twiliofake.New(t)
	env := []string{"SMS_PROVIDER", "SMS_PROVIDERS=twilio,backup:twilio", "SMS_ROUTE_DEFAULT=twilio,backup",
		"HOOK_BUDGET_MS=1500", "SMS_RESEND_UNDELIVERED=true", "SMS_BREAKER_FAILURES=100",
		"LOG_LEVEL=debug"} // the send records are logged at debug level
	env = append(env, e2e.TwilioProviderEnv("twilio", primary)...)
	env = append(env, e2e.TwilioProviderEnv("backup", backup)...)
	s := bin.Start(t, env...)

	// okta posts Okta's hook for phone and wants the code sent in time.
	okta := func(t *testing.T, phone, otp string) {
		t.Helper()
		a := inTime(t, s.Example(t, "okta", phone, otp), oktaDeadline)
		if a.Status != http.StatusOK || a.OktaStatus() != "SUCCESSFUL" {
			t.Fatalf("okta hook: %s; want SUCCESSFUL within Okta's %s", a, oktaDeadline)
		}
	}
	to := func(tw *twiliofake.Server, phone string) []twiliofake.Message {
		var out []twiliofake.Message
		for _, m := range tw.Messages() {
			if m.To == phone {
				out = append(out, m)
			}
		}
		return out
	}
	events := func(event string) float64 {
		return s.Metrics(t).Value("smsplus_challenge_events_total", "event", event)
	}
	// waitFor polls cond for what a background step does (a record, a re-send).
	waitFor := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(e2e.SMSWait); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, e2e.SMSWait)
			}
		}
	}
	// delivered sends a text through the primary account and returns it.
	delivered := func(t *testing.T, phone, otp string) twiliofake.Message {
		t.Helper()
		okta(t, phone, otp)
		msgs := to(primary, phone)
		if len(msgs) != 1 || !strings.Contains(msgs[0].StatusCallback, s.Base+"/sms/receipts/twilio?smsplus_ref=") {
			t.Fatalf("primary account got %+v; want one text asking for receipts at the receipts route", msgs)
		}
		s.WaitSendRecorded(t, msgs[0].SID)
		return msgs[0]
	}

	for name, fault := range map[string]twiliofake.Outcome{
		"primary answers 503":           twiliofake.Page(http.StatusServiceUnavailable),
		"primary rate limited":          twiliofake.Fail(20429),
		"primary slower than its share": twiliofake.Slow(5 * time.Second),
	} {
		t.Run("failover: "+name, func(t *testing.T) {
			phone := "+1201555" + map[string]string{"primary answers 503": "0301", "primary rate limited": "0302",
				"primary slower than its share": "0303"}[name]
			primary.SetOutcomeFor(phone, fault)
			okta(t, phone, "123456")
			if got := to(backup, phone); len(got) != 1 || !strings.Contains(got[0].Body, s.Base+"/") {
				t.Fatalf("backup account got %+v; want the link once", got)
			}
			if got := to(primary, phone); len(got) != 0 {
				t.Fatalf("the failing account created %d messages too", len(got))
			}
		})
	}

	t.Run("failover: primary refuses connections", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String()
		ln.Close()
		down := bin.Start(t, append(env, "TWILIO_API_BASE_URL="+dead)...)
		a := inTime(t, down.Example(t, "okta", "+12015550304", "123456"), oktaDeadline)
		if a.OktaStatus() != "SUCCESSFUL" || len(to(backup, "+12015550304")) != 1 {
			t.Fatalf("okta hook: %s, backup got %d texts; want SUCCESSFUL through the backup", a, len(to(backup, "+12015550304")))
		}
	})

	t.Run("a refused number is not tried elsewhere", func(t *testing.T) {
		primary.SetOutcomeFor("+12015550305", twiliofake.Fail(21211))
		a := inTime(t, s.Example(t, "okta", "+12015550305", "123456"), oktaDeadline)
		if a.OktaReason() != "SMS_FAILED" || len(to(backup, "+12015550305")) != 0 {
			t.Fatalf("okta hook: %s, backup got %d texts; want SMS_FAILED and none", a, len(to(backup, "+12015550305")))
		}
	})

	t.Run("signed receipt recorded once", func(t *testing.T) {
		msg := delivered(t, "+12015550311", "246810")
		before := events("sms_delivered")
		for i := range 2 { // the second is a replay
			code, err := primary.PostStatus(context.Background(), msg.SID, "delivered", 0)
			if err != nil || code != http.StatusOK {
				t.Fatalf("status callback %d: %d %v", i, code, err)
			}
		}
		// Audit entries are counted as they are recorded, before the answer.
		if got := events("sms_delivered"); got != before+1 {
			t.Fatalf("sms_delivered counted %v times for one message", got-before)
		}
	})

	t.Run("forged receipt refused", func(t *testing.T) {
		msg := delivered(t, "+12015550312", "135791")
		form := primary.StatusForm(msg, "undelivered", 30003)
		for name, sig := range map[string]string{
			"wrong token":  twiliofake.Sign("0123456789abcdef0123456789abcdef", msg.StatusCallback, form),
			"no signature": "",
			"another URL":  twiliofake.Sign(primary.AuthToken, s.Base+"/sms/receipts/twilio", form),
		} {
			req, _ := http.NewRequest(http.MethodPost, msg.StatusCallback, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if sig != "" {
				req.Header.Set("X-Twilio-Signature", sig)
			}
			a := do(t, req)
			if a.Status != http.StatusForbidden || a.JSON()["code"] != "receipt_refused" {
				t.Fatalf("%s: %s; want 403 receipt_refused", name, a)
			}
		}
		// A refused callback starts nothing in the background.
		if n := events("sms_undelivered"); n != 0 || len(to(backup, "+12015550312")) != 0 {
			t.Fatalf("a forged receipt acted: %v undelivered, %d re-sends", n, len(to(backup, "+12015550312")))
		}
	})

	t.Run("undelivered: re-sent once through the other account", func(t *testing.T) {
		msg := delivered(t, "+12015550313", "975310")
		if code, err := primary.PostStatus(context.Background(), msg.SID, "undelivered", 30003); err != nil || code != http.StatusOK {
			t.Fatalf("status callback: %d %v", code, err)
		}
		waitFor(t, "re-sent through the backup", func() bool { return len(to(backup, "+12015550313")) == 1 })
		resent := to(backup, "+12015550313")[0]
		if resent.Body != msg.Body {
			t.Fatalf("re-sent %q, want the same text %q (same link, same code)", resent.Body, msg.Body)
		}
		waitFor(t, "sms_resent audited", func() bool { return events("sms_resent") == 1 })
		// The re-sent text is undelivered too: recorded, not sent a third time.
		s.WaitSendRecorded(t, resent.SID)
		if code, err := backup.PostStatus(context.Background(), resent.SID, "undelivered", 30003); err != nil || code != http.StatusOK {
			t.Fatalf("status callback of the re-send: %d %v", code, err)
		}
		if n := events("sms_undelivered"); n != 2 {
			t.Fatalf("sms_undelivered counted %v times, want 2", n)
		}
		time.Sleep(300 * time.Millisecond) // a re-send would have been started by now
		if p, b := len(to(primary, "+12015550313")), len(to(backup, "+12015550313")); p != 1 || b != 1 {
			t.Fatalf("texts: %d through the primary, %d through the backup; want one each", p, b)
		}
	})

	// The user got the text anyway and used the link: a late "undelivered"
	// report sends no second copy of a dead link.
	t.Run("undelivered after the link was used: not re-sent", func(t *testing.T) {
		const phone = "+12015550314"
		msg := delivered(t, phone, "864209")
		sms := e2e.SMS{To: phone, Body: msg.Body}
		link, cid := sms.Link()
		c := e2e.Challenge{Phone: phone, OTP: "864209", SMS: sms, Link: link, CID: cid}
		c.TextID, c.Len = s.Page(t, link)
		owner := e2e.Owner(31)
		s.Enroll(t, c, owner, 5)
		s.Pass(t, c, owner, 2) // reveals the code: the challenge is used
		if code, err := primary.PostStatus(context.Background(), msg.SID, "undelivered", 30003); err != nil || code != http.StatusOK {
			t.Fatalf("status callback: %d %v", code, err)
		}
		waitFor(t, "sms_resend_skipped audited", func() bool { return events("sms_resend_skipped") == 1 })
		if n := len(to(backup, phone)); n != 0 {
			t.Fatalf("%d texts re-sent through the backup after the link was used", n)
		}
	})
}
