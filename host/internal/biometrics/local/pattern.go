package local

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// Pattern format. The page's recorder (web/static/recorder.js) sends a typing
// pattern as `tp` in this format, version 1:
//
//	sp1:<textId>:<n>:<d1>,<u1>;<d2>,<u2>;...;<dn>,<un>
//
// The parts are:
//   - "sp1" names the format and its version. A later version gets a new prefix.
//   - textId is biometrics.TextID of the phrase: 1 to 10 decimal digits, at most
//     4294967295, without leading zeros.
//   - n is the number of characters of the phrase (1 to MaxKeys), without leading
//     zeros. Phrases are plain letters and spaces, so characters, code points and
//     UTF-16 code units (JavaScript's length) are the same count.
//   - Then exactly n pairs separated by ";", one per character of the phrase in
//     order. Pair i is "d,u": the key-down and key-up times of the key that typed
//     character i, in whole milliseconds since the key-down of the first
//     character, so d1 is always 0. Times are unsigned decimal integers without
//     leading zeros, at most 7 digits.
//   - Nothing else: no spaces, no trailing separator, and never the typed
//     characters. The server knows the phrase; the pattern must not carry what was
//     typed.
//
// The whole string is at most MaxPatternBytes long.
//
// Example: "sp1:1914395348:3:0,95;180,260;410,520" describes a three-character
// phrase typed with holds of 95, 80 and 110 ms and key-down to key-down latencies
// of 180 and 230 ms.
//
// ParsePattern checks the syntax and the fixed parts (d1 = 0, n pairs);
// Pattern.Check whether the timings are humanly possible.
const (
	patternPrefix = "sp1:"
	// MaxPatternBytes caps the size of a pattern string.
	MaxPatternBytes = 8 << 10
	// MaxKeys caps the number of characters a pattern may describe.
	MaxKeys = 128
	// maxTimeDigits caps each time at 9,999,999 ms, far above any plausible value.
	maxTimeDigits = 7
)

// Limits on plausible human timings, in milliseconds.
const (
	maxHoldMS  = 2000
	maxTotalMS = 60000
)

// Key is one keystroke of a pattern, in milliseconds since the first key-down.
type Key struct {
	Down int
	Up   int
}

// Hold is how long the key was held down.
func (k Key) Hold() int { return k.Up - k.Down }

// Pattern is a parsed typing pattern: one key per character of the phrase.
type Pattern struct {
	TextID string
	Keys   []Key
}

// String formats the pattern in the sp1 format; ParsePattern(p.String()) gives p back.
func (p Pattern) String() string {
	var b strings.Builder
	b.Grow(len(patternPrefix) + len(p.TextID) + 8 + len(p.Keys)*12)
	b.WriteString(patternPrefix)
	b.WriteString(p.TextID)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(len(p.Keys)))
	b.WriteByte(':')
	for i, k := range p.Keys {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strconv.Itoa(k.Down))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(k.Up))
	}
	return b.String()
}

func badPattern(format string, args ...any) error {
	return fmt.Errorf("%w: %s", biometrics.ErrBadPattern, fmt.Sprintf(format, args...))
}

// ParsePattern parses a pattern in the sp1 format. Every error wraps
// biometrics.ErrBadPattern.
func ParsePattern(tp string) (Pattern, error) {
	if len(tp) > MaxPatternBytes {
		return Pattern{}, badPattern("pattern longer than %d bytes", MaxPatternBytes)
	}
	rest, ok := strings.CutPrefix(tp, patternPrefix)
	if !ok {
		return Pattern{}, badPattern("unknown pattern format")
	}
	textID, rest, ok := strings.Cut(rest, ":")
	if !ok || !isDecimal(textID, 10) {
		return Pattern{}, badPattern("bad text id")
	}
	if v, err := strconv.ParseUint(textID, 10, 32); err != nil || strconv.FormatUint(v, 10) != textID {
		return Pattern{}, badPattern("bad text id")
	}
	count, rest, ok := strings.Cut(rest, ":")
	if !ok || !isDecimal(count, 3) {
		return Pattern{}, badPattern("bad key count")
	}
	n, _ := strconv.Atoi(count)
	if n < 1 || n > MaxKeys {
		return Pattern{}, badPattern("key count %d out of range 1..%d", n, MaxKeys)
	}
	if strings.Count(rest, ";") != n-1 {
		return Pattern{}, badPattern("key count %d does not match the keys sent", n)
	}
	keys := make([]Key, 0, n)
	for pair := range strings.SplitSeq(rest, ";") {
		down, up, ok := strings.Cut(pair, ",")
		if !ok || !isDecimal(down, maxTimeDigits) || !isDecimal(up, maxTimeDigits) {
			return Pattern{}, badPattern("bad key %d", len(keys)+1)
		}
		d, _ := strconv.Atoi(down)
		u, _ := strconv.Atoi(up)
		keys = append(keys, Key{Down: d, Up: u})
	}
	if keys[0].Down != 0 {
		return Pattern{}, badPattern("first key-down is not at 0")
	}
	return Pattern{TextID: textID, Keys: keys}, nil
}

