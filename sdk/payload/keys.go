package payload

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// CheckKeys refuses a body that is not exactly one well-formed JSON value, or in
// which an object, at any depth, names a key twice (ErrDuplicate), or objects
// and arrays nest more than MaxDepth deep (ErrTooDeep).
//
// Keys count as the same when they are equal under Unicode case folding, as
// bytes.EqualFold sees them: encoding/json fills a struct field from any key
// that folds to its name ("OTP" for otp, the Kelvin sign for k, the long s for
// s) and keeps the last of equal ones, so a body with two such keys means
// whatever the decoder happens to pick, and an attacker who controls part of a
// body (a template variable, a user-supplied field) could choose. A vendor never
// sends two such keys.
//
// It is on every hook's path, so it avoids the decoder's tokens (a quarter of a
// bridge's CPU when it used them): a light walk follows the structure
// (brackets, keys, depth) and stops at the first duplicate or too deep a
// nesting, and json.Valid, which allocates nothing, then checks everything
// else. The walk keeps one set of folded keys per open
// object and never recurses, so both run in time and memory linear in the
// body. The host uses it for its own JSON endpoints, so hooks and pages follow
// one rule.
func CheckKeys(body []byte) error {
	if !utf8.Valid(body) {
		// The decoder would turn each bad byte into U+FFFD, and two different
		// keys into one.
		return ErrNotUTF8
	}
	if err := walkKeys(body); err != nil {
		return err
	}
	if !json.Valid(body) {
		return ErrMalformed
	}
	return nil
}

// walkKeys reports the first duplicate key (ErrDuplicate) or nesting beyond
// MaxDepth (ErrTooDeep) in body, in the order they appear, and ErrMalformed for
// a structure it cannot follow. It checks no more than it needs to find keys:
// a body it passes may still be malformed (numbers, literals, escapes, commas),
// which json.Valid finds.
func walkKeys(b []byte) error {
	var stack []keyFrame
	wantKey := false // the next string is a key: after '{', or ',' in an object
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= MaxDepth {
				return ErrTooDeep
			}
			stack = append(stack, keyFrame{object: c == '{'})
			wantKey = c == '{'
			i++
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1].object != (c == '}') {
				return ErrMalformed
			}
			stack = stack[:len(stack)-1]
			wantKey = false
			i++
		case ',':
			wantKey = len(stack) > 0 && stack[len(stack)-1].object
			i++
		case '"':
			end, escaped := stringEnd(b, i)
			if end < 0 {
				return ErrMalformed
			}
			if wantKey {
				key, ok := stringValue(b[i:end], escaped)
				if !ok {
					return ErrMalformed
				}
				if !stack[len(stack)-1].add(key) {
					return ErrDuplicate
				}
				wantKey = false
			}
			i = end
		case ' ', '\t', '\n', '\r', ':':
			i++
		default:
			if wantKey {
				return ErrMalformed // a key is a string
			}
			for i < len(b) && !structural(b[i]) { // a number or a literal
				i++
			}
		}
	}
	return nil
}

// keyFrame is one open object or array. An object holds its keys seen so far:
// while they are few (most objects), as they are, compared by bytes.EqualFold;
// beyond manyKeys, folded (foldKey) in a map.
type keyFrame struct {
	object bool
	keys   [][]byte
	set    map[string]struct{}
}

// manyKeys is where an object's keys move from a slice to a map.
const manyKeys = 16

// add adds the key k, and reports false if the object already has it.
func (f *keyFrame) add(k []byte) bool {
	if f.set != nil {
		folded := foldKey(string(k))
		if _, dup := f.set[folded]; dup {
			return false
		}
		f.set[folded] = struct{}{}
		return true
	}
	for _, seen := range f.keys {
		if bytes.EqualFold(seen, k) {
			return false
		}
	}
	if f.keys == nil {
		f.keys = make([][]byte, 0, 8)
	}
	if f.keys = append(f.keys, k); len(f.keys) > manyKeys {
		f.set = make(map[string]struct{}, 2*manyKeys)
		for _, x := range f.keys {
			f.set[foldKey(string(x))] = struct{}{}
		}
		f.keys = nil
	}
	return true
}

// stringEnd returns the index just past the string that starts with the quote
// at b[i], or -1 when it does not end, and whether it holds an escape.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++ // whatever is escaped cannot end the string
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// stringValue is the value of the JSON string raw (quotes included) as
// encoding/json decodes it, so that keys compare as the decoder sees them.
func stringValue(raw []byte, escaped bool) ([]byte, bool) {
	if !escaped {
		return raw[1 : len(raw)-1], true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// structural reports whether c ends a number or a literal.
func structural(c byte) bool {
	switch c {
	case ',', ':', '{', '}', '[', ']', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// foldKey maps key to a canonical form in which two keys are equal exactly when
// bytes.EqualFold says so: each rune becomes the smallest rune of its
// unicode.SimpleFold orbit. The orbits of ASCII letters are {A, a}, ..., with K
// and S also holding the Kelvin sign (U+212A) and the long s (U+017F); the
// smallest member is always the ASCII upper-case letter, hence the fast path.
func foldKey(key string) string {
	buf := make([]byte, 0, len(key))
	for _, r := range key {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			buf = append(buf, byte(r))
			continue
		}
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		buf = utf8.AppendRune(buf, least)
	}
	return string(buf)
}
