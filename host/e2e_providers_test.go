package host_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/snsfake"
	"github.com/smsplus/smsplus/host/internal/sms/telnyxfake"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
	"github.com/smsplus/smsplus/host/internal/sms/vonagefake"
)

// TestEndToEndProviders runs every provider type through the real binaries,
// each against its fake driven by the real client: Twilio failing over to
// Vonage (the default route), Telnyx for Great Britain with its signed
// webhooks as delivery receipts, Amazon SNS for France.
func TestEndToEndProviders(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	tw, vg, tx, sn := twiliofake.New(t), vonagefake.New(t), telnyxfake.New(t), snsfake.New(t)
	env := []string{"SMS_PROVIDER", "SMS_PROVIDERS=twilio,vonage,telnyx,sns", "SMS_ROUTE_DEFAULT=twilio,vonage",
		"SMS_ROUTE_GB=telnyx", "SMS_ROUTE_FR=sns", "HOOK_BUDGET_MS=1500", "SMS_BREAKER_FAILURES=100",
		"LOG_LEVEL=debug"} // the send records are logged at debug level
	env = append(env, e2e.TwilioProviderEnv("twilio", tw)...)
	env = append(env, e2e.VonageProviderEnv("vonage", vg)...)
	env = append(env, e2e.TelnyxProviderEnv("telnyx", tx)...)
	env = append(env, e2e.SNSProviderEnv("sns", sn)...)
	s := bin.Start(t, env...)

	okta := func(t *testing.T, phone, otp string) {
		t.Helper()
		a := inTime(t, s.Example(t, "okta", phone, otp), oktaDeadline)
		if a.Status != http.StatusOK || a.OktaStatus() != "SUCCESSFUL" {
			t.Fatalf("okta hook: %s; want SUCCESSFUL within Okta's %s", a, oktaDeadline)
		}
	}
	metric := func(name string, labels ...string) float64 { return s.Metrics(t).Value(name, labels...) }

	t.Run("every provider's circuit is in the metrics from the start", func(t *testing.T) {
		for _, p := range []string{"twilio", "vonage", "telnyx", "sns"} {
			if v, ok := s.Metrics(t).Lookup("smsplus_sms_circuit_open", "provider", p); !ok || v != 0 {
				t.Errorf("smsplus_sms_circuit_open{provider=%q} = %v (present %v), want 0", p, v, ok)
			}
		}
	})

	t.Run("twilio answers 503, vonage delivers", func(t *testing.T) {
		const phone = "+12015550401"
		tw.SetOutcome(twiliofake.Page(http.StatusServiceUnavailable))
		okta(t, phone, "123456")
		var got []vonagefake.Message
		for _, m := range vg.Messages() {
			if m.To == strings.TrimPrefix(phone, "+") {
				got = append(got, m)
			}
		}
		if len(got) != 1 || !strings.Contains(got[0].Text, s.Base+"/") || got[0].From != "SMSPlus" {
			t.Fatalf("vonage got %+v; want the link once, from the configured sender", got)
		}
		if got[0].Callback != s.Base+"/sms/receipts/vonage" || got[0].ClientRef == "" {
			t.Fatalf("vonage message asks for receipts at %q with reference %q; want the receipts route and a reference",
				got[0].Callback, got[0].ClientRef)
		}
		if n := len(tw.Messages()); n != 0 {
			t.Fatalf("the failing Twilio created %d messages", n)
		}
		if n := metric("smsplus_sms_failovers_total", "from", "twilio", "to", "vonage", "country", "US"); n != 1 {
			t.Fatalf("smsplus_sms_failovers_total{twilio>vonage} = %v, want 1", n)
		}
	})

	t.Run("telnyx: signed receipt recorded as delivered, forged refused", func(t *testing.T) {
		const phone = "+447400123401"
		okta(t, phone, "246810")
		msgs := tx.Messages()
		if len(msgs) != 1 || msgs[0].To != phone || !strings.HasPrefix(msgs[0].WebhookURL, s.Base+"/sms/receipts/telnyx?smsplus_ref=") {
			t.Fatalf("telnyx got %+v; want one text asking for webhooks at the receipts route", msgs)
		}
		msg := msgs[0]
		s.WaitSendRecorded(t, msg.ID)

		// Forged: signed with another key, or the signed body altered.
		other := telnyxfake.New(t)
		body, ts, _, err := tx.Event(msg.ID, "message.finalized", "delivery_failed", "40300")
		if err != nil {
			t.Fatal(err)
		}
		_, _, realSig, _ := tx.Event(msg.ID, "message.finalized", "delivered", "")
		for name, sig := range map[string]string{"another key": other.Sign(ts, body), "altered body": realSig} {
			code, err := telnyxfake.Deliver(context.Background(), msg.WebhookURL, body, ts, sig)
			if err != nil || code != http.StatusForbidden {
				t.Fatalf("%s: %d %v; want 403", name, code, err)
			}
		}
		if n := metric("smsplus_challenge_events_total", "event", "sms_undelivered"); n != 0 {
			t.Fatalf("a forged webhook was recorded: sms_undelivered %v", n)
		}
		if n := metric("smsplus_sms_receipts_refused_total", "provider", "telnyx", "reason", "signature"); n != 2 {
			t.Fatalf("smsplus_sms_receipts_refused_total{telnyx,signature} = %v, want 2", n)
		}

		code, err := tx.PostEvent(context.Background(), msg.ID, "message.finalized", "delivered", "")
		if err != nil || code != http.StatusOK {
			t.Fatalf("signed webhook: %d %v", code, err)
		}
		// Audit entries are counted as they are recorded, before the answer.
		if n := metric("smsplus_challenge_events_total", "event", "sms_delivered"); n != 1 {
			t.Fatalf("sms_delivered audited %v times, want 1", n)
		}
		if n := metric("smsplus_sms_deliveries_total", "provider", "telnyx", "country", "GB", "state", "delivered"); n != 1 {
			t.Fatalf("smsplus_sms_deliveries_total{telnyx,GB,delivered} = %v, want 1", n)
		}
	})

	t.Run("sns sends through the AWS SDK", func(t *testing.T) {
		const phone = "+33612345401"
		okta(t, phone, "135791")
		msgs := sn.Messages()
		if len(msgs) != 1 || msgs[0].PhoneNumber != phone || !strings.Contains(msgs[0].Text, s.Base+"/") ||
			msgs[0].AccessKeyID != sn.AccessKeyID || msgs[0].Region != "eu-west-1" {
			t.Fatalf("sns got %+v; want the link once, signed with the configured key for eu-west-1", msgs)
		}
		if n := metric("smsplus_sms_provider_sends_total", "provider", "sns", "country", "FR", "result", "sent"); n != 1 {
			t.Fatalf("smsplus_sms_provider_sends_total{sns,FR,sent} = %v, want 1", n)
		}
	})
}

