package hookflow

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/admission"
	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// fakeBridge records what the flow asks of it, and when it must be done.
type fakeBridge struct {
	parse       func(ctx context.Context, r *bridge.Request) (*bridge.ParseResult, error)
	respondErr  error
	dead        atomic.Bool
	deadline    time.Duration
	unavailable *bridge.Response
	features    []string // the plugin's optional features (Info.Features)
	// rendered are answers rendered at launch, by kind and reason (Rendered).
	rendered map[bridge.Outcome]*bridge.Response

	mu              sync.Mutex
	parseDeadline   time.Time
	respondDeadline time.Time
	outcomes        []bridge.Outcome
}

func (b *fakeBridge) Parse(ctx context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
	d, _ := ctx.Deadline()
	b.mu.Lock()
	b.parseDeadline = d
	b.mu.Unlock()
	return b.parse(ctx, r)
}

func (b *fakeBridge) Respond(ctx context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	d, _ := ctx.Deadline()
	b.mu.Lock()
	b.respondDeadline = d
	b.outcomes = append(b.outcomes, *out)
	b.mu.Unlock()
	if b.respondErr != nil {
		return nil, b.respondErr
	}
	return &bridge.Response{Status: 200, Body: []byte(out.Kind.String() + " " + out.Reason.String())}, nil
}

func (b *fakeBridge) HasFeature(f string) bool      { return slices.Contains(b.features, f) }
func (b *fakeBridge) Alive() bool                   { return !b.dead.Load() }
func (b *fakeBridge) Deadline() time.Duration       { return b.deadline }
func (b *fakeBridge) Unavailable() *bridge.Response { return b.unavailable }
func (b *fakeBridge) Rendered(out bridge.Outcome) *bridge.Response {
	if out.TransactionID != "" {
		return nil
	}
	return b.rendered[bridge.Outcome{Kind: out.Kind, Reason: out.Reason}]
}

func (b *fakeBridge) responded() []bridge.Outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bridge.Outcome(nil), b.outcomes...)
}

// starter is a fake challenge.Service.
type starter struct {
	started   challenge.Started
	err       error
	sent      challenge.Sent
	notifyErr error

	// asChosen: the challenge gets the id the flow chose ahead
	// (Event.ChallengeID), as challenge.Service does.
	asChosen bool

	mu       sync.Mutex
	deadline time.Time
	events   []challenge.Event
	notices  []challenge.Notice
}

func (s *starter) Notify(ctx context.Context, n challenge.Notice) (challenge.Sent, error) {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = d
	s.notices = append(s.notices, n)
	return s.sent, s.notifyErr
}

func (s *starter) Start(ctx context.Context, ev challenge.Event) (challenge.Started, error) {
	d, _ := ctx.Deadline()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = d
	s.events = append(s.events, ev)
	st := s.started
	if s.asChosen && s.err == nil {
		st.ChallengeID, st.TransactionID = ev.ChallengeID, challenge.TransactionID(ev.ChallengeID)
	}
	return st, s.err
}

func parsesTo(res *bridge.ParseResult, err error) func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
	return func(context.Context, *bridge.Request) (*bridge.ParseResult, error) { return res, err }
}

var (
	event  = &bridge.OTPEvent{Phone: "+14155550142", OTP: "604913", Channel: bridge.ChannelSMS}
	voice  = &bridge.OTPEvent{Phone: "+14155550142", Channel: bridge.ChannelVoice}
	notice = &bridge.Notice{Phone: "+14155550142", Message: "Your account has been blocked.", Sender: "+15550100",
		Locale: "en", Kind: "blocked_account", TransactionID: "corr-9"}
)

type observed struct {
	bridge, outcome, reason string
	took                    time.Duration
}

type observer struct {
	mu  sync.Mutex
	got []observed
}

func (o *observer) ObserveHook(b, outcome, reason string, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observed{b, outcome, reason, took})
}

