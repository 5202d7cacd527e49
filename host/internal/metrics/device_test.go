package metrics_test

import (
	"testing"

	"github.com/smsplus/smsplus/host/internal/metrics"
)

func TestAuditorCountsUnknownDevices(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	a := m.Auditor(&recorder{})
	for _, f := range []map[string]any{
		{"policy": "refuse", "outcome": "refused"},
		{"policy": "refuse", "outcome": "refused"},
		{"policy": "strict", "outcome": "strict_failed"},
		{"policy": "strict", "outcome": "strict_passed"},
		{"policy": "refuse", "outcome": "proof_invalid"},
		{"policy": "+12015550123", "outcome": "a label from nowhere"},
	} {
		a.Record("unknown_device", "u", f)
	}
	a.Record("phrase_mismatch", "u", nil)
	want(t, scrape(t, m),
		`smsplus_unknown_devices_total{outcome="refused",policy="refuse"} 2`,
		`smsplus_unknown_devices_total{outcome="strict_failed",policy="strict"} 1`,
		`smsplus_unknown_devices_total{outcome="strict_passed",policy="strict"} 1`,
		`smsplus_unknown_devices_total{outcome="proof_invalid",policy="refuse"} 1`,
		`smsplus_unknown_devices_total{outcome="other",policy="other"} 1`,
		`smsplus_verifications_total{result="phrase_mismatch"} 1`,
		`smsplus_challenge_events_total{event="unknown_device"} 6`,
	)
}
