package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// The router is a Sender made of named providers. A message goes through the
// route of its destination country (or the default route): an ordered list of
// providers, tried one after the other until one accepts it.
//
// What goes to the next provider, and what does not:
//
//   - ErrUnavailable (outage, 5xx, network, rate limit, credentials), an
//     attempt that ran out of its share of the time, and any error the router
//     cannot place: the next provider. These count against the provider's
//     circuit breaker.
//   - ErrRejected about the recipient or the message (invalid number, landline,
//     unsubscribed, empty body): no other provider. Another provider would be
//     refused too, or would text a number its owner has asked not to be texted.
//   - ErrRejected about the provider's own account or sender (the error has
//     AccountProblem() true: a sender not allowed for the destination, a
//     country not enabled on the account, an unknown messaging service): the
//     next provider, whose account and sender differ. Such refusals say
//     nothing about the provider's health, so they do not count against its
//     breaker.
//
// Time: each attempt gets a share of what is left, so that the last provider
// still gets a chance. With k providers left (this one included), an attempt
// may run until now + (target-now)/k, where target is the caller's answer time
// (WithAnswerBy: the moment the IAM must hear an answer) while it lies ahead,
// else the context's deadline. The last provider gets everything up to the
// context's deadline. Time a provider does not use (a fast refusal) is shared
// again among the next ones. A provider cut off at its share may still have
// accepted the message: the user may then get the same link twice, which is
// harmless (same link, same challenge) and better than none.

// Route is the ordered providers for a destination, and its sender.
type Route struct {
	Providers []string
	// From is the sender for this route's messages (a number, a messaging
	// service or an alphanumeric sender id) when the message has none: it
	// becomes Message.From. Empty: each provider's default sender.
	From string
}

// BreakerSettings tune the per-provider circuit breaker.
type BreakerSettings struct {
	// Failures is how many transient failures in a row open the circuit
	// (0: DefaultBreakerFailures).
	Failures int
	// Cooldown is how long an open circuit skips the provider before one probe
	// goes through (0: DefaultBreakerCooldown).
	Cooldown time.Duration
}

// Circuit breaker defaults.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

// RouterConfig is a router's providers, routes and breaker settings.
type RouterConfig struct {
	// Providers are the senders by the operator's names (SMS_PROVIDERS).
	Providers map[string]Sender
	// Routes are by destination country: ISO 3166 alpha-2 codes in upper case.
	Routes map[string]Route
	// Default is the route of every other destination; it must name at least
	// one provider.
	Default  Route
	Breaker  BreakerSettings
	Observer Observer         // nil: none
	Now      func() time.Time // nil: time.Now
	Log      *slog.Logger     // nil: none
}

// Router sends each message through its destination's route, with failover
// and a circuit breaker per provider. It is safe for concurrent use.
type Router struct {
	providers map[string]Sender
	routes    map[string]Route
	def       Route
	breakers  map[string]*breaker
	obs       Observer
	now       func() time.Time
	log       *slog.Logger
}

var _ Sender = (*Router)(nil)

// NewRouter checks cfg: every route names known providers, each at most once.
func NewRouter(cfg RouterConfig) (*Router, error) {
	var problems []error
	check := func(where string, rt Route) {
		if len(rt.Providers) == 0 {
			problems = append(problems, fmt.Errorf("route %s: names no provider", where))
		}
		for i, p := range rt.Providers {
			if _, ok := cfg.Providers[p]; !ok {
				problems = append(problems, fmt.Errorf("route %s: unknown provider %q", where, p))
			}
			if slices.Index(rt.Providers, p) != i {
				problems = append(problems, fmt.Errorf("route %s: provider %q is named twice", where, p))
			}
		}
	}
	check("default", cfg.Default)
	for _, c := range slices.Sorted(maps.Keys(cfg.Routes)) {
		check(c, cfg.Routes[c])
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	b := cfg.Breaker
	if b.Failures <= 0 {
		b.Failures = DefaultBreakerFailures
	}
	if b.Cooldown <= 0 {
		b.Cooldown = DefaultBreakerCooldown
	}
	r := &Router{providers: cfg.Providers, routes: cfg.Routes, def: cfg.Default, obs: cfg.Observer,
		now: cfg.Now, log: cfg.Log, breakers: map[string]*breaker{}}
	if r.obs == nil {
		r.obs = NopObserver{}
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Providers)) {
		r.breakers[name] = &breaker{failures: b.Failures, cooldown: b.Cooldown}
		// Every provider's circuit is reported closed from the start, so that
		// an alert over all of them (every circuit open) sees each one.
		r.obs.Circuit(name, false)
	}
	return r, nil
}

