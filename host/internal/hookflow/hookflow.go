// Package hookflow runs one call of an IAM vendor's webhook, from its arrival to
// its answer, without HTTP: the deadline budget, admission (the global limit on
// hooks in flight), the bridge's Parse, the challenge's Start, the bridge's
// Respond, and the reason the vendor and the metrics are told.
//
// A hook is never late. Some vendors (Okta) give up after 3 s and then text the
// raw code themselves, so a late answer is a security failure, not just a slow
// one. Every hook gets a Timeline from its arrival and its bridge's deadline, and
// each step gets what is left of it: the answer goes out in time, PENDING when
// the SMS provider is slow, the vendor's failure format when SMS+ is saturated.
//
// The HTTP layer (package httpapi) only adapts: it routes /hooks/{id}, reads the
// body under its own limits, hands the request to Run (or tells Refuse why it
// would not read it) and writes the Result.
package hookflow

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/smsplus/smsplus/host/internal/admission"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// The timing of a hook: the one place for it.
const (
	// RespondReserve is kept back, at the end of a hook's budget, for the
	// bridge to render the answer (the Respond call).
	RespondReserve = 250 * time.Millisecond
	// PendingMargin is kept back, before that, for Start to return once it
	// stops waiting for the SMS provider and answers PENDING.
	PendingMargin = 50 * time.Millisecond
	// RepeatWait is how long a vendor's repeat of a delivery still in progress
	// (same bridge, phone and code) waits for the first one's answer before
	// answering PENDING itself.
	RepeatWait = 750 * time.Millisecond
	// AdmissionShare: a hook that finds every slot taken waits at most
	// budget/AdmissionShare for one (50 ms of 2 s). A hook that cannot start now
	// would only answer late; and as waiters are served newest first, in an
	// overload the ones refused are those that waited longest, so a longer wait
	// only makes refusals later (the 150 ms an early refusal is allowed).
	AdmissionShare = 40
	// DefaultBudget is a hook's budget when Options.Budget is not set.
	DefaultBudget = 2 * time.Second
)

// OutcomeUnavailable is the outcome reported when the bridge's plugin could not
// be called and its pre-rendered failure answer went out.
const OutcomeUnavailable = "unavailable"

// Bridge is a bridge plugin as the flow needs it (pluginhost.Plugin).
type Bridge interface {
	Parse(ctx context.Context, req *bridge.Request) (*bridge.ParseResult, error)
	Respond(ctx context.Context, out *bridge.Outcome) (*bridge.Response, error)
	// Alive reports whether the bridge can be called.
	Alive() bool
	// Unavailable is the vendor's failure answer for when the bridge cannot be
	// called (rendered when it was launched); nil if there is none.
	Unavailable() *bridge.Response
	// Rendered is the answer to an outcome without a transaction id rendered
	// when the bridge was launched (the host's own refusals: overload, bodies
	// too slow or too large), or nil: the outcome is then rendered by Respond.
	Rendered(out bridge.Outcome) *bridge.Response
	// Deadline is how long the vendor waits for an answer (0 = unknown).
	Deadline() time.Duration
}

// Starter starts a challenge, or texts a code-free notice (challenge.Service).
type Starter interface {
	Start(ctx context.Context, ev challenge.Event) (challenge.Started, error)
	Notify(ctx context.Context, n challenge.Notice) (challenge.Sent, error)
}

// featured is a Bridge that says which optional features of the contract its
// plugin understands (pluginhost.Plugin). A Bridge that does not is taken to
// understand none.
type featured interface {
	HasFeature(f string) bool
}

// HostFeatures are the optional features of the contract this host
// implements, announced to every plugin's Configure: it texts a bridge's
// Notice as is (Flow.Run, challenge.Service.Notify).
var HostFeatures = []string{bridge.FeatureNotices}

// Outcome labels of Result.Outcome beyond the outcome kinds.
const (
	// OutcomeNotice: a bridge's notice was texted (the vendor is told
	// delivered or pending).
	OutcomeNotice = "notice"
)

// Observer hears about every answered hook, once (the metrics).
type Observer interface {
	ObserveHook(bridge, outcome, reason string, took time.Duration)
}

