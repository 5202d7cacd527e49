package rulecheck

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

const (
	listFile      = "../metrics.txt"
	rulesFile     = "../alerts.yml"
	dashboardFile = "../grafana-dashboard.json"
	docsFile      = "../../../docs/monitoring.md"
)

// promParser is the parser Prometheus uses by default (no experimental functions).
var promParser = parser.NewParser(parser.Options{})

func families(t *testing.T) Families {
	t.Helper()
	fs, err := ReadList(listFile)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// The checker itself: it must refuse what a typo produces, or the file tests
// below prove nothing.
func TestCheckRefusesUnknownNames(t *testing.T) {
	t.Parallel()
	fs := Families{
		"smsplus_hooks_total":           {Name: "smsplus_hooks_total", Type: "counter", Labels: []string{"bridge", "outcome"}},
		"smsplus_hook_duration_seconds": {Name: "smsplus_hook_duration_seconds", Type: "histogram", Labels: []string{"bridge"}},
	}
	tests := map[string]struct {
		expr string
		ok   bool
	}{
		"known":                {`sum by (bridge) (rate(smsplus_hooks_total{outcome="failed",job="x"}[5m]))`, true},
		"histogram bucket":     {`histogram_quantile(0.99, sum by (bridge, le) (rate(smsplus_hook_duration_seconds_bucket[5m])))`, true},
		"histogram count":      {`smsplus_hook_duration_seconds_count`, true},
		"prometheus's own":     {`up == 0`, true},
		"unknown metric":       {`rate(smsplus_hooks_totl[5m])`, false},
		"histogram base":       {`smsplus_hook_duration_seconds`, false},
		"counter has no sum":   {`smsplus_hooks_total_sum`, false},
		"unknown label":        {`smsplus_hooks_total{reason="x"}`, false},
		"le off the buckets":   {`smsplus_hook_duration_seconds_count{le="1"}`, false},
		"unknown grouping":     {`sum by (provider) (smsplus_hooks_total)`, false},
		"unknown on label":     {`smsplus_hooks_total > on (provider) smsplus_hook_duration_seconds_count`, false},
		"bad syntax":           {`sum by (bridge) (rate(smsplus_hooks_total[5m])`, false},
		"name matcher unknown": {`{__name__="smsplus_nope"}`, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			errs := fs.Check(promParser, tt.expr)
			if (len(errs) == 0) != tt.ok {
				t.Errorf("Check(%s) = %v, want ok=%v", tt.expr, errs, tt.ok)
			}
		})
	}
}

// alertsMust are the metrics the alert rules must watch (issue 15: vendor
// failure answers, delivery rate, circuit open, pumping caps, plugin restarts,
// hook latency against the vendor's deadline).
var alertsMust = []string{
	"smsplus_hooks_total", "smsplus_sms_deliveries_total", "smsplus_sms_circuit_open", "smsplus_sms_refused_total",
	"smsplus_plugin_restarts_total", "smsplus_hook_duration_seconds_bucket", "smsplus_bridge_deadline_seconds",
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	fs := families(t)
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.Fatal("no rule groups")
	}
	anchors := docAnchors(t)
	var named []string
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			for _, err := range fs.Check(promParser, r.Expr) {
				t.Errorf("%s: %v", r.Alert, err)
			}
			if ast, err := promParser.ParseExpr(r.Expr); err == nil {
				named = append(named, Metrics(ast)...)
			}
			if s := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, s) {
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			doc, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if doc != "docs/monitoring.md" || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q is no section of docs/monitoring.md", r.Alert, r.Annotations["runbook_url"])
			}
		}
	}
	for _, link := range localLinks.FindAllStringSubmatch(docText(t), -1) {
		if !anchors[link[1]] {
			t.Errorf("docs/monitoring.md links to #%s, which is no section of it", link[1])
		}
	}
	if alerts < len(alertsMust) {
		t.Errorf("%d alerts, want at least %d", alerts, len(alertsMust))
	}
	for _, m := range alertsMust {
		if !slices.Contains(named, m) {
			t.Errorf("no alert rule watches %s", m)
		}
	}
}

// localLinks are the doc's links to its own sections.
var localLinks = regexp.MustCompile(`\]\(#([^)]+)\)`)

func docText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docAnchors are the sections of docs/monitoring.md, as GitHub names their
// anchors (lower case, spaces to dashes, punctuation dropped).
func docAnchors(t *testing.T) map[string]bool {
	t.Helper()
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	anchors := map[string]bool{}
	for line := range strings.Lines(docText(t)) {
		if title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			slug := drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(title)), "")
			anchors[strings.ReplaceAll(slug, " ", "-")] = true
		}
	}
	return anchors
}

// dashboardMust are the metrics the dashboard must show (issue 15).
var dashboardMust = []string{
	"smsplus_hooks_total", "smsplus_hook_duration_seconds_bucket", "smsplus_bridge_deadline_seconds",
	"smsplus_sms_provider_sends_total", "smsplus_sms_failovers_total", "smsplus_sms_deliveries_total",
	"smsplus_sms_time_to_delivered_seconds_bucket", "smsplus_sms_circuit_open", "smsplus_sms_refused_total",
	"smsplus_plugin_restarts_total", "smsplus_lockouts_total", "smsplus_unknown_devices_total",
}

type panel struct {
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Type        string      `json:"type"`
	Datasource  *datasource `json:"datasource"`
	Targets     []struct {
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// grafanaVars are Grafana's variables as a PromQL parser cannot read them:
// its interval macros, and the dashboard's own (multi-value, so used in =~).
var (
	intervalVar  = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)
	dashboardVar = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_]*\}?`)
	// A multi-value variable expands to a|b: only a regex matcher reads it.
	exactVar    = regexp.MustCompile(`[^=!~]=\s*"\$\{?[A-Za-z_]`)
	labelValues = regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
)

