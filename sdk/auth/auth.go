// Package auth holds constant-time checks for the secrets IAM vendors send with
// their webhooks. Every comparison here takes time independent of where the
// inputs first differ, so a caller cannot learn a secret byte by byte.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
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

// HeaderSecret reports whether a header value equals the secret verbatim or as a
// bearer token. Vendors such as Okta send whatever string the admin typed as the
// header value; existing setups type either "<secret>" or "Bearer <secret>".
func HeaderSecret(header, secret string) bool {
	plain := Equal(header, secret)
	bearer := Equal(header, "Bearer "+secret) && secret != ""
	return plain || bearer
}
