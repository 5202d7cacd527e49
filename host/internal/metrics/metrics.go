// Package metrics counts what SMS+ does and serves it to Prometheus at /metrics.
//
// It never reaches into the domain. The hook handler reports each answered hook
// (ObserveHook); everything else is counted by decorating the interfaces the
// challenge service already depends on: the Auditor (it hears every event, so
// verifications and lockouts are counted there), the SMS Sender and the Store.
// Plugin restarts are read from the plugin manager at scrape time.
//
// Labels only ever hold values from small fixed sets (bridge ids of enabled
// bridges, outcome kinds, reason codes, event names), never a phone number, a
// user id, a challenge id or anything a caller can choose.
package metrics

import (
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "smsplus"

// Buckets of the hook latency histogram, in seconds: fine below the usual
// answer times, and around Okta's 3 s deadline.
var hookBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, .75, 1, 1.5, 2, 2.5, 3, 5}

// Buckets of the SMS provider latency histogram, in seconds.
var sendBuckets = []float64{.05, .1, .25, .5, 1, 1.5, 2, 3, 5, 10, 30}

// Metrics holds the SMS+ collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry
	// registered lists every collector on reg, so that a test can check
	// that the published list of metrics (deploy/monitoring) names them all.
	registered []prometheus.Collector

	hooks         *prometheus.CounterVec
	hookSeconds   *prometheus.HistogramVec
	smsSends      *prometheus.CounterVec
	smsSeconds    prometheus.Histogram
	verifications *prometheus.CounterVec
	lockouts      prometheus.Counter
	events        *prometheus.CounterVec
	storeErrors   *prometheus.CounterVec
	storeCalls    *prometheus.CounterVec
	smsRefused    *prometheus.CounterVec
	refusedTypes  *prometheus.CounterVec
	budgetUsed    prometheus.Gauge
	unknownDevs   *prometheus.CounterVec
	sms           *smsMetrics
}

// New returns Metrics registered on a fresh registry, with the Go runtime,
// process and build information collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "hooks_total",
			Help: "IAM hooks answered, by bridge, outcome (delivered, pending, fallback_delivered, test_ok, rejected, failed, unavailable) and reason code.",
		}, []string{"bridge", "outcome", "reason"}),
		hookSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "hook_duration_seconds",
			Help:    "Time from receiving an IAM hook to having written its answer, by bridge.",
			Buckets: hookBuckets,
		}, []string{"bridge"}),
		smsSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_sends_total",
			Help: "Text messages handed to the SMS provider, by result (sent, rejected, timeout, error).",
		}, []string{"result"}),
		smsSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "sms_send_duration_seconds",
			Help:    "Time the SMS provider took to accept or refuse a message.",
			Buckets: sendBuckets,
		}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "verifications_total",
			Help: "Typing patterns scored, by result (match, mismatch, enroll_sample, wrong_position), and attempts of another text than the phrase (phrase_mismatch).",
		}, []string{"result"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "lockouts_total",
			Help: "Users locked out after too many failed verifications.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "challenge_events_total",
			Help: "Audited challenge events, by event name (challenge_created, otp_revealed, refused_rate, ...).",
		}, []string{"event"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_errors_total",
			Help: "Data store calls that failed, by operation and kind (unavailable, timeout, other). Not found and already exists are answers, not errors.",
		}, []string{"op", "kind"}),
		storeCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_calls_total",
			Help: "Data store calls, by operation, whatever their result (store calls per hook: its rise over smsplus_hooks_total's).",
		}, []string{"op"}),
		smsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_refused_total",
			Help: "Texts refused before sending, by reason: number_type (REFUSED_NUMBER_TYPES), country (ALLOWED_COUNTRIES), phone_cap, range_cap, global_budget (the MAX_SMS_PER_* caps).",
		}, []string{"reason"}),
		refusedTypes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_refused_number_types_total",
			Help: "Texts refused for their destination type, by type (premium_rate, invalid, satellite, ...).",
		}, []string{"type"}),
		budgetUsed: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "sms_hourly_budget_used",
			Help: "Texts counted against MAX_SMS_PER_HOUR in the current one-hour window, all replicas together, as of this replica's last count (refused hooks past the budget included). Stays at its last value while no hook comes.",
		}),
		unknownDevs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "unknown_devices_total",
			Help: "Verifications from a device not bound to the user, by UNKNOWN_DEVICE_POLICY (refuse, strict) and outcome: refused, proof_invalid (a bound device's key over another request: a captured request moved to another link), strict_unavailable (strict policy, engine without a strict match), strict_failed, strict_passed (the device is bound now).",
		}, []string{"policy", "outcome"}),
		sms: newSMSMetrics(),
	}
	m.register(m.unknownDevs, m.hooks, m.hookSeconds, m.smsSends, m.smsSeconds, m.verifications, m.lockouts,
		m.events, m.storeErrors, m.storeCalls, m.smsRefused, m.refusedTypes, m.budgetUsed, newBuildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.register(m.sms.collectors()...)
	return m
}

func (m *Metrics) register(cs ...prometheus.Collector) {
	m.reg.MustRegister(cs...)
	m.registered = append(m.registered, cs...)
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the collectors are registered (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveHook counts one answered hook and its latency. The hook handler calls
// it once per hook of a known bridge, after the answer is written.
func (m *Metrics) ObserveHook(bridge, outcome, reason string, took time.Duration) {
	if reason == "" {
		reason = "none"
	}
	m.hooks.WithLabelValues(bridge, outcome, reason).Inc()
	m.hookSeconds.WithLabelValues(bridge).Observe(took.Seconds())
}

// CounterFunc registers a counter whose value is read from f at each scrape
// (e.g. the audit log's dropped entries). name gets the smsplus_ prefix.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.register(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, f))
}

// AuditDropped exports smsplus_audit_dropped_total, read from f at each scrape:
// the audit entries dropped because the audit buffer was full.
func (m *Metrics) AuditDropped(f func() float64) {
	m.CounterFunc("audit_dropped_total", "Audit entries dropped because the audit buffer was full.", f)
}

// GaugeFunc registers a gauge whose value is read from f at each scrape (e.g.
// the hook admission limit). name gets the smsplus_ prefix.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, f))
}

// newBuildInfo is smsplus_build_info{version,revision,goversion} 1.
func newBuildInfo() prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = info.Main.Version, info.GoVersion
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}
