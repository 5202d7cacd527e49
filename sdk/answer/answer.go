// Package answer helps a bridge render its Respond answers: JSON bodies, a
// conventional HTTP status per reason code for vendors that read only the status,
// and fixed texts that never carry what the host put in an Outcome's message.
//
// A failure answer must never hold the OTP, the phone number or the link. The
// safest way to ensure that is the one this package takes: build answers only from
// fixed texts and stable codes, never from Outcome.Message or Outcome.Metadata.
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

// Status is the HTTP status for a failed or rejected outcome, for vendors whose
// only signal is the status (any 2xx is success). 4xx means "do not retry, it
// will fail again"; 5xx and 429 mean "retrying may help".
func Status(code string) int {
	switch code {
	case bridge.CodeUnauthorized:
		return http.StatusUnauthorized
	case bridge.CodeMethod:
		return http.StatusMethodNotAllowed
	case bridge.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case bridge.CodeMediaType:
		return http.StatusUnsupportedMediaType
	case bridge.CodeMalformed, bridge.CodeMissingField:
		return http.StatusBadRequest
	case bridge.CodeInvalidPhone, bridge.CodeInvalidOTP, bridge.CodeUnsupported, bridge.CodeNotOTP,
		bridge.CodeDestinationRefused, bridge.CodeCountryNotAllowed:
		// The request is understood and will be refused again: 422 tells the
		// vendor not to retry (a retry loop is what SMS pumping would want).
		return http.StatusUnprocessableEntity
	case bridge.CodeRateLimited:
		return http.StatusTooManyRequests
	case bridge.CodeSMSFailed:
		return http.StatusBadGateway
	case bridge.CodeDeadline:
		return http.StatusGatewayTimeout
	case bridge.CodeOverloaded, bridge.CodeUnavailable, bridge.CodeStoreFailed, bridge.CodeBiometricsOff:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// RejectionStatus is the status for a rejected outcome: the one the rejection
// suggested when it is a 4xx or 5xx, else Status(code).
func RejectionStatus(out *bridge.Outcome, code string) int {
	if out != nil && out.Status >= 400 && out.Status <= 599 {
		return out.Status
	}
	return Status(code)
}

// texts are fixed, value-free explanations per reason code.
var texts = map[string]string{
	bridge.CodeUnauthorized:  "The credentials are missing or wrong.",
	bridge.CodeMalformed:     "The request body is not a valid payload.",
	bridge.CodeMissingField:  "A required field is missing.",
	bridge.CodeBodyTooLarge:  "The request body is too large.",
	bridge.CodeMethod:        "Only POST is accepted.",
	bridge.CodeMediaType:     "The content type is not supported.",
	bridge.CodeInvalidPhone:  "The phone number is not a valid destination.",
	bridge.CodeInvalidOTP:    "The one-time code is not 4 to 10 digits.",
	bridge.CodeUnsupported:   "SMS+ delivers codes by SMS only: a link cannot be spoken.",
	bridge.CodeNotOTP:        "SMS+ delivers one-time codes only.",
	bridge.CodeSMSFailed:     "The SMS provider did not accept the message.",
	bridge.CodeDeadline:      "Delivery did not finish in time.",
	bridge.CodeOverloaded:    "SMS+ is overloaded.",
	bridge.CodeUnavailable:   "The bridge is unavailable.",
	bridge.CodeStoreFailed:   "SMS+ could not store the challenge.",
	bridge.CodeInternal:      "SMS+ had an internal error.",
	bridge.CodeRateLimited:   "Too many requests for this destination.",
	bridge.CodeBiometricsOff: "Biometric verification is unavailable.",

	bridge.CodeDestinationRefused: "SMS+ does not text this type of number (premium rate, unassigned, satellite or similar).",
	bridge.CodeCountryNotAllowed:  "SMS+ does not text this country.",
}

// Text is the fixed text for a reason code.
func Text(code string) string {
	if t, ok := texts[code]; ok {
		return t
	}
	return "SMS+ could not complete the request."
}

// Code keeps a host-supplied reason code only if it has the shape of the stable
// snake_case codes, so nothing else can reach the vendor through it.
func Code(code, fallback string) string {
	if code == "" || len(code) > 64 {
		return fallback
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return fallback
		}
	}
	return code
}

// Retryable reports whether a failure with this code may succeed if the vendor
// sends the same request again.
func Retryable(code string) bool {
	s := Status(code)
	return s >= 500 || s == http.StatusTooManyRequests
}

// Message is the text to send for a rejection or failure: the bridge's own fixed
// text when the outcome carries one of them (Parse put it in its rejection, and
// it names the field at fault), else Text(code). Anything else the host wrote is
// dropped.
func Message(code, msg string, own map[string]bool) string {
	if own[msg] {
		return msg
	}
	return Text(code)
}

// statusAnswer is the body ByStatus sends. Vendors that read only the status
// ignore it; it is there for the admin reading the vendor's logs.
type statusAnswer struct {
	Status        string `json:"status"`
	TransactionID string `json:"transactionId,omitempty"`
	Error         string `json:"error,omitempty"`
	Message       string `json:"message,omitempty"`
	Retryable     *bool  `json:"retryable,omitempty"`
}

// ByStatus renders out for vendors whose only signal is the HTTP status, where
// any 2xx means "sent" (Auth0 Actions and SMS gateway, PingOne, CyberArk,
// FusionAuth): 200 for successes; for failures and rejections Status(code), with
// a JSON body naming the code and whether a retry may help. own holds the
// bridge's fixed rejection texts (see Message).
func ByStatus(out *bridge.Outcome, own map[string]bool) (*bridge.Response, error) {
	if out == nil {
		out = &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeInternal}
	}
	switch out.Kind {
	case bridge.OutcomeDelivered, bridge.OutcomePending, bridge.OutcomeTestOK, bridge.OutcomeFallbackDelivered:
		return JSON(http.StatusOK, statusAnswer{Status: out.Kind.String(), TransactionID: out.TransactionID})
	case bridge.OutcomeRejected:
		code := Code(out.Code, bridge.CodeMalformed)
		retry := false
		return JSON(RejectionStatus(out, code), statusAnswer{Status: "rejected", Error: code, Message: Message(code, out.Message, own), Retryable: &retry})
	}
	code := bridge.CodeInternal
	if out.Kind == bridge.OutcomeFailed {
		code = Code(out.Code, bridge.CodeInternal)
	}
	retry := Retryable(code)
	return JSON(Status(code), statusAnswer{Status: "failed", Error: code, Message: Message(code, out.Message, own), Retryable: &retry})
}
