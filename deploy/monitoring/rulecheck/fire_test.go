package rulecheck

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

// scenario is what Prometheus would have scraped (promqltest's load syntax,
// one sample a minute from time 0) and, at the time of evaluation, the label
// sets of the series an alert's expression must return: those it fires for
// once its `for` has passed. None: it must stay quiet.
type scenario struct {
	alert string
	load  string
	at    time.Duration
	fires []map[string]string
}

// The rules are evaluated by Prometheus's own engine on these series, so each
// alert is shown to fire where docs/monitoring.md says and not elsewhere: two
// replicas (instance a and b) whose series must be matched and summed right,
// policy refusals that are not SMS+ failing, a vendor with a longer deadline.
var scenarios = []scenario{
	{
		alert: "SMSPlusVendorFailureAnswers",
		load: `
			smsplus_hooks_total{instance="a",bridge="okta",outcome="delivered",reason="none"} 0+50x20
			smsplus_hooks_total{instance="b",bridge="okta",outcome="delivered",reason="none"} 0+50x20
			smsplus_hooks_total{instance="a",bridge="okta",outcome="failed",reason="sms_failed"} 0+5x20
			smsplus_hooks_total{instance="b",bridge="okta",outcome="test_ok",reason="none"} 0+500x20
			smsplus_hooks_total{instance="a",bridge="auth0",outcome="delivered",reason="none"} 0+100x20
			smsplus_hooks_total{instance="a",bridge="auth0",outcome="failed",reason="rate_limited"} 0+50x20
			smsplus_hooks_total{instance="a",bridge="auth0",outcome="failed",reason="country_not_allowed"} 0+50x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{"bridge": "okta"}},
	},
	{
		alert: "SMSPlusHooksUnauthorized",
		load: `
			smsplus_hooks_total{instance="a",bridge="okta",outcome="rejected",reason="unauthorized"} 0+2x20
			smsplus_hooks_total{instance="a",bridge="auth0",outcome="rejected",reason="body_too_large"} 0+9x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{"bridge": "okta"}},
	},
	{
		// Every okta and auth0 hook takes between 2 and 2.5 s: near Okta's 3 s,
		// far from Auth0's 10 s. Both replicas export the deadlines.
		alert: "SMSPlusHookLatencyNearDeadline",
		load:  latencyLoad,
		at:    15 * time.Minute,
		fires: []map[string]string{{"bridge": "okta"}},
	},
	{
		alert: "SMSPlusHookLatencyAtDeadline", // 2.5 s is under 90% of 3 s
		load:  latencyLoad,
		at:    15 * time.Minute,
	},
	{
		alert: "SMSPlusHookLatencyAtDeadline",
		load: latencyLoad + `
			smsplus_hook_duration_seconds_bucket{instance="a",bridge="pingone",le="2.5"} 0x20
			smsplus_hook_duration_seconds_bucket{instance="a",bridge="pingone",le="3"} 0+100x20
			smsplus_hook_duration_seconds_bucket{instance="a",bridge="pingone",le="+Inf"} 0+100x20
			smsplus_bridge_deadline_seconds{instance="a",bridge="pingone"} 3+0x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{"bridge": "pingone"}},
	},
	{
		alert: "SMSPlusProviderCircuitOpen",
		load: `
			smsplus_sms_circuit_open{instance="a",provider="twilio"} 0 0 1 1 1 1
			smsplus_sms_circuit_open{instance="b",provider="twilio"} 0 0 0 0 0 0
			smsplus_sms_circuit_open{instance="a",provider="sns"} 1 1 0 0 0 0`,
		at:    5 * time.Minute,
		fires: []map[string]string{{"provider": "twilio"}},
	},
	{
		// Replica a: both providers open; b: only twilio. A provider that
		// never failed still has its series (0) from the start.
		alert: "SMSPlusAllProvidersCircuitOpen",
		load: `
			smsplus_sms_circuit_open{instance="a",provider="twilio"} 0 0 1 1 1 1
			smsplus_sms_circuit_open{instance="a",provider="vonage"} 0 0 0 1 1 1
			smsplus_sms_circuit_open{instance="b",provider="twilio"} 0 0 1 1 1 1
			smsplus_sms_circuit_open{instance="b",provider="vonage"} 0 0 0 0 0 0`,
		at:    5 * time.Minute,
		fires: []map[string]string{{"instance": "a"}},
	},
	{
		alert: "SMSPlusAllProvidersCircuitOpen", // a probe closed one again
		load: `
			smsplus_sms_circuit_open{instance="a",provider="twilio"} 1 1 1 1 1 1
			smsplus_sms_circuit_open{instance="a",provider="vonage"} 1 1 1 1 0 0`,
		at: 5 * time.Minute,
	},
	{
		alert: "SMSPlusProviderFailing",
		load: `
			smsplus_sms_provider_sends_total{instance="a",provider="twilio",country="US",result="sent"} 0+10x20
			smsplus_sms_provider_sends_total{instance="a",provider="twilio",country="US",result="timeout"} 0+5x20
			smsplus_sms_provider_sends_total{instance="a",provider="sns",country="US",result="sent"} 0+10x20
			smsplus_sms_provider_sends_total{instance="a",provider="sns",country="US",result="rejected"} 0+10x20
			smsplus_sms_provider_sends_total{instance="b",provider="sns",country="US",result="skipped"} 0+100x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{"provider": "twilio"}},
	},
	{
		// sns delivers 2 in 3 to Germany; twilio 10 in 11; vonage too few receipts to judge.
		alert: "SMSPlusDeliveryRateLow",
		load: `
			smsplus_sms_deliveries_total{instance="a",provider="sns",country="DE",state="delivered"} 0+1x80
			smsplus_sms_deliveries_total{instance="b",provider="sns",country="DE",state="delivered"} 0+1x80
			smsplus_sms_deliveries_total{instance="a",provider="sns",country="DE",state="undelivered"} 0+1x80
			smsplus_sms_deliveries_total{instance="a",provider="twilio",country="DE",state="delivered"} 0+10x80
			smsplus_sms_deliveries_total{instance="a",provider="twilio",country="DE",state="undelivered"} 0+1x80
			smsplus_sms_deliveries_total{instance="a",provider="vonage",country="FR",state="undelivered"} 0+0.1x80`,
		at:    75 * time.Minute,
		fires: []map[string]string{{"provider": "sns", "country": "DE"}},
	},
	{
		alert: "SMSPlusDeliverySlow",
		load: `
			smsplus_sms_time_to_delivered_seconds_bucket{instance="a",provider="sns",country="BR",le="60"} 0+1x40
			smsplus_sms_time_to_delivered_seconds_bucket{instance="a",provider="sns",country="BR",le="300"} 0+10x40
			smsplus_sms_time_to_delivered_seconds_bucket{instance="a",provider="sns",country="BR",le="+Inf"} 0+10x40
			smsplus_sms_time_to_delivered_seconds_count{instance="a",provider="sns",country="BR"} 0+10x40
			smsplus_sms_time_to_delivered_seconds_bucket{instance="a",provider="sns",country="US",le="5"} 0+10x40
			smsplus_sms_time_to_delivered_seconds_bucket{instance="a",provider="sns",country="US",le="+Inf"} 0+10x40
			smsplus_sms_time_to_delivered_seconds_count{instance="a",provider="sns",country="US"} 0+10x40`,
		at:    35 * time.Minute,
		fires: []map[string]string{{"provider": "sns", "country": "BR"}},
	},
	{
		alert: "SMSPlusReceiptsRefused",
		load: `
			smsplus_sms_receipts_refused_total{instance="a",provider="twilio",reason="signature"} 0+1x20
			smsplus_sms_receipts_refused_total{instance="a",provider="twilio",reason="stale"} 0+0.1x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{"provider": "twilio", "reason": "signature"}},
	},
	{
		alert: "SMSPlusGlobalBudgetHit",
		load: `
			smsplus_sms_refused_total{instance="a",reason="global_budget"} 0 0 0 0 0 0 0 0 3 9
			smsplus_sms_refused_total{instance="a",reason="phone_cap"} 0+5x10`,
		at:    9 * time.Minute,
		fires: []map[string]string{{}},
	},
	{
		alert: "SMSPlusGlobalBudgetHit", // only other caps
		load:  `smsplus_sms_refused_total{instance="a",reason="range_cap"} 0+5x10`,
		at:    9 * time.Minute,
	},
	{
		alert: "SMSPlusRangeCapHit",
		load:  `smsplus_sms_refused_total{instance="a",reason="range_cap"} 0 0 0 0 0 1 1 1 1 1`,
		at:    9 * time.Minute,
		fires: []map[string]string{{}},
	},
	{
		alert: "SMSPlusPhoneCapHit",
		load: `
			smsplus_sms_refused_total{instance="a",reason="phone_cap"} 0+1x20
			smsplus_sms_refused_total{instance="a",reason="range_cap"} 0+0x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{}},
	},
	{
		alert: "SMSPlusRefusedDestinations",
		load: `
			smsplus_sms_refused_total{instance="a",reason="number_type"} 0+1x20
			smsplus_sms_refused_total{instance="b",reason="country"} 0+1x20`,
		at:    15 * time.Minute,
		fires: []map[string]string{{}},
	},
	{
		alert: "SMSPlusStoreErrors",
		load: `
			smsplus_store_errors_total{instance="a",op="get",kind="timeout"} 0+1x10
			smsplus_store_errors_total{instance="a",op="put",kind="other"} 0+0x10`,
		at:    9 * time.Minute,
		fires: []map[string]string{{"op": "get", "kind": "timeout"}},
	},
	{
		alert: "SMSPlusAuditDropped",
		load:  `smsplus_audit_dropped_total{instance="a"} 0 0 0 0 0 0 0 7 7 7`,
		at:    9 * time.Minute,
		fires: []map[string]string{{}},
	},
	{
		alert: "SMSPlusLockoutsRising",
		load: `
			smsplus_lockouts_total{instance="a"} 0+0.2x70
			smsplus_lockouts_total{instance="b"} 0+0.1x70`,
		at:    65 * time.Minute,
		fires: []map[string]string{{}},
	},
	{
		alert: "SMSPlusLockoutsRising", // 6 an hour: usual
		load:  `smsplus_lockouts_total{instance="a"} 0+0.1x70`,
		at:    65 * time.Minute,
	},
	{
		alert: "SMSPlusPluginRestarting",
		load: `
			smsplus_plugin_restarts_total{instance="a",bridge="okta"} 0 0 0 1 1 1
			smsplus_plugin_restarts_total{instance="a",bridge="auth0"} 0 0 0 0 0 0`,
		at:    5 * time.Minute,
		fires: []map[string]string{{"bridge": "okta"}},
	},
	{
		alert: "SMSPlusPluginDown",
		load: `
			smsplus_plugin_up{instance="a",bridge="okta"} 1 1 1 1
			smsplus_plugin_up{instance="b",bridge="okta"} 1 1 0 0
			smsplus_plugin_up{instance="a",bridge="auth0"} 1 1 1 1`,
		at:    3 * time.Minute,
		fires: []map[string]string{{"bridge": "okta"}},
	},
	{
		alert: "SMSPlusUnknownDevicesRising",
		load: `
			smsplus_unknown_devices_total{instance="a",policy="refuse",outcome="proof_invalid"} 0 0 0 0 0 1 1 1 1 1
			smsplus_unknown_devices_total{instance="a",policy="refuse",outcome="refused"} 0+1x10`,
		at:    9 * time.Minute,
		fires: []map[string]string{{"outcome": "proof_invalid"}},
	},
}

