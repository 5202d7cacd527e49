package sms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSender answers with its next scripted outcome (the last one repeats) and
// records what it was asked, with the deadline it was given.
type fakeSender struct {
	name string
	mu   sync.Mutex
	// outcomes: nil accepts; errBlock waits for the context; any other error is
	// returned as is.
	outcomes  []error
	calls     []Message
	deadlines []time.Time
}

var errBlock = errors.New("block until the context ends")

func (f *fakeSender) Send(ctx context.Context, m Message) (Receipt, error) {
	f.mu.Lock()
	f.calls = append(f.calls, m)
	d, _ := ctx.Deadline()
	f.deadlines = append(f.deadlines, d)
	var out error
	if len(f.outcomes) > 0 {
		out = f.outcomes[0]
		if len(f.outcomes) > 1 {
			f.outcomes = f.outcomes[1:]
		}
	}
	n := len(f.calls)
	f.mu.Unlock()
	switch {
	case out == errBlock:
		<-ctx.Done()
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case out != nil:
		return Receipt{}, out
	}
	return Receipt{ID: fmt.Sprintf("%s-%d", f.name, n)}, nil
}

func (f *fakeSender) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// events records what the router reports, one line per call.
type events struct {
	mu    sync.Mutex
	lines []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
}

func (e *events) Sent(p, c, res string, _ time.Duration) { e.add("sent %s %s %s", p, c, res) }
func (e *events) Failover(from, to, c string)            { e.add("failover %s>%s %s", from, to, c) }
func (e *events) Circuit(p string, open bool)            { e.add("circuit %s open=%v", p, open) }
func (e *events) Delivered(p, c string, s DeliveryState, _ time.Duration) {
	e.add("delivered %s %s %s", p, c, s)
}
func (e *events) Resent(p, c string)         { e.add("resent %s %s", p, c) }
func (e *events) ReceiptRefused(p, r string) { e.add("refused %s %s", p, r) }

func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.lines
	e.lines = nil
	return out
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	usNumber = "+12015550123"
	gbNumber = "+447700900123"
)

// newTestRouter builds a router; an events observer then holds only what
// follows the start (TestRouterReportsEveryCircuitAtStart checks the start).
func newTestRouter(t *testing.T, cfg RouterConfig) *Router {
	t.Helper()
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := cfg.Observer.(*events); ok {
		ev.take()
	}
	return r
}

// Every provider's circuit is reported closed at start, so the metric exists
// for each before anything fails (an alert over all circuits needs them all).
func TestRouterReportsEveryCircuitAtStart(t *testing.T) {
	t.Parallel()
	ev := &events{}
	_, err := NewRouter(RouterConfig{Providers: map[string]Sender{"b": &fakeSender{name: "b"}, "a": &fakeSender{name: "a"}},
		Default: Route{Providers: []string{"a", "b"}}, Observer: ev})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.take(), []string{"circuit a open=false", "circuit b open=false"}; !slices.Equal(got, want) {
		t.Fatalf("observer heard %q at start, want %q", got, want)
	}
}

func TestRouterFailover(t *testing.T) {
	t.Parallel()
	unavailable := fmt.Errorf("%w: HTTP 503", ErrUnavailable)
	tests := map[string]struct {
		first     error
		wantFirst string // what the observer hears of the first provider
		wantErr   error  // nil: the second provider delivers
	}{
		"unavailable goes to the next":   {first: unavailable, wantFirst: "error"},
		"unknown error goes to the next": {first: errors.New("boom"), wantFirst: "error"},
		"a refused number stops":         {first: ErrInvalidNumber, wantFirst: "rejected", wantErr: ErrRejected},
		"an unsubscribed recipient stops": {first: newTwilioError(21610, 400), wantFirst: "rejected",
			wantErr: ErrRejected},
		"a sender not allowed goes to the next":  {first: newTwilioError(21606, 400), wantFirst: "rejected"},
		"a country not enabled goes to the next": {first: newTwilioError(21408, 400), wantFirst: "rejected"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := &fakeSender{name: "a", outcomes: []error{tc.first}}
			b := &fakeSender{name: "b"}
			ev := &events{}
			r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
				Default: Route{Providers: []string{"a", "b"}}, Observer: ev})
			rec, err := r.Send(context.Background(), Message{To: usNumber, Body: "hi"})
			got := ev.take()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || b.count() != 0 {
					t.Fatalf("err %v, second provider called %d times; want %v and no call", err, b.count(), tc.wantErr)
				}
				if want := []string{"sent a US " + tc.wantFirst}; !slices.Equal(got, want) {
					t.Fatalf("observer heard %q, want %q", got, want)
				}
				return
			}
			if err != nil || rec != (Receipt{ID: "b-1", Provider: "b", Country: "US"}) {
				t.Fatalf("receipt %+v, err %v; want b's", rec, err)
			}
			want := []string{"sent a US " + tc.wantFirst, "failover a>b US", "sent b US sent"}
			if !slices.Equal(got, want) {
				t.Fatalf("observer heard %q, want %q", got, want)
			}
		})
	}
}

