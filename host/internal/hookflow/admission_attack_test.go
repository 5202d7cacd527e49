package hookflow

import (
	"context"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/admission"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// Calls that the bridge rejects (no vendor secret, a malformed body) or that
// are test pings never reach the store or the SMS provider, so their latency
// says nothing about the queue the limit guards. Anyone can send them: if they
// taught the limit, a burst of fast ones would set a baseline that real hooks
// (which wait on the SMS provider) can never meet, and slow ones would look
// like queueing; either way the limit would fall to its floor and the vendor's
// real hooks would be refused (and Okta then texts the raw code itself).
func TestUnauthenticatedCallsDoNotTeachTheLimit(t *testing.T) {
	t.Parallel()
	rejected := &bridge.ParseResult{Rejection: &bridge.Rejection{Reason: bridge.ReasonUnauthorized,
		Response: &bridge.Response{Status: 401}}}
	ping := &bridge.ParseResult{TestPing: &bridge.TestPing{}}
	for _, tc := range []struct {
		name       string
		attack     *bridge.ParseResult
		attackTook time.Duration
	}{
		{"fast rejections", rejected, time.Millisecond},
		{"slow rejections", rejected, time.Second},
		{"fast test pings", ping, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			expired := make(chan time.Time)
			close(expired) // a hook that finds no slot is refused at once
			f := New(&starter{}, Options{Now: c.now, After: func(time.Duration) <-chan time.Time { return expired },
				Admission: admission.Options{Min: 1, Max: 8, Window: 1, Probe: 1000}})
			// round runs n calls at once that each hold their slot for took of
			// the flow's clock and parse to res; it returns how many were
			// refused for want of a slot.
			round := func(n int, res *bridge.ParseResult, took time.Duration) (refused int) {
				entered, release := make(chan struct{}), make(chan struct{})
				b := &fakeBridge{parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
					entered <- struct{}{}
					<-release
					return res, nil
				}}
				done := make(chan Result, n)
				for range n {
					go func() { done <- f.Run(context.Background(), Hook{Bridge: b, Arrived: c.now()}, &bridge.Request{}) }()
				}
				admitted := 0
				for range n {
					select {
					case <-entered:
						admitted++
					case <-done:
						refused++
					}
				}
				c.advance(took)
				close(release)
				for range admitted {
					<-done
				}
				return refused
			}
			real := &bridge.ParseResult{OTP: event}
			round(8, real, 100*time.Millisecond)
			if got := f.AdmissionLimit(); got != 8 {
				t.Fatalf("limit %d after real hooks at a steady latency, want 8", got)
			}
			for i := range 3 {
				round(8, tc.attack, tc.attackTook)
				if refused := round(8, real, 100*time.Millisecond); refused > 0 {
					t.Fatalf("round %d: %d of 8 real hooks refused after %s, limit %d; want none refused", i, refused, tc.name, f.AdmissionLimit())
				}
			}
			if got := f.AdmissionLimit(); got != 8 {
				t.Fatalf("limit %d after %s between real hooks of the same latency as before, want 8", got, tc.name)
			}
		})
	}
}

// A burst of calls anyone can send must not make a lightly loaded host look
// saturated either: the limit moves only when the hooks it measures ran with
// the limit nearly reached (at light load a slower window says nothing about
// what a larger limit would do), and rejected calls in flight at once do not
// count toward that.
func TestUnauthenticatedBurstsDoNotMakeTheLoadLookFull(t *testing.T) {
	t.Parallel()
	c := newClock()
	expired := make(chan time.Time)
	close(expired)
	f := New(&starter{}, Options{Now: c.now, After: func(time.Duration) <-chan time.Time { return expired },
		Admission: admission.Options{Min: 1, Max: 8, Window: 1, Probe: 1000}})
	hold := func(res *bridge.ParseResult) (b *fakeBridge, entered, release chan struct{}) {
		entered, release = make(chan struct{}), make(chan struct{})
		return &fakeBridge{parse: func(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
			entered <- struct{}{}
			<-release
			return res, nil
		}}, entered, release
	}
	// run starts n calls on b and returns their results once each was admitted
	// (and is held in Parse) or refused: admitted ones follow when released.
	run := func(b *fakeBridge, n int, entered chan struct{}) (done chan Result, refused int) {
		done = make(chan Result, n)
		for range n {
			go func() { done <- f.Run(context.Background(), Hook{Bridge: b, Arrived: c.now()}, &bridge.Request{}) }()
		}
		for range n {
			select {
			case <-entered:
			case <-done:
				refused++
			}
		}
		return done, refused
	}
	rejected := &bridge.ParseResult{Rejection: &bridge.Rejection{Reason: bridge.ReasonUnauthorized,
		Response: &bridge.Response{Status: 401}}}
	real := &bridge.ParseResult{OTP: event}
	// A window is 8 samples (the limit): 4 rounds of two real hooks set the
	// baseline, 8 more make two windows.
	for i := range 12 {
		// Two real hooks, slower after the first rounds (the SMS provider),
		// while six rejected calls are in flight at the same moment.
		took := 100 * time.Millisecond
		rb, rin, rrel := hold(real)
		realDone, refused := run(rb, 2, rin)
		if refused > 0 {
			t.Fatalf("round %d: %d of 2 real hooks refused, limit %d", i, refused, f.AdmissionLimit())
		}
		if i >= 4 {
			took = 300 * time.Millisecond
			ab, ain, arel := hold(rejected)
			attackDone, refused := run(ab, 6, ain)
			close(arel)
			for range 6 - refused {
				<-attackDone
			}
		}
		c.advance(took)
		close(rrel)
		for range 2 {
			<-realDone
		}
	}
	if got := f.AdmissionLimit(); got != 8 {
		t.Fatalf("limit %d after two real hooks at a time got slower amid bursts of rejected calls, want 8 (the load, not the limit, bounded them)", got)
	}
}