func TestDashboard(t *testing.T) {
	t.Parallel()
	fs := families(t)
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Error("the dashboard has no title or uid")
	}

	// The Prometheus data source is a variable, so the import asks for it.
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Type {
		case "datasource":
			if v.Query != "prometheus" {
				t.Errorf("data source variable %s: query %v, want prometheus", v.Name, v.Query)
			}
		case "query":
			// A string, or the newer editor's object holding one.
			text, _ := v.Query.(string)
			if q, ok := v.Query.(map[string]any); ok {
				text, _ = q["query"].(string)
			}
			m := labelValues.FindStringSubmatch(text)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, text)
				continue
			}
			_, labels, ok := fs.series(m[1])
			if !ok || !slices.Contains(labels, m[2]) {
				t.Errorf("variable %s: %s has no label %s", v.Name, m[1], m[2])
			}
		}
	}
	if !vars["datasource"] {
		t.Error("no datasource variable")
	}

	var named []string
	var queries [][2]string // panel title, query as Prometheus gets it
	exprs := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: data source is not ${datasource}", p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				exprs++
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: a query's data source is not ${datasource}", p.Title)
				}
				if exactVar.MatchString(tg.Expr) {
					t.Errorf("panel %q: a multi-value variable used with = instead of =~: %s", p.Title, tg.Expr)
				}
				for _, v := range dashboardVar.FindAllString(tg.Expr, -1) {
					name := strings.Trim(v, "${}")
					if !strings.HasPrefix(name, "__") && !vars[name] {
						t.Errorf("panel %q: variable %s is not defined", p.Title, v)
					}
				}
				expr := intervalVar.ReplaceAllString(tg.Expr, "5m")
				expr = dashboardVar.ReplaceAllString(expr, ".*")
				for _, err := range fs.Check(promParser, expr) {
					t.Errorf("panel %q: %v\n%s", p.Title, err, tg.Expr)
				}
				if ast, err := promParser.ParseExpr(expr); err == nil {
					named = append(named, Metrics(ast)...)
					queries = append(queries, [2]string{p.Title, expr})
				}
			}
		}
	}
	walk(d.Panels)
	if exprs < len(dashboardMust) {
		t.Errorf("%d queries, want at least %d", exprs, len(dashboardMust))
	}
	for _, m := range dashboardMust {
		if !slices.Contains(named, m) {
			t.Errorf("no dashboard panel shows %s", m)
		}
	}

	// Every query runs on Prometheus's engine over two replicas' series of
	// every metric (a join that matches replicas many-to-many fails here).
	engine := promqltest.NewTestEngineWithOpts(t, promql.EngineOpts{
		MaxSamples: 1_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, Parser: promParser,
	})
	st := promqltest.LoadedStorage(t, loadCommand(everySeries(fs)))
	for _, q := range queries {
		if _, err := evalAt(engine, st, q[1], 70*time.Minute); err != nil {
			t.Errorf("panel %q: %v\n%s", q[0], err, q[1])
		}
	}
}

// everySeries is a series of each family on two replicas, every label set,
// for promqltest's load command.
func everySeries(fs Families) string {
	var b strings.Builder
	for _, f := range fs {
		for _, instance := range []string{"a", "b"} {
			labels := `instance="` + instance + `"`
			for _, l := range f.Labels {
				labels += "," + l + `="x"`
			}
			if f.Type == "histogram" {
				fmt.Fprintf(&b, "%s_bucket{%s,le=\"1\"} 0+1x80\n", f.Name, labels)
				fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} 0+2x80\n", f.Name, labels)
				fmt.Fprintf(&b, "%s_sum{%s} 0+1x80\n%s_count{%s} 0+2x80\n", f.Name, labels, f.Name, labels)
				continue
			}
			fmt.Fprintf(&b, "%s{%s} 0+1x80\n", f.Name, labels)
		}
	}
	return b.String()
}

var histogramSeries = regexp.MustCompile(`_(bucket|count|sum)$`)

// An operator paged by an alert finds its panel by the alert's name: some
// panel's description names each alert, and that panel's queries show every
// metric the alert's expression reads.
func TestEveryAlertHasItsPanel(t *testing.T) {
	t.Parallel()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", rulesFile, errs)
	}
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var panels []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			panels = append(panels, p)
		}
	}
	walk(d.Panels)
	metricsOf := func(expr string) []string {
		expr = intervalVar.ReplaceAllString(expr, "5m")
		ast, err := promParser.ParseExpr(dashboardVar.ReplaceAllString(expr, ".*"))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		// A histogram is one family: its _count is on the panel of its buckets.
		var families []string
		for _, m := range Metrics(ast) {
			families = append(families, histogramSeries.ReplaceAllString(m, ""))
		}
		return families
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			want := metricsOf(r.Expr)
			found := false
			for _, p := range panels {
				if !regexp.MustCompile(`\b` + r.Alert + `\b`).MatchString(p.Description) {
					continue
				}
				found = true
				var shown []string
				for _, tg := range p.Targets {
					shown = append(shown, metricsOf(tg.Expr)...)
				}
				for _, m := range want {
					if !slices.Contains(shown, m) {
						t.Errorf("alert %s: panel %q names it but shows no %s", r.Alert, p.Title, m)
					}
				}
			}
			if !found {
				t.Errorf("alert %s: no panel's description names it", r.Alert)
			}
		}
	}
}
