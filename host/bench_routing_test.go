package host_test

import (
	"slices"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// BenchmarkHookFailover prints Okta hook latency at 100 hooks/s through the
// real binaries when the first provider of the route (a Twilio account, a
// fake) fails and the second (another account) takes the texts: answering
// 503, or hanging past its share of the time, with the circuit breaker at its
// default (5 failures open it for 30 s) and kept closed (every hook fails
// over). Run it with
//
//	go test -run '^$' -bench HookFailover -benchtime 1x ./host
func BenchmarkHookFailover(b *testing.B) {
	bin := e2e.Shipped(b)
	for _, tc := range []struct {
		name    string
		fault   twiliofake.Outcome
		breaker string
	}{
		{"503_breaker", twiliofake.Page(503), "5"},
		{"503_no_breaker", twiliofake.Page(503), "1000"},
		{"hang_breaker", twiliofake.Slow(10 * time.Second), "5"},
		{"hang_no_breaker", twiliofake.Slow(10 * time.Second), "1000"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			primary, backup := twiliofake.Start(), twiliofake.Start()
			defer primary.Close()
			defer backup.Close()
			primary.SetOutcome(tc.fault)
			env := []string{"SMS_PROVIDER", "SMS_PROVIDERS=twilio,backup:twilio", "SMS_BREAKER_FAILURES=" + tc.breaker,
				"LOG_LEVEL=warn", "LOG_REQUESTS=false", "SMS_RECEIPTS=false",
				"MAX_SMS_PER_PHONE_PER_HOUR=0", "MAX_SMS_PER_RANGE_PER_HOUR=0", "MAX_SMS_PER_HOUR=0"}
			env = append(env, e2e.TwilioProviderEnv("twilio", primary)...)
			env = append(env, e2e.TwilioProviderEnv("backup", backup)...)
			srv := bin.Start(b, env...)
			lat := openLoop(b, srv, 100, 10*time.Second)
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(100*p99.Seconds()/3, "%-of-okta-budget-p99")
			b.ReportMetric(float64(len(lat)), "hooks")
			b.ReportMetric(float64(len(backup.Messages())), "backup-texts")
			b.ReportMetric(float64(len(primary.Messages())), "primary-texts")
		})
	}
}
