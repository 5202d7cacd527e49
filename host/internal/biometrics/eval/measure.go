package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// The measurements behind the engine's replay limit and machine check
// (local.ReplayDistance, local.MinRhythmSpread): how close a genuine typist's
// repetitions come to each other, and how close replays come to what they
// replay.

// Distances is the distribution of replay distances (whole ms) over a set of
// pattern pairs.
type Distances struct {
	Name  string
	Count int
	hist  []int // hist[d]: pairs at distance d, the last bucket open-ended
}

const distanceBuckets = 4096

func newDistances(name string) *Distances {
	return &Distances{Name: name, hist: make([]int, distanceBuckets)}
}

func (d *Distances) add(v int32) {
	d.hist[min(int(v), distanceBuckets-1)]++
	d.Count++
}

// AtMost is the share of pairs at distance at most v.
func (d *Distances) AtMost(v int) float64 {
	n := 0
	for i := 0; i <= min(v, distanceBuckets-1); i++ {
		n += d.hist[i]
	}
	return float64(n) / float64(max(d.Count, 1))
}

// Quantile is the smallest distance at or under which a share q of the pairs
// lie.
func (d *Distances) Quantile(q float64) int {
	need := int(math.Ceil(q * float64(d.Count)))
	n := 0
	for i, c := range d.hist {
		n += c
		if n >= max(need, 1) {
			return i
		}
	}
	return distanceBuckets - 1
}

// String is the line `smsplus biometrics eval --diagnostics` prints.
func (d *Distances) String() string {
	return fmt.Sprintf("replay_distance pairs=%s n=%d min=%d p0.0001=%d p0.001=%d p0.01=%d median=%d max=%d at_most_%dms=%.2e at_most_%dms=%.2e",
		d.Name, d.Count, d.Quantile(0), d.Quantile(1e-4), d.Quantile(1e-3), d.Quantile(1e-2), d.Quantile(0.5), d.Quantile(1),
		local.ReplayFloorMS, d.AtMost(local.ReplayFloorMS), local.ReplayCapMS, d.AtMost(local.ReplayCapMS))
}

// ReplayDistances measures local.ReplayDistance over every pair of one
// subject's repetitions, split into pairs typed in one session and on different
// days, and over the pairs the eval's logins meet (a first typing of a session
// against an enrollment sample, a session 1 repetition 1-5, or the first typing
// of an earlier session); and between every repetition and its replays with
// each of ReplayJitters.
func ReplayDistances(ctx context.Context, ds *Dataset) ([]*Distances, error) {
	same, days, logins := newDistances("same-session"), newDistances("different-days"), newDistances("login-like")
	replays := make([]*Distances, len(ReplayJitters))
	for i, j := range ReplayJitters {
		replays[i] = newDistances(replayAttack(j))
	}
	for si, s := range ds.Subjects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ts := make([][]int32, len(s.Samples))
		for i, smp := range s.Samples {
			ts[i] = Timings(smp.Features)
		}
		rng := rand.New(rand.NewPCG(uint64(si), 0x7e9))
		for i, a := range s.Samples {
			for j := i + 1; j < len(s.Samples); j++ {
				b := s.Samples[j]
				d := local.ReplayDistance(ts[i], ts[j])
				if a.Session == b.Session {
					same.add(d)
				} else {
					days.add(d)
					if b.Rep == 1 && (a.Rep == 1 || a.Session == 1 && a.Rep <= 5) {
						logins.add(d)
					}
				}
			}
			for k, jit := range ReplayJitters {
				replays[k].add(local.ReplayDistance(ts[i], Jitter(ts[i], jit, rng)))
			}
		}
	}
	return append([]*Distances{same, days, logins}, replays...), nil
}

// RhythmSpreads is the distribution of local.Pattern.RhythmSpread over the
// genuine repetitions, and its value for near-constant patterns.
type RhythmSpreads struct {
	Genuine []float64 // sorted
	// NearConstant[alt] is the spread of NearConstantPattern(keys, 83, 225, alt).
	NearConstant map[int]float64
}

// MeasureRhythmSpreads measures every repetition of the dataset.
func MeasureRhythmSpreads(ds *Dataset) RhythmSpreads {
	var r RhythmSpreads
	for _, s := range ds.Subjects {
		for _, smp := range s.Samples {
			r.Genuine = append(r.Genuine, local.PatternOf("", Timings(smp.Features)).RhythmSpread())
		}
	}
	slices.Sort(r.Genuine)
	r.NearConstant = map[int]float64{}
	for _, alt := range []int{3, 5, 10, 20} {
		r.NearConstant[alt] = local.PatternOf("", NearConstantPattern(ds.Keys, 83, 225, alt)).RhythmSpread()
	}
	return r
}

// Lines are the lines `smsplus biometrics eval --diagnostics` prints.
func (r RhythmSpreads) Lines() []string {
	g := r.Genuine
	q := func(p float64) float64 { return g[min(int(p*float64(len(g))), len(g)-1)] }
	below := 0
	for _, v := range g {
		if v < local.MinRhythmSpread {
			below++
		}
	}
	out := []string{fmt.Sprintf("rhythm_spread patterns=genuine n=%d min=%.3f p0.0001=%.3f p0.001=%.3f p0.01=%.3f median=%.3f below_%.2f=%d",
		len(g), g[0], q(1e-4), q(1e-3), q(1e-2), q(0.5), local.MinRhythmSpread, below)}
	for _, alt := range []int{3, 5, 10, 20} {
		out = append(out, fmt.Sprintf("rhythm_spread patterns=near-constant-%dms value=%.3f refused=%t",
			alt, r.NearConstant[alt], r.NearConstant[alt] < local.MinRhythmSpread))
	}
	return out
}
