// Package bridge is the contract between the SMS+ host and an IAM bridge plugin.
//
// A bridge turns one IAM vendor's SMS/telephony webhook into a normalized OTP event
// (Parse) and turns the host's outcome back into the answer that vendor expects
// (Respond). Bridge authors implement the Bridge interface and call Serve from main;
// the host talks to the plugin over hashicorp/go-plugin's gRPC transport.
//
// Bridges exchange data, not HTTP: the host owns the HTTP server and hands the raw
// request to the bridge as a Request value. A bridge keeps no per-request state
// between Parse and Respond; whatever it needs later travels in OTPEvent.Metadata,
// which the host hands back in Outcome.Metadata.
package bridge

import (
	"context"
	"time"
)

// ProtocolVersion is the go-plugin protocol version of contract v1. Changes within v1
// are additive only; a breaking change means protocol 2 served beside 1 for a while.
const ProtocolVersion = 1

// SDKVersion is the version of this module, reported to the host in Info.
const SDKVersion = "1.0.0"

// Bridge is what a bridge author implements. Every method receives the context of
// the host's call: honour its deadline, the vendor is waiting on it.
type Bridge interface {
	// Info describes the bridge. It must be cheap and must not depend on Configure.
	Info(ctx context.Context) (Info, error)
	// Configure receives the values of the settings Info declared. Return a
	// *ConfigError listing every problem (missing secret, malformed value) at once.
	Configure(ctx context.Context, settings map[string]string) error
	// Parse authenticates and decodes one webhook call. It returns exactly one of an
	// OTP event, a test ping or a rejection. A non-nil error means the bridge itself
	// failed (a bug), not that the request was bad: bad requests are rejections.
	Parse(ctx context.Context, req *Request) (*ParseResult, error)
	// Respond renders the host's outcome as the vendor's HTTP answer.
	Respond(ctx context.Context, out *Outcome) (*Response, error)
}

// Info describes a bridge to the host.
type Info struct {
	ID           string        // short lowercase id used in /hooks/{id}, e.g. "okta"
	DisplayName  string        // e.g. "Okta telephony inline hook"
	Version      string        // the plugin's own semver
	SDKVersion   string        // filled by Serve
	Protocol     int           // filled by Serve
	Capabilities []string      // free-form feature names, e.g. "voice", "test_ping"
	Deadline     time.Duration // how long the vendor waits for an answer; 0 = host default
	Settings     []Setting     // the configuration keys the bridge reads
}

// Setting declares one configuration key a bridge reads. Names are the flat
// environment-variable names operators set, e.g. OKTA_SHARED_SECRET.
type Setting struct {
	Name        string
	Required    bool
	Secret      bool // never logged or printed by the host
	Description string
}

// ConfigError lists every problem with a bridge's settings.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	s := "invalid settings:"
	for _, p := range e.Problems {
		s += "\n  - " + p
	}
	return s
}

// Header is one HTTP header with all its values, in the order received.
type Header struct {
	Name   string
	Values []string
}

// Request is the raw webhook call as the host received it.
type Request struct {
	Method     string
	Path       string
	RawQuery   string
	Headers    []Header
	Body       []byte
	RemoteAddr string
	RequestID  string // the host's request id, for the plugin's logs
}

// Header returns the first value of the named header (case-insensitive), or "".
func (r *Request) Header(name string) string {
	for _, h := range r.Headers {
		if equalFold(h.Name, name) && len(h.Values) > 0 {
			return h.Values[0]
		}
	}
	return ""
}

// Channel is how the vendor wanted the OTP delivered.
type Channel int

const (
	ChannelUnspecified Channel = iota
	ChannelSMS
	ChannelVoice
)

func (c Channel) String() string {
	switch c {
	case ChannelSMS:
		return "sms"
	case ChannelVoice:
		return "voice"
	}
	return "unspecified"
}

// OTPEvent is a normalized request to deliver a one-time passcode.
type OTPEvent struct {
	// Phone in E.164 form (+ and 7 to 15 digits); the host refuses anything else.
	// Normalize what the vendor sent with the sdk/phone package.
	Phone         string
	OTP           string // the code, digits kept as a string (leading zeros matter)
	Message       string // the vendor's rendered text, if any
	Channel       Channel
	Locale        string    // the vendor's locale, e.g. "EN-US", if sent
	ExpiresAt     time.Time // when the vendor's code expires; zero if unknown
	Subject       string    // user login or id, if sent
	TransactionID string    // the vendor's id for this delivery, if any
	Metadata      map[string]string
}

