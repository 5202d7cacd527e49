// Package biometrics defines the typing-biometrics engines SMS+ can use: the
// TypingDNA REST API or the built-in local engine.
package biometrics

import (
	"context"
	"errors"
)

var (
	// ErrBadPattern: the submitted pattern cannot be parsed or does not belong to
	// the text it claims (wrong length, wrong text id, impossible timings).
	ErrBadPattern = errors.New("biometrics: bad pattern")
	// ErrUnavailable: the engine cannot be reached or is misconfigured.
	ErrUnavailable = errors.New("biometrics: engine unavailable")
)

// Enrollment says how far a user is in enrolling a text.
type Enrollment struct {
	Samples  int  // enrolled patterns for this user and text
	Required int  // patterns needed before verification starts
	Enrolled bool // Samples >= Required
}

// Action is what the engine did with a submitted pattern.
type Action string

const (
	ActionEnroll Action = "enroll" // the pattern was stored as an enrollment sample
	ActionVerify Action = "verify" // the pattern was compared with the profile
)

// Result of submitting one pattern.
type Result struct {
	Action     Action
	Match      bool       // for ActionVerify: the typist matches the profile
	Score      float64    // engine-specific, higher is more similar; for logs and tests
	Enrollment Enrollment // state after this submission
}

// Verifier is a typing-biometrics engine. userID is the SMS+ user id (a hash),
// textID identifies the phrase (see TextID).
type Verifier interface {
	// Name is "local" or "typingdna".
	Name() string
	// Enrollment reports the user's enrollment for the text.
	Enrollment(ctx context.Context, userID, textID string) (Enrollment, error)
	// Submit enrolls the pattern while the user is not yet enrolled, else verifies it
	// (TypingDNA's "auto" behaviour).
	Submit(ctx context.Context, userID, textID, text, pattern string) (Result, error)
	// Delete removes the user's biometric profile (every text).
	Delete(ctx context.Context, userID string) error
}

// StrictVerifier is an engine that can hold a verification to a much stricter
// standard than usual, for a request from a device the user has not verified
// on before (see the challenge package's unknown-device policy). It accepts
// fewer genuine patterns and, above all, far fewer impostors and mimics. An
// engine without it cannot serve that policy, which then refuses.
type StrictVerifier interface {
	// SubmitStrict verifies pattern for an enrolled user, at the strict
	// operating point. It never enrolls: for a user still enrolling it returns
	// ErrBadPattern.
	SubmitStrict(ctx context.Context, userID, textID, text, pattern string) (Result, error)
}
