package host_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// BenchmarkHookWithFakes prints Okta hook latency at 100 hooks/s through the real
// binaries, with the production TypingDNA client and twilio-go talking to HTTP
// fakes that answer at once, then after 500 ms each. Run it with
//
//	go test -run '^$' -bench HookWithFakes -benchtime 1x ./host
//
// It reports p50/p99 in ms and the share of Okta's 3-second budget used at p99.
func BenchmarkHookWithFakes(b *testing.B) {
	bin := e2e.Shipped(b)
	for _, tc := range []struct {
		name       string
		tdna, twil time.Duration
	}{{"fakes_at_once", 0, 0}, {"typingdna_500ms", 500 * time.Millisecond, 0}, {"twilio_500ms", 0, 500 * time.Millisecond},
		{"both_500ms", 500 * time.Millisecond, 500 * time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			tw := twiliofake.Start()
			defer tw.Close()
			td := fake.New("fake-key", "fake-secret")
			defer td.Close()
			if tc.twil > 0 {
				tw.SetOutcome(twiliofake.Slow(tc.twil))
			}
			if tc.tdna > 0 {
				td.AddFault(fake.Fault{Delay: tc.tdna})
			}
			env := append(append(e2e.TwilioEnv(tw), e2e.TypingDNAEnv(td)...), "LOG_LEVEL=warn", "LOG_REQUESTS=false",
				// 1000 texts in 10 s to one block of numbers: a benchmark, not a pumping
				// attack, so the hourly caps are off (the destination checks stay on).
				"MAX_SMS_PER_PHONE_PER_HOUR=0", "MAX_SMS_PER_RANGE_PER_HOUR=0", "MAX_SMS_PER_HOUR=0")
			srv := bin.Start(b, env...)
			lat := openLoop(b, srv, 100, 10*time.Second)
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(100*p99.Seconds()/3, "%-of-okta-budget-p99")
		})
	}
}

// openLoop posts Okta hooks for new users at rate per second for d and returns
// the latencies of the answers, logging any answer that is not SUCCESSFUL. Each
// call is rendered by the Okta plugin (e2e.Server.Example) before it is timed.
func openLoop(b *testing.B, srv *e2e.Server, rate int, d time.Duration) []time.Duration {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := srv.ExampleErr("okta", fmt.Sprintf("+1415555%04d", i%10_000), "123456")
			if err != nil {
				b.Error(err)
				return
			}
			a, err := e2e.Do(client, req)
			if err != nil {
				b.Error(err)
				return
			}
			if !strings.Contains(string(a.Body), "SUCCESSFUL") {
				b.Logf("not SUCCESSFUL after %v: %s", a.Took, a)
			}
			mu.Lock()
			lat = append(lat, a.Took)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat
}
