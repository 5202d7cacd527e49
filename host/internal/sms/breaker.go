package sms

import (
	"sync"
	"time"
)

// breaker is one provider's circuit breaker. Closed, it lets every message
// through and counts transient failures in a row; at `failures` it opens and
// the router skips the provider for `cooldown`. Then it is half-open: one
// message goes through as a probe while the others still skip it. A probe
// that succeeds closes it; one that fails opens it for another cooldown.
//
// It is per process: replicas each learn on their own, which costs each at most
// `failures` slow attempts per cooldown.
type breaker struct {
	failures int
	cooldown time.Duration

	mu        sync.Mutex
	run       int       // transient failures in a row
	openUntil time.Time // while run >= failures
	probing   bool      // a half-open probe is in flight
}

func (b *breaker) tripped() bool { return b.run >= b.failures }

// allow says whether a message may go to the provider now, and whether it is
// the half-open probe (which the caller must settle with result or release).
func (b *breaker) allow(now time.Time) (probe, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.tripped():
		return false, true
	case now.Before(b.openUntil), b.probing:
		return false, false
	}
	b.probing = true
	return true, true
}

// open says whether allow would refuse now, without taking the probe.
func (b *breaker) open(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tripped() && (now.Before(b.openUntil) || b.probing)
}

// result records a send's outcome: ok, or a transient failure. It reports
// whether the circuit opened (from closed) or closed (from open) by it.
func (b *breaker) result(now time.Time, ok, probe bool) (opened, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	wasOpen := b.tripped()
	if ok {
		b.run = 0
		return false, wasOpen
	}
	b.run++
	if b.tripped() && (probe || !wasOpen || !now.Before(b.openUntil)) {
		b.openUntil = now.Add(b.cooldown)
	}
	return !wasOpen && b.tripped(), false
}

// release ends a probe whose outcome says nothing of the provider's health (a
// refused number, a caller that gave up): the next message probes again.
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}