// isDecimal reports whether s is a canonical unsigned decimal number (no sign, no
// leading zeros) of at most maxDigits digits.
func isDecimal(s string, maxDigits int) bool {
	if s == "" || len(s) > maxDigits || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Check rejects timings no human produces on a keyboard: zero or negative holds,
// holds over 2 s, key-downs out of order, a pattern longer than 60 s, key-downs
// faster than minMeanDownDownMS apart on average, timings of one kind that are
// all the same (a script typing at a fixed rate): key-down intervals, up-down
// intervals, or hold times of at least minConstHoldMS (virtual keyboards report
// holds of a few ms that may well be all equal), and key-down intervals that
// vary by less than MinRhythmSpread (a script at a fixed rate with a few ms of
// alternation). Errors wrap biometrics.ErrBadPattern.
func (p Pattern) Check() error {
	if len(p.Keys) == 0 {
		return badPattern("no keys")
	}
	for i, k := range p.Keys {
		if h := k.Hold(); h <= 0 || h > maxHoldMS {
			return badPattern("key %d held %d ms", i+1, h)
		}
		if k.Up > maxTotalMS {
			return badPattern("pattern lasts more than %d ms", maxTotalMS)
		}
		if i > 0 && k.Down < p.Keys[i-1].Down {
			return badPattern("key %d pressed before key %d", i+1, i)
		}
	}
	n := len(p.Keys)
	if n < 4 {
		return nil
	}
	// With three or more intervals, a spread of at most 1 ms is a metronome, not a
	// person (rounding to whole milliseconds can make equal intervals differ by 1).
	dd := spread(n-1, func(i int) int { return p.Keys[i+1].Down - p.Keys[i].Down })
	if dd.hi-dd.lo <= 1 {
		return badPattern("key-down intervals are all equal")
	}
	if sd := p.RhythmSpread(); sd < MinRhythmSpread {
		return badPattern("key-down intervals nearly constant (spread %.3f)", sd)
	}
	if p.Keys[n-1].Down < minMeanDownDownMS*(n-1) {
		return badPattern("keys pressed %d ms apart on average", p.Keys[n-1].Down/(n-1))
	}
	ud := spread(n-1, func(i int) int { return p.Keys[i+1].Down - p.Keys[i].Up })
	if ud.hi-ud.lo <= 1 {
		return badPattern("key-up to key-down intervals are all equal")
	}
	if h := spread(n, func(i int) int { return p.Keys[i].Hold() }); h.lo >= minConstHoldMS && h.hi-h.lo <= 1 {
		return badPattern("hold times are all equal")
	}
	return nil
}

// Limits of the machine-likeness checks.
const (
	// MinRhythmSpread: the standard deviation of the logarithms of the key-down
	// intervals (each at least downDownFloorMS) below which a pattern is a
	// metronome with a little alternation. People hit some transitions much
	// faster than others: on the CMU benchmark the smallest of its 20,400
	// genuine repetitions is 0.149 (median 0.50, 0.01% below 0.186), while a
	// fixed 225 ms with +-5 ms alternation is 0.022 and +-10 ms 0.044
	// (`smsplus biometrics eval --diagnostics`, rhythm_spread lines).
	MinRhythmSpread = 0.05
	// minMeanDownDownMS: 30 ms per key is 400 words a minute, twice the fastest
	// typists' burst speed.
	minMeanDownDownMS = 30
	// minConstHoldMS: equal holds at least this long are a script's.
	minConstHoldMS = 10
)

// RhythmSpread is the standard deviation of log max(dd, 20 ms) over the
// pattern's key-down intervals dd; Check refuses a pattern whose spread is below
// MinRhythmSpread. 0 for a single key.
func (p Pattern) RhythmSpread() float64 {
	keys := p.Keys
	if len(keys) < 2 {
		return 0
	}
	var sum, sq float64
	n := float64(len(keys) - 1)
	for i := 1; i < len(keys); i++ {
		v := math.Log(math.Max(float64(keys[i].Down-keys[i-1].Down), downDownFloorMS))
		sum += v
		sq += v * v
	}
	mean := sum / n
	return math.Sqrt(max(sq/n-mean*mean, 0))
}

type span struct{ lo, hi int }

func spread(n int, f func(int) int) span {
	s := span{f(0), f(0)}
	for i := 1; i < n; i++ {
		v := f(i)
		s.lo, s.hi = min(s.lo, v), max(s.hi, v)
	}
	return s
}
