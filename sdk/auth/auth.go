// Package auth holds constant-time checks for the secrets IAM vendors send with
// their webhooks. Every comparison here takes time independent of where the
// inputs first differ, so a caller cannot learn a secret byte by byte.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Equal reports whether got equals want, in time that does not depend on their
// contents or on got's length. An empty want never matches: an unset secret must
// not turn into "accept anything".
func Equal(got, want string) bool {
	if want == "" {
		return false
	}
	// Hashing first makes both sides the same length, so ConstantTimeCompare does
	// not return early on a length mismatch.
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// Bearer reports whether an Authorization header value carries the bearer token
// want ("Bearer <token>", scheme case-insensitive).
func Bearer(header, want string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		// Still spend the comparison so that a missing scheme is not faster.
		Equal(header, want)
		return false
	}
	return Equal(strings.TrimSpace(token), want)
}

// Basic reports whether an Authorization header value carries HTTP Basic
// credentials equal to user and pass. Both are checked, always.
func Basic(header, user, pass string) bool {
	scheme, enc, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		Equal(header, user+":"+pass)
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		Equal(header, user+":"+pass)
		return false
	}
	gotUser, gotPass, _ := strings.Cut(string(raw), ":")
	okUser := Equal(gotUser, user)
	okPass := Equal(gotPass, pass)
	return okUser && okPass
}

// BasicHeader is the Authorization header value of HTTP Basic credentials, as a
// vendor sends them: for a bridge's Example.
func BasicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// HeaderSecret reports whether a header value equals the secret verbatim or as a
// bearer token. Vendors such as Okta send whatever string the admin typed as the
// header value; existing setups type either "<secret>" or "Bearer <secret>".
func HeaderSecret(header, secret string) bool {
	plain := Equal(header, secret)
	bearer := Equal(header, "Bearer "+secret) && secret != ""
	return plain || bearer
}

// Secret reads a secret setting that may be set under several names: the
// vendor's own (CYBERARK_PASS) and the general <ID>_SHARED_SECRET form. The first
// name is the one operators are told about. Setting two names to different values
// is a problem, as is a secret shorter than minLen runes: anyone who can reach the
// hook URL could guess it. Problems are worded for an operator and never contain
// the value. where tells the operator where the vendor's copy is set, e.g. "the
// Authentication secret configured on the Okta inline hook".
func Secret(settings map[string]string, minLen int, where string, names ...string) (secret string, problems []string) {
	var from string
	for _, n := range names {
		v := strings.TrimSpace(settings[n])
		if v == "" {
			continue
		}
		if secret != "" && v != secret {
			problems = append(problems, n+" and "+from+" are both set, to different values: set only one")
			continue
		}
		if secret == "" {
			secret, from = v, n
		}
	}
	switch {
	case len(names) == 0:
	case secret == "":
		alias := ""
		if len(names) > 1 {
			alias = " (or " + strings.Join(names[1:], ", ") + ")"
		}
		problems = append(problems, names[0]+alias+" is required: set it to "+where)
	case utf8.RuneCountInString(secret) < minLen:
		problems = append(problems, fmt.Sprintf("%s is shorter than %d characters: anyone who can reach the hook URL could guess it; "+
			"use a long random value (e.g. openssl rand -hex 32) on both sides", from, minLen))
	}
	return secret, problems
}

// ValidHeaderName reports whether s can name an HTTP header (an RFC 9110 token),
// for settings that let the operator choose the header carrying a secret.
func ValidHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
