package admission

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// store simulates a store with cores workers under processor sharing: each
// job needs its work, and with n jobs in flight each progresses at
// min(1, cores/n). Time is virtual and advances in steps, so a run is the same
// on any machine: no wall clock.
type store struct {
	cores int
	work  func(*rand.Rand) time.Duration // one job's work
}

type run struct {
	accepted, refused int
	latencies         []time.Duration // of accepted jobs after the warm-up
	limits            []int           // the limit after the warm-up, at each step
}

func pct(part, whole int) float64 { return 100 * float64(part) / float64(max(1, whole)) }

func (r run) p99() time.Duration {
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// drive offers rate jobs a second (Poisson arrivals) to l in front of s for d
// of virtual time; a job beyond the limit is refused at once. The first quarter is the warm-up.
func (s store) drive(l *Limiter, rate float64, d time.Duration) run {
	const step = 250 * time.Microsecond
	rng := rand.New(rand.NewPCG(1, 2))
	type job struct {
		start time.Duration
		left  time.Duration
	}
	var (
		jobs []*job
		r    run
		next time.Duration // the next arrival
	)
	for now := time.Duration(0); now < d; now += step {
		warm := now > d/4
		// Poisson arrivals: real hooks come in bursts, so even at half capacity
		// some queue, as they would without any limit.
		for ; next <= now; next += time.Duration(rng.ExpFloat64() / rate * float64(time.Second)) {
			if !l.TryAcquire() {
				if warm {
					r.refused++
				}
				continue
			}
			jobs = append(jobs, &job{start: now, left: s.work(rng)})
		}
		speed := min(1, float64(s.cores)/float64(max(1, len(jobs))))
		done := step + 0
		kept := jobs[:0]
		for _, j := range jobs {
			j.left -= time.Duration(float64(done) * speed)
			if j.left > 0 {
				kept = append(kept, j)
				continue
			}
			took := now + step - j.start
			l.Release(took)
			if warm {
				r.accepted++
				r.latencies = append(r.latencies, took)
			}
		}
		jobs = kept
		if warm {
			r.limits = append(r.limits, l.Limit())
		}
	}
	for _, j := range jobs { // the next run starts with no work left over
		l.Release(d - j.start)
	}
	return r
}

// A store with 4 cores and jobs of 5 to 15 ms serves about 400 jobs a second.
var fourCores = store{cores: 4, work: func(r *rand.Rand) time.Duration {
	return 5*time.Millisecond + time.Duration(r.Int64N(int64(10*time.Millisecond)))
}}

// At twice its capacity, a store keeps serving near its capacity, and the
// accepted jobs' p99 stays under 4 times its value at half capacity; the rest
// is refused. The fixed limit of old (256) fails the same test: the queue grows
// inside the store until jobs take seconds.
func TestOverloadKeepsLatency(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		s        store
		capacity float64 // jobs a second
	}{
		"4 cores, 5-15 ms": {fourCores, 400},
		"2 cores, 1-3 ms": {store{cores: 2, work: func(r *rand.Rand) time.Duration {
			return time.Millisecond + time.Duration(r.Int64N(int64(2*time.Millisecond)))
		}}, 1000},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const d, measured = 40 * time.Second, 30.0 // seconds after the warm-up
			half := tc.s.drive(New(Options{}), tc.capacity/2, d)
			// Bursts at half capacity may meet a limit set for the last window,
			// and the simulation refuses at once (the flow waits a moment).
			if share := pct(half.refused, half.refused+half.accepted); share > 0.5 {
				t.Errorf("at half capacity %.2f%% of jobs were refused, want at most 0.5%%", share)
			}
			over := tc.s.drive(New(Options{}), 2*tc.capacity, d)
			served := float64(over.accepted) / measured
			t.Logf("p99 at half capacity %v, at twice %v; limit %d..%d; served %.0f/s, refused %.0f%%",
				half.p99(), over.p99(), slices.Min(over.limits), slices.Max(over.limits),
				served, 100*float64(over.refused)/float64(over.refused+over.accepted))
			if over.p99() >= 4*half.p99() {
				t.Errorf("p99 of accepted jobs at twice capacity %v, want under 4 x %v", over.p99(), half.p99())
			}
			if served < 0.8*tc.capacity {
				t.Errorf("served %.0f jobs/s at twice capacity, want at least 80%% of %v", served, tc.capacity)
			}

			fixed := tc.s.drive(New(Options{Fixed: true}), 2*tc.capacity, d)
			if fixed.p99() < 4*half.p99() {
				t.Errorf("the fixed limit kept p99 at %v: the test does not tell an adaptive limit from none", fixed.p99())
			}
		})
	}
}

// When the work itself gets slower (a slow SMS provider, a slower store) and
// stays so, the baseline follows within one probe period, and the limit grows
// back to serve the same load: it does not stay at its floor.
func TestLatencyShiftRecovers(t *testing.T) {
	t.Parallel()
	l := New(Options{})
	fourCores.drive(l, 200, 20*time.Second)
	slow := store{cores: 1000, work: func(r *rand.Rand) time.Duration { // I/O: no contention
		return 200*time.Millisecond + time.Duration(r.Int64N(int64(20*time.Millisecond)))
	}}
	// 200 jobs/s of 200 ms each is 40 in flight: more than the limit had.
	r := slow.drive(l, 200, 30*time.Second)
	if last := r.limits[len(r.limits)-1]; last < 40 {
		t.Errorf("limit %d after the latency shift, want at least the 40 in flight the load needs", last)
	}
	if r.refused > r.accepted/10 {
		t.Errorf("after the warm-up %d refused, %d accepted: the limit did not follow the new latency", r.refused, r.accepted)
	}
}