// TestPing is a vendor's connectivity check: answer it, never send an SMS.
type TestPing struct {
	Metadata map[string]string
}

// Rejection is a request the bridge refuses: bad auth, malformed body, missing field.
type Rejection struct {
	Code    string // a stable code, see the Code* constants
	Message string // a short fixed text, safe to show the caller
	Status  int    // the HTTP status the bridge suggests for its answer
}

// ParseResult holds exactly one of its fields.
type ParseResult struct {
	OTP       *OTPEvent
	TestPing  *TestPing
	Rejection *Rejection
}

// Reject is a shorthand for a ParseResult holding a rejection.
func Reject(status int, code, message string) *ParseResult {
	return &ParseResult{Rejection: &Rejection{Code: code, Message: message, Status: status}}
}

// OutcomeKind is what the host did with a hook.
type OutcomeKind int

const (
	OutcomeUnspecified OutcomeKind = iota
	// OutcomeDelivered: the SMS with the link was accepted by the SMS provider.
	OutcomeDelivered
	// OutcomePending: the send is still in progress when the deadline nears.
	OutcomePending
	// OutcomeTestOK: a test ping was answered; nothing was sent.
	OutcomeTestOK
	// OutcomeFallbackDelivered: policy sent the vendor's original message instead of a link.
	OutcomeFallbackDelivered
	// OutcomeFailed: the host could not deliver (invalid phone, provider error, deadline,
	// overload, bridge unavailable). The vendor's failure answer is due.
	OutcomeFailed
	// OutcomeRejected: the request itself was refused (auth, malformed, too large).
	OutcomeRejected
)

var outcomeNames = [...]string{"unspecified", "delivered", "pending", "test_ok", "fallback_delivered", "failed", "rejected"}

func (k OutcomeKind) String() string {
	if int(k) < len(outcomeNames) && k >= 0 {
		return outcomeNames[k]
	}
	return "unknown"
}

// Outcome is what the host asks a bridge to answer.
type Outcome struct {
	Kind          OutcomeKind
	TransactionID string        // the host's id for this delivery (the challenge id)
	Code          string        // a stable reason code for failed / rejected outcomes
	Message       string        // a short fixed text for failed / rejected outcomes
	Status        int           // for rejections: the status suggested by the rejection
	Duration      time.Duration // time spent on the hook so far
	Metadata      map[string]string
}

// Response is the vendor-formatted HTTP answer.
type Response struct {
	Status  int
	Headers []Header
	Body    []byte
}

// Stable reason codes shared by host and bridges.
const (
	CodeUnauthorized = "unauthorized"
	CodeMalformed    = "malformed_request"
	CodeMissingField = "missing_field"
	CodeBodyTooLarge = "body_too_large"
	CodeMethod       = "method_not_allowed"
	CodeInvalidPhone = "invalid_phone"
	CodeInvalidOTP   = "invalid_otp"
	CodeUnsupported  = "unsupported_channel"
	CodeSMSFailed    = "sms_failed"
	CodeDeadline     = "deadline_exceeded"
	CodeOverloaded   = "overloaded"
	CodeUnavailable  = "bridge_unavailable"
	CodeStoreFailed  = "store_failed"
	CodeInternal     = "internal_error"
	CodeRateLimited  = "rate_limited"
	// CodeCountryNotAllowed: the destination is outside the operator's allow-list.
	// Not retryable: the same number will be refused again.
	CodeCountryNotAllowed = "country_not_allowed"
	// CodeDestinationRefused: the destination is of a type the host refuses
	// (premium rate, shared cost, unassigned, satellite...: SMS pumping targets).
	// Not retryable.
	CodeDestinationRefused = "destination_refused"
	CodeBiometricsOff      = "biometrics_unavailable"
	// CodeMediaType: the Content-Type is not one the bridge reads.
	CodeMediaType = "unsupported_media_type"
	// CodeNotOTP: the vendor asked to deliver a message that carries no one-time
	// code (e.g. Auth0's blocked_account notice); SMS+ delivers codes only.
	CodeNotOTP = "not_an_otp"
)

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