func TestRouterAllFail(t *testing.T) {
	t.Parallel()
	a := &fakeSender{name: "a", outcomes: []error{ErrUnavailable}}
	b := &fakeSender{name: "b", outcomes: []error{ErrUnavailable}}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
		Default: Route{Providers: []string{"a", "b"}}})
	_, err := r.Send(context.Background(), Message{To: usNumber, Body: "hi"})
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRejected) || a.count() != 1 || b.count() != 1 {
		t.Fatalf("err %v after %d+%d calls; want ErrUnavailable after one call each", err, a.count(), b.count())
	}
}

// TestRouterShares checks the deadline each provider gets: a share of what is
// left, the last one all of it, and the shares before the last end by the
// caller's answer time when it has one.
func TestRouterShares(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		deadline time.Duration // the caller's context
		answerBy time.Duration // 0: none
		want     []time.Duration
	}{
		"two providers halve the time":            {deadline: 200 * time.Millisecond, want: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		"three providers: a third, then the rest": {deadline: 300 * time.Millisecond, want: []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond}},
		"the answer time bounds all but the last": {deadline: 10 * time.Second, answerBy: 120 * time.Millisecond,
			want: []time.Duration{40 * time.Millisecond, 60 * time.Millisecond, 10 * time.Second}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A fixed clock: every share is computed from start, and the
			// providers fail at once, so only the deadlines they were given
			// matter.
			start := time.Now()
			now := func() time.Time { return start }
			fakes := map[string]Sender{}
			var order []string
			var all []*fakeSender
			for i := range tc.want {
				f := &fakeSender{name: fmt.Sprint(i), outcomes: []error{ErrUnavailable}}
				if i == len(tc.want)-1 {
					f.outcomes = nil // the last one accepts
				}
				fakes[f.name] = f
				order = append(order, f.name)
				all = append(all, f)
			}
			r := newTestRouter(t, RouterConfig{Providers: fakes, Default: Route{Providers: order}, Now: now})
			ctx, cancel := context.WithDeadline(context.Background(), start.Add(tc.deadline))
			defer cancel()
			if tc.answerBy > 0 {
				ctx = WithAnswerBy(ctx, start.Add(tc.answerBy))
			}
			rec, err := r.Send(ctx, Message{To: usNumber, Body: "hi"})
			if err != nil || rec.Provider != order[len(order)-1] {
				t.Fatalf("receipt %+v, err %v; want the last provider's", rec, err)
			}
			for i, f := range all {
				if got := f.deadlines[0].Sub(start); got != tc.want[i] {
					t.Errorf("provider %d had until start+%v, want start+%v", i, got, tc.want[i])
				}
			}
		})
	}
}

