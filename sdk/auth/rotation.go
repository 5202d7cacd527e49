package auth

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// PreviousSuffix is appended to a bridge's <ID>_SHARED_SECRET to name the secret
// it accepted before a rotation: OKTA_SHARED_SECRET_PREVIOUS.
const PreviousSuffix = "_PREVIOUS"

// Rotation is a bridge's secret and, while the operator rotates it, the one it
// replaces. Every check compares the credential with both, always, in constant
// time: which of the two matched (or that none did) takes the same time.
//
// A rotation without downtime: set <ID>_SHARED_SECRET_PREVIOUS to the secret in
// use and <ID>_SHARED_SECRET to the new one, restart SMS+ (both are accepted),
// change the secret on the vendor's side, then remove the _PREVIOUS setting and
// restart again.
type Rotation struct {
	current, previous string
}

// NewRotation is a Rotation of current and, when not empty, previous: for
// tests and for bridges that read their secrets otherwise than RotatingSecret.
func NewRotation(current, previous string) Rotation {
	return Rotation{current: current, previous: previous}
}

// Current is the secret the bridge signs or sends with (its examples): the new
// one during a rotation.
func (r Rotation) Current() string { return r.current }

// Previous is the secret being rotated out, or "".
func (r Rotation) Previous() string { return r.previous }

// Values lists the secrets accepted: the current one, then the previous one if
// set.
func (r Rotation) Values() []string {
	if r.previous == "" {
		return []string{r.current}
	}
	return []string{r.current, r.previous}
}

// each runs check against every accepted secret, all of them always, and
// reports whether any matched. Checking the previous slot even when it is empty
// (Equal never matches an empty secret) keeps the time the same with and
// without a rotation in progress.
func (r Rotation) each(check func(secret string) bool) bool {
	a := check(r.current)
	b := check(r.previous) && r.previous != ""
	return a || b
}

// Equal reports whether got is one of the accepted secrets (Equal).
func (r Rotation) Equal(got string) bool {
	return r.each(func(s string) bool { return Equal(got, s) })
}

// Bearer reports whether an Authorization header carries one of the accepted
// secrets as a bearer token (Bearer).
func (r Rotation) Bearer(header string) bool {
	return r.each(func(s string) bool { return Bearer(header, s) })
}

// Basic reports whether an Authorization header carries HTTP Basic credentials
// of user and one of the accepted secrets (Basic).
func (r Rotation) Basic(header, user string) bool {
	return r.each(func(s string) bool { return Basic(header, user, s) })
}

// HeaderSecret reports whether a header value is one of the accepted secrets,
// verbatim or as a bearer token (HeaderSecret).
func (r Rotation) HeaderSecret(header string) bool {
	return r.each(func(s string) bool { return HeaderSecret(header, s) })
}

// RotatingSecret reads a bridge's secret as Secret does (names: the vendor's
// own name first, then aliases), and the secret it replaces from previous (e.g.
// OKTA_SHARED_SECRET_PREVIOUS), which is optional. The previous secret must
// meet the same length, and differ from the current one. Problems never quote a
// value.
func RotatingSecret(settings map[string]string, minLen int, where, previous string, names ...string) (Rotation, []string) {
	current, problems := Secret(settings, minLen, where, names...)
	prev := strings.TrimSpace(settings[previous])
	switch {
	case prev == "" || previous == "":
		prev = ""
	case current == "":
		problems = append(problems, fmt.Sprintf("%s is set but %s is not: during a rotation %s holds the new secret "+
			"and %s the old one", previous, names[0], names[0], previous))
	case prev == current:
		problems = append(problems, fmt.Sprintf("%s equals %s: set it to the secret being replaced, or remove it", previous, names[0]))
	case utf8.RuneCountInString(prev) < minLen:
		problems = append(problems, fmt.Sprintf("%s is shorter than %d characters: anyone who can reach the hook URL could guess it",
			previous, minLen))
	}
	return Rotation{current: current, previous: prev}, problems
}

// PreviousSetting declares the setting of the secret being rotated out, named
// after the bridge's <ID>_SHARED_SECRET (sharedSecret), for Info.Settings.
func PreviousSetting(sharedSecret string) bridge.Setting {
	return bridge.Setting{
		Name:   sharedSecret + PreviousSuffix,
		Secret: true,
		Description: "During a rotation, the secret being replaced: accepted as well as the current one until you remove it. " +
			"Set it to the old secret, set the current one to the new secret, change the vendor's side, then remove this.",
	}
}
