package bridge

// Reason is a stable reason code: why a call was refused (a Rejection, or an
// Outcome of kind OutcomeRejected) or why the host did not deliver (OutcomeFailed).
// Its String is the snake_case code answers, logs and metrics show.
//
// The set only grows. A bridge built with an older SDK may receive a reason it
// does not know: Known reports false, and the bridge answers as for
// ReasonInternal.
type Reason int32

// The values are those of the wire enum smsplus.bridge.v1.Reason.
const (
	ReasonUnspecified Reason = iota

	// The call itself: refused by Parse, or by the host before Parse.

	ReasonUnauthorized       // the credentials are missing or wrong
	ReasonMalformed          // the body is not a valid payload
	ReasonMissingField       // a required field is missing
	ReasonBodyTooLarge       // the body is too large
	ReasonMethod             // not POST
	ReasonMediaType          // the Content-Type is not one the bridge reads
	ReasonRequestTimeout     // the body did not arrive in time (the host's refusal)
	ReasonInvalidPhone       // not a phone number SMS+ can text
	ReasonInvalidOTP         // the code is not 4 to 10 digits
	ReasonNotOTP             // the message carries no one-time code: SMS+ delivers codes only
	ReasonUnsupportedChannel // voice: a link cannot be spoken
	ReasonOTPExpired         // the vendor's code expires before a user could type the phrase
	ReasonCountryNotAllowed  // outside ALLOWED_COUNTRIES; a retry is refused again
	ReasonDestinationRefused // premium rate, unassigned, satellite...: a retry is refused again
	ReasonRateLimited        // a cap on texts was reached; a later retry may pass
	ReasonSMSFailed          // the SMS provider did not accept the message
	ReasonDeadline           // SMS+ ran out of time
	ReasonOverloaded         // SMS+ is overloaded
	ReasonUnavailable        // the bridge's plugin cannot be reached
	ReasonBiometricsOff      // the biometrics engine is down and the policy fails closed
	ReasonInternal           // SMS+ had an internal error
	reasonEnd                // not a reason: the number of values
)

var reasonNames = [...]string{
	ReasonUnspecified:        "unspecified",
	ReasonUnauthorized:       "unauthorized",
	ReasonMalformed:          "malformed_request",
	ReasonMissingField:       "missing_field",
	ReasonBodyTooLarge:       "body_too_large",
	ReasonMethod:             "method_not_allowed",
	ReasonMediaType:          "unsupported_media_type",
	ReasonRequestTimeout:     "request_timeout",
	ReasonInvalidPhone:       "invalid_phone",
	ReasonInvalidOTP:         "invalid_otp",
	ReasonNotOTP:             "not_an_otp",
	ReasonUnsupportedChannel: "unsupported_channel",
	ReasonOTPExpired:         "otp_expired",
	ReasonCountryNotAllowed:  "country_not_allowed",
	ReasonDestinationRefused: "destination_refused",
	ReasonRateLimited:        "rate_limited",
	ReasonSMSFailed:          "sms_failed",
	ReasonDeadline:           "deadline_exceeded",
	ReasonOverloaded:         "overloaded",
	ReasonUnavailable:        "bridge_unavailable",
	ReasonBiometricsOff:      "biometrics_unavailable",
	ReasonInternal:           "internal_error",
}

// String is the stable snake_case code, e.g. "invalid_phone"; "unknown" for a
// reason this SDK does not know.
func (r Reason) String() string {
	if r.Known() || r == ReasonUnspecified {
		return reasonNames[r]
	}
	return "unknown"
}

// Known reports whether r is one of the reasons this SDK defines (not
// ReasonUnspecified).
func (r Reason) Known() bool { return r > ReasonUnspecified && r < reasonEnd }

// Reasons lists every known reason, in wire order.
func Reasons() []Reason {
	out := make([]Reason, 0, int(reasonEnd)-1)
	for r := ReasonUnspecified + 1; r < reasonEnd; r++ {
		out = append(out, r)
	}
	return out
}