const latencyLoad = `
	smsplus_hook_duration_seconds_bucket{instance="a",bridge="okta",le="2"} 0x20
	smsplus_hook_duration_seconds_bucket{instance="a",bridge="okta",le="2.5"} 0+100x20
	smsplus_hook_duration_seconds_bucket{instance="a",bridge="okta",le="+Inf"} 0+100x20
	smsplus_hook_duration_seconds_bucket{instance="b",bridge="okta",le="2"} 0x20
	smsplus_hook_duration_seconds_bucket{instance="b",bridge="okta",le="2.5"} 0+100x20
	smsplus_hook_duration_seconds_bucket{instance="b",bridge="okta",le="+Inf"} 0+100x20
	smsplus_hook_duration_seconds_bucket{instance="a",bridge="auth0",le="2"} 0x20
	smsplus_hook_duration_seconds_bucket{instance="a",bridge="auth0",le="2.5"} 0+100x20
	smsplus_hook_duration_seconds_bucket{instance="a",bridge="auth0",le="+Inf"} 0+100x20
	smsplus_bridge_deadline_seconds{instance="a",bridge="okta"} 3+0x20
	smsplus_bridge_deadline_seconds{instance="b",bridge="okta"} 3+0x20
	smsplus_bridge_deadline_seconds{instance="a",bridge="auth0"} 10+0x20
	smsplus_bridge_deadline_seconds{instance="b",bridge="auth0"} 10+0x20`

