package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsplus/smsplus/host/internal/metrics"
	"github.com/smsplus/smsplus/host/internal/sms"
)

func TestSMSObserverCountsSendsAndFailovers(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	o := m.SMSObserver()
	o.Sent("twilio", "US", "timeout", 1500*time.Millisecond)
	o.Failover("twilio", "sns", "US")
	o.Sent("sns", "US", "sent", 200*time.Millisecond)
	o.Sent("twilio", "gb", "sent", 300*time.Millisecond) // lower case is still GB
	o.Sent("twilio", "FR", "skipped", 0)                 // circuit open: counted, not timed
	o.Circuit("twilio", true)
	o.Circuit("sns", true)
	o.Circuit("sns", false)

	err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP smsplus_sms_provider_sends_total Send attempts at each SMS provider, by provider, destination country (ISO 3166 code, ZZ unknown) and result (sent, rejected, timeout, unavailable, error, skipped: circuit open).
# TYPE smsplus_sms_provider_sends_total counter
smsplus_sms_provider_sends_total{country="FR",provider="twilio",result="skipped"} 1
smsplus_sms_provider_sends_total{country="GB",provider="twilio",result="sent"} 1
smsplus_sms_provider_sends_total{country="US",provider="sns",result="sent"} 1
smsplus_sms_provider_sends_total{country="US",provider="twilio",result="timeout"} 1
# HELP smsplus_sms_failovers_total Messages that went on to the next provider of their route, by the provider that failed (from), the next one (to) and destination country.
# TYPE smsplus_sms_failovers_total counter
smsplus_sms_failovers_total{country="US",from="twilio",to="sns"} 1
# HELP smsplus_sms_circuit_open 1 while an SMS provider's circuit is open (it kept failing and is skipped until a probe succeeds), else 0.
# TYPE smsplus_sms_circuit_open gauge
smsplus_sms_circuit_open{provider="sns"} 0
smsplus_sms_circuit_open{provider="twilio"} 1
`), "smsplus_sms_provider_sends_total", "smsplus_sms_failovers_total", "smsplus_sms_circuit_open")
	if err != nil {
		t.Error(err)
	}
	want(t, scrape(t, m),
		`smsplus_sms_provider_send_duration_seconds_count{provider="twilio"} 2`,
		`smsplus_sms_provider_send_duration_seconds_bucket{provider="twilio",le="1"} 1`,
		`smsplus_sms_provider_send_duration_seconds_bucket{provider="twilio",le="1.5"} 2`,
		`smsplus_sms_provider_send_duration_seconds_count{provider="sns"} 1`,
	)
}

func TestSMSObserverCountsReceipts(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	o := m.SMSObserver()
	o.Delivered("sns", "DE", sms.StateDelivered, 4*time.Second)
	o.Delivered("sns", "DE", sms.StateDelivered, 0) // time unknown: counted, not timed
	o.Delivered("sns", "DE", sms.StateDelivered, 95*time.Second)
	o.Delivered("twilio", "DE", sms.StateUndelivered, 30*time.Second) // undelivered: not timed
	o.Resent("sns", "DE")
	o.ReceiptRefused("twilio", "signature")
	o.ReceiptRefused("twilio", "replayed")
	o.ReceiptRefused("twilio", "replayed")

	text := scrape(t, m)
	want(t, text,
		`smsplus_sms_deliveries_total{country="DE",provider="sns",state="delivered"} 3`,
		`smsplus_sms_deliveries_total{country="DE",provider="twilio",state="undelivered"} 1`,
		`smsplus_sms_time_to_delivered_seconds_count{country="DE",provider="sns"} 2`,
		`smsplus_sms_time_to_delivered_seconds_bucket{country="DE",provider="sns",le="5"} 1`,
		`smsplus_sms_time_to_delivered_seconds_bucket{country="DE",provider="sns",le="90"} 1`,
		`smsplus_sms_time_to_delivered_seconds_bucket{country="DE",provider="sns",le="120"} 2`,
		`smsplus_sms_resends_total{country="DE",provider="sns"} 1`,
		`smsplus_sms_receipts_refused_total{provider="twilio",reason="signature"} 1`,
		`smsplus_sms_receipts_refused_total{provider="twilio",reason="replayed"} 2`,
	)
	if strings.Contains(text, `smsplus_sms_time_to_delivered_seconds_count{country="DE",provider="twilio"}`) {
		t.Error("an undelivered message was timed as delivered")
	}
}

// Labels stay within small sets whatever the router, a provider's answer or a
// forged callback reports.
func TestSMSObserverBoundsLabels(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	o := m.SMSObserver()
	o.Sent("twilio", "+14155550100", "sent", time.Millisecond) // a number is no country
	o.Sent("twilio", "XX", "sent", time.Millisecond)           // nor an unassigned code
	o.Sent("twilio", "", "HTTP 503: upstream said no", time.Millisecond)
	o.ReceiptRefused("Twilio/../../x", "bad base64 in X-Twilio-Signature")
	o.Delivered("twilio", "ZZ", sms.DeliveryState(42), 0)
	for i := range 40 { // more distinct names than any SMS_PROVIDERS lists
		o.Resent(fmt.Sprintf("p%d", i), "US")
	}

	want(t, scrape(t, m),
		`smsplus_sms_provider_sends_total{country="ZZ",provider="twilio",result="sent"} 2`,
		`smsplus_sms_provider_sends_total{country="ZZ",provider="twilio",result="other"} 1`,
		`smsplus_sms_receipts_refused_total{provider="other",reason="other"} 1`,
		`smsplus_sms_deliveries_total{country="ZZ",provider="twilio",state="unknown"} 1`,
		`smsplus_sms_resends_total{country="US",provider="p0"} 1`,
		`smsplus_sms_resends_total{country="US",provider="p30"} 1`,
		// twilio and p0..p30 fill the 32 names; the other 9 share one label.
		`smsplus_sms_resends_total{country="US",provider="other"} 9`,
	)
	if n := testutil.CollectAndCount(m.Registry(), "smsplus_sms_resends_total"); n != 32 {
		t.Errorf("%d resend series, want 32 (31 names and other)", n)
	}
}
