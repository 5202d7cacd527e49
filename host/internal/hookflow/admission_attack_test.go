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