// TestRouterTimeoutFailsOver: a provider that hangs is cut off at its share,
// and the next one still sends within the caller's deadline.
func TestRouterTimeoutFailsOver(t *testing.T) {
	t.Parallel()
	a := &fakeSender{name: "a", outcomes: []error{errBlock}}
	b := &fakeSender{name: "b"}
	ev := &events{}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
		Default: Route{Providers: []string{"a", "b"}}, Observer: ev})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rec, err := r.Send(ctx, Message{To: usNumber, Body: "hi"})
	if err != nil || rec.Provider != "b" {
		t.Fatalf("receipt %+v, err %v; want b's", rec, err)
	}
	if ctx.Err() != nil {
		t.Fatal("the send used up the caller's deadline")
	}
	parent, _ := ctx.Deadline()
	if !a.deadlines[0].Before(parent) || !b.deadlines[0].Equal(parent) {
		t.Fatalf("a had until %v, b until %v; want a cut before the caller's %v and b given all of it",
			a.deadlines[0], b.deadlines[0], parent)
	}
	if got := ev.take(); !slices.Contains(got, "sent a US timeout") {
		t.Fatalf("observer heard %q, want a timeout of a", got)
	}
}

func TestRouterCallerGivesUp(t *testing.T) {
	t.Parallel()
	a := &fakeSender{name: "a", outcomes: []error{errBlock}}
	b := &fakeSender{name: "b"}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
		Default: Route{Providers: []string{"a"}}, Routes: map[string]Route{}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Send(ctx, Message{To: usNumber, Body: "hi"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the caller's deadline", err)
	}
	if b.count() != 0 {
		t.Fatal("a provider off the route was used")
	}
}

func TestRouterBreaker(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	a := &fakeSender{name: "a", outcomes: []error{ErrUnavailable}}
	b := &fakeSender{name: "b"}
	ev := &events{}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
		Default: Route{Providers: []string{"a", "b"}}, Observer: ev, Now: clk.now,
		Breaker: BreakerSettings{Failures: 2, Cooldown: time.Minute}})
	send := func() Receipt {
		t.Helper()
		rec, err := r.Send(context.Background(), Message{To: usNumber, Body: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}

	send()
	if got := ev.take(); slices.Contains(got, "circuit a open=true") {
		t.Fatalf("one failure opened the circuit: %q", got)
	}
	send()
	if got := ev.take(); !slices.Contains(got, "circuit a open=true") {
		t.Fatalf("two failures in a row did not open the circuit: %q", got)
	}
	// Open: a is skipped.
	send()
	if got, want := ev.take(), []string{"sent a US skipped", "sent b US sent"}; !slices.Equal(got, want) || a.count() != 2 {
		t.Fatalf("open circuit: heard %q, a called %d times; want %q and no call", got, a.count(), want)
	}
	// Half-open after the cooldown: one probe; it fails, so open again.
	clk.add(time.Minute)
	send()
	if a.count() != 3 {
		t.Fatalf("no probe after the cooldown (a called %d times)", a.count())
	}
	if got := ev.take(); slices.Contains(got, "circuit a open=true") || slices.Contains(got, "circuit a open=false") {
		t.Fatalf("a failed probe changed the reported state: %q", got)
	}
	send()
	if a.count() != 3 {
		t.Fatal("a failed probe did not open the circuit for another cooldown")
	}
	// The next probe succeeds: closed.
	clk.add(time.Minute)
	a.mu.Lock()
	a.outcomes = nil
	a.mu.Unlock()
	if rec := send(); rec.Provider != "a" {
		t.Fatalf("probe: sent by %q, want a", rec.Provider)
	}
	if got := ev.take(); !slices.Contains(got, "circuit a open=false") {
		t.Fatalf("a successful probe did not close the circuit: %q", got)
	}
	send()
	if a.count() != 5 {
		t.Fatalf("closed circuit: a called %d times, want 5", a.count())
	}
}

func TestBreakerOneProbeAtATime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	b := &breaker{failures: 1, cooldown: time.Second}
	b.result(now, false, false)
	if _, ok := b.allow(now); ok {
		t.Fatal("open breaker let a message through")
	}
	later := now.Add(time.Second)
	probe, ok := b.allow(later)
	if !ok || !probe {
		t.Fatal("no probe after the cooldown")
	}
	if _, ok := b.allow(later); ok {
		t.Fatal("a second message went through while the probe is in flight")
	}
	b.release(probe) // the probe said nothing (a refused number)
	if probe, ok := b.allow(later); !ok || !probe {
		t.Fatal("a released probe did not let the next message probe")
	}
}

