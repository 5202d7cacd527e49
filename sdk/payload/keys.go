package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
// The walk reads tokens once and keeps one set of folded keys per open object,
// so it runs in time and memory linear in the body and never recurses. The host
// uses it for its own JSON endpoints, so hooks and pages follow one rule.
func CheckKeys(body []byte) error {
	if !utf8.Valid(body) {
		// The decoder would turn each bad byte into U+FFFD, and two different
		// keys into one.
		return ErrNotUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are only skipped: never parse 1e999999 into a float

	// One frame per open object or array; objects hold the folded keys seen so
	// far (allocated at the first key) and whether a key comes next.
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]struct{}
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			// io.EOF here means the value was cut short; every other error is a
			// syntax error the decoder found.
			return ErrMalformed
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
			} else {
				key, ok := tok.(string)
				if !ok {
					return ErrMalformed // the decoder refuses this first; kept as a guard
				}
				f := &stack[top]
				if f.keys == nil {
					f.keys = make(map[string]struct{}, 8)
				}
				k := foldKey(key)
				if _, dup := f.keys[k]; dup {
					return ErrDuplicate
				}
				f.keys[k] = struct{}{}
				f.wantKey = false
				continue
			}
		} else {
			if top >= 0 && stack[top].object {
				stack[top].wantKey = true // a value was read (or begins): a key follows
			}
			if d, ok := tok.(json.Delim); ok {
				switch d {
				case '{', '[':
					if len(stack) >= MaxDepth {
						return ErrTooDeep
					}
					stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
				case ']':
					if top < 0 || stack[top].object {
						return ErrMalformed // the decoder refuses this first; kept as a guard
					}
					stack = stack[:top]
				default:
					return ErrMalformed
				}
			}
		}
		if len(stack) == 0 {
			break // one whole value read
		}
	}
	// Exactly one value: anything but white space after it is malformed.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrMalformed
	}
	return nil
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