// The limit stays within [Min, Max]; a fixed limiter stays at Max.
func TestBounds(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		o        Options
		lo, hi   int
		rate     float64
		scenario store
	}{
		"floor":        {o: Options{Min: 6, Max: 50}, lo: 6, hi: 50, rate: 5000, scenario: fourCores},
		"ceiling":      {o: Options{Min: 2, Max: 8}, lo: 2, hi: 8, rate: 100, scenario: store{cores: 1000, work: fourCores.work}},
		"fixed":        {o: Options{Fixed: true, Max: 30}, lo: 30, hi: 30, rate: 5000, scenario: fourCores},
		"min over max": {o: Options{Min: 40, Max: 10}, lo: 10, hi: 10, rate: 5000, scenario: fourCores},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := tc.scenario.drive(New(tc.o), tc.rate, 10*time.Second)
			if lo, hi := slices.Min(r.limits), slices.Max(r.limits); lo < tc.lo || hi > tc.hi {
				t.Errorf("limit went %d..%d, want within %d..%d", lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

// While the load, not the limit, bounds the work, the limit does not grow
// without end: it is not a promise the store was never asked to keep.
func TestAppLimitedDoesNotGrow(t *testing.T) {
	t.Parallel()
	l := New(Options{})
	r := fourCores.drive(l, 100, 30*time.Second) // about 1 in flight
	if hi := slices.Max(r.limits); hi > initial {
		t.Errorf("limit grew to %d under a light load, want at most its start %d", hi, initial)
	}
}

// A waiter gets a slot freed before its wait expires; waiters are served
// newest first; an expired waiter is refused and leaves no trace.
func TestAcquireWaits(t *testing.T) {
	t.Parallel()
	l := New(Options{Fixed: true, Max: 1})
	if !l.TryAcquire() {
		t.Fatal("first slot refused")
	}
	if l.TryAcquire() {
		t.Fatal("second slot granted over a limit of 1")
	}
	older, newer := make(chan time.Time), make(chan time.Time)
	results := map[string]chan bool{"older": make(chan bool), "newer": make(chan bool)}
	var queued sync.WaitGroup
	wait := func(name string, expire chan time.Time) {
		queued.Add(1)
		go func() { results[name] <- l.acquireNotify(expire, queued.Done) }()
		queued.Wait()
	}
	wait("older", older)
	wait("newer", newer)

	l.Release(time.Millisecond)
	if !<-results["newer"] {
		t.Fatal("the newest waiter did not get the freed slot")
	}
	close(older)
	if <-results["older"] {
		t.Fatal("the expired waiter got a slot that was not free")
	}
	if n := l.InFlight(); n != 1 {
		t.Fatalf("in flight %d, want 1", n)
	}
	l.Release(time.Millisecond)
	if !l.TryAcquire() {
		t.Fatal("the slot freed after the waiters left was not free")
	}
}

// A fresh limiter admits a burst of hooks that all wait on the SMS provider
// (TestOperations sends 25 at once): it has seen no latency to limit on yet.
func TestStartAdmitsABurst(t *testing.T) {
	t.Parallel()
	l := New(Options{})
	for i := range 50 {
		if !l.TryAcquire() {
			t.Fatalf("hook %d of a burst of 50 refused at start (limit %d)", i+1, l.Limit())
		}
	}
}

// An unmeasured release frees its slot for a waiter, and no number of them,
// fast or slow, moves the limit.
func TestReleaseUnmeasured(t *testing.T) {
	l := New(Options{Min: 1, Max: 4, Window: 1, Probe: 1})
	for range 4 {
		if !l.TryAcquire() {
			t.Fatal("a free slot was refused")
		}
	}
	for range 4 {
		l.Release(100 * time.Millisecond) // the baseline
	}
	for range 4 {
		l.TryAcquire()
	}
	granted := make(chan bool)
	go func() { granted <- l.Acquire(nil) }()
	for range 100 {
		l.ReleaseUnmeasured()
		if !<-granted {
			t.Fatal("waiter not granted the freed slot")
		}
		go func() { granted <- l.Acquire(nil) }()
	}
	if got := l.Limit(); got != 4 {
		t.Fatalf("limit %d after unmeasured releases, want 4", got)
	}
	l.ReleaseUnmeasured()
	<-granted
}

// A probe that falls due when the load has dropped (an overload cut the limit,
// then the hooks slowed to a trickle) does not halve the limit: there is no
// queue to drain, the window's mean is the baseline, and halving would only
// refuse the next burst, each refusal a hook the IAM may text the raw code for.
func TestProbeAtLightLoadKeepsTheLimit(t *testing.T) {
	t.Parallel()
	l := New(Options{Min: 1, Max: 8, Window: 4, Probe: 3})
	window := func(inFlight int, took time.Duration) {
		t.Helper()
		for range 8 / inFlight { // a window is max(Window, limit) = 8 samples
			for range inFlight {
				if !l.TryAcquire() {
					t.Fatalf("slot refused at limit %d", l.Limit())
				}
			}
			for range inFlight {
				l.Release(took)
			}
		}
	}
	window(8, 10*time.Millisecond)  // full load: the baseline, 10 ms
	window(4, 100*time.Millisecond) // full enough, ten times slower: a cut
	cut := l.Limit()
	if cut >= 8 {
		t.Fatalf("limit %d after a window ten times slower, want a cut", cut)
	}
	window(1, 10*time.Millisecond) // one at a time: the probe falls due
	if got := l.Limit(); got < cut {
		t.Fatalf("limit %d after a light window, down from %d: the probe halved it with no queue to drain", got, cut)
	}
}