// Options configure a Flow.
type Options struct {
	// Budget bounds one hook (HOOK_BUDGET_MS); a bridge whose vendor waits less
	// gets less (see Flow.Timeline). 0 means DefaultBudget.
	Budget time.Duration
	// Admission bounds the hooks past admission at once; more wait a little
	// (Timeline.AdmitWait) and are then refused in the vendor's failure format
	// instead of queueing past the deadline. The bound adapts to the latency of
	// the admitted hooks (package admission) unless Admission.Fixed.
	Admission admission.Options
	Observer  Observer
	Log       *slog.Logger
	// Now and After are the clock (nil: time.Now and time.After). Tests give
	// deadlines and admission waits a fake one.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Flow runs hooks. It is safe for concurrent use.
type Flow struct {
	starter Starter
	o       Options
	limiter *admission.Limiter
}

// New returns a Flow that starts challenges with starter.
func New(starter Starter, o Options) *Flow {
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	return &Flow{starter: starter, o: o, limiter: admission.New(o.Admission)}
}

// Hook is one call of a vendor's webhook.
type Hook struct {
	BridgeID  string
	Bridge    Bridge
	Arrived   time.Time // when the request arrived, before its body was read
	RequestID string    // for the logs
}

// Timeline is a hook's deadlines, all from its arrival and its budget.
type Timeline struct {
	Arrived time.Time
	// Answer: the bridge's answer is rendered by then (Respond's deadline).
	Answer time.Time
	// Work: Parse and Start end by then (Answer - RespondReserve).
	Work time.Time
	// AnswerBy: Start stops waiting for the SMS provider and answers PENDING by
	// then (Work - PendingMargin).
	AnswerBy time.Time
	// AdmitWait is the longest a hook waits for an admission slot.
	AdmitWait time.Duration
}

// Timeline returns h's deadlines. The budget is Options.Budget, or less when
// the bridge's vendor waits less: twice RespondReserve below its deadline.
func (f *Flow) Timeline(h Hook) Timeline {
	budget := f.o.Budget
	if d := h.Bridge.Deadline(); d > 0 && d-2*RespondReserve < budget {
		budget = d - 2*RespondReserve
		if budget <= 0 { // a deadline too short to keep the reserves
			budget = d / 2
		}
	}
	answer := h.Arrived.Add(budget)
	work := answer.Add(-RespondReserve)
	return Timeline{Arrived: h.Arrived, Answer: answer, Work: work, AnswerBy: work.Add(-PendingMargin), AdmitWait: budget / AdmissionShare}
}

// Result is the answer to send and what it says.
type Result struct {
	// Response is the vendor-formatted answer; never nil.
	Response *bridge.Response
	// Outcome is the outcome kind (delivered, pending, test_ok,
	// fallback_delivered, withheld, failed, rejected), OutcomeNotice or
	// OutcomeUnavailable.
	Outcome string
	// Reason is the stable reason code for failures and refusals, "" for
	// successes, "other" for a reason this host does not know.
	Reason string
}

// Refusal is why the host refused a call before its bridge saw it.
type Refusal int

const (
	// TooManyFromClient: the client address already sends as many hook bodies
	// as it may (HOOK_MAX_PER_CLIENT).
	TooManyFromClient Refusal = iota + 1
	// BodyTooLarge: the body is over the size limit.
	BodyTooLarge
	// BodyTooSlow: the body did not arrive by HOOK_BODY_TIMEOUT_MS.
	BodyTooSlow
	// BodyUnreadable: reading the body failed otherwise.
	BodyUnreadable
)

// refusals are the outcomes the vendor is told for the host's refusals.
var refusals = map[Refusal]bridge.Outcome{
	TooManyFromClient: {Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOverloaded},
	BodyTooLarge:      {Kind: bridge.OutcomeRejected, Reason: bridge.ReasonBodyTooLarge},
	BodyTooSlow:       {Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout},
	BodyUnreadable:    {Kind: bridge.OutcomeRejected, Reason: bridge.ReasonMalformed},
}

// Refuse answers a call the host refused before its bridge saw it, in the
// vendor's format.
func (f *Flow) Refuse(ctx context.Context, h Hook, why Refusal) Result {
	out, ok := refusals[why]
	if !ok {
		out = bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonMalformed}
	}
	return f.answer(ctx, h, f.Timeline(h), &out)
}