func TestRouterEveryCircuitOpenStillTries(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	a := &fakeSender{name: "a", outcomes: []error{ErrUnavailable}}
	b := &fakeSender{name: "b", outcomes: []error{ErrUnavailable, nil}}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
		Default: Route{Providers: []string{"a", "b"}}, Now: clk.now, Breaker: BreakerSettings{Failures: 1, Cooldown: time.Hour}})
	_, _ = r.Send(context.Background(), Message{To: usNumber, Body: "hi"}) // opens both
	rec, err := r.Send(context.Background(), Message{To: usNumber, Body: "hi"})
	if err != nil || rec.Provider != "b" || a.count() != 1 {
		t.Fatalf("receipt %+v, err %v, a called %d times; want the last provider tried anyway", rec, err, a.count())
	}
}

func TestRouterCountryRoutesAndSender(t *testing.T) {
	t.Parallel()
	a := &fakeSender{name: "a"}
	b := &fakeSender{name: "b"}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b},
		Default: Route{Providers: []string{"a", "b"}},
		Routes:  map[string]Route{"GB": {Providers: []string{"b", "a"}, From: "SMSPlus"}}})
	tests := map[string]struct {
		msg          Message
		wantProvider string
		wantFrom     string
	}{
		"GB takes its route and sender":  {Message{To: gbNumber, Body: "x"}, "b", "SMSPlus"},
		"US takes the default":           {Message{To: usNumber, Body: "x"}, "a", ""},
		"a message's own sender wins":    {Message{To: gbNumber, Body: "x", From: "+447700900999"}, "b", "+447700900999"},
		"an unplaceable number: default": {Message{To: "+999123", Body: "x"}, "a", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec, err := r.Send(context.Background(), tc.msg)
			if err != nil || rec.Provider != tc.wantProvider {
				t.Fatalf("receipt %+v, err %v; want %s", rec, err, tc.wantProvider)
			}
			f := a
			if tc.wantProvider == "b" {
				f = b
			}
			f.mu.Lock()
			got := f.calls[len(f.calls)-1].From
			f.mu.Unlock()
			if got != tc.wantFrom {
				t.Fatalf("From %q, want %q", got, tc.wantFrom)
			}
		})
	}
}

func TestRouterSendAfter(t *testing.T) {
	t.Parallel()
	a, b, c := &fakeSender{name: "a"}, &fakeSender{name: "b", outcomes: []error{ErrUnavailable}}, &fakeSender{name: "c"}
	r := newTestRouter(t, RouterConfig{Providers: map[string]Sender{"a": a, "b": b, "c": c},
		Default: Route{Providers: []string{"a", "b", "c"}}, Routes: map[string]Route{"GB": {Providers: []string{"a"}}}})
	rec, err := r.SendAfter(context.Background(), Message{To: usNumber, Body: "x"}, "c")
	if err != nil || rec.Provider != "a" || b.count() != 0 {
		t.Fatalf("after c: receipt %+v, err %v; want a (the route wraps around), b untried", rec, err)
	}
	rec, err = r.SendAfter(context.Background(), Message{To: usNumber, Body: "x"}, "a")
	if err != nil || rec.Provider != "c" || b.count() != 1 {
		t.Fatalf("after a: receipt %+v, err %v; want b tried then c", rec, err)
	}
	if _, err := r.SendAfter(context.Background(), Message{To: gbNumber, Body: "x"}, "a"); !errors.Is(err, ErrNoProvider) {
		t.Fatalf("a route of one: err %v, want ErrNoProvider", err)
	}
}

func TestNewRouterProblems(t *testing.T) {
	t.Parallel()
	_, err := NewRouter(RouterConfig{Providers: map[string]Sender{"a": &fakeSender{}},
		Default: Route{},
		Routes:  map[string]Route{"GB": {Providers: []string{"a", "nope", "a"}}}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"route default: names no provider", `route GB: unknown provider "nope"`, `route GB: provider "a" is named twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nlacks %q", err, want)
		}
	}
}

func TestCountry(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{usNumber: "US", gbNumber: "GB", "+33612345678": "FR", "+15555550100": "US",
		"nonsense": "ZZ", "+80012345678": "ZZ"} {
		if got := Country(in); got != want {
			t.Errorf("Country(%s) = %s, want %s", in, got, want)
		}
	}
}
