package pluginhost

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// BenchmarkOktaRoundTrip measures one hook's plugin work, Parse then Respond, over
// go-plugin gRPC with mTLS against the real Okta binary, and reports the p50 and p99
// of that round trip. Run it with `make bench` (or go test -bench); `go test` alone
// never runs it.
func BenchmarkOktaRoundTrip(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "smsplus-bridge-okta")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/smsplus/smsplus/plugins/okta").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	const secret = "bench-secret-0123456789"
	m := NewManager(Options{Setting: func(n string) string {
		if n == "OKTA_SHARED_SECRET" {
			return secret
		}
		return ""
	}})
	found, _ := Discover([]string{dir})
	if err := m.Start(context.Background(), found, []string{"okta"}); err != nil {
		b.Fatal(err)
	}
	defer m.Stop()
	p, _ := m.Get("okta")
	req := &bridge.Request{
		Method: "POST", Path: "/hooks/okta",
		Headers: []bridge.Header{{Name: "Authorization", Values: []string{"Bearer " + secret}}, {Name: "Content-Type", Values: []string{"application/json"}}},
		Body: []byte(`{"eventType":"com.okta.telephony.provider","eventId":"e1","requestType":"com.okta.user.telephony.mfa-verification",` +
			`"data":{"userProfile":{"login":"a@example.com"},"messageProfile":{"msgTemplate":"Your code is 123456",` +
			`"phoneNumber":"+15555550100","otpExpires":"2026-11-22T12:05:00.000Z","deliveryChannel":"SMS","otpCode":"123456","locale":"EN-US"}}}`),
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := p.Parse(ctx, req)
		if err != nil || res.OTP == nil {
			b.Fatalf("parse: %v %+v", err, res)
		}
		if _, err := p.Respond(ctx, &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