// clock is a fixed clock: Now stays where the test puts it.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano()) // real contexts must not be expired already
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestTimeline(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 9, 21, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := map[string]struct {
		budget, vendor time.Duration
		want           time.Duration // the hook's budget
	}{
		"vendor deadline unknown: the budget":           {budget: ms(2000), vendor: 0, want: ms(2000)},
		"Okta, 3 s: the budget fits":                    {budget: ms(2000), vendor: ms(3000), want: ms(2000)},
		"a vendor waiting 2 s: 2 reserves below it":     {budget: ms(2000), vendor: ms(2000), want: ms(1500)},
		"a long budget, a vendor waiting less":          {budget: ms(20000), vendor: ms(10000), want: ms(9500)},
		"a vendor deadline too short for the reserves":  {budget: ms(2000), vendor: ms(400), want: ms(200)},
		"default budget (HOOK_BUDGET_MS unset)":         {budget: 0, vendor: ms(3000), want: DefaultBudget},
		"default budget, vendor waiting less than that": {budget: 0, vendor: ms(1000), want: ms(500)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := New(&starter{}, Options{Budget: tc.budget})
			got := f.Timeline(Hook{Bridge: &fakeBridge{deadline: tc.vendor}, Arrived: at})
			answer := at.Add(tc.want)
			want := Timeline{Arrived: at, Answer: answer, Work: answer.Add(-RespondReserve),
				AnswerBy: answer.Add(-RespondReserve - PendingMargin), AdmitWait: tc.want / AdmissionShare}
			if got != want {
				t.Errorf("Timeline = %+v\nwant %+v", got, want)
			}
		})
	}
}

// Every step of a hook gets its deadline from the hook's arrival: Parse and
// Start the work deadline, the SMS send its PENDING deadline, Respond the
// answer deadline. Checked as values, not measured.
func TestDeadlinesReachEveryStep(t *testing.T) {
	t.Parallel()
	c := newClock()
	arrived := c.now()
	st := &starter{started: challenge.Started{TransactionID: "sp_1"}}
	b := &fakeBridge{deadline: 3 * time.Second, parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
		c.advance(1234 * time.Millisecond) // the time the hook has taken when it is answered
		return &bridge.ParseResult{OTP: event}, nil
	}}
	f := New(st, Options{Budget: 2 * time.Second, Now: c.now})
	res := f.Run(context.Background(), Hook{BridgeID: "okta", Bridge: b, Arrived: arrived}, &bridge.Request{})
	if res.Outcome != "delivered" {
		t.Fatalf("result %+v", res)
	}
	answer := arrived.Add(2 * time.Second)
	work := answer.Add(-RespondReserve)
	if !b.parseDeadline.Equal(work) || !st.deadline.Equal(work) {
		t.Errorf("Parse deadline %v, Start deadline %v; want %v", b.parseDeadline, st.deadline, work)
	}
	if got := st.events[0].Budget; !got.AnswerBy.Equal(work.Add(-PendingMargin)) || got.RepeatWait != RepeatWait {
		t.Errorf("Start's budget %+v, want PENDING by %v and a repeat waiting %v", got, work.Add(-PendingMargin), RepeatWait)
	}
	if !b.respondDeadline.Equal(answer) {
		t.Errorf("Respond deadline %v, want %v", b.respondDeadline, answer)
	}
	if got := b.responded()[0].Duration; got != 1234*time.Millisecond {
		t.Errorf("Outcome.Duration %v, want 1.234s", got)
	}
}

// A hook whose time runs out while its bridge parses is answered in the
// vendor's failure format, not late.
func TestParseOutOfTime(t *testing.T) {
	t.Parallel()
	c := newClock()
	b := &fakeBridge{parse: func(ctx context.Context, _ *bridge.Request) (*bridge.ParseResult, error) {
		<-ctx.Done() // a bridge that honours its deadline
		return nil, fmt.Errorf("parse: %w", ctx.Err())
	}}
	// The hook arrived long enough ago that its work deadline has passed.
	arrived := c.now().Add(-DefaultBudget)
	res := New(&starter{}, Options{Now: c.now}).Run(context.Background(), Hook{Bridge: b, Arrived: arrived}, &bridge.Request{})
	if res.Outcome != "failed" || res.Reason != "deadline_exceeded" {
		t.Fatalf("result %+v, want failed deadline_exceeded", res)
	}
	if !b.respondDeadline.Equal(arrived.Add(DefaultBudget)) {
		t.Errorf("Respond deadline %v, want the answer deadline", b.respondDeadline)
	}
}

