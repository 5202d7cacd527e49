package attack_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// TestAttackForgedReceiptsPumpResends.
//
// Attacker: a network client with no credentials, who knows SMS+'s receipts
// route (it is public: the providers call it) and may have seen one genuine
// status callback (a proxy log).
//
// Path: POST /sms/receipts/{provider}. An "undelivered" receipt makes SMS+
// re-send the text through another provider (SMS_RESEND_UNDELIVERED), so
// forged or replayed ones would be a way to make SMS+ text, and pay for, the
// same number again and again, or to fill the audit trail with false
// delivery states.
//
// Defence proved: a callback is acted on only when its provider's signature
// verifies (Twilio: HMAC-SHA1 with the auth token over the URL and the form),
// its reference's HMAC tag verifies and names its own message's challenge,
// and only the first final state of a message counts (atomically in the
// store): forged ones get 403 and change nothing, a genuine one replayed 20
// times re-sends once.
func TestAttackForgedReceiptsPumpResends(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	primary, backup := twiliofake.New(t), twiliofake.New(t)
	env := []string{"SMS_PROVIDER", "SMS_PROVIDERS=twilio,backup:twilio", "SMS_RESEND_UNDELIVERED=true", "LOG_LEVEL=debug"}
	env = append(env, e2e.TwilioProviderEnv("twilio", primary)...)
	env = append(env, e2e.TwilioProviderEnv("backup", backup)...)
	s := bin.Start(t, env...)

	victim, other := "+12015550401", "+12015550402"
	for _, p := range []string{victim, other} {
		if a := s.Hook(t, "okta", p, e2e.RandomOTP(8)); a.OktaStatus() != "SUCCESSFUL" {
			t.Fatalf("hook for %s: %s", p, brief("okta", a))
		}
	}
	msgs := map[string]twiliofake.Message{}
	for _, m := range primary.Messages() {
		msgs[m.To] = m
		s.WaitSendRecorded(t, m.SID) // the send records are written off the hook path
	}
	target, decoy := msgs[victim], msgs[other]

	post := func(target string, form url.Values, sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		a, err := e2e.Do(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		return a.Status
	}
	// What the attacker has seen: genuine signed callbacks (the signature is
	// the one Twilio would send), which they alter.
	undelivered := primary.StatusForm(target, "undelivered", 30003)
	seenDelivered := primary.StatusForm(target, "delivered", 0)
	seenSig := twiliofake.Sign(primary.AuthToken, target.StatusCallback, seenDelivered)
	seenDecoy := primary.StatusForm(decoy, "undelivered", 30003)
	seenDecoySig := twiliofake.Sign(primary.AuthToken, decoy.StatusCallback, seenDecoy)
	onDecoysURL := primary.StatusForm(target, "undelivered", 30003)
	toBackup := strings.Replace(target.StatusCallback, "/twilio?", "/backup?", 1)
	forged := map[string]int{
		"no signature": post(target.StatusCallback, undelivered, ""),
		"a guessed auth token": post(target.StatusCallback, undelivered,
			twiliofake.Sign(strings.Repeat("0", 32), target.StatusCallback, undelivered)),
		"a seen delivered turned undelivered":                        post(target.StatusCallback, undelivered, seenSig),
		"a seen callback of another message, its message id swapped": post(decoy.StatusCallback, onDecoysURL, seenDecoySig),
		"a seen callback posted to the other provider's route": post(toBackup,
			seenDelivered, seenSig),
	}
	for name, status := range forged {
		if status != http.StatusForbidden && status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 403 (or 400)", name, status)
		}
	}
	// A refused callback starts nothing in the background.
	if n := len(backup.Messages()); n != 0 {
		t.Fatalf("forged receipts made SMS+ re-send %d texts", n)
	}

	// One genuine undelivered receipt, replayed 20 times: one re-send.
	for i := range 21 {
		code, err := primary.PostStatus(context.Background(), target.SID, "undelivered", 30003)
		if err != nil || code != http.StatusOK {
			t.Fatalf("genuine callback %d: %d %v", i, code, err)
		}
	}
	deadline := time.Now().Add(e2e.SMSWait)
	for len(backup.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a second re-send would have been started by now
	if got := backup.Messages(); len(got) != 1 || got[0].To != victim {
		t.Fatalf("%d re-sends after one genuine receipt replayed 20 times; want 1 to the victim", len(got))
	}
	m := s.Metrics(t)
	if n := m.Value("smsplus_challenge_events_total", "event", "sms_undelivered"); n != 1 {
		t.Fatalf("sms_undelivered audited %v times, want 1", n)
	}
}
