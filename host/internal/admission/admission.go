// Package admission decides how many hooks may be in flight at once, from the
// latency it observes: the limit follows the store's speed instead of a number
// an operator guessed.
//
// The idea is the one of Netflix's concurrency-limits (gradient limits, after
// TCP congestion control): when hooks take much longer than they take without a
// queue, the extra time is queueing, and the limit shrinks; when they do not, it
// grows by a little. Beyond the limit a hook waits a moment for a slot and is
// otherwise refused early, in the vendor's failure format, instead of queueing
// inside the store until its deadline.
//
// This implementation is our own and differs where hooks differ from Netflix's
// RPCs:
//
//   - Samples are grouped in windows of a fixed count, not of time, so the
//     behaviour is the same on a fast and a slow store, and tests drive it by
//     counts instead of a clock.
//   - The baseline (the latency without a queue) is measured, not averaged: in a
//     sustained overload a long moving average (or a windowed minimum) creeps up
//     to the queued latency and lets the queue grow back. Every few windows a
//     probe halves the limit until the hooks admitted before it are done and a
//     round of hooks ran with the smaller queue, and their mean is the new
//     baseline (as BBR probes its minimum RTT); only if the limit was cut
//     since, as a baseline that is wrong either way leads to cuts, and a probe
//     refuses hooks; and only under a load that fills half the limit: under a
//     lighter one there is no queue, and a window's mean is the baseline. So the
//     baseline also follows a latency that changed for good (a slower store, a
//     slow SMS provider) within one probe period.
//   - Waiting hooks are served newest first: in an overload the oldest waiters
//     are the ones refused, and an admitted hook has barely waited.
package admission

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Options configure a Limiter. Zero values take the defaults.
type Options struct {
	// Max is the ceiling of the limit (HOOK_MAX_IN_FLIGHT), and the fixed limit
	// when Fixed. Default 256.
	Max int
	// Min is the floor of the limit (HOOK_MIN_IN_FLIGHT). Default 4.
	Min int
	// Fixed keeps the limit at Max: no adaptation (HOOK_ADMISSION=fixed).
	Fixed bool
	// Window is the number of samples per adjustment. Default 16.
	Window int
	// Probe is the number of windows between probes of the baseline. Default 10.
	Probe int
	// Tolerance is how many times the baseline a window's mean may reach before
	// the limit shrinks. Default 1.5.
	Tolerance float64
}

// Defaults of Options.
const (
	DefaultMax       = 256
	DefaultMin       = 4
	DefaultWindow    = 16
	DefaultProbe     = 10
	DefaultTolerance = 1.5
	// initial is the first limit of an adaptive Limiter (at most Max): enough for
	// a burst of hooks that all wait on a slow SMS provider at start-up (the
	// latency has not been seen yet), small enough that a slow store is found
	// within a few windows.
	initial = 64
	// smoothing is the share of a new limit taken at each window; the rest is
	// the old limit, so that one odd window does not swing it.
	smoothing = 0.3
)

func (o Options) withDefaults() Options {
	if o.Max <= 0 {
		o.Max = DefaultMax
	}
	if o.Min <= 0 {
		o.Min = DefaultMin
	}
	o.Min = min(o.Min, o.Max)
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Probe <= 0 {
		o.Probe = DefaultProbe
	}
	if o.Tolerance < 1 {
		o.Tolerance = DefaultTolerance
	}
	return o
}

// Limiter admits work up to a limit that adapts to the latency of the admitted
// work. It is safe for concurrent use.
type Limiter struct {
	o Options

	mu       sync.Mutex
	limit    float64
	inflight int
	waiters  []chan struct{} // newest last; a slot is handed over by closing

	// The current window.
	n   int
	sum time.Duration
	// peak is the most in flight when a measured slot was released during the
	// window: the load measured work ran with. Taken at a measured release, not
	// at every take, so that a burst of unmeasured calls (ReleaseUnmeasured),
	// which anyone can send, does not make a light load look like a full one.
	peak int
	// baseline is the latency without a queue: the mean of the last probe
	// window, or a lower window mean since (0 before the first window).
	baseline time.Duration
	windows  int  // since the last probe
	cut      bool // whether a window cut the limit since the last probe
	// A probe halves the limit to measure the baseline anew;
	// skip is the samples of hooks admitted before it, which are not counted.
	probing bool
	skip    int
	saved   float64 // the limit before the probe
}

// New returns a Limiter.
func New(o Options) *Limiter {
	o = o.withDefaults()
	l := &Limiter{o: o, limit: float64(o.Max)}
	if !o.Fixed {
		l.limit = float64(max(o.Min, min(initial, o.Max)))
	}
	return l
}

// Limit is the current limit.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// InFlight is the number of admitted, unreleased slots.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

// TryAcquire takes a slot if one is free now.
func (l *Limiter) TryAcquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take()
}

