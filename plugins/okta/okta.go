package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/payload"
	"github.com/smsplus/smsplus/sdk/phone"
)

// Setting names, kept flat so a Node SMS+ .env works unchanged.
const (
	settingSecret = "OKTA_SHARED_SECRET"
	settingHeader = "OKTA_AUTH_HEADER"
)

const (
	defaultAuthHeader = "Authorization"
	minSecretLen      = 16

	// maxBody bounds what Parse decodes. Okta's payloads are a few KB; the host
	// enforces its own limit first, this only keeps the bridge safe on its own.
	maxBody = 256 << 10

	eventTypeTelephony = "com.okta.telephony.provider"
	actionType         = "com.okta.telephony.action"
	provider           = "SMSPLUS"
	errorDomain        = "smsplus"
)

// Fixed rejection texts. They name fields, never values, so they are safe to
// send back to Okta.
const (
	msgNotConfigured = "the Okta bridge is not configured"
	msgUnauthorized  = "the authentication header is missing or wrong"
	msgMethod        = "only POST is accepted"
	msgTooLarge      = "the request body is too large"
	msgNotUTF8       = "the request body is not valid UTF-8"
	msgNotObject     = "the request body must be a JSON object"
	msgBadJSON       = "the request body is not a valid telephony hook payload"
	msgMediaType     = "the content type must be application/json"
	msgDuplicate     = "the request body names a field twice, or twice in different letter case"
	msgEventType     = "eventType must be " + eventTypeTelephony
	msgNoProfile     = "data.messageProfile is required"
	msgNoPhone       = "data.messageProfile.phoneNumber is required"
	msgNoOTP         = "data.messageProfile.otpCode is required"
	msgBadOTP        = "data.messageProfile.otpCode must be 4 to 10 digits"
	msgBadPhone      = "data.messageProfile.phoneNumber is not a phone number"
)

var (
	_ bridge.Bridge   = (*okta)(nil)
	_ bridge.Exampler = (*okta)(nil)
)

// okta implements bridge.Bridge for Okta's telephony inline hook
// (com.okta.telephony.provider). It holds only its configuration; nothing per
// request survives between Parse and Respond.
type okta struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	secret string
	header string
	region string
}

func newOkta() *okta { return &okta{} }

func (o *okta) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "okta",
		DisplayName: "Okta telephony inline hook",
		Version:     "0.1.0",
		Deadline:    3 * time.Second, // Okta's inline hook timeout; the host budgets less
		Settings: []bridge.Setting{
			{
				Name:     settingSecret,
				Required: true,
				Secret:   true,
				Description: "The Authentication secret configured on the Okta inline hook. " +
					`Okta sends it verbatim in the auth header; "<secret>" and "Bearer <secret>" are both accepted.`,
			},
			{
				Name: settingHeader,
				Description: "The Authentication field (header name) configured on the Okta inline hook. " +
					"Default: " + defaultAuthHeader + ".",
			},
			phone.Setting,
		},
	}, nil
}

