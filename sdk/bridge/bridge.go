// Package bridge is the contract between the SMS+ host and an IAM bridge plugin.
//
// A bridge turns one IAM vendor's SMS/telephony webhook into a normalized OTP event
// (Parse) and turns what the host did back into the answer that vendor expects
// (Respond). Bridge authors implement the Bridge interface and call Serve (or
// Main) from main; the host talks to the plugin over hashicorp/go-plugin's gRPC
// transport.
//
// Bridges exchange data, not HTTP: the host owns the HTTP server and hands the raw
// request to the bridge as a Request value. Parse renders a refused call in the
// vendor's format itself, so every refused call costs one RPC. A bridge keeps no
// per-request state: an Outcome carries no text and nothing of the request, only
// typed reasons and the host's data.
//
// Optional capabilities are optional interfaces (Exampler). The host calls them
// over gRPC; a plugin that does not implement one answers gRPC Unimplemented,
// which the host sees as ErrUnsupported: capability absent.
package bridge

import (
	"context"
	"time"
)

// ProtocolVersion is the go-plugin protocol version of contract v1. Changes within v1
// are additive only; a breaking change means protocol 2 served beside 1 for a while.
const ProtocolVersion = 1

// Bridge is what a bridge author implements. Every method receives the context of
// the host's call: honour its deadline, the vendor is waiting on it.
type Bridge interface {
	// Info describes the bridge. It must be cheap and must not depend on Configure.
	Info(ctx context.Context) (Info, error)
	// Configure receives the values of the settings Info declared. Return a
	// *ConfigError listing every problem (missing secret, malformed value) at once.
	// After a failed Configure, refuse every call: fail closed.
	Configure(ctx context.Context, settings map[string]string) error
	// Parse authenticates and decodes one webhook call. It returns exactly one of an
	// OTP event, a test ping or a rejection that holds the vendor's answer. A
	// non-nil error means the bridge itself failed (a bug), not that the request
	// was bad: bad requests are rejections.
	Parse(ctx context.Context, req *Request) (*ParseResult, error)
	// Respond renders what the host did with an accepted call, or why it refused
	// a call before Parse, as the vendor's HTTP answer.
	Respond(ctx context.Context, out *Outcome) (*Response, error)
}

// Exampler is an optional capability: a bridge that implements it can render an
// authentic example of its vendor's webhook call, which `smsplus simulate <id>`
// posts to a running host. The example is signed or authenticated with the
// configured settings, so it needs a successful Configure; it must parse, with
// the bridge's own Parse, to an OTP event for the phone and code asked for.
type Exampler interface {
	Example(ctx context.Context, want ExampleRequest) (*Request, error)
}

// ExampleRequest is what an example must carry.
type ExampleRequest struct {
	Phone  string // E.164
	OTP    string // 4 to 10 digits
	Locale string // e.g. "en-US"; empty lets the bridge choose
}

// Info describes a bridge to the host.
type Info struct {
	ID          string        // short lowercase id used in /hooks/{id}, e.g. "okta"
	DisplayName string        // e.g. "Okta telephony inline hook"
	Version     string        // the plugin's own semver
	SDKVersion  string        // filled by Serve
	Protocol    int           // filled by Serve
	Deadline    time.Duration // how long the vendor waits for an answer; 0 = host default
	Settings    []Setting     // the configuration keys the bridge reads
	// Features are the optional features of the contract the plugin
	// understands (FeatureWithheld...). Filled by Serve from the SDK it was
	// built with; empty for a plugin built before features existed.
	Features []string
}

