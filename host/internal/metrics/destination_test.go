package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/metrics"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
)

func TestAuditorCountsRefusedTexts(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	a := m.Auditor(&recorder{})
	// Every reason is exported from the start, so a dashboard sees 0, not nothing.
	want(t, scrape(t, m),
		`smsplus_sms_refused_total{reason="number_type"} 0`,
		`smsplus_sms_refused_total{reason="country"} 0`,
		`smsplus_sms_refused_total{reason="phone_cap"} 0`,
		`smsplus_sms_refused_total{reason="range_cap"} 0`,
		`smsplus_sms_refused_total{reason="global_budget"} 0`,
	)
	a.Record("refused_number_type", "", map[string]any{"bridge": "okta", "type": "premium_rate"})
	a.Record("refused_number_type", "", map[string]any{"bridge": "okta", "type": "premium_rate"})
	a.Record("refused_number_type", "", map[string]any{"bridge": "okta", "type": "satellite"})
	// A label never takes a value outside the known types.
	a.Record("refused_number_type", "", map[string]any{"bridge": "okta", "type": "+19002345678"})
	a.Record("refused_country", "", map[string]any{"region": "GB"})
	a.Record("refused_rate", "u", map[string]any{"count": 11})
	a.Record("refused_range_cap", "u", map[string]any{"count": 31})
	a.Record("refused_range_cap", "u", map[string]any{"count": 32})
	a.Record("refused_global_budget", "u", map[string]any{"count": 2001})
	a.Record("challenge_created", "u", nil)
	text := scrape(t, m)
	want(t, text,
		`smsplus_sms_refused_total{reason="number_type"} 4`,
		`smsplus_sms_refused_total{reason="country"} 1`,
		`smsplus_sms_refused_total{reason="phone_cap"} 1`,
		`smsplus_sms_refused_total{reason="range_cap"} 2`,
		`smsplus_sms_refused_total{reason="global_budget"} 1`,
		`smsplus_sms_refused_number_types_total{type="premium_rate"} 2`,
		`smsplus_sms_refused_number_types_total{type="satellite"} 1`,
		`smsplus_sms_refused_number_types_total{type="other"} 1`,
		`smsplus_challenge_events_total{event="refused_range_cap"} 2`,
	)
	if strings.Contains(text, "2345678") {
		t.Error("the metrics carry a phone number")
	}
}

func TestStoreShowsTheHourlyBudgetInUse(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := m.Store(memory.New(time.Now, 0))
	ctx := context.Background()
	want(t, scrape(t, m), `smsplus_sms_hourly_budget_used 0`)
	for range 3 {
		if _, err := s.Incr(ctx, storage.SMSGlobalRate, "all", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 { // other counters are not the budget
		_, _ = s.Incr(ctx, storage.SMSRate, "u", time.Hour)
		_, _ = s.Incr(ctx, storage.SMSRangeRate, "r", time.Hour)
	}
	want(t, scrape(t, m), `smsplus_sms_hourly_budget_used 3`)

	// A hook counts its texts in a batch, which the decorator passes on whole.
	res, err := storage.Run(ctx, s, []storage.Op{
		{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "u", TTL: time.Hour},
		{Kind: storage.OpIncr, NS: storage.SMSGlobalRate, Key: "all", TTL: time.Hour},
	})
	if err != nil || res[1].N != 4 {
		t.Fatalf("batch = %+v, %v", res, err)
	}
	want(t, scrape(t, m), `smsplus_sms_hourly_budget_used 4`)
	if _, ok := s.(storage.Batcher); !ok {
		t.Error("the decorated store is no storage.Batcher: every batch would become one call per op")
	}
}