// Configure validates the settings and reports every problem at once. A failed
// Configure leaves the bridge unconfigured, so Parse rejects every call: a bad
// reload fails closed rather than running on stale or partial settings.
func (o *okta) Configure(_ context.Context, settings map[string]string) error {
	secret, problems := auth.Secret(settings, minSecretLen, "the Authentication secret configured on the Okta inline hook", settingSecret)

	header := strings.TrimSpace(settings[settingHeader])
	if header == "" {
		header = defaultAuthHeader
	} else if !auth.ValidHeaderName(header) {
		problems = append(problems, fmt.Sprintf("%s %q is not a valid HTTP header name: use letters, digits and '-' only, e.g. %s or X-Okta-Secret", settingHeader, header, defaultAuthHeader))
	}
	region, p := phone.RegionFrom(settings)
	if p != "" {
		problems = append(problems, p)
	}

	if len(problems) > 0 {
		o.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	o.cfg.Store(&config{secret: secret, header: header, region: region})
	return nil
}

// hookRequest holds the parts of Okta's telephony payload the bridge reads.
// Every value Okta sends is a string; a value of another JSON type is a
// malformed request. Fields not declared here are ignored whatever their type.
type hookRequest struct {
	EventID   string    `json:"eventId"`
	EventType *string   `json:"eventType"`
	Data      *hookData `json:"data"`
}

type hookData struct {
	MessageProfile *messageProfile `json:"messageProfile"`
}

type messageProfile struct {
	MsgTemplate     string `json:"msgTemplate"`
	PhoneNumber     string `json:"phoneNumber"`
	OTPExpires      string `json:"otpExpires"`
	DeliveryChannel string `json:"deliveryChannel"`
	OTPCode         string `json:"otpCode"`
	Locale          string `json:"locale"`
}

func (o *okta) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	cfg := o.cfg.Load()
	reject := func(status int, reason bridge.Reason, text string) (*bridge.ParseResult, error) {
		return bridge.Reject(reason, failure(cfg, status, summaryRejected, reason, text)), nil
	}
	if req == nil {
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON)
	}
	if req.Method != http.MethodPost {
		return reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod)
	}

	// Authenticate before looking at the body.
	if cfg == nil {
		return reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured)
	}
	if !auth.HeaderSecret(strings.TrimSpace(req.Header(cfg.header)), cfg.secret) {
		return reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized)
	}

	if len(req.Body) > maxBody {
		return reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge)
	}
	// Okta always labels its JSON application/json; anything else was not sent
	// by Okta's hook client.
	if payload.RequireJSON(req) != nil {
		return reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType)
	}
	var hr hookRequest
	switch err := payload.JSON(req.Body, &hr); {
	case errors.Is(err, payload.ErrNotUTF8):
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8)
	case errors.Is(err, payload.ErrNotObject):
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotObject)
	case errors.Is(err, payload.ErrDuplicate):
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate)
	case err != nil:
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON)
	}

	if hr.EventType != nil && *hr.EventType != eventTypeTelephony {
		return reject(http.StatusBadRequest, bridge.ReasonMalformed, msgEventType)
	}
	if hr.Data == nil || hr.Data.MessageProfile == nil {
		return reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoProfile)
	}
	mp := hr.Data.MessageProfile

	if strings.TrimSpace(mp.PhoneNumber) == "" {
		return reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoPhone)
	}
	// Okta's own samples omit the + ("9876543210").
	e164, err := phone.Normalize(mp.PhoneNumber, cfg.region)
	if err != nil {
		return reject(http.StatusBadRequest, bridge.ReasonInvalidPhone, msgBadPhone)
	}

	// otpCode is the source of truth; the template is a conservative fallback.
	code := strings.TrimSpace(mp.OTPCode)
	if code == "" {
		var ok bool
		if code, ok = otp.FromText(mp.MsgTemplate); !ok {
			return reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoOTP)
		}
	}
	if !otp.Valid(code) {
		return reject(http.StatusBadRequest, bridge.ReasonInvalidOTP, msgBadOTP)
	}

	channel := bridge.ChannelSMS
	if ch := strings.TrimSpace(mp.DeliveryChannel); ch != "" && !strings.EqualFold(ch, "sms") {
		// Okta has documented voice as "CALL", "voice call" and "SMS or voice".
		channel = bridge.ChannelVoice
	}

	// otpExpires bounds the link: SMS+ never shows a code Okta no longer takes.
	// An unreadable expiry is left out (the host's own TTL applies).
	var expires time.Time
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(mp.OTPExpires)); err == nil {
		expires = t.UTC()
	}

	// Okta's Admin Console preview (a .../generatePreview request URL) expects a
	// real send, and gets one.
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:         e164,
		OTP:           code,
		Message:       mp.MsgTemplate,
		Channel:       channel,
		Locale:        strings.TrimSpace(mp.Locale),
		ExpiresAt:     expires,
		TransactionID: strings.TrimSpace(hr.EventID),
	}}, nil
}

// Okta's answer shapes (telephony hook reference). Only type and
// value[].status are required by Okta; the rest are optional strings.
type actionAnswer struct {
	Commands []command `json:"commands"`
}

type command struct {
	Type  string   `json:"type"`
	Value []action `json:"value"`
}

type action struct {
	Status              string `json:"status"`
	Provider            string `json:"provider,omitempty"`
	TransactionID       string `json:"transactionId,omitempty"`
	TransactionMetadata string `json:"transactionMetadata,omitempty"`
}