// HasFeature reports whether the plugin described by i understands feature f.
func (i Info) HasFeature(f string) bool {
	for _, x := range i.Features {
		if x == f {
			return true
		}
	}
	return false
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
	// AnswerTransactionID is set by the host, for a plugin with
	// FeatureAnswersAhead, to the transaction id it will give this call's
	// delivery if it accepts it. The SDK then renders, after the bridge's Parse
	// of an OTP event, the bridge's own Respond to OutcomeDelivered and
	// OutcomePending with it (ParseResult.Answers), so that the usual hook takes
	// one call to the plugin instead of two. Bridges ignore it.
	AnswerTransactionID string
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

// OTPEvent is a normalized request to deliver a one-time passcode. The host uses
// every field.
type OTPEvent struct {
	// Phone in E.164 form (+ and 7 to 15 digits); the host refuses anything else.
	// Normalize what the vendor sent with the sdk/phone package.
	Phone string
	// OTP is the code: 4 to 10 ASCII digits, kept as a string (leading zeros
	// matter). Check it with sdk/otp. It may be empty only for a voice request
	// whose code cannot be read (FusionAuth 1.65 to 1.66 speak it spelled out):
	// the host's voice policy then refuses it or fails closed, and never texts.
	OTP string
	// Message is the vendor's rendered text, if any. The host texts it as is only
	// when the biometrics engine is down and the policy falls back to it.
	Message string
	// Channel: what the host does with voice is its VOICE_POLICY (refuse, fail
	// closed, or text the link): a link cannot be spoken. Report voice as voice.
	Channel Channel
	// Locale is the vendor's locale, e.g. "EN-US", if sent: the language of the
	// SMS and the page.
	Locale string
	// ExpiresAt is when the vendor's code expires; zero if the vendor did not say.
	// The challenge and its link expire no later, and a code that expires too
	// soon to be typed is refused (ReasonOTPExpired).
	ExpiresAt time.Time
	// TransactionID is the vendor's id for this delivery, if any (Okta eventId,
	// Auth0 correlation_id). The host records it in its audit trail, so an entry
	// can be matched with the vendor's logs. Up to 128 printable ASCII characters;
	// anything else is not recorded.
	TransactionID string
}

// TestPing is a vendor's connectivity check: answer it, never send an SMS.
type TestPing struct{}

// Notice asks the host to text a message that carries no one-time code (an
// account notice: Auth0's blocked_account, a FusionAuth phone verification or
// new-device notice), as is, without a link. Return one only when the operator
// enabled it in the bridge's settings, and only to a host that has the
// FeatureNotices feature (HostHasFeature on Configure's context): otherwise
// refuse the message explicitly (ReasonNotOTP), never drop it silently. The
// host answers it like an OTP event (delivered, pending, or failed with a
// reason), after its destination, country and rate checks.
type Notice struct {
	Phone   string // E.164
	Message string // the text to send, as the vendor rendered it
	// Sender is the vendor's sender for it (Auth0's from), E.164 or
	// alphanumeric, if any; the host may use it where its provider allows.
	Sender string
	Locale string
	// Kind is the vendor's name for the message, e.g. "blocked_account": lower
	// case letters, digits and '_', at most 64; a fixed text, never a value of
	// the request. For logs, metrics and the audit trail.
	Kind          string
	TransactionID string
}

// Rejection is a call the bridge refuses (bad auth, method, media type, malformed
// body, missing field), with the vendor-formatted answer the host sends as is.
type Rejection struct {
	// Reason is why, for the host's metrics and logs.
	Reason Reason
	// Response is the answer, in the vendor's format: never a success (2xx where
	// the vendor reads only the status), built from fixed texts only.
	Response *Response
}

// ParseResult holds exactly one of OTP, TestPing, Rejection and Notice.
type ParseResult struct {
	OTP       *OTPEvent
	TestPing  *TestPing
	Rejection *Rejection
	Notice    *Notice
	// Answers are rendered ahead by the SDK, never by a bridge (see
	// Request.AnswerTransactionID): the host sends one of them instead of
	// calling Respond when the outcome is exactly its kind, with that
	// transaction id and no reason.
	Answers []AnswerAhead
}

// AnswerAhead is Respond's answer to an outcome of kind Kind with the
// request's AnswerTransactionID, no reason and a zero Duration.
type AnswerAhead struct {
	Kind     OutcomeKind
	Response *Response
}

// answerAheadKinds are the outcomes rendered ahead: those of nearly every
// accepted hook.
var answerAheadKinds = []OutcomeKind{OutcomeDelivered, OutcomePending}

// Answer returns the answer rendered ahead for out, if out is exactly what
// it was rendered for: its kind, the transaction id tid the host proposed, no
// reason.
func (r *ParseResult) Answer(out *Outcome, tid string) (*Response, bool) {
	if r == nil || tid == "" || out.TransactionID != tid || out.Reason != ReasonUnspecified {
		return nil, false
	}
	for _, a := range r.Answers {
		if a.Kind == out.Kind && a.Response != nil {
			return a.Response, true
		}
	}
	return nil, false
}

// Reject is a shorthand for a ParseResult holding a rejection.
func Reject(reason Reason, resp *Response) *ParseResult {
	return &ParseResult{Rejection: &Rejection{Reason: reason, Response: resp}}
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
	// OutcomeFailed: the host could not or would not deliver (invalid phone,
	// refused destination, provider error, deadline, overload...). The vendor's
	// failure answer is due; Outcome.Reason says why.
	OutcomeFailed
	// OutcomeRejected: the host refused the call itself before the bridge parsed
	// it (body too large, too slow or unreadable). Outcome.Reason says why.
	OutcomeRejected
	// OutcomeWithheld: the host answers as if delivered, on purpose, and sent
	// nothing: a "fail closed" choice (VOICE_POLICY=fail_closed for a voice
	// request), so that the vendor neither retries nor falls back to delivering
	// the raw code itself. Outcome.Reason says why (ReasonUnsupportedChannel).
	// Render it as the vendor's success (Okta SUCCESSFUL, others 200). The host
	// sends it only to a plugin whose Info has FeatureWithheld.
	OutcomeWithheld
)

var outcomeNames = [...]string{"unspecified", "delivered", "pending", "test_ok", "fallback_delivered", "failed", "rejected", "withheld"}

func (k OutcomeKind) String() string {
	if int(k) < len(outcomeNames) && k >= 0 {
		return outcomeNames[k]
	}
	return "unknown"
}

// Success reports whether k tells the vendor that the code is (being) delivered
// or the ping answered.
func (k OutcomeKind) Success() bool {
	switch k {
	case OutcomeDelivered, OutcomePending, OutcomeTestOK, OutcomeFallbackDelivered, OutcomeWithheld:
		return true
	}
	return false
}

// Outcome is what the host asks a bridge to answer. It holds no text and
// nothing of the request: build the answer from fixed texts.
type Outcome struct {
	Kind OutcomeKind
	// Reason is why, for OutcomeFailed, OutcomeRejected and OutcomeWithheld.
	Reason Reason
	// TransactionID is SMS+'s public id of the delivery ("sp_" and hex), for
	// successes when known. It does not reveal the link.
	TransactionID string
	// Duration is the time spent on the hook so far; zero in an answer
	// rendered ahead (ParseResult.Answers), when it is not known yet: render
	// nothing for it then.
	Duration time.Duration
}

// Response is the vendor-formatted HTTP answer.
type Response struct {
	Status  int
	Headers []Header
	Body    []byte
}

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