// Acquire takes a slot, waiting for one until expired fires (or is closed).
// Waiters are served newest first.
func (l *Limiter) Acquire(expired <-chan time.Time) bool {
	return l.acquireNotify(expired, nil)
}

// acquireNotify is Acquire; queued, if not nil, is called once the caller waits
// (tests order their waiters with it).
func (l *Limiter) acquireNotify(expired <-chan time.Time, queued func()) bool {
	l.mu.Lock()
	if l.take() {
		l.mu.Unlock()
		return true
	}
	granted := make(chan struct{})
	l.waiters = append(l.waiters, granted)
	l.mu.Unlock()
	if queued != nil {
		queued()
	}

	select {
	case <-granted:
		return true
	case <-expired:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := slices.Index(l.waiters, granted); i >= 0 {
		l.waiters = slices.Delete(l.waiters, i, i+1)
		return false
	}
	return true // granted while expiring: the slot is ours
}

// take takes a free slot; l.mu is held.
func (l *Limiter) take() bool {
	if l.inflight >= int(l.limit) {
		return false
	}
	l.inflight++
	return true
}

// Release frees a slot taken for work that took took, and hands it to the
// newest waiter if the limit allows.
func (l *Limiter) Release(took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peak = max(l.peak, l.inflight)
	l.inflight--
	if !l.o.Fixed {
		l.sample(took)
	}
	l.handOver()
}

// ReleaseUnmeasured frees a slot taken for work whose latency says nothing
// about the queue the limit guards (a call refused before it reached it), and
// hands it to the newest waiter. Its latency is not a sample: such calls can
// come from anyone, and would otherwise move the baseline or the window's mean.
func (l *Limiter) ReleaseUnmeasured() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	// Nor does it count among a probe's skipped samples (skip): anyone could
	// then end the skipping early, and have a probe measure the queue.
	l.handOver()
}

// handOver gives free slots to the newest waiters; l.mu is held.
func (l *Limiter) handOver() {
	for len(l.waiters) > 0 && l.take() {
		last := len(l.waiters) - 1
		close(l.waiters[last])
		l.waiters = l.waiters[:last]
	}
}

// sample adds one latency to the window, and adjusts the limit when the window
// is full; l.mu is held.
func (l *Limiter) sample(took time.Duration) {
	if l.skip > 0 {
		l.skip--
		return
	}
	l.n++
	l.sum += took
	if l.n < l.windowSize() {
		return
	}
	mean := l.sum / time.Duration(l.n)
	peak := l.peak
	l.n, l.sum, l.peak = 0, 0, 0
	switch {
	case l.probing:
		l.probing, l.windows = false, 0
		l.baseline, l.limit = mean, l.saved
		return
	case l.baseline == 0 || mean < l.baseline:
		l.baseline = mean
	}
	limit := next(l.o, l.limit, l.baseline, mean, peak)
	l.cut = l.cut || limit < l.limit
	l.limit = limit
	// Probe only if the limit was cut since the last probe: a baseline that is
	// too low (the latency changed for good) shows as cuts; one that is too high
	// (measured in a queue) lets the queue grow until it does.
	if l.windows++; l.windows >= l.o.Probe && l.cut {
		l.cut = false
		if float64(peak) < l.limit/2 {
			// The load dropped since the cut: this window ran without the
			// queue the limit bounds, so its mean is the baseline. Halving
			// the limit to drain a queue there is none of would only refuse
			// the next burst (each refusal a hook its IAM may text the raw
			// code for itself).
			l.baseline, l.windows = mean, 0
			return
		}
		l.probing, l.saved, l.skip = true, l.limit, l.inflight
		l.limit = max(float64(l.o.Min), l.limit/2)
	}
}

// windowSize is the samples in the current window: Window, or the limit when
// larger so that a window spans at least one latency's worth of hooks; a
// probe's is its limit: one round of hooks that ran with half the queue.
func (l *Limiter) windowSize() int {
	if l.probing {
		return int(l.limit)
	}
	return max(l.o.Window, int(l.limit))
}

// next is the limit after a window whose mean latency was mean, with at most
// peak in flight, given the baseline latency.
func next(o Options, limit float64, baseline, mean time.Duration, peak int) float64 {
	if float64(peak) < limit/2 {
		// The load, not the limit, bounded the work: the window says nothing
		// about what a larger limit would do.
		return limit
	}
	gradient := 1.0
	if mean > 0 {
		// Below 1 when the mean is over Tolerance times the baseline; never
		// below 1/2, so that one slow window at most halves the target.
		gradient = max(0.5, min(1, o.Tolerance*float64(baseline)/float64(mean)))
	}
	// sqrt(limit) is the room left for a queue: a few hooks waiting for the
	// store keep it busy between hooks.
	target := limit*gradient + math.Sqrt(limit)
	limit = limit*(1-smoothing) + target*smoothing
	return max(float64(o.Min), min(float64(o.Max), limit))
}