func TestAlertsFire(t *testing.T) {
	t.Parallel()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	exprs := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				exprs[r.Alert] = r.Expr
			}
		}
	}
	engine := promqltest.NewTestEngineWithOpts(t, promql.EngineOpts{
		MaxSamples: 1_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, Parser: promParser,
	})
	fired := map[string]bool{}
	for _, sc := range scenarios {
		if len(sc.fires) > 0 {
			fired[sc.alert] = true
		}
	}
	for name := range exprs {
		if !fired[name] {
			t.Errorf("%s: no scenario shows it firing", name)
		}
	}
	for _, sc := range scenarios {
		expr, ok := exprs[sc.alert]
		if !ok {
			t.Errorf("%s: no such alert in %s", sc.alert, rulesFile)
			continue
		}
		st := promqltest.LoadedStorage(t, loadCommand(sc.load))
		got, err := evalAt(engine, st, expr, sc.at)
		if err != nil {
			t.Errorf("%s: %v", sc.alert, err)
			continue
		}
		var want []string
		for _, l := range sc.fires {
			want = append(want, labelString(l))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s fires for %v, want %v\n%s", sc.alert, got, want, expr)
		}
	}
}

// evalAt evaluates expr at the time at (from time 0) and returns the label
// sets of the result, sorted.
func evalAt(engine *promql.Engine, st storage.Queryable, expr string, at time.Duration) ([]string, error) {
	q, err := engine.NewInstantQuery(context.Background(), st, nil, expr, time.Unix(0, 0).Add(at))
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		return nil, res.Err
	}
	vec, err := res.Vector()
	if err != nil {
		return nil, err
	}
	var got []string
	for _, s := range vec {
		got = append(got, s.Metric.String())
	}
	slices.Sort(got)
	return got, nil
}

// loadCommand is promqltest's load command for series written one a line.
func loadCommand(series string) string {
	cmd := "load 1m\n"
	for line := range strings.Lines(series) {
		if line = strings.TrimSpace(line); line != "" {
			cmd += "  " + line + "\n"
		}
	}
	return cmd
}

// labelString is a label set as labels.Labels.String prints it.
func labelString(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"=\""+l[k]+"\"")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