// What the vendor is told, and what the metrics count, for each thing that can
// happen to a hook: the one mapping from outcomes and errors to reasons.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	rejection := &bridge.Response{Status: 401, Body: []byte("okta's own 401")}
	preRendered := &bridge.Response{Status: 200, Body: []byte("okta's failure answer")}
	tests := map[string]struct {
		bridge      *fakeBridge
		started     challenge.Started
		startErr    error
		sent        challenge.Sent
		notifyErr   error
		wantOutcome string // Result.Outcome
		wantReason  string // Result.Reason
		wantAsked   []bridge.Outcome
		wantBody    string
	}{
		"delivered": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)},
			started: challenge.Started{TransactionID: "sp_1"}, wantOutcome: "delivered",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"}}},
		"pending": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)},
			started: challenge.Started{TransactionID: "sp_1", Pending: true}, wantOutcome: "pending",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomePending, TransactionID: "sp_1"}}},
		"fallback": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)},
			started: challenge.Started{Fallback: true}, wantOutcome: "fallback_delivered",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeFallbackDelivered}}},
		"a repeat in progress": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)},
			startErr: challenge.ErrInProgress, wantOutcome: "pending",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomePending}}},
		// VOICE_POLICY=fail_closed: the vendor's success, on purpose.
		"withheld": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: voice}, nil), features: []string{bridge.FeatureWithheld}},
			started: challenge.Started{Withheld: true, TransactionID: "sp_2"}, wantOutcome: "withheld", wantReason: "unsupported_channel",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeWithheld, Reason: bridge.ReasonUnsupportedChannel, TransactionID: "sp_2"}}},
		// A plugin built before withheld existed is never sent it: it gets the
		// one success it knows, so that its vendor does not speak the code.
		"withheld, plugin predates it": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: voice}, nil)},
			started: challenge.Started{Withheld: true, TransactionID: "sp_2"}, wantOutcome: "withheld",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeDelivered, TransactionID: "sp_2"}}},
		"notice texted": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{Notice: notice}, nil)},
			sent: challenge.Sent{TransactionID: "sp_3"}, wantOutcome: OutcomeNotice,
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeDelivered, TransactionID: "sp_3"}}},
		"notice pending": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{Notice: notice}, nil)},
			sent: challenge.Sent{TransactionID: "sp_3", Pending: true}, wantOutcome: OutcomeNotice,
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomePending, TransactionID: "sp_3"}}},
		"notice that may hold a code": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{Notice: notice}, nil)},
			notifyErr: challenge.ErrNoticeMayHoldCode, wantOutcome: "failed", wantReason: "malformed_request",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonMalformed}}},
		"notice over the caps": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{Notice: notice}, nil)},
			notifyErr: challenge.ErrRateLimited, wantOutcome: "failed", wantReason: "rate_limited",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonRateLimited}}},
		"test ping": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil)},
			wantOutcome: "test_ok", wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeTestOK}}},
		// One call for a refused request: Parse's answer goes out as is.
		"rejected by the bridge": {bridge: &fakeBridge{parse: parsesTo(bridge.Reject(bridge.ReasonUnauthorized, rejection), nil)},
			wantOutcome: "rejected", wantReason: "unauthorized", wantBody: "okta's own 401"},
		"rejected for a reason of a newer SDK": {bridge: &fakeBridge{parse: parsesTo(bridge.Reject(bridge.Reason(99), rejection), nil)},
			wantOutcome: "rejected", wantReason: "other", wantBody: "okta's own 401"},
		"bridge error": {bridge: &fakeBridge{parse: parsesTo(nil, errors.New("parse: boom"))},
			wantOutcome: "failed", wantReason: "internal_error",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInternal}}},
		"bridge down": {bridge: func() *fakeBridge { b := &fakeBridge{unavailable: preRendered}; b.dead.Store(true); return b }(),
			wantOutcome: OutcomeUnavailable, wantReason: "bridge_unavailable", wantBody: "okta's failure answer"},
		"bridge dies while parsing": {bridge: func() *fakeBridge {
			b := &fakeBridge{unavailable: preRendered}
			b.parse = func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
				b.dead.Store(true)
				return nil, bridge.ErrUnavailable
			}
			return b
		}(), wantOutcome: OutcomeUnavailable, wantReason: "bridge_unavailable", wantBody: "okta's failure answer"},
		"bridge cannot answer": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil), respondErr: errors.New("respond: boom"),
			unavailable: preRendered}, started: challenge.Started{TransactionID: "sp_1"}, wantOutcome: "delivered",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"}}, wantBody: "okta's failure answer"},
		"bridge cannot answer, never launched": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil), respondErr: errors.New("respond: boom")},
			wantOutcome: "delivered", wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeDelivered}},
			wantBody: `{"code":"bridge_unavailable","message":"Bridge unavailable."}`},
		"store failure": {bridge: &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)},
			startErr: errors.New("create challenge: disk full"), wantOutcome: "failed", wantReason: "internal_error",
			wantAsked: []bridge.Outcome{{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInternal}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			obs := &observer{}
			c := newClock()
			f := New(&starter{started: tc.started, err: tc.startErr, sent: tc.sent, notifyErr: tc.notifyErr}, Options{Observer: obs, Now: c.now})
			res := f.Run(context.Background(), Hook{BridgeID: "okta", Bridge: tc.bridge, Arrived: c.now()}, &bridge.Request{})
			if res.Outcome != tc.wantOutcome || res.Reason != tc.wantReason {
				t.Errorf("result %s %q, want %s %q", res.Outcome, res.Reason, tc.wantOutcome, tc.wantReason)
			}
			if got := tc.bridge.responded(); !reflect.DeepEqual(got, tc.wantAsked) {
				t.Errorf("outcomes asked of Respond: %+v, want %+v", got, tc.wantAsked)
			}
			if tc.wantBody != "" && string(res.Response.Body) != tc.wantBody {
				t.Errorf("answer %q, want %q", res.Response.Body, tc.wantBody)
			}
			if want := []observed{{"okta", tc.wantOutcome, tc.wantReason, 0}}; !reflect.DeepEqual(want, obs.got) {
				t.Errorf("observed %+v, want %+v", obs.got, want)
			}
		})
	}
}

