package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// Attacks: the local engine as it runs in SMS+ (local.Profile: the same pattern
// checks, replay limit, model, thresholds and profile updates), against an
// attacker who holds the victim's link and never saw the victim type.
//
// Every subject is a victim in turn. The victim enrolls with the first Enroll
// repetitions of session 1 (a repetition the engine refuses is typed again), then logs in once per later session (sessions 2-8:
// the first typing of the session), at the Standard operating point, and the
// profile learns from those logins as the engine's does. Before each login,
// each attack is tried once against the profile as it stands (the attempt is not
// recorded), at both operating points; so is the login itself at the Strict
// point, as if it came from a device the victim has not verified on. The
// engine's tables and thresholds for a victim are learned from the subjects of
// the other fold only (see population).
//
// The attacks:
//   - zero-effort: every other subject's first ImpostorReps repetitions (their
//     first typings of the password), each an attempt;
//   - population-median: one pattern, each hold and latency the median over the
//     other subjects of their median;
//   - near-constant: holds of 83 ms and key-to-key intervals of 225 ms, each
//     alternating by 3 ms (the phrase-agnostic pattern of issue 12);
//   - replay-Nms: the victim's last accepted pattern (the last enrollment sample
//     before the first login), every key-down and key-up moved by a uniform
//     random whole number of ms in [-N, N] (key order and holds of at least 1 ms
//     kept), for N = 4, 8, 20.
//
// A pattern the engine refuses as bad (local.Pattern.Check) is refused.

// Attack names, in the order they are printed.
const (
	AttackGenuine      = "genuine"
	AttackZeroEffort   = "zero-effort"
	AttackMedian       = "population-median"
	AttackNearConstant = "near-constant"
)

// ReplayJitters are the replay attacks' jitters in ms.
var ReplayJitters = []int{4, 8, 20}

func replayAttack(j int) string { return fmt.Sprintf("replay-%dms", j) }

// AttackNames lists every attack line's name in print order.
func AttackNames() []string {
	names := []string{AttackGenuine, AttackZeroEffort, AttackMedian, AttackNearConstant}
	for _, j := range ReplayJitters {
		names = append(names, replayAttack(j))
	}
	return names
}

// AttackLine is one attack's acceptance at one operating point and enrollment
// size: Accepted of Tried attempts.
type AttackLine struct {
	Attack          string
	Enroll          int
	Op              local.OperatingPoint
	Accepted, Tried int
}

// Rate is the share of attempts accepted.
func (l AttackLine) Rate() float64 { return float64(l.Accepted) / float64(max(l.Tried, 1)) }

// String is the line `smsplus biometrics eval` prints.
func (l AttackLine) String() string {
	return fmt.Sprintf("attack=%s enroll=%d operating_point=%s accepted=%.4f count=%d/%d",
		l.Attack, l.Enroll, l.Op, l.Rate(), l.Accepted, l.Tried)
}

// AttackEnrollments are the enrollment sizes the attack lines are printed for.
var AttackEnrollments = []int{3, 5}

// Attacks runs the attacks for each enrollment size, on workers goroutines (0 =
// GOMAXPROCS). Lines come by operating point (Standard, then Strict), then
// enrollment size, then AttackNames order.
func Attacks(ctx context.Context, ds *Dataset, enrolls []int, workers int) ([]AttackLine, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	priors := make([]*local.Prior, Folds)
	for f := range Folds {
		p, err := local.LearnPrior(population(ds, f), local.LearnOptions{Samples: local.TableSizes})
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		priors[f] = p
	}
	medians := subjectMedians(ds)
	nS := len(ds.Subjects)
	tallies := make([]tally, len(enrolls)*nS)
	errs := make([]error, len(tallies))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				k, s := enrolls[j/nS], j%nS
				tallies[j], errs[j] = attackVictim(ds, priors[fold(s)], medianPattern(medians, s), s, k)
			}
		})
	}
