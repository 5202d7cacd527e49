// Package answer helps a bridge render its answers: JSON bodies, a conventional
// HTTP status per reason for vendors that read only the status, fixed texts per
// reason, and the whole of Parse's rejections and Respond for such vendors.
//
// A failure answer must never hold the OTP, the phone number or the link. The
// safest way to ensure that is the one this package takes: build answers only
// from fixed texts and stable reason codes.
package answer

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// JSON renders v as a JSON answer with the given status. Answers are never cached.
func JSON(status int, v any) (*bridge.Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return &bridge.Response{
		Status: status,
		Headers: []bridge.Header{
			{Name: "Content-Type", Values: []string{"application/json"}},
			{Name: "Cache-Control", Values: []string{"no-store"}},
		},
		Body: body,
	}, nil
}

// Status is the HTTP status for a failure or refusal, for vendors whose only
// signal is the status (any 2xx is success). 4xx means "do not retry, it will
// fail again"; 5xx and 429 mean "retrying may help". A reason this SDK does not
// know is an internal error.
func Status(r bridge.Reason) int {
	switch r {
	case bridge.ReasonUnauthorized:
		return http.StatusUnauthorized
	case bridge.ReasonMethod:
		return http.StatusMethodNotAllowed
	case bridge.ReasonBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case bridge.ReasonMediaType:
		return http.StatusUnsupportedMediaType
	case bridge.ReasonRequestTimeout:
		return http.StatusRequestTimeout
	case bridge.ReasonMalformed, bridge.ReasonMissingField:
		return http.StatusBadRequest
	case bridge.ReasonInvalidPhone, bridge.ReasonInvalidOTP, bridge.ReasonUnsupportedChannel, bridge.ReasonNotOTP,
		bridge.ReasonDestinationRefused, bridge.ReasonCountryNotAllowed, bridge.ReasonOTPExpired:
		// The request is understood and will be refused again: 422 tells the
		// vendor not to retry (a retry loop is what SMS pumping would want).
		return http.StatusUnprocessableEntity
	case bridge.ReasonRateLimited:
		return http.StatusTooManyRequests
	case bridge.ReasonSMSFailed:
		return http.StatusBadGateway
	case bridge.ReasonDeadline:
		return http.StatusGatewayTimeout
	case bridge.ReasonOverloaded, bridge.ReasonUnavailable, bridge.ReasonBiometricsOff:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// texts are fixed, value-free explanations per reason.
var texts = map[bridge.Reason]string{
	bridge.ReasonUnauthorized:       "The credentials are missing or wrong.",
	bridge.ReasonMalformed:          "The request body is not a valid payload.",
	bridge.ReasonMissingField:       "A required field is missing.",
	bridge.ReasonBodyTooLarge:       "The request body is too large.",
	bridge.ReasonMethod:             "Only POST is accepted.",
	bridge.ReasonMediaType:          "The content type is not supported.",
	bridge.ReasonRequestTimeout:     "The request body did not arrive in time.",
	bridge.ReasonInvalidPhone:       "The phone number is not a valid destination.",
	bridge.ReasonInvalidOTP:         "The one-time code is not 4 to 10 digits.",
	bridge.ReasonUnsupportedChannel: "SMS+ delivers codes by SMS only: a link cannot be spoken.",
	bridge.ReasonNotOTP:             "SMS+ delivers one-time codes only.",
	bridge.ReasonOTPExpired:         "The one-time code expires too soon to be delivered.",
	bridge.ReasonSMSFailed:          "The SMS provider did not accept the message.",
	bridge.ReasonDeadline:           "Delivery did not finish in time.",
	bridge.ReasonOverloaded:         "SMS+ is overloaded.",
	bridge.ReasonUnavailable:        "The bridge is unavailable.",
	bridge.ReasonInternal:           "SMS+ had an internal error.",
	bridge.ReasonRateLimited:        "Too many requests for this destination.",
	bridge.ReasonBiometricsOff:      "Biometric verification is unavailable.",

	bridge.ReasonDestinationRefused: "SMS+ does not text this type of number (premium rate, unassigned, satellite or similar).",
	bridge.ReasonCountryNotAllowed:  "SMS+ does not text this country.",
}

// Text is the fixed text for a reason.
func Text(r bridge.Reason) string {
	if t, ok := texts[r]; ok {
		return t
	}
	return "SMS+ could not complete the request."
}

// Retryable reports whether a failure for this reason may succeed if the vendor
// sends the same request again.
func Retryable(r bridge.Reason) bool {
	s := Status(r)
	return s >= 500 || s == http.StatusTooManyRequests
}

// Failure is the reason to answer for a failed or rejected outcome: its own when
// this SDK knows it, else ReasonInternal.
func Failure(out *bridge.Outcome) bridge.Reason {
	if out == nil || !out.Reason.Known() {
		return bridge.ReasonInternal
	}
	return out.Reason
}

// statusAnswer is the body Reject and ByStatus send. Vendors that read only the
// status ignore it; it is there for the admin reading the vendor's logs.
type statusAnswer struct {
	Status        string `json:"status"`
	TransactionID string `json:"transactionId,omitempty"`
	Error         string `json:"error,omitempty"`
	Message       string `json:"message,omitempty"`
	Retryable     *bool  `json:"retryable,omitempty"`
}

// statusJSON renders a statusAnswer; it cannot fail to encode.
func statusJSON(status int, a statusAnswer) *bridge.Response {
	resp, err := JSON(status, a)
	if err != nil {
		panic(err) // strings and a bool always encode
	}
	return resp
}

// Reject is Parse's rejection for vendors whose only signal is the HTTP status:
// the given 4xx/5xx status and a JSON body naming the reason, with text (a fixed
// text of the bridge's that names the field at fault, never a value) and
// "retryable": false.
func Reject(status int, reason bridge.Reason, text string) *bridge.ParseResult {
	retry := false
	return bridge.Reject(reason, statusJSON(status, statusAnswer{Status: "rejected", Error: reason.String(), Message: text, Retryable: &retry}))
}

// ByStatus renders out for vendors whose only signal is the HTTP status, where
// any 2xx means "sent" (Auth0 Actions and SMS gateway, PingOne, CyberArk,
// FusionAuth): 200 for successes; for failures and the host's refusals
// Status(reason), with a JSON body naming the reason and whether a retry may help.
func ByStatus(out *bridge.Outcome) (*bridge.Response, error) {
	if out == nil {
		out = &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInternal}
	}
	if out.Kind.Success() {
		return statusJSON(http.StatusOK, statusAnswer{Status: out.Kind.String(), TransactionID: out.TransactionID}), nil
	}
	reason, state := bridge.ReasonInternal, "failed"
	switch out.Kind {
	case bridge.OutcomeRejected:
		reason, state = Failure(out), "rejected"
	case bridge.OutcomeFailed:
		reason = Failure(out)
	}
	retry := out.Kind != bridge.OutcomeRejected && Retryable(reason)
	return statusJSON(Status(reason), statusAnswer{Status: state, Error: reason.String(), Message: Text(reason), Retryable: &retry}), nil
}
