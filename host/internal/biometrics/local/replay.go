package local

import "math"

// Replays. A captured pattern sent again, as is or with each key event moved by
// a few milliseconds, must not verify. The engine keeps the timings of the
// user's enrollment samples, of their recent successful verifications and of
// their recent refused attempts, and refuses an attempt that lies within the
// replay limit of an accepted one, or within ReplayFloorMS of a refused one.
//
// The distance of two patterns of one phrase is the second largest difference,
// in ms, between their timings (holds and down-down latencies): a replay with
// every key event moved by up to J ms differs by at most 2J in every timing, and
// one timing may be changed at will without escaping. People do not retype that
// closely. Measured on the CMU benchmark (all 4.07 million pairs of one
// subject's 400 repetitions; `smsplus biometrics eval --diagnostics`,
// replay_distance lines):
// a distance of at most 16 ms occurs for 3.8e-4 of the pairs typed in one
// sitting, 5.8e-5 of those typed on different days and none of the 2,856 pairs
// of one subject's first typings of different days; replays with +-4 and +-8 ms
// of jitter are always within 16 ms, with +-20 ms always within 40 ms, where 3.5%
// of different-day genuine pairs also are.
//
// So the limit has two parts. ReplayFloorMS refuses the near-copies no genuine
// typing reaches. Above it, the owner's own repetitions say how close this
// owner retypes: the limit is replayFraction of the smallest distance between
// two of the owner's accepted patterns (enrollment samples and successful
// verifications; refused attempts may be anyone's and do not count), capped at
// ReplayCapMS, the widest a +-20 ms replay reaches. An attacker cannot shrink
// it: only successes count.
const (
	ReplayFloorMS  = 16
	ReplayCapMS    = 40
	replayFraction = 0.4
)

// ReplayDistance is the distance of two patterns' timings: the second largest
// |a_i - b_i| (the largest for a single timing); MaxInt32 when the lengths
// differ.
func ReplayDistance(a, b []int32) int32 {
	if len(a) != len(b) || len(a) == 0 {
		return math.MaxInt32
	}
	var first, second int32
	for i := range a {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		switch {
		case d > first:
			first, second = d, first
		case d > second:
			second = d
		}
	}
	if len(a) == 1 {
		return first
	}
	return second
}

// replayLimit is the distance within which an attempt repeats one of the
// profile's patterns (see above).
func (tp *textProfile) replayLimit() int32 {
	limit := float64(ReplayCapMS)
	if scale, ok := retypeScale(tp.accepted()); ok {
		limit = min(limit, replayFraction*float64(scale))
	}
	return int32(max(limit, ReplayFloorMS))
}

// retypeScale is how closely the owner retypes: the median over the accepted
// patterns of the distance to the nearest other one. A median, so that one
// replay that got through (and joined the accepted patterns) cannot pull the
// limit down for the next. Identical timings are one pattern kept twice (a
// success is in Passed and in Recent), not two typings.
func retypeScale(accepted [][]int32) (int32, bool) {
	nearest := make([]float64, 0, len(accepted))
	for i, a := range accepted {
		best := int32(math.MaxInt32)
		for j, b := range accepted {
			if d := ReplayDistance(a, b); j != i && d > 0 && d < best {
				best = d
			}
		}
		if best != math.MaxInt32 {
			nearest = append(nearest, float64(best))
		}
	}
	if len(nearest) == 0 {
		return 0, false
	}
	return int32(median(nearest)), true
}

// accepted returns the owner's accepted patterns: enrollment samples, kept
// successes and the timings of successful verifications.
func (tp *textProfile) accepted() [][]int32 {
	out := make([][]int32, 0, len(tp.Samples)+len(tp.Recent)+len(tp.Passed))
	out = append(out, tp.Samples...)
	out = append(out, tp.Recent...)
	return append(out, tp.Passed...)
}

// replaysWithin reports whether timings t repeat a pattern the profile holds:
// an accepted one within limit (replayLimit when verifying; ReplayFloorMS while
// enrolling, when a few samples typed in one sitting say too little about how
// closely the owner retypes), a refused attempt within ReplayFloorMS (an owner
// who was refused retypes at once, often closely, and a copy of a refused
// pattern gains an attacker little), or a version 2 fingerprint of an attempt
// (the old rule, until they age out).
func (tp *textProfile) replaysWithin(t []int32, limit int32) bool {
	for _, set := range [][][]int32{tp.Samples, tp.Recent, tp.Passed} {
		for _, s := range set {
			if ReplayDistance(t, s) <= limit {
				return true
			}
		}
	}
	for _, s := range tp.Failed {
		if ReplayDistance(t, s) <= ReplayFloorMS {
			return true
		}
	}
	if len(tp.Seen) > 0 {
		fp := newFingerprint(t)
		for _, s := range tp.Seen {
			if fp.near(s) {
				return true
			}
		}
	}
	return false
}

// Version 2 profiles kept a short fingerprint of each recent verification
// attempt instead of its timings: one byte per timing, the timing in units of
// fingerprintBucketMS, modulo 256; two patterns were near-identical when at
// least fingerprintShare of their bytes were within one unit. Profiles written
// by version 2 still hold them; they are checked with that rule and dropped one
// by one as new attempts are recorded.
const (
	fingerprintBucketMS = 4
	fingerprintShare    = 0.9
)

// fingerprint is a version 2 replay fingerprint.
type fingerprint []byte

func newFingerprint(timings []int32) fingerprint {
	fp := make(fingerprint, len(timings))
	for i, t := range timings {
		// Rounded to the nearest unit; timings are non-negative (Pattern.Check).
		fp[i] = byte((t + fingerprintBucketMS/2) / fingerprintBucketMS)
	}
	return fp
}

// near reports whether two fingerprints come from near-identical patterns.
func (a fingerprint) near(b fingerprint) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	close := 0
	for i := range a {
		d := a[i] - b[i] // mod 256: within one step either way
		if d <= 1 || d == 255 {
			close++
		}
	}
	return float64(close) >= fingerprintShare*float64(len(a))
}