feed:
	for j := range tallies {
		select {
		case jobs <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var lines []AttackLine
	for _, op := range []local.OperatingPoint{local.Standard, local.Strict} {
		for ki, k := range enrolls {
			total := tally{}
			for s := range nS {
				total.merge(tallies[ki*nS+s])
			}
			for _, name := range AttackNames() {
				c := total[tallyKey{name, op}]
				lines = append(lines, AttackLine{Attack: name, Enroll: k, Op: op, Accepted: c[0], Tried: c[1]})
			}
		}
	}
	return lines, nil
}

type tallyKey struct {
	attack string
	op     local.OperatingPoint
}

// tally counts accepted and tried attempts per attack and operating point.
type tally map[tallyKey][2]int

func (t tally) add(attack string, op local.OperatingPoint, accepted bool) {
	c := t[tallyKey{attack, op}]
	if accepted {
		c[0]++
	}
	c[1]++
	t[tallyKey{attack, op}] = c
}

func (t tally) merge(o tally) {
	for k, v := range o {
		c := t[k]
		t[k] = [2]int{c[0] + v[0], c[1] + v[1]}
	}
}

// attackVictim runs the logins and attacks of subject s enrolled with k samples.
func attackVictim(ds *Dataset, prior *local.Prior, median []int32, s, k int) (tally, error) {
	victim := ds.Subjects[s]
	out := tally{}
	p := local.NewProfile(prior, k)
	var captured []int32
	enrolled := 0
	for _, smp := range victim.Samples {
		if smp.Session != 1 || enrolled == k {
			continue
		}
		// A sample the engine refuses is typed again, as on the page.
		t := Timings(smp.Features)
		if err := p.Enroll(t); err == nil {
			captured = t
			enrolled++
		} else if !errors.Is(err, biometrics.ErrBadPattern) {
			return nil, err
		}
	}
	if enrolled < k {
		return nil, fmt.Errorf("subject %s: session 1 gives %d enrollment samples the engine accepts, want %d", victim.ID, enrolled, k)
	}
	constant := NearConstantPattern(ds.Keys, 83, 225, 3)
	// The same jitters for every victim and run, whatever the workers do.
	rng := rand.New(rand.NewPCG(uint64(s), uint64(k)))
	for sess := 2; sess <= Sessions; sess++ {
		login, ok := firstTyping(victim, sess)
		if !ok {
			continue
		}
		attempts := []struct {
			attack string
			t      []int32
		}{{AttackMedian, median}, {AttackNearConstant, constant}}
		for _, j := range ReplayJitters {
			attempts = append(attempts, struct {
				attack string
				t      []int32
			}{replayAttack(j), Jitter(captured, j, rng)})
		}
		for _, op := range []local.OperatingPoint{local.Standard, local.Strict} {
			for _, a := range attempts {
				out.add(a.attack, op, accepts(p, a.t, op))
			}
			for o, other := range ds.Subjects {
				if o == s {
					continue
				}
				for _, smp := range other.Samples {
					if smp.Session == 1 && smp.Rep <= ImpostorReps {
						out.add(AttackZeroEffort, op, accepts(p, Timings(smp.Features), op))
					}
				}
			}
			out.add(AttackGenuine, op, accepts(p, login, op))
		}
		// The login itself, as the engine records it.
		v, err := p.Verify(login, local.Standard)
		if err != nil && !errors.Is(err, biometrics.ErrBadPattern) {
			return nil, err
		}
		if err == nil && v.Match {
			captured = login
		}
	}
	return out, nil
}

// accepts reports whether the profile would accept timings t at op.
func accepts(p *local.Profile, t []int32, op local.OperatingPoint) bool {
	v, err := p.Try(t, op)
	return err == nil && v.Match
}

// firstTyping returns the timings of the subject's first repetition of session
// sess.
func firstTyping(s Subject, sess int) ([]int32, bool) {
	for _, smp := range s.Samples {
		if smp.Session == sess {
			return Timings(smp.Features), true
		}
	}
	return nil, false
}

// Timings returns what the engine stores of a sample: its n holds, then its n-1
// down-down latencies, rounded to whole ms (the recorder's resolution).
func Timings(x []float64) []int32 {
	n := (len(x) + 2) / 3
	t := make([]int32, 2*n-1)
	for i := range t {
		t[i] = int32(math.Round(x[i]))
	}
	return t
}

// MedianPattern is the population-median attack on subject skip: each timing is
// the median over the other subjects of their median over all their samples.
func MedianPattern(ds *Dataset, skip int) []int32 {
	return medianPattern(subjectMedians(ds), skip)
}

// subjectMedians returns each subject's median of each timing.
func subjectMedians(ds *Dataset) [][]float64 {
	m := 2*ds.Keys - 1
	out := make([][]float64, len(ds.Subjects))
	col := make([]float64, 0, RowsPerSubject)
	for j, s := range ds.Subjects {
		out[j] = make([]float64, m)
		for i := range m {
			col = col[:0]
			for _, smp := range s.Samples {
				col = append(col, smp.Features[i])
			}
			out[j][i] = median(col)
		}
	}
	return out
}

func medianPattern(medians [][]float64, skip int) []int32 {
	t := make([]int32, len(medians[0]))
	col := make([]float64, 0, len(medians))
	for i := range t {
		col = col[:0]
		for j, m := range medians {
			if j != skip {
				col = append(col, m[i])
			}
		}
		t[i] = int32(math.Round(median(col)))
	}
	return t
}

// NearConstantPattern is n keys held hold ms, key-downs dd ms apart, both
// alternating by +-alt ms in opposite phase (so the up-down intervals alternate
// too).
func NearConstantPattern(n, hold, dd, alt int) []int32 {
	t := make([]int32, 2*n-1)
	for i := range n {
		t[i] = int32(hold + alt*(1-2*(i%2)))
	}
	for i := range n - 1 {
		t[n+i] = int32(dd - alt*(1-2*(i%2)))
	}
	return t
}

// Jitter moves every key event of the pattern with timings t, but the first
// key-down, by a uniform whole number of ms in [-j, j], keeping key-downs in
// order and holds of at least 1 ms: a replay script's jitter.
func Jitter(t []int32, j int, rng *rand.Rand) []int32 {
	p := local.PatternOf("", t)
	r := func() int { return rng.IntN(2*j+1) - j }
	for i := range p.Keys {
		k := &p.Keys[i]
		if i > 0 {
			k.Down = max(k.Down+r(), p.Keys[i-1].Down)
		}
		k.Up = max(k.Up+r(), k.Down+1)
	}
	out := make([]int32, len(t))
	n := len(p.Keys)
	for i, k := range p.Keys {
		out[i] = int32(k.Hold())
		if i > 0 {
			out[n+i-1] = int32(k.Down - p.Keys[i-1].Down)
		}
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
