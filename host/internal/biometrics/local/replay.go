package local

// Replays. A captured pattern sent again, as is or with each timing moved by a
// few milliseconds, must not verify. No person retypes a phrase that closely: the
// timings of one typist vary by tens of ms from attempt to attempt.
//
// The engine keeps a short fingerprint of each recent verification attempt (and
// compares with its full enrollment samples and stored successes the same way):
// one byte per stored timing (hold or down-down latency), the timing in units of
// replayBucketMS, modulo 256. Two patterns are near-identical when at least
// replayShare of their bytes are within one unit of each other. A timing moved by
// up to replayBucketMS/2 ms stays within one unit; an independent attempt matches
// only a fraction of positions. The byte keeps the fine structure of a timing but
// not its size (it wraps every 256 units, about a second), and the profile is
// sealed at rest anyway.
const (
	replayBucketMS = 4
	replayShare    = 0.9
)

// fingerprint is a pattern's replay fingerprint.
type fingerprint []byte

func newFingerprint(timings []int32) fingerprint {
	fp := make(fingerprint, len(timings))
	for i, t := range timings {
		// Rounded to the nearest unit; timings are non-negative (Pattern.Check).
		fp[i] = byte((t + replayBucketMS/2) / replayBucketMS)
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
	return float64(close) >= replayShare*float64(len(a))
}

// replays reports whether fp is near a stored sample or a recent attempt.
func (tp *textProfile) replays(fp fingerprint) bool {
	for _, set := range [][][]int32{tp.Samples, tp.Recent} {
		for _, t := range set {
			if fp.near(newFingerprint(t)) {
				return true
			}
		}
	}
	for _, s := range tp.Seen {
		if fp.near(s) {
			return true
		}
	}
	return false
}