// check-config lists every problem of broken SNS and HTTP providers at once,
// each by the setting the operator writes.
func TestEndToEndCheckConfigProviders(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	env := e2e.MergeEnv(e2e.DefaultEnv(e2e.FreePort(t), t.TempDir(), bin.PluginDir), "SMS_PROVIDERS=sns,backup:sns,vonage,telnyx,myapi:http",
		"SNS_REGION=mars-1", "SNS_ACCESS_KEY_ID=nope", "SNS_SMS_TYPE=Urgent", "SNS_ENDPOINT=http://sns.example.com",
		"BACKUP_REGION=eu-west-1", "BACKUP_MAX_PRICE=lots",
		"VONAGE_API_KEY=abcd1234", "VONAGE_API_SECRT=e2e-typo-secret-5c1d", "VONAGE_FROM=not a sender!", "VONAGE_API_BASE_URL=ftp://x/y",
		"TELNYX_PUBLIC_KEY=abc", "TELNYX_TIMEOUT_MS=5",
		"MYAPI_URL=http://api.example.com/send", "MYAPI_BODY_FORMAT=xml", "MYAPI_HEADERS={\"X-Key\":\"{{secret.token}}\"}",
		"MYAPI_SUCCESS_STATUS=200,ok", "MYAPI_RECEIPT_FORMAT=carrier-pigeon")
	code, out := bin.Run(t, env, "check-config")
	if code != 1 {
		t.Fatalf("check-config: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"SNS_REGION: must be an AWS region", "SNS_ACCESS_KEY_ID: must be an AWS access key id", "SNS_SECRET_ACCESS_KEY: is required",
		"SNS_SMS_TYPE: must be Transactional or Promotional", "SNS_ENDPOINT: must be https",
		"BACKUP_MAX_PRICE: must be an amount",
		"VONAGE_API_SECRET: is required", "VONAGE_FROM: must be", "VONAGE_API_BASE_URL: must be an absolute URL",
		"TELNYX_API_KEY: is required", "TELNYX_MESSAGING_PROFILE_ID, TELNYX_FROM: set one", "TELNYX_PUBLIC_KEY: must be Telnyx's Ed25519 public key", "TELNYX_TIMEOUT_MS: must be a whole number",
		"MYAPI_URL: must be https", "MYAPI_BODY_FORMAT: must be json, form or empty", "MYAPI_TOKEN: is required",
		"MYAPI_SUCCESS_STATUS: must be HTTP statuses", "MYAPI_RECEIPT_FORMAT: must be vonage, telnyx or empty",
		"MYAPI_ID_PATH: is required",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config does not say %q", want)
		}
	}
	_, warnings, _ := strings.Cut(out, "warning(s):")
	if !strings.Contains(warnings, "VONAGE_API_SECRT (environment): not a setting SMS+ knows; did you mean VONAGE_API_SECRET?") {
		t.Errorf("no typo warning for VONAGE_API_SECRT")
	}
	if t.Failed() {
		t.Logf("check-config said:\n%s", out)
	}
	if strings.Contains(out, "abcd1234") || strings.Contains(out, "e2e-typo-secret") {
		t.Errorf("check-config repeats a secret:\n%s", out)
	}
}