type errorAnswer struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	ErrorSummary string       `json:"errorSummary"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
	Reason       string `json:"reason"`
	LocationType string `json:"locationType"`
	Location     string `json:"location"`
	Domain       string `json:"domain"`
}

// causeTexts are the fixed, value-free texts sent to Okta per reason code.
var causeTexts = map[bridge.Reason]string{
	bridge.ReasonUnauthorized:       "The authentication header is missing or wrong",
	bridge.ReasonMalformed:          "The request body is not a valid telephony hook payload",
	bridge.ReasonMissingField:       "A required field is missing",
	bridge.ReasonBodyTooLarge:       "The request body is too large",
	bridge.ReasonMethod:             "Only POST is accepted",
	bridge.ReasonInvalidPhone:       "The phone number is not a valid destination",
	bridge.ReasonInvalidOTP:         "The one-time passcode is not 4 to 10 digits",
	bridge.ReasonUnsupportedChannel: "The delivery channel is not supported",
	bridge.ReasonSMSFailed:          "The SMS provider did not accept the message",
	bridge.ReasonDeadline:           "Delivery did not finish in time",
	bridge.ReasonOverloaded:         "SMS+ is overloaded",
	bridge.ReasonUnavailable:        "The Okta bridge is unavailable",
	bridge.ReasonInternal:           "SMS+ had an internal error",
	bridge.ReasonRateLimited:        "Too many requests for this destination",
	bridge.ReasonBiometricsOff:      "Biometric verification is unavailable",
	bridge.ReasonMediaType:          "The content type must be application/json",
	bridge.ReasonRequestTimeout:     "The request body did not arrive in time",
	bridge.ReasonNotOTP:             "The message carries no one-time passcode",
	bridge.ReasonOTPExpired:         "The one-time passcode expires too soon to be delivered",

	bridge.ReasonDestinationRefused: "SMS+ does not text this type of number (premium rate, unassigned, satellite or similar)",
	bridge.ReasonCountryNotAllowed:  "SMS+ does not text this country",
}

const (
	summaryFailed   = "SMS+ could not deliver the one-time passcode"
	summaryRejected = "SMS+ rejected the telephony hook request"
	causeUnknown    = "SMS+ could not complete the request"
)

// Respond renders the outcome as Okta's answer. Business failures are HTTP 200
// with Okta's error object, as Okta asks; only the host's refusals of the call
// itself (body too large, too slow, unreadable) carry a 4xx status. Texts are
// fixed and never hold the OTP, the phone number or the link.
func (o *okta) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	if out == nil {
		out = &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInternal}
	}
	ms := out.Duration.Milliseconds()
	switch out.Kind {
	case bridge.OutcomeDelivered:
		return success("SUCCESSFUL", out, fmt.Sprintf("duration=%dms", ms))
	case bridge.OutcomeFallbackDelivered:
		return success("SUCCESSFUL", out, fmt.Sprintf("path=fallback duration=%dms", ms))
	case bridge.OutcomeTestOK:
		return success("SUCCESSFUL", out, "path=test")
	case bridge.OutcomePending:
		return success("PENDING", out, fmt.Sprintf("duration=%dms", ms))
	case bridge.OutcomeRejected:
		reason := answer.Failure(out)
		return failure(o.cfg.Load(), rejectionStatus(reason), summaryRejected, reason, ""), nil
	default: // OutcomeFailed, and anything the host should not have sent
		reason := bridge.ReasonInternal
		if out.Kind == bridge.OutcomeFailed {
			reason = answer.Failure(out)
		}
		return failure(o.cfg.Load(), http.StatusOK, summaryFailed, reason, ""), nil
	}
}

func success(status string, out *bridge.Outcome, meta string) (*bridge.Response, error) {
	return answer.JSON(http.StatusOK, actionAnswer{Commands: []command{{
		Type: actionType,
		Value: []action{{
			Status:              status,
			Provider:            provider,
			TransactionID:       out.TransactionID,
			TransactionMetadata: meta,
		}},
	}}})
}

// failure renders Okta's error object: text when given (Parse's own texts name
// the field at fault), else the fixed text for the reason.
func failure(cfg *config, status int, summary string, reason bridge.Reason, text string) *bridge.Response {
	if text == "" {
		if text = causeTexts[reason]; text == "" {
			text = causeUnknown
		}
	}
	cause := errorCause{
		ErrorSummary: text,
		Reason:       strings.ToUpper(reason.String()),
		LocationType: "body",
		Location:     "data.messageProfile",
		Domain:       errorDomain,
	}
	if reason == bridge.ReasonUnauthorized {
		cause.LocationType = "header"
		cause.Location = defaultAuthHeader
		if cfg != nil {
			cause.Location = cfg.header
		}
	}
	resp, err := answer.JSON(status, errorAnswer{Error: errorObject{ErrorSummary: summary, ErrorCauses: []errorCause{cause}}})
	if err != nil {
		panic(err) // fixed strings always encode
	}
	if status == http.StatusMethodNotAllowed {
		resp.Headers = append(resp.Headers, bridge.Header{Name: "Allow", Values: []string{http.MethodPost}})
	}
	return resp
}

// rejectionStatus is the status of the host's refusal of a call.
func rejectionStatus(r bridge.Reason) int {
	switch r {
	case bridge.ReasonUnauthorized:
		return http.StatusUnauthorized
	case bridge.ReasonBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case bridge.ReasonMethod:
		return http.StatusMethodNotAllowed
	case bridge.ReasonRequestTimeout:
		return http.StatusRequestTimeout
	case bridge.ReasonMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}