// Every error of Start has its reason, and a vendor hears the reason, never the
// error's text.
func TestStartFailures(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]bridge.Reason{
		challenge.ErrInvalidPhone:                                      bridge.ReasonInvalidPhone,
		challenge.ErrInvalidOTP:                                        bridge.ReasonInvalidOTP,
		challenge.ErrUnsupportedChannel:                                bridge.ReasonUnsupportedChannel,
		challenge.ErrOTPExpired:                                        bridge.ReasonOTPExpired,
		errors.Join(challenge.ErrSMS, errors.New("21211")):             bridge.ReasonSMSFailed,
		fmt.Errorf("%w (refused_range_cap)", challenge.ErrRateLimited): bridge.ReasonRateLimited,
		challenge.ErrCountryNotAllowed:                                 bridge.ReasonCountryNotAllowed,
		challenge.ErrDestinationRefused:                                bridge.ReasonDestinationRefused,
		errors.Join(challenge.ErrBiometricsDown, errors.New("dial")):   bridge.ReasonBiometricsOff,
		fmt.Errorf("get user: %w", context.DeadlineExceeded):           bridge.ReasonDeadline,
		context.Canceled:                                               bridge.ReasonDeadline,
		errors.New("get user: bbolt: database not open"):               bridge.ReasonInternal,
		challenge.ErrNoticeEmpty:                                       bridge.ReasonMissingField,
		challenge.ErrNoticeMayHoldCode:                                 bridge.ReasonMalformed,
		challenge.ErrNoticeTooLong:                                     bridge.ReasonMalformed,
	} {
		b := &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)}
		res := New(&starter{err: err}, Options{}).Run(context.Background(), Hook{Bridge: b, Arrived: time.Now()}, &bridge.Request{})
		if res.Outcome != "failed" || res.Reason != want.String() {
			t.Errorf("%v: %s %s, want failed %s", err, res.Outcome, res.Reason, want)
		}
		if got := b.responded(); len(got) != 1 || got[0].Reason != want {
			t.Errorf("%v: asked %+v", err, got)
		}
	}
}

