// Package otp checks one-time passcodes and finds them in message text.
//
// Prefer the vendor's own code field (Okta otpCode, Auth0 code, FusionAuth code,
// PingOne ${otp}). FromText is the fallback for vendors that send only the rendered
// message; it answers only when the text leaves no doubt, because texting the wrong
// code is worse than refusing the hook.
package otp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lengths of a code, as the host accepts them.
const (
	MinDigits = 4
	MaxDigits = 10
)

// Valid reports whether s is a code: 4 to 10 ASCII digits. Codes are strings, so
// leading zeros are kept.
func Valid(s string) bool {
	if len(s) < MinDigits || len(s) > MaxDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// HasDigits reports whether s contains any decimal digit, of any script. A text
// without digits cannot carry a code; one with digits FromText cannot read (say
// Arabic-Indic ones) still might.
func HasDigits(s string) bool {
	for _, r := range s {
		if unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// FromText finds the code in a rendered message. It answers only when the text
// holds exactly one candidate: a run of 4 to 10 ASCII digits that stands alone.
// A run does not stand alone when it is
//   - glued to a letter of a script written with spaces, a digit of any script, an
//     underscore or a currency sign ("ABC123456", "$1234", "1234%");
//   - part of a number such as 2026-03-02, 10:30, 1,000 or 12.50;
//   - part of a phone number: a group of digit runs separated only by spaces,
//     dashes, dots, slashes or parentheses ("+1 415 555 0123", "(303) 555-1212"),
//     or a run right after a plus sign.
//
// A run that looks like a year (1900 to 2099) is never taken, even alone: "©
// 2026" must not become a code, and a real code in that range is refused rather
// than guessed. Digits glued to Chinese, Japanese or Thai text, which do not use
// spaces, still stand alone ("验证码123456"). Leading zeros are kept.
func FromText(text string) (string, bool) {
	var found string
	n := 0
	for _, r := range runs(text) {
		if !r.alone || len(r.digits) < MinDigits || len(r.digits) > MaxDigits || yearLike(r.digits) {
			continue
		}
		found = r.digits
		n++
	}
	if n != 1 {
		return "", false
	}
	return found, true
}

// FromTextLength is FromText for a vendor whose codes are known to be exactly n
// digits long (the operator's <ID>_OTP_LENGTH, copied from the vendor's own
// code-length setting). A candidate is then a run of exactly n ASCII digits that
// stands alone, by the same rules as FromText; runs of other lengths are not
// codes and are ignored. With exactly one candidate it is the code, even when it
// looks like a year: a 4-digit code from 1900 to 2099 (2 % of them) is delivered
// instead of refused, while "© 2026, code 2024" still has two candidates and is
// refused. n == 0 means the length is unknown: FromText.
func FromTextLength(text string, n int) (string, bool) {
	if n == 0 {
		return FromText(text)
	}
	if n < MinDigits || n > MaxDigits {
		return "", false
	}
	var found string
	count := 0
	for _, r := range runs(text) {
		if !r.alone || len(r.digits) != n {
			continue
		}
		found = r.digits
		count++
	}
	if count != 1 {
		return "", false
	}
	return found, true
}

// MayHoldCode reports whether text holds any run of 4 to 10 ASCII digits that
// stands alone (by FromText's rules), year-like ones included: a text that
// may carry a code, even one FromText cannot pick out. A bridge that texts
// code-free notices as is must never do so with such a text: "Code 1234 or
// 5678" is ambiguous, not code-free.
//
// It also answers true for digits a reader takes for one code although no
// single run is one: runs split by characters that do not show or only mark
// the digit before them ("482\u200b913", keycaps "4\u20e38\u20e3...": format
// characters and combining marks are ignored), and runs of equal
// length, 4 to 10 digits in all, apart only by spaces or dashes ("482 913",
// "482-913", "4 8 2 9 1 3", "4, 8, 2, 9, 1, 3"). Groups of unequal runs are
// phone numbers ("555 0123") and dates ("2026-03-02"), and a group after a
// plus sign is an international number.
func MayHoldCode(text string) bool {
	if aloneCode(text) || groupedCode(text) {
		return true
	}
	// Read again without format characters and combining marks, which draw
	// nothing of their own or only over a digit: 4\u20e3 is the keycap 4⃣.
	visible := strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me) {
			return -1
		}
		return r
	}, text)
	return visible != text && (aloneCode(visible) || groupedCode(visible))
}

func aloneCode(text string) bool {
	for _, r := range runs(text) {
		if r.alone && len(r.digits) >= MinDigits && len(r.digits) <= MaxDigits {
			return true
		}
	}
	return false
}