// Run runs one hook whose body was read: admission, Parse, then Start for an OTP
// event, and the answer, all by the hook's Timeline.
func (f *Flow) Run(ctx context.Context, h Hook, req *bridge.Request) Result {
	tl := f.Timeline(h)
	if !h.Bridge.Alive() {
		return f.unavailable(h)
	}
	release, ok := f.admit(tl)
	if !ok {
		return f.answer(ctx, h, tl, failed(bridge.ReasonOverloaded))
	}
	// Only a hook that reached the challenge teaches the limit its latency: a
	// call the bridge rejected (no vendor secret, a malformed body) or a test
	// ping never waits on the store or the SMS provider, and anyone can send
	// them, fast (a baseline real hooks never meet) or slow (as if queued).
	measured := true
	defer func() { release(measured) }()

	work, cancel := context.WithDeadline(ctx, tl.Work)
	defer cancel()
	// The challenge's id is chosen now, so that a plugin that can renders the
	// usual answers (delivered, pending) with its transaction id while it
	// parses: the common hook then takes one call to the plugin, not two.
	var cid string
	if hasFeature(h.Bridge, bridge.FeatureAnswersAhead) {
		cid = challenge.NewID()
		req.AnswerTransactionID = challenge.TransactionID(cid)
	}
	res, err := h.Bridge.Parse(work, req)
	if err != nil {
		f.o.Log.Error("bridge parse", "request_id", h.RequestID, "bridge", h.BridgeID, "err", err)
		switch {
		case !h.Bridge.Alive():
			return f.unavailable(h)
		case errors.Is(err, context.DeadlineExceeded):
			return f.answer(ctx, h, tl, failed(bridge.ReasonDeadline))
		}
		return f.answer(ctx, h, tl, failed(bridge.ReasonInternal))
	}
	switch {
	case res.Rejection != nil:
		// Parse rendered the vendor's answer itself: one call for every refusal.
		measured = false
		rj := res.Rejection
		f.o.Log.Info("hook rejected", "request_id", h.RequestID, "bridge", h.BridgeID, "code", rj.Reason.String())
		return f.done(h, Result{Response: rj.Response, Outcome: bridge.OutcomeRejected.String(), Reason: reasonLabel(rj.Reason)})
	case res.TestPing != nil:
		measured = false
		return f.answer(ctx, h, tl, &bridge.Outcome{Kind: bridge.OutcomeTestOK})
	case res.OTP != nil:
		out, label := f.start(work, h, tl, res.OTP, cid)
		// A repeat of an earlier delivery, another challenge id, a reason or
		// another outcome is not what was rendered ahead: Respond renders it.
		if resp, ok := res.Answer(out, req.AnswerTransactionID); ok {
			return f.done(h, Result{Response: resp, Outcome: label, Reason: reasonLabel(out.Reason)})
		}
		return f.answerAs(ctx, h, tl, out, label)
	case res.Notice != nil:
		out, label := f.notify(work, h, tl, res.Notice)
		return f.answerAs(ctx, h, tl, out, label)
	}
	return f.answer(ctx, h, tl, failed(bridge.ReasonInternal))
}

// admit takes an admission slot, waiting at most tl.AdmitWait for one. The
// time the hook holds it, by the flow's clock, is what the limit adapts to,
// when release is told measured.
func (f *Flow) admit(tl Timeline) (release func(measured bool), ok bool) {
	if !f.limiter.TryAcquire() && !f.limiter.Acquire(f.o.After(tl.AdmitWait)) {
		return nil, false
	}
	admitted := f.o.Now()
	return func(measured bool) {
		if !measured {
			f.limiter.ReleaseUnmeasured()
			return
		}
		f.limiter.Release(f.o.Now().Sub(admitted))
	}, true
}

// AdmissionLimit is the current limit on hooks in flight.
func (f *Flow) AdmissionLimit() int { return f.limiter.Limit() }

