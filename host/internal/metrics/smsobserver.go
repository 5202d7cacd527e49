package metrics

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsplus/smsplus/host/internal/sms"
)

// Buckets of the time from a send to its "delivered" receipt, in seconds:
// most texts arrive within seconds, a slow carrier takes minutes, and past the
// challenge's 15 minutes a late code is useless.
var deliveredBuckets = []float64{1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900}

// The label values the SMS router and the receipts route may report; anything
// else becomes "other", so that no provider answer or caller can grow the
// metrics.
var (
	providerResults = []string{"sent", "rejected", "timeout", "unavailable", "error", "skipped"}
	receiptRefusals = []string{"signature", "replayed", "stale", "unreadable", "unknown_message"}
)

// unknownCountry is the label of a destination whose country is not known.
const unknownCountry = "ZZ"

// maxProviders bounds the provider label: provider names come from the
// operator's SMS_PROVIDERS, a handful; past this many distinct names, a new
// one is counted as "other".
const maxProviders = 32

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// smsMetrics are the collectors of the SMS router and its delivery receipts.
type smsMetrics struct {
	sends         *prometheus.CounterVec
	sendSeconds   *prometheus.HistogramVec
	failovers     *prometheus.CounterVec
	circuitOpen   *prometheus.GaugeVec
	deliveries    *prometheus.CounterVec
	deliveredSecs *prometheus.HistogramVec
	resends       *prometheus.CounterVec
	receiptsBad   *prometheus.CounterVec

	mu        sync.Mutex
	providers map[string]bool // provider names seen, at most maxProviders
}

func newSMSMetrics() *smsMetrics {
	return &smsMetrics{
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_provider_sends_total",
			Help: "Send attempts at each SMS provider, by provider, destination country (ISO 3166 code, ZZ unknown) and result (sent, rejected, timeout, unavailable, error, skipped: circuit open).",
		}, []string{"provider", "country", "result"}),
		sendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "sms_provider_send_duration_seconds",
			Help:    "Time an SMS provider took to accept or refuse a message, by provider.",
			Buckets: sendBuckets,
		}, []string{"provider"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_failovers_total",
			Help: "Messages that went on to the next provider of their route, by the provider that failed (from), the next one (to) and destination country.",
		}, []string{"from", "to", "country"}),
		circuitOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "sms_circuit_open",
			Help: "1 while an SMS provider's circuit is open (it kept failing and is skipped until a probe succeeds), else 0.",
		}, []string{"provider"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_deliveries_total",
			Help: "Final delivery receipts, by provider, destination country and state (delivered, undelivered).",
		}, []string{"provider", "country", "state"}),
		deliveredSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "sms_time_to_delivered_seconds",
			Help:    "Time from a provider accepting a message to its delivered receipt, by provider and destination country.",
			Buckets: deliveredBuckets,
		}, []string{"provider", "country"}),
		resends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_resends_total",
			Help: "Undelivered messages sent again, by the provider that re-sent them and destination country.",
		}, []string{"provider", "country"}),
		receiptsBad: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sms_receipts_refused_total",
			Help: "Delivery receipt callbacks refused, by provider and reason (signature, replayed, stale, unreadable, unknown_message).",
		}, []string{"provider", "reason"}),
		providers: map[string]bool{},
	}
}

func (s *smsMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.sends, s.sendSeconds, s.failovers, s.circuitOpen, s.deliveries,
		s.deliveredSecs, s.resends, s.receiptsBad}
}

// SMSObserver is what the SMS router and the receipts route report to.
func (m *Metrics) SMSObserver() sms.Observer { return (*smsObserver)(m.sms) }

type smsObserver smsMetrics

var _ sms.Observer = (*smsObserver)(nil)

func (o *smsObserver) Sent(provider, country, result string, took time.Duration) {
	p := o.provider(provider)
	o.sends.WithLabelValues(p, countryLabel(country), fixed(result, providerResults)).Inc()
	if result != "skipped" { // a skipped provider was not called
		o.sendSeconds.WithLabelValues(p).Observe(took.Seconds())
	}
}

func (o *smsObserver) Failover(from, to, country string) {
	o.failovers.WithLabelValues(o.provider(from), o.provider(to), countryLabel(country)).Inc()
}

func (o *smsObserver) Circuit(provider string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	o.circuitOpen.WithLabelValues(o.provider(provider)).Set(v)
}

func (o *smsObserver) Delivered(provider, country string, state sms.DeliveryState, took time.Duration) {
	p, c := o.provider(provider), countryLabel(country)
	o.deliveries.WithLabelValues(p, c, state.String()).Inc()
	if state == sms.StateDelivered && took > 0 {
		o.deliveredSecs.WithLabelValues(p, c).Observe(took.Seconds())
	}
}

func (o *smsObserver) Resent(provider, country string) {
	o.resends.WithLabelValues(o.provider(provider), countryLabel(country)).Inc()
}

func (o *smsObserver) ReceiptRefused(provider, reason string) {
	o.receiptsBad.WithLabelValues(o.provider(provider), fixed(reason, receiptRefusals)).Inc()
}

// provider is the label of a provider name: the name if it looks like one
// and is one of the first maxProviders seen, else "other".
func (o *smsObserver) provider(name string) string {
	if !providerName.MatchString(name) {
		return "other"
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.providers[name] {
		return name
	}
	if len(o.providers) >= maxProviders {
		return "other"
	}
	o.providers[name] = true
	return name
}

// supportedRegions are the ISO 3166 codes libphonenumber knows.
var supportedRegions = sync.OnceValue(func() map[string]bool {
	return phonenumbers.GetSupportedRegions()
})

// countryLabel is an ISO 3166 code libphonenumber knows, else "ZZ".
func countryLabel(c string) string {
	c = strings.ToUpper(c)
	if supportedRegions()[c] {
		return c
	}
	return unknownCountry
}

// fixed is v if it is one of allowed, else "other".
func fixed(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return "other"
}