// Country is the ISO 3166 alpha-2 code of an E.164 number's country, or "ZZ"
// when it has none (an invalid or non-geographic number).
func Country(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "ZZ"
	}
	if c := phonenumbers.GetRegionCodeForNumber(num); c != "" && c != nonGeographic {
		return c
	}
	// A number the metadata cannot place exactly still has its country code's
	// main region (+1 555 numbers: US).
	if c := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode())); c != "" && c != nonGeographic {
		return c
	}
	return "ZZ"
}

// nonGeographic is libphonenumber's region of numbers that belong to no
// country (+800, +882...).
const nonGeographic = "001"

// Readers are the providers that read their own delivery receipts, by name.
// A provider that can but was given no key to authenticate them (an HTTP
// provider without its receipt settings) is not one: its receipts route
// answers as for a provider that posts none.
func (r *Router) Readers() map[string]ReceiptReader {
	out := map[string]ReceiptReader{}
	for name, p := range r.providers {
		rr, ok := p.(ReceiptReader)
		if c, optional := p.(interface{ ReadsReceipts() bool }); optional && !c.ReadsReceipts() {
			ok = false
		}
		if ok {
			out[name] = rr
		}
	}
	return out
}

// RouteFor is the route of a destination and its country.
func (r *Router) RouteFor(to string) (country string, rt Route) {
	country = Country(to)
	if rt, ok := r.routes[country]; ok {
		return country, rt
	}
	return country, r.def
}

// Send sends m through its destination's route. The receipt names the
// provider that accepted it.
func (r *Router) Send(ctx context.Context, m Message) (Receipt, error) {
	country, rt := r.RouteFor(m.To)
	return r.send(ctx, m, country, rt, rt.Providers)
}