// The OTP event reaches the challenge whole: the expiry bounds the link, the
// vendor's transaction id goes to the audit trail.
func TestEventReachesTheChallenge(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 9, 21, 12, 5, 0, 0, time.UTC)
	ev := &bridge.OTPEvent{Phone: "+4915123456789", OTP: "0815", Message: "Ihr Code 0815", Channel: bridge.ChannelVoice,
		Locale: "DE-DE", ExpiresAt: exp, TransactionID: "7bLq2RrVQ1m0ZyTnP3xW4A"}
	st := &starter{}
	b := &fakeBridge{parse: parsesTo(&bridge.ParseResult{OTP: ev}, nil)}
	New(st, Options{}).Run(context.Background(), Hook{BridgeID: "okta", Bridge: b, Arrived: time.Now()}, &bridge.Request{})
	got := st.events[0]
	got.Budget = challenge.Budget{}
	want := challenge.Event{Bridge: "okta", Phone: ev.Phone, OTP: ev.OTP, Message: ev.Message, Voice: true, Locale: "DE-DE",
		ExpiresAt: exp, VendorTransaction: "7bLq2RrVQ1m0ZyTnP3xW4A"}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("challenge event %+v\nwant %+v", got, want)
	}
}

// A notice reaches Notify whole, with the hook's PENDING deadline.
func TestNoticeReachesNotify(t *testing.T) {
	t.Parallel()
	c := newClock()
	st := &starter{}
	b := &fakeBridge{parse: parsesTo(&bridge.ParseResult{Notice: notice}, nil)}
	f := New(st, Options{Budget: 2 * time.Second, Now: c.now})
	f.Run(context.Background(), Hook{BridgeID: "auth0", Bridge: b, Arrived: c.now()}, &bridge.Request{})
	if len(st.notices) != 1 || len(st.events) != 0 {
		t.Fatalf("notices %+v, events %+v", st.notices, st.events)
	}
	work := c.now().Add(2*time.Second - RespondReserve)
	want := challenge.Notice{Bridge: "auth0", Phone: notice.Phone, Message: notice.Message, Sender: "+15550100",
		Kind: "blocked_account", VendorTransaction: "corr-9", Budget: challenge.Budget{AnswerBy: work.Add(-PendingMargin)}}
	if !reflect.DeepEqual(want, st.notices[0]) {
		t.Errorf("notice %+v\nwant %+v", st.notices[0], want)
	}
	if !st.deadline.Equal(work) {
		t.Errorf("Notify deadline %v, want %v", st.deadline, work)
	}
}

// The host's own refusals, before the bridge sees the call, are answered by
// the bridge in the vendor's format.
func TestRefusals(t *testing.T) {
	t.Parallel()
	for why, want := range map[Refusal]bridge.Outcome{
		TooManyFromClient: {Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOverloaded},
		BodyTooLarge:      {Kind: bridge.OutcomeRejected, Reason: bridge.ReasonBodyTooLarge},
		BodyTooSlow:       {Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout},
		BodyUnreadable:    {Kind: bridge.OutcomeRejected, Reason: bridge.ReasonMalformed},
	} {
		b := &fakeBridge{}
		c := newClock()
		res := New(&starter{}, Options{Now: c.now}).Refuse(context.Background(), Hook{Bridge: b, Arrived: c.now()}, why)
		if got := b.responded(); len(got) != 1 || got[0] != want {
			t.Errorf("refusal %d: asked %+v, want %+v", why, got, want)
		}
		if res.Outcome != want.Kind.String() || res.Reason != want.Reason.String() {
			t.Errorf("refusal %d: result %+v", why, res)
		}
	}
}

// The answers the bridge rendered at launch go out without a call to it: the
// host's refusals (a flood of slow or large bodies, an overload) cost the
// plugin nothing. An outcome it did not render is still rendered by Respond.
func TestRefusalsRenderedAtLaunch(t *testing.T) {
	t.Parallel()
	overloaded := bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOverloaded}
	slow := bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout}
	b := &fakeBridge{rendered: map[bridge.Outcome]*bridge.Response{
		overloaded: {Status: 200, Body: []byte("rendered overloaded")},
		slow:       {Status: 408, Body: []byte("rendered slow")},
	}, parse: parsesTo(&bridge.ParseResult{OTP: event}, nil)}
	f := New(&starter{err: challenge.ErrSMS}, Options{})
	if res := f.Refuse(context.Background(), Hook{Bridge: b, Arrived: time.Now()}, TooManyFromClient); string(res.Response.Body) != "rendered overloaded" || res.Reason != "overloaded" {
		t.Fatalf("too many from the client: %+v", res)
	}
	if res := f.Refuse(context.Background(), Hook{Bridge: b, Arrived: time.Now()}, BodyTooSlow); string(res.Response.Body) != "rendered slow" || res.Outcome != "rejected" {
		t.Fatalf("body too slow: %+v", res)
	}
	if got := b.responded(); len(got) != 0 {
		t.Fatalf("Respond called for %+v", got)
	}
	// Not rendered at launch: Respond.
	if res := f.Refuse(context.Background(), Hook{Bridge: b, Arrived: time.Now()}, BodyTooLarge); string(res.Response.Body) != "rejected body_too_large" {
		t.Fatalf("body too large: %+v", res)
	}
	if res := f.Run(context.Background(), Hook{Bridge: b, Arrived: time.Now()}, &bridge.Request{}); string(res.Response.Body) != "failed sms_failed" {
		t.Fatalf("a failed send: %+v", res)
	}
	if got := b.responded(); len(got) != 2 {
		t.Fatalf("Respond called for %+v, want the two outcomes not rendered at launch", got)
	}
}