// groupedCode reports whether text holds a group of two or more runs of ASCII
// digits, each apart from the next only by a codeGap, all of one length and 4
// to 10 digits in all, standing alone at both ends (FromText's rules), and not
// after a plus sign. The group is taken whole: "2026-03-02" is no "03-02".
func groupedCode(text string) bool {
	type span struct{ start, end int }
	var group []span
	code := func() bool {
		if len(group) < 2 || plusBefore(text[:group[0].start]) {
			return false
		}
		// Tied to more text at either end (a letter, "10:30 - 11:30", "1.22
		// 33.4"), as a run that does not stand alone.
		first, last := group[0], group[len(group)-1]
		before, _ := utf8.DecodeLastRuneInString(text[:first.start])
		after, _ := utf8.DecodeRuneInString(text[last.end:])
		if first.start > 0 && joins(before, text[:first.start], true) || last.end < len(text) && joins(after, text[last.end:], false) {
			return false
		}
		size := group[0].end - group[0].start
		for _, g := range group {
			if g.end-g.start != size {
				return false
			}
		}
		return size*len(group) >= MinDigits && size*len(group) <= MaxDigits
	}
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if len(group) > 0 && !codeGap(text[group[len(group)-1].end:i]) {
			if code() {
				return true
			}
			group = group[:0]
		}
		group = append(group, span{i, j})
		i = j
	}
	return code()
}

// codeGap reports whether the text between two digit runs is what separates
// the groups of a code: one to three spaces (of any kind, line breaks
// included) or dashes, or a
// comma and a space ("4, 8, 2"). A comma alone is a thousands separator.
func codeGap(gap string) bool {
	if gap == "" || utf8.RuneCountInString(gap) > 3 {
		return false
	}
	comma, space := false, false
	for _, r := range gap {
		switch {
		case r == ',':
			comma = true
		case unicode.IsSpace(r): // line breaks and tabs too: a group per line
			space = true
		case r == '-', r >= '\u2010' && r <= '\u2013': // hyphens and en dash
		default:
			return false
		}
	}
	return !comma || space
}

// Length reads a bridge's expected code length setting (e.g. CYBERARK_OTP_LENGTH):
// 0 when unset, else 4 to 10. where tells the operator where the vendor sets the
// length, e.g. "the tenant's Two-Factor one-time code length". The problem, if
// any, is worded for an operator.
func Length(settings map[string]string, name, where string) (n int, problem string) {
	v := strings.TrimSpace(settings[name])
	if v == "" {
		return 0, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < MinDigits || n > MaxDigits {
		return 0, fmt.Sprintf("%s must be a whole number from %d to %d: the length of the vendor's codes (%s), or unset",
			name, MinDigits, MaxDigits, where)
	}
	return n, ""
}

func yearLike(d string) bool {
	return len(d) == 4 && (d[:2] == "19" || d[:2] == "20")
}

type run struct {
	digits string
	alone  bool
}

// runs lists the maximal runs of ASCII digits in s, in order, and whether each
// stands alone.
func runs(s string) []run {
	type span struct{ start, end int }
	var spans []span
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		spans = append(spans, span{start, i})
	}
	out := make([]run, len(spans))
	for k, sp := range spans {
		before, _ := utf8.DecodeLastRuneInString(s[:sp.start])
		after, _ := utf8.DecodeRuneInString(s[sp.end:])
		alone := (sp.start == 0 || !joins(before, s[:sp.start], true)) &&
			(sp.end == len(s) || !joins(after, s[sp.end:], false))
		if alone && plusBefore(s[:sp.start]) {
			alone = false
		}
		out[k] = run{digits: s[sp.start:sp.end], alone: alone}
	}
	// Runs tied to their neighbours by phone-number punctuation form one group;
	// no member of a group of two or more is a code.
	for k := 0; k+1 < len(spans); k++ {
		if phoneGap(s[spans[k].end:spans[k+1].start]) {
			out[k].alone = false
			out[k+1].alone = false
		}
	}
	return out
}

// joins reports whether r, next to a digit run, ties the run to more text. rest
// is the text on that side of the run, ending (before) or starting (after) with r.
func joins(r rune, rest string, before bool) bool {
	switch {
	case unicode.IsDigit(r), unicode.IsMark(r), r == '_', unicode.Is(unicode.Sc, r), r == '%':
		return true
	case unicode.IsLetter(r):
		return !unspaced(r)
	}
	switch r {
	case '-', '.', ',', ':', '/':
		// A separator counts only when a digit is on its far side.
		if before {
			return len(rest) >= 2 && isDigit(rest[len(rest)-2])
		}
		return len(rest) >= 2 && isDigit(rest[1])
	}
	return false
}

// unspaced reports whether r belongs to a script written without spaces between
// words, where a code sits right next to letters.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao,
		unicode.Khmer, unicode.Myanmar)
}

// plusBefore reports whether the run is preceded by "+", maybe with spaces or an
// opening parenthesis between: the start of an international phone number.
func plusBefore(s string) bool {
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ' ', '(':
			continue
		case '+':
			return true
		}
		return false
	}
	return false
}

// phoneGap reports whether the text between two digit runs is phone-number
// punctuation: one to three characters of " -./()".
func phoneGap(gap string) bool {
	if gap == "" || len(gap) > 3 {
		return false
	}
	for i := 0; i < len(gap); i++ {
		switch gap[i] {
		case ' ', '-', '.', '/', '(', ')':
		default:
			return false
		}
	}
	return true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