// start runs the challenge flow for ev and says what the vendor is told, and
// the label of what happened (the outcome kind, but "withheld" whatever a
// plugin that predates it is told).
func (f *Flow) start(ctx context.Context, h Hook, tl Timeline, ev *bridge.OTPEvent, cid string) (out *bridge.Outcome, label string) {
	started, err := f.starter.Start(ctx, challenge.Event{
		Bridge: h.BridgeID, Phone: ev.Phone, OTP: ev.OTP, Message: ev.Message, Voice: ev.Channel == bridge.ChannelVoice,
		Locale: ev.Locale, ExpiresAt: ev.ExpiresAt, VendorTransaction: ev.TransactionID,
		Budget: challenge.Budget{AnswerBy: tl.AnswerBy, RepeatWait: RepeatWait}, ChallengeID: cid,
	})
	if err == nil {
		out = &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: started.TransactionID}
		switch {
		case started.Withheld:
			out.Kind, out.Reason = bridge.OutcomeWithheld, bridge.ReasonUnsupportedChannel
			if !hasFeature(h.Bridge, bridge.FeatureWithheld) {
				// A plugin built before withheld existed cannot render it: the
				// one success it knows keeps the vendor from speaking the code
				// itself, which is what VOICE_POLICY=fail_closed asks for.
				out.Kind, out.Reason = bridge.OutcomeDelivered, bridge.ReasonUnspecified
				f.o.Log.Warn("voice request withheld, answered as delivered: the plugin predates the withheld outcome",
					"request_id", h.RequestID, "bridge", h.BridgeID)
			}
		case started.Fallback:
			out.Kind = bridge.OutcomeFallbackDelivered
		case started.Pending:
			out.Kind = bridge.OutcomePending
		}
		label = out.Kind.String()
		if started.Withheld {
			label = bridge.OutcomeWithheld.String()
		}
		f.o.Log.Info("hook handled", "request_id", h.RequestID, "bridge", h.BridgeID, "outcome", label,
			"enrolling", started.Enrolling)
		return out, label
	}
	if errors.Is(err, challenge.ErrInProgress) {
		// The same delivery is being made by another hook; it will finish the job.
		return &bridge.Outcome{Kind: bridge.OutcomePending}, bridge.OutcomePending.String()
	}
	return f.notSent("challenge not sent", h, err)
}

// notify texts a bridge's notice and says what the vendor is told: like an
// OTP event, delivered, pending, or failed with a reason; and the label of
// what happened (OutcomeNotice when it went out).
func (f *Flow) notify(ctx context.Context, h Hook, tl Timeline, n *bridge.Notice) (out *bridge.Outcome, label string) {
	sent, err := f.starter.Notify(ctx, challenge.Notice{
		Bridge: h.BridgeID, Phone: n.Phone, Message: n.Message, Sender: n.Sender, Kind: n.Kind,
		VendorTransaction: n.TransactionID, Budget: challenge.Budget{AnswerBy: tl.AnswerBy},
	})
	if err != nil {
		return f.notSent("notice not sent", h, err)
	}
	out = &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: sent.TransactionID}
	if sent.Pending {
		out.Kind = bridge.OutcomePending
	}
	return out, OutcomeNotice
}

// notSent is the failure the vendor is told when a text was not sent for err,
// logged with msg: a warning, or an error for an internal failure.
func (f *Flow) notSent(msg string, h Hook, err error) (*bridge.Outcome, string) {
	out := failed(StartFailure(err))
	level := f.o.Log.Warn
	if out.Reason == bridge.ReasonInternal {
		level = f.o.Log.Error
	}
	level(msg, "request_id", h.RequestID, "bridge", h.BridgeID, "code", out.Reason.String(), "err", err)
	return out, out.Kind.String()
}

// hasFeature reports whether b's plugin understands the optional feature x.
func hasFeature(b Bridge, x string) bool {
	fb, ok := b.(featured)
	return ok && fb.HasFeature(x)
}

