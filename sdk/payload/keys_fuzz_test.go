package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckKeys compares CheckKeys with a slow reference on every input that
// encoding/json calls valid: the reference recurses and compares every pair of
// keys of each object with strings.EqualFold, so it shares neither the walk's
// state machine nor its folding.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"b":[true,null,{"c":"x"}]}`, `{"otp":"1","OTP":"2"}`, `{"k":1,"\u212a":2}`,
		`{"s":1,"ſ":2}`, `{"σ":1,"ς":2}`, `[{"a":1},{"a":2}]`, `{"a":{"a":{"A":1}}}`, `{"a":1,}`,
		`{"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, "\"x\"", `1e999999`, "{\"\xff\":1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := CheckKeys(body)
		switch {
		case !utf8.Valid(body):
			if !errors.Is(err, ErrNotUTF8) {
				t.Fatalf("CheckKeys(%q) = %v on invalid UTF-8", body, err)
			}
			return
		case !json.Valid(body):
			if err == nil {
				t.Fatalf("CheckKeys(%q) accepted what encoding/json calls invalid", body)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		dup, deepest, rerr := refWalk(dec, 0)
		if rerr != nil {
			t.Fatalf("reference walk of valid JSON %q: %v", body, rerr)
		}
		deep := deepest > MaxDepth
		switch {
		case dup && deep:
			if !errors.Is(err, ErrDuplicate) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("CheckKeys(%q) = %v, want ErrDuplicate or ErrTooDeep", body, err)
			}
		case dup:
			if !errors.Is(err, ErrDuplicate) {
				t.Fatalf("CheckKeys(%q) = %v, want ErrDuplicate", body, err)
			}
		case deep:
			if !errors.Is(err, ErrTooDeep) {
				t.Fatalf("CheckKeys(%q) = %v, want ErrTooDeep (depth %d)", body, err, deepest)
			}
		case err != nil:
			t.Fatalf("CheckKeys(%q) = %v, want nil", body, err)
		}
	})
}

// refWalk reads one value and reports whether an object in it has two keys
// equal under strings.EqualFold, and how deeply it nests.
func refWalk(dec *json.Decoder, depth int) (dup bool, deepest int, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, 0, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return false, depth, nil
	}
	deepest = depth + 1
	var keys []string
	for dec.More() {
		if d == '{' {
			tok, err := dec.Token()
			if err != nil {
				return false, 0, err
			}
			k, _ := tok.(string)
			for _, seen := range keys {
				dup = dup || strings.EqualFold(seen, k)
			}
			keys = append(keys, k)
		}
		dd, dp, err := refWalk(dec, depth+1)
		if err != nil {
			return false, 0, err
		}
		dup, deepest = dup || dd, max(deepest, dp)
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return false, 0, err
	}
	return dup, deepest, nil
}