// SendAfter sends m again through its route's providers other than used,
// starting with the one after used and wrapping around (a re-send of an
// undelivered message through another provider). ErrNoProvider: the route has
// no other provider.
func (r *Router) SendAfter(ctx context.Context, m Message, used string) (Receipt, error) {
	country, rt := r.RouteFor(m.To)
	i := slices.Index(rt.Providers, used)
	var order []string
	for j := 1; j <= len(rt.Providers); j++ {
		if p := rt.Providers[(i+j+len(rt.Providers))%len(rt.Providers)]; p != used && !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	if len(order) == 0 {
		return Receipt{}, ErrNoProvider
	}
	return r.send(ctx, m, country, rt, order)
}

// ErrNoProvider: the route has no provider left to try.
var ErrNoProvider = fmt.Errorf("%w: no other provider on the route", ErrUnavailable)

// AccountProblem is implemented by errors wrapping ErrRejected that are about
// the provider's account or sender rather than the recipient: the router then
// tries the next provider.
type AccountProblem interface {
	AccountProblem() bool
}

// AccountProblem: Twilio's refusals that another provider's account or sender
// may not meet.
func (e *TwilioError) AccountProblem() bool {
	switch e.Code {
	case 21212, // the From is not a valid sender
		21408,        // the destination country is not enabled on the account
		21603,        // no sender
		21606,        // the From cannot send to this destination
		21612,        // this To/From combination is unsupported
		21659, 21660, // the From is not the account's
		21705: // the messaging service is unknown
		return true
	}
	return false
}

func (r *Router) send(ctx context.Context, m Message, country string, rt Route, order []string) (Receipt, error) {
	if m.From == "" {
		m.From = rt.From
	}
	// Every provider skipped for its open circuit would fail the message
	// without a try: when none was tried, the last one goes anyway.
	tried := false
	var errs []error
	for i, name := range order {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		br := r.breakers[name]
		last := i == len(order)-1
		probe, ok := br.allow(r.now())
		if !ok && !(last && !tried) {
			r.obs.Sent(name, country, ResultSkipped, 0)
			errs = append(errs, fmt.Errorf("%s: circuit open", name))
			continue
		}
		tried = true
		left := r.available(order[i+1:])
		receipt, result, err := r.attempt(ctx, name, m, left)
		r.obs.Sent(name, country, result.String(), receipt.took)
		switch result {
		case resultSent:
			r.settle(name, br, true, probe)
			return Receipt{ID: receipt.id, Provider: name, Country: country}, nil
		case resultRejected:
			br.release(probe)
			return Receipt{}, fmt.Errorf("%s: %w", name, err)
		case resultAccount:
			br.release(probe)
		case resultCanceled:
			br.release(probe)
			return Receipt{}, fmt.Errorf("%s: %w", name, err)
		default:
			r.settle(name, br, false, probe)
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
		if next := r.nextAvailable(order[i+1:]); next != "" {
			r.obs.Failover(name, next, country)
			r.log.Info("sms failover", "from", name, "to", next, "country", country, "result", result.String())
		}
	}
	if len(errs) == 0 {
		errs = append(errs, ErrNoProvider)
	}
	// ErrUnavailable is kept in the chain (the callers' errors.Is): every
	// provider was tried or skipped, none took the message.
	return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

// settle reports a send's result to the provider's breaker and the observer.
func (r *Router) settle(name string, br *breaker, ok, probe bool) {
	opened, closed := br.result(r.now(), ok, probe)
	if opened {
		r.obs.Circuit(name, true)
		r.log.Warn("sms provider circuit open", "provider", name)
	}
	if closed {
		r.obs.Circuit(name, false)
		r.log.Info("sms provider circuit closed", "provider", name)
	}
}

// available counts the providers of rest whose circuit lets a message through.
func (r *Router) available(rest []string) int {
	n := 0
	now := r.now()
	for _, p := range rest {
		if r.breakers[p].open(now) {
			continue
		}
		n++
	}
	return n
}

func (r *Router) nextAvailable(rest []string) string {
	now := r.now()
	for _, p := range rest {
		if !r.breakers[p].open(now) {
			return p
		}
	}
	if len(rest) > 0 {
		return rest[len(rest)-1] // the last one goes anyway (send)
	}
	return ""
}

type attemptReceipt struct {
	id   string
	took time.Duration
}

type result int

const (
	resultSent result = iota
	resultRejected
	resultAccount // rejected for the provider's account or sender
	resultTimeout
	resultError
	resultCanceled // the caller gave up
)

// The results the Observer hears (Observer.Sent).
const (
	ResultSent     = "sent"
	ResultRejected = "rejected"
	ResultTimeout  = "timeout"
	ResultError    = "error"
	ResultSkipped  = "skipped"
)

func (r result) String() string {
	switch r {
	case resultSent:
		return ResultSent
	case resultRejected, resultAccount:
		return ResultRejected
	case resultTimeout, resultCanceled:
		return ResultTimeout
	}
	return ResultError
}

// attempt sends through one provider within its share of the time; after
// it, left providers remain.
func (r *Router) attempt(ctx context.Context, name string, m Message, left int) (attemptReceipt, result, error) {
	actx, cancel := context.WithDeadline(ctx, shareDeadline(ctx, r.now(), left+1))
	defer cancel()
	start := time.Now()
	rec, err := r.providers[name].Send(actx, m)
	took := time.Since(start)
	var ap AccountProblem
	switch {
	case err == nil && rec.ID == "":
		return attemptReceipt{took: took}, resultError, fmt.Errorf("%w: no message id", ErrUnavailable)
	case err == nil:
		return attemptReceipt{id: rec.ID, took: took}, resultSent, nil
	case ctx.Err() != nil:
		return attemptReceipt{took: took}, resultCanceled, err
	case errors.Is(err, ErrRejected) && errors.As(err, &ap) && ap.AccountProblem():
		return attemptReceipt{took: took}, resultAccount, err
	case errors.Is(err, ErrRejected):
		return attemptReceipt{took: took}, resultRejected, err
	case actx.Err() != nil:
		return attemptReceipt{took: took}, resultTimeout, err
	}
	return attemptReceipt{took: took}, resultError, err
}

// shareDeadline is the deadline of an attempt with k providers left (this one
// included): see the rule at the top of this file. far stands for "no
// deadline" when the context has none and the answer time has passed.
func shareDeadline(ctx context.Context, now time.Time, k int) time.Time {
	hard, hasHard := ctx.Deadline()
	if !hasHard {
		hard = now.Add(far)
	}
	if k <= 1 {
		return hard
	}
	target := hard
	if soft, ok := AnswerBy(ctx); ok && soft.After(now) && soft.Before(hard) {
		target = soft
	}
	return now.Add(target.Sub(now) / time.Duration(k))
}

// far is the horizon of a context without a deadline: each provider's own
// timeout (TWILIO_TIMEOUT_MS...) bounds it first.
const far = 24 * time.Hour

type answerByKey struct{}

// WithAnswerBy tells the router when the caller must answer its own caller
// (the IAM hears PENDING then; the send goes on): the providers before the last
// share the time up to it, so that a failover can still be answered in time.
func WithAnswerBy(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, answerByKey{}, t)
}

// AnswerBy is the time WithAnswerBy set.
func AnswerBy(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(answerByKey{}).(time.Time)
	return t, ok && !t.IsZero()
}

// NopObserver hears nothing.
type NopObserver struct{}

func (NopObserver) Sent(string, string, string, time.Duration)             {}
func (NopObserver) Failover(string, string, string)                        {}
func (NopObserver) Circuit(string, bool)                                   {}
func (NopObserver) Delivered(string, string, DeliveryState, time.Duration) {}
func (NopObserver) Resent(string, string)                                  {}
func (NopObserver) ReceiptRefused(string, string)                          {}
