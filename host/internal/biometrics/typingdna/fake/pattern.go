package fake

import (
	"hash/fnv"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf16"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

// Typing describes a pattern for Pattern to write.
type Typing struct {
	Text     string // the phrase; the header's text id and length come from it
	Typist   string // who types: the fake's default verdict compares typists
	Desktop  bool   // false = a mobile pattern with motion data, as the page records
	Extended bool   // type 2 ("extended") instead of type 1 keys
	NoMotion bool   // a mobile pattern without its motion parts (TypingDNA: 453/46)
}

var patternSeq atomic.Uint64

// Pattern writes a same-text typing pattern in the TypingDNA recorder's layout
// (typingdna/api.md §6): header, 15 special-key values, the 20-value device
// signature, one "seek,press" (type 1) or "charCode,seek,press,keyCode" (type
// 2) entry per character, and for mobile the "#motion#motion" suffix. Timings
// follow a rhythm derived from the typist plus a counter, so no two calls give
// the same pattern (TypingDNA refuses repeats). The typist's tag goes into the
// last signature field (the recorder's hash of the device); the fake matches
// on it.
func Pattern(t Typing) string {
	n := patternSeq.Add(1)
	units := utf16.Encode([]rune(t.Text))
	mobile, diagram := "0", "0"
	if !t.Desktop {
		mobile = "1"
	}
	if t.Extended {
		diagram = "1"
	}
	head := []string{mobile, "3.2", "0", diagram, strconv.Itoa(len(units)), biometrics.TextID(t.Text)}
	// Backspace, Enter, Space, mouse clicks, mouse stops: count, mean, sd.
	head = append(head, "0", "-1", "-1", "0", "-1", "-1", "0", "-1", "-1", "0", "-1", "-1", "0", "-1", "-1")
	sig := []string{"1", "0", "0", mobile, "2", "1", "916068587", "1", "1", "0", "0", "0", "1", "1440", "900", "0", "1015", "118", "0", tag(t.Typist)}
	if !t.Desktop {
		sig[13], sig[14] = "390", "844"
	}
	head = append(head, sig...)

	h := typistHash(t.Typist)
	keys := make([]string, 0, len(units)+1)
	keys = append(keys, strings.Join(head, ","))
	for i, u := range units {
		seek := 90 + int((h>>(uint(i)%24))&63) + int((n*7+uint64(i)*3)%11)
		press := 70 + int((h>>(uint(i+5)%24))&31) + int((n*5+uint64(i))%7)
		if i == 0 {
			seek = 0
		}
		if t.Extended {
			keys = append(keys, strconv.Itoa(int(u))+","+strconv.Itoa(seek)+","+strconv.Itoa(press)+","+strconv.Itoa(keyCode(u)))
		} else {
			keys = append(keys, strconv.Itoa(seek)+","+strconv.Itoa(press))
		}
	}
	out := strings.Join(keys, "|")
	if t.Desktop || t.NoMotion {
		return out
	}
	fixed := make([]string, len(units))
	z, a, b := make([]string, len(units)), make([]string, len(units)), make([]string, len(units))
	for i := range units {
		v := int((h>>(uint(i)%16))&15) + int((n+uint64(i))%5)
		fixed[i] = strings.Join([]string{
			strconv.Itoa(12 + v), strconv.Itoa(480 + v), strconv.Itoa(860 - v),
			strconv.Itoa(3 + v), strconv.Itoa(-2 - v), strconv.Itoa(1 + v), strconv.Itoa(410 + v), strconv.Itoa(-30 + v),
		}, ",")
		z[i], a[i], b[i] = strconv.Itoa(v-7), strconv.Itoa(2-v), strconv.Itoa(v%4)
	}
	return out + "#" + strings.Join(fixed, "|") + "#" + strings.Join(z, "|") + "/" + strings.Join(a, "|") + "/" + strings.Join(b, "|")
}

func typistHash(typist string) uint32 {
	f := fnv.New32a()
	f.Write([]byte(typist))
	return f.Sum32()
}

// tag is the typist's mark in a pattern: the device-signature hash field.
func tag(typist string) string { return strconv.FormatUint(uint64(typistHash(typist)), 10) }

func keyCode(u uint16) int {
	switch {
	case u >= 'a' && u <= 'z':
		return int(u - 'a' + 'A')
	case u >= 'A' && u <= 'Z', u >= '0' && u <= '9', u == ' ':
		return int(u)
	}
	return 0
}

// parsed is what the fake reads from one pattern.
type parsed struct {
	raw    string
	mobile bool
	typ    int // 1 (same text) or 2 (extended)
	length int
	textID string
	tag    string // last device-signature field; "" when the header is short
}

// sigHashField is the header index of the device-signature hash: 6 header
// fields, 15 special-key values, then the 20th signature value.
const sigHashField = 6 + 15 + 19

// parse checks one pattern's layout and answers TypingDNA's error for it.
func parse(raw string) (parsed, *answer) {
	invalid := errAnswer(445, 36)
	parts := strings.Split(raw, "#")
	keys := strings.Split(parts[0], "|")
	head := strings.Split(keys[0], ",")
	if len(head) < 6 || len(keys) < 2 {
		return parsed{}, invalid // type 0 ("any text") patterns are not served by the fake
	}
	p := parsed{raw: raw}
	switch head[0] {
	case "0":
	case "1":
		p.mobile = true
	default:
		return parsed{}, invalid
	}
	if _, err := strconv.ParseFloat(head[1], 64); err != nil {
		return parsed{}, invalid
	}
	switch head[3] {
	case "0":
		p.typ = 1
	case "1":
		p.typ = 2
	default:
		return parsed{}, invalid
	}
	var err error
	if p.length, err = strconv.Atoi(head[4]); err != nil || p.length < 1 || p.length != len(keys)-1 {
		return parsed{}, invalid
	}
	id, err := strconv.ParseUint(head[5], 10, 32)
	if err != nil {
		return parsed{}, invalid
	}
	p.textID = strconv.FormatUint(id, 10)
	if len(head) > sigHashField {
		p.tag = head[sigHashField]
	}
	want := 2
	if p.typ == 2 {
		want = 4
	}
	for _, k := range keys[1:] {
		f := strings.Split(k, ",")
		if len(f) == want+1 && f[want] == "1" { // a missing key filled with the average
			f = f[:want]
		}
		if len(f) != want {
			return parsed{}, invalid
		}
		for _, v := range f {
			if _, err := strconv.Atoi(v); err != nil {
				return parsed{}, invalid
			}
		}
	}
	switch {
	case len(parts) == 1 && p.mobile:
		return parsed{}, errAnswer(453, 46)
	case len(parts) == 1:
	case len(parts) != 3 || !p.mobile:
		return parsed{}, invalid
	case parts[1] == "" || parts[2] == "":
		return parsed{}, errAnswer(453, 46)
	}
	return p, nil
}

// parseAll reads "p1;p2;…" and checks the patterns go together.
func parseAll(tp string) ([]parsed, *answer) {
	if tp == "" {
		return nil, errAnswer(400, 31)
	}
	raws := strings.Split(tp, ";")
	if len(raws) > maxPatternsPerCall {
		return nil, errAnswer(459, 56)
	}
	out := make([]parsed, 0, len(raws))
	for _, r := range raws {
		p, a := parse(r)
		if a != nil {
			return nil, a
		}
		if len(out) > 0 {
			first := out[0]
			switch {
			case p.mobile != first.mobile:
				return nil, errAnswer(448, 40)
			case p.typ != first.typ:
				return nil, errAnswer(450, 44)
			case p.textID != first.textID || p.length != first.length:
				return nil, errAnswer(449, 41)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