// Beyond the in-flight limit a hook waits at most budget/AdmissionShare for a
// slot, then is refused in the vendor's format; it never queues past its
// deadline. The wait is the flow's clock: no wall-clock margin.
func TestAdmission(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	blocking := &fakeBridge{parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
		entered <- struct{}{}
		<-release
		return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
	}}
	waits := make(chan time.Duration, 2)
	fire := make(chan time.Time)
	f := New(&starter{}, Options{Budget: 2 * time.Second, Admission: admission.Options{Max: 1}, After: func(d time.Duration) <-chan time.Time {
		waits <- d
		return fire
	}})
	first := make(chan Result)
	go func() {
		first <- f.Run(context.Background(), Hook{Bridge: blocking, Arrived: time.Now()}, &bridge.Request{})
	}()
	<-entered

	// The second hook waits for a slot, for budget/AdmissionShare, then is refused.
	second := &fakeBridge{parse: parsesTo(&bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil)}
	refused := make(chan Result)
	go func() {
		refused <- f.Run(context.Background(), Hook{Bridge: second, Arrived: time.Now()}, &bridge.Request{})
	}()
	if d := <-waits; d != 2*time.Second/AdmissionShare {
		t.Fatalf("admission wait %v, want %v", d, 2*time.Second/AdmissionShare)
	}
	fire <- time.Now()
	if res := <-refused; res.Outcome != "failed" || res.Reason != "overloaded" {
		t.Fatalf("second hook: %+v, want failed overloaded", res)
	}
	if len(second.responded()) != 1 || second.parseDeadline != (time.Time{}) {
		t.Fatal("the refused hook reached its bridge's Parse")
	}

	// A third hook that gets the slot while it waits goes through.
	third := &fakeBridge{parse: parsesTo(&bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil)}
	admitted := make(chan Result)
	go func() {
		admitted <- f.Run(context.Background(), Hook{Bridge: third, Arrived: time.Now()}, &bridge.Request{})
	}()
	<-waits
	close(release)
	if res := <-first; res.Outcome != "test_ok" {
		t.Fatalf("first hook: %+v", res)
	}
	if res := <-admitted; res.Outcome != "test_ok" {
		t.Fatalf("third hook, admitted while it waited: %+v", res)
	}
}