// startFailures map the challenge's errors to the reasons the vendor is told.
var startFailures = []struct {
	err    error
	reason bridge.Reason
}{
	{challenge.ErrInvalidPhone, bridge.ReasonInvalidPhone},
	{challenge.ErrInvalidOTP, bridge.ReasonInvalidOTP},
	{challenge.ErrUnsupportedChannel, bridge.ReasonUnsupportedChannel},
	{challenge.ErrOTPExpired, bridge.ReasonOTPExpired},
	{challenge.ErrSMS, bridge.ReasonSMSFailed},
	{challenge.ErrRateLimited, bridge.ReasonRateLimited},
	{challenge.ErrCountryNotAllowed, bridge.ReasonCountryNotAllowed},
	{challenge.ErrDestinationRefused, bridge.ReasonDestinationRefused},
	{challenge.ErrBiometricsDown, bridge.ReasonBiometricsOff},
	// A notice the host will not text: as a malformed call, never retried
	// (the bridges refuse such a text themselves; see challenge.Notify).
	{challenge.ErrNoticeEmpty, bridge.ReasonMissingField},
	{challenge.ErrNoticeMayHoldCode, bridge.ReasonMalformed},
	{challenge.ErrNoticeTooLong, bridge.ReasonMalformed},
	{context.DeadlineExceeded, bridge.ReasonDeadline},
	{context.Canceled, bridge.ReasonDeadline},
}

// StartFailure is the reason the vendor is told when Start fails with err:
// ReasonInternal for an error without a reason of its own (a store failure).
func StartFailure(err error) bridge.Reason {
	for _, f := range startFailures {
		if errors.Is(err, f.err) {
			return f.reason
		}
	}
	return bridge.ReasonInternal
}

func failed(r bridge.Reason) *bridge.Outcome {
	return &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: r}
}

// answer has the bridge render out by the hook's deadline; if it cannot, the
// bridge's pre-rendered failure answer goes out instead.
func (f *Flow) answer(ctx context.Context, h Hook, tl Timeline, out *bridge.Outcome) Result {
	return f.answerAs(ctx, h, tl, out, out.Kind.String())
}

// answerAs is answer, with label as the Result's Outcome.
func (f *Flow) answerAs(ctx context.Context, h Hook, tl Timeline, out *bridge.Outcome, label string) Result {
	if resp := h.Bridge.Rendered(*out); resp != nil {
		// No call to the plugin: a flood of calls the host refuses leaves the
		// plugin's time to the calls it took.
		return f.done(h, Result{Response: resp, Outcome: label, Reason: reasonLabel(out.Reason)})
	}
	out.Duration = f.o.Now().Sub(h.Arrived)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), tl.Answer)
	defer cancel()
	resp, err := h.Bridge.Respond(ctx, out)
	if err != nil {
		f.o.Log.Error("bridge respond", "request_id", h.RequestID, "bridge", h.BridgeID, "err", err)
		resp = h.Bridge.Unavailable()
	}
	return f.done(h, Result{Response: orUnavailable(resp), Outcome: label, Reason: reasonLabel(out.Reason)})
}

// unavailable answers with the bridge's failure answer while its plugin cannot
// be called.
func (f *Flow) unavailable(h Hook) Result {
	return f.done(h, Result{Response: orUnavailable(h.Bridge.Unavailable()), Outcome: OutcomeUnavailable,
		Reason: bridge.ReasonUnavailable.String()})
}

// done reports a hook's result to the observer.
func (f *Flow) done(h Hook, r Result) Result {
	if f.o.Observer != nil {
		f.o.Observer.ObserveHook(h.BridgeID, r.Outcome, r.Reason, f.o.Now().Sub(h.Arrived))
	}
	return r
}

// reasonLabel is a reason as answers, logs and metrics show it: "" for none,
// "other" for one this host does not know, so that no plugin can grow the
// metrics.
func reasonLabel(r bridge.Reason) string {
	switch {
	case r == bridge.ReasonUnspecified:
		return ""
	case !r.Known():
		return "other"
	}
	return r.String()
}

// genericUnavailable is the answer when a bridge has none of its own: it was
// never launched successfully.
var genericUnavailable = &bridge.Response{
	Status:  503,
	Headers: []bridge.Header{{Name: "Content-Type", Values: []string{"application/json"}}},
	Body:    []byte(`{"code":"bridge_unavailable","message":"Bridge unavailable."}`),
}

func orUnavailable(r *bridge.Response) *bridge.Response {
	if r == nil {
		return genericUnavailable
	}
	return r
}
