package typingdna

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

var (
	// ErrCredentials: TypingDNA refused the API key/secret (401/32 or 403/33).
	// Errors that match it also match biometrics.ErrUnavailable.
	ErrCredentials = errors.New("TypingDNA rejected the API key/secret")
	// ErrReplay: TypingDNA has already seen this pattern (codes 2 and 5, its replay
	// protection). Errors that match it also match biometrics.ErrBadPattern.
	ErrReplay = errors.New("TypingDNA refused a pattern it has already seen")
)

// Kind classifies a failed call. Every kind maps to exactly one of the
// biometrics sentinels: ErrBadPattern (the user's input) or ErrUnavailable (the
// service or its configuration).
type Kind int

const (
	// KindTransient: no answer, a timeout, or an answer TypingDNA documents as
	// temporary (429/52, 452/43, 451/45, 454/47, 500/48, 503/49, other 5xx).
	// Idempotent calls retry these.
	KindTransient Kind = iota + 1
	// KindCredentials: the API key/secret was refused (401/32, 403/33).
	KindCredentials
	// KindConfig: TypingDNA refused the request for a reason an operator must fix
	// (wrong server URL, subscription limits, auto-enroll off, invalid user id).
	KindConfig
	// KindBadPattern: TypingDNA refused the typing pattern (445/36, 447/42,
	// 448/40, 449/41, 450/44, 453/46, 458/55, 459/56, and code 3: no enrolled
	// patterns in this typing position).
	KindBadPattern
	// KindReplay: the pattern was submitted before (codes 2 and 5).
	KindReplay
	// KindUnexpected: an answer this client cannot read (not JSON, a redirect,
	// an unknown failure code).
	KindUnexpected
)

func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindCredentials:
		return "credentials"
	case KindConfig:
		return "config"
	case KindBadPattern:
		return "bad_pattern"
	case KindReplay:
		return "replay"
	case KindUnexpected:
		return "unexpected"
	}
	return "unknown"
}

// APIError is a TypingDNA call that did not succeed. It never holds the user id,
// the pattern or the credentials, so it is safe to log.
//
// errors.Is matches biometrics.ErrUnavailable or biometrics.ErrBadPattern by
// Kind, ErrCredentials and ErrReplay for those kinds, and the context error
// when the call ran out of time or was canceled.
type APIError struct {
	Op      string // "get user", "delete user", "verify", "position", "save", "auto"
	Kind    Kind
	Status  int    // HTTP status, 0 when there was no answer
	Code    int    // TypingDNA message_code, 0 when absent
	Message string // TypingDNA's message, shortened
	Err     error  // transport or context error, when there was no answer
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "typingdna %s: %s", e.Op, e.cause())
	switch {
	case e.Status != 0 && e.Code != 0:
		fmt.Fprintf(&b, " (HTTP %d, message_code %d", e.Status, e.Code)
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
	case e.Code != 0:
		fmt.Fprintf(&b, " (message_code %d", e.Code)
	}
	if e.Status != 0 || e.Code != 0 {
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// cause says in plain words what went wrong and, for operator problems, what to
// check.
func (e *APIError) cause() string {
	switch e.Kind {
	case KindCredentials:
		return ErrCredentials.Error() + "; check TYPINGDNA_API_KEY and TYPINGDNA_API_SECRET"
	case KindReplay:
		return ErrReplay.Error() + " (replay protection)"
	case KindBadPattern:
		if e.Code == 3 {
			return "TypingDNA has no enrolled patterns typed in this position"
		}
		return "TypingDNA refused the typing pattern"
	case KindConfig:
		switch e.Code {
		case 4:
			return "TypingDNA found no patterns to compare and did not enroll this one; turn on auto-enroll for /verify in the TypingDNA dashboard"
		case 51, 53, 57:
			return "the TypingDNA subscription does not allow this"
		case 35:
			return "TypingDNA refused the user id"
		}
		if e.Status == 404 || e.Code == 38 {
			return "TypingDNA does not know this route; check TYPINGDNA_SERVER"
		}
		return "TypingDNA refused the request"
	case KindUnexpected:
		return "unexpected answer from TypingDNA; check TYPINGDNA_SERVER"
	}
	if e.Err != nil {
		if errors.Is(e.Err, context.DeadlineExceeded) {
			return "no answer from TypingDNA in time"
		}
		if errors.Is(e.Err, context.Canceled) {
			return "call canceled"
		}
		return "TypingDNA unreachable"
	}
	return "TypingDNA is unavailable"
}

// Unwrap lets errors.Is find the sentinels of the kind and the cause.
func (e *APIError) Unwrap() []error {
	var errs []error
	switch e.Kind {
	case KindBadPattern:
		errs = append(errs, biometrics.ErrBadPattern)
	case KindReplay:
		errs = append(errs, biometrics.ErrBadPattern, ErrReplay)
	case KindCredentials:
		errs = append(errs, biometrics.ErrUnavailable, ErrCredentials)
	default:
		errs = append(errs, biometrics.ErrUnavailable)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Transient reports whether trying again later may succeed.
func (e *APIError) Transient() bool { return e.Kind == KindTransient }

// classify maps an answer to a kind: by message_code first, as TypingDNA
// recommends, and by HTTP status when the code is absent or unknown (a proxy's
// 502, for instance).
func classify(status, code int) Kind {
	switch code {
	case 32, 33:
		return KindCredentials
	case 2, 5:
		return KindReplay
	case 3, 6, 36, 40, 41, 42, 44, 46, 55, 56:
		return KindBadPattern
	case 37, 43, 45, 47, 48, 49, 52:
		return KindTransient
	case 4, 9, 10, 31, 34, 35, 38, 50, 51, 53, 57:
		return KindConfig
	}
	switch {
	case status == 401 || status == 403:
		return KindCredentials
	case status == 429 || status == 451 || status == 452 || status == 454 || status >= 500:
		return KindTransient
	case status == 445 || status == 447 || status == 448 || status == 449 || status == 450 ||
		status == 453 || status == 458 || status == 459:
		return KindBadPattern
	case status >= 400:
		return KindConfig
	}
	return KindUnexpected
}

// shorten keeps an upstream message readable in a log line.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	const max = 160
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// maskID shortens a user id for logs: enough to correlate lines, not enough to
// be the id.
func maskID(id string) string {
	if len(id) <= 8 {
		return "…"
	}
	return id[:6] + "…"
}