// The admission limit follows the latency of the admitted hooks, as the flow's
// clock measures it: once hooks take ten times longer than before, the limit
// is cut, and a hook that was admitted before is refused.
func TestAdmissionFollowsLatency(t *testing.T) {
	t.Parallel()
	c := newClock()
	waits := make(chan struct{})
	fire := make(chan time.Time)
	f := New(&starter{}, Options{Now: c.now, After: func(time.Duration) <-chan time.Time { waits <- struct{}{}; return fire },
		Admission: admission.Options{Min: 1, Max: 8, Window: 1, Probe: 1000}})
	// round runs n hooks at once that each hold their slot for took of the
	// flow's clock, plus one more that must wait for a slot if extra; it
	// returns how many were refused.
	round := func(n int, took time.Duration, extra bool) (refused int) {
		entered, release := make(chan struct{}), make(chan struct{})
		hold := &fakeBridge{parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
			entered <- struct{}{}
			<-release
			return &bridge.ParseResult{OTP: event}, nil
		}}
		results := make(chan Result, n+1)
		for range n {
			go func() {
				results <- f.Run(context.Background(), Hook{Bridge: hold, Arrived: c.now()}, &bridge.Request{})
			}()
		}
		for range n {
			<-entered
		}
		if extra {
			go func() {
				results <- f.Run(context.Background(), Hook{Bridge: hold, Arrived: c.now()}, &bridge.Request{})
			}()
			<-waits
			fire <- time.Now()
			if res := <-results; res.Reason == "overloaded" {
				refused++
			}
		}
		c.advance(took)
		close(release)
		for range n {
			if res := <-results; res.Reason == "overloaded" {
				refused++
			}
		}
		return refused
	}

	round(4, 10*time.Millisecond, false)
	if got := round(8, 10*time.Millisecond, false); got != 0 || f.AdmissionLimit() != 8 {
		t.Fatalf("%d of 8 hooks refused at the start, limit %d; want none refused, limit 8", got, f.AdmissionLimit())
	}
	round(4, 100*time.Millisecond, false)
	limit := f.AdmissionLimit()
	if limit >= 8 {
		t.Fatalf("limit %d after hooks got ten times slower, want below 8", limit)
	}
	if got := round(limit, 10*time.Millisecond, true); got != 1 {
		t.Fatalf("%d hooks refused with %d of %d slots taken and one more, want 1", got, limit, limit)
	}
}

// A plugin with answers_ahead is given, with Parse, the transaction id of the
// challenge the flow chose ahead; when the outcome is exactly one it rendered
// for (delivered or pending, that id, no reason) the hook takes no Respond
// call. Anything else (a repeat of an earlier delivery, a failure, the
// fallback, a plugin without the feature) is still rendered by Respond.
func TestAnswersAhead(t *testing.T) {
	t.Parallel()
	ahead := []bridge.AnswerAhead{
		{Kind: bridge.OutcomeDelivered, Response: &bridge.Response{Status: 200, Body: []byte("ahead delivered")}},
		{Kind: bridge.OutcomePending, Response: &bridge.Response{Status: 200, Body: []byte("ahead pending")}},
	}
	tests := map[string]struct {
		features []string
		st       *starter
		want     string // the answer's body
		respond  bool   // Respond was called
	}{
		"delivered":        {features: []string{bridge.FeatureAnswersAhead}, st: &starter{asChosen: true}, want: "ahead delivered"},
		"pending":          {features: []string{bridge.FeatureAnswersAhead}, st: &starter{asChosen: true, started: challenge.Started{Pending: true}}, want: "ahead pending"},
		"a repeat":         {features: []string{bridge.FeatureAnswersAhead}, st: &starter{started: challenge.Started{TransactionID: "sp_earlier"}}, want: "delivered unspecified", respond: true},
		"a failure":        {features: []string{bridge.FeatureAnswersAhead}, st: &starter{asChosen: true, err: challenge.ErrSMS}, want: "failed sms_failed", respond: true},
		"the fallback":     {features: []string{bridge.FeatureAnswersAhead}, st: &starter{asChosen: true, started: challenge.Started{Fallback: true}}, want: "fallback_delivered unspecified", respond: true},
		"no such features": {st: &starter{asChosen: true}, want: "delivered unspecified", respond: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var offered string
			b := &fakeBridge{features: tc.features, parse: func(_ context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
				offered = r.AnswerTransactionID
				if offered == "" {
					return &bridge.ParseResult{OTP: event}, nil
				}
				return &bridge.ParseResult{OTP: event, Answers: ahead}, nil
			}}
			f := New(tc.st, Options{})
			res := f.Run(context.Background(), Hook{BridgeID: "okta", Bridge: b, Arrived: time.Now()}, &bridge.Request{})
			if got := string(res.Response.Body); got != tc.want {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
			if got := len(b.responded()) > 0; got != tc.respond {
				t.Fatalf("Respond called: %v, want %v", got, tc.respond)
			}
			cid := tc.st.events[0].ChallengeID
			if hasAhead := len(tc.features) > 0; hasAhead != (offered != "") || hasAhead != challenge.ValidID(cid) {
				t.Fatalf("offered transaction id %q, challenge id %q; want both only for a plugin with the feature", offered, cid)
			}
			if offered != "" && offered != challenge.TransactionID(cid) {
				t.Fatalf("offered %q, but the chosen challenge's transaction id is %q", offered, challenge.TransactionID(cid))
			}
		})
	}
}
