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
	previewSuffix      = "/generatePreview"
	provider           = "SMSPLUS"
	errorDomain        = "smsplus"
)

// Fixed rejection texts. They name fields, never values, so they are safe to
// send back to Okta; Respond recognizes them by exact match.
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

var parseMessages = map[string]bool{
	msgNotConfigured: true, msgUnauthorized: true, msgMethod: true, msgTooLarge: true,
	msgNotUTF8: true, msgNotObject: true, msgBadJSON: true, msgEventType: true,
	msgNoProfile: true, msgNoPhone: true, msgNoOTP: true, msgBadOTP: true, msgBadPhone: true,
	msgMediaType: true, msgDuplicate: true,
}

var _ bridge.Bridge = (*okta)(nil)

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
		ID:           "okta",
		DisplayName:  "Okta telephony inline hook",
		Version:      "0.1.0",
		Capabilities: []string{"sms", "voice", "preview"},
		Deadline:     3 * time.Second, // Okta's inline hook timeout; the host budgets less
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
	EventID     string    `json:"eventId"`
	EventType   *string   `json:"eventType"`
	RequestType string    `json:"requestType"`
	Data        *hookData `json:"data"`
}

type hookData struct {
	Context        *hookContext    `json:"context"`
	UserProfile    *userProfile    `json:"userProfile"`
	MessageProfile *messageProfile `json:"messageProfile"`
}

type hookContext struct {
	Request *struct {
		URL *struct {
			Value string `json:"value"`
		} `json:"url"`
	} `json:"request"`
}

type userProfile struct {
	Login  string `json:"login"`
	UserID string `json:"userId"`
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
	if req == nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgBadJSON), nil
	}
	if req.Method != http.MethodPost {
		return bridge.Reject(http.StatusMethodNotAllowed, bridge.CodeMethod, msgMethod), nil
	}

	// Authenticate before looking at the body.
	cfg := o.cfg.Load()
	if cfg == nil {
		return bridge.Reject(http.StatusUnauthorized, bridge.CodeUnauthorized, msgNotConfigured), nil
	}
	if !auth.HeaderSecret(strings.TrimSpace(req.Header(cfg.header)), cfg.secret) {
		return bridge.Reject(http.StatusUnauthorized, bridge.CodeUnauthorized, msgUnauthorized), nil
	}

	if len(req.Body) > maxBody {
		return bridge.Reject(http.StatusRequestEntityTooLarge, bridge.CodeBodyTooLarge, msgTooLarge), nil
	}
	// Okta always labels its JSON application/json; anything else was not sent
	// by Okta's hook client.
	if payload.RequireJSON(req) != nil {
		return bridge.Reject(http.StatusUnsupportedMediaType, bridge.CodeMediaType, msgMediaType), nil
	}
	var hr hookRequest
	switch err := payload.JSON(req.Body, &hr); {
	case errors.Is(err, payload.ErrNotUTF8):
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgNotUTF8), nil
	case errors.Is(err, payload.ErrNotObject):
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgNotObject), nil
	case errors.Is(err, payload.ErrDuplicate):
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgDuplicate), nil
	case err != nil:
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgBadJSON), nil
	}

	if hr.EventType != nil && *hr.EventType != eventTypeTelephony {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgEventType), nil
	}
	if hr.Data == nil || hr.Data.MessageProfile == nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoProfile), nil
	}
	mp := hr.Data.MessageProfile

	if strings.TrimSpace(mp.PhoneNumber) == "" {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoPhone), nil
	}
	// Okta's own samples omit the + ("9876543210").
	e164, err := phone.Normalize(mp.PhoneNumber, cfg.region)
	if err != nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeInvalidPhone, msgBadPhone), nil
	}

	// otpCode is the source of truth; the template is a conservative fallback.
	code := strings.TrimSpace(mp.OTPCode)
	if code == "" {
		var ok bool
		if code, ok = otp.FromText(mp.MsgTemplate); !ok {
			return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoOTP), nil
		}
	}
	if !otp.Valid(code) {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeInvalidOTP, msgBadOTP), nil
	}

	channel := bridge.ChannelSMS
	if ch := strings.TrimSpace(mp.DeliveryChannel); ch != "" && !strings.EqualFold(ch, "sms") {
		// Okta has documented voice as "CALL", "voice call" and "SMS or voice".
		channel = bridge.ChannelVoice
	}

	var expires time.Time
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(mp.OTPExpires)); err == nil {
		expires = t.UTC()
	}

	var subject string
	if up := hr.Data.UserProfile; up != nil {
		subject = strings.TrimSpace(up.Login)
		if subject == "" {
			subject = strings.TrimSpace(up.UserID)
		}
	}

	meta := map[string]string{}
	if v := strings.TrimSpace(hr.RequestType); v != "" {
		meta["request_type"] = v
	}
	if v := strings.TrimSpace(hr.EventID); v != "" {
		meta["event_id"] = v
	}
	if isPreview(hr.Data) {
		// Okta's Admin Console preview expects a real send; the flag is for logs
		// and policy only.
		meta["preview"] = "true"
	}

	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:         e164,
		OTP:           code,
		Message:       mp.MsgTemplate,
		Channel:       channel,
		Locale:        strings.TrimSpace(mp.Locale),
		ExpiresAt:     expires,
		Subject:       subject,
		TransactionID: strings.TrimSpace(hr.EventID),
		Metadata:      meta,
	}}, nil
}

func isPreview(d *hookData) bool {
	if d.Context == nil || d.Context.Request == nil || d.Context.Request.URL == nil {
		return false
	}
	return strings.HasSuffix(strings.TrimSpace(d.Context.Request.URL.Value), previewSuffix)
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
var causeTexts = map[string]string{
	bridge.CodeUnauthorized:  "The authentication header is missing or wrong",
	bridge.CodeMalformed:     "The request body is not a valid telephony hook payload",
	bridge.CodeMissingField:  "A required field is missing",
	bridge.CodeBodyTooLarge:  "The request body is too large",
	bridge.CodeMethod:        "Only POST is accepted",
	bridge.CodeInvalidPhone:  "The phone number is not a valid destination",
	bridge.CodeInvalidOTP:    "The one-time passcode is not 4 to 10 digits",
	bridge.CodeUnsupported:   "The delivery channel is not supported",
	bridge.CodeSMSFailed:     "The SMS provider did not accept the message",
	bridge.CodeDeadline:      "Delivery did not finish in time",
	bridge.CodeOverloaded:    "SMS+ is overloaded",
	bridge.CodeUnavailable:   "The Okta bridge is unavailable",
	bridge.CodeStoreFailed:   "SMS+ could not store the challenge",
	bridge.CodeInternal:      "SMS+ had an internal error",
	bridge.CodeRateLimited:   "Too many requests for this destination",
	bridge.CodeBiometricsOff: "Biometric verification is unavailable",

	bridge.CodeDestinationRefused: "SMS+ does not text this type of number (premium rate, unassigned, satellite or similar)",
	bridge.CodeCountryNotAllowed:  "SMS+ does not text this country",
}

const (
	summaryFailed   = "SMS+ could not deliver the one-time passcode"
	summaryRejected = "SMS+ rejected the telephony hook request"
	causeUnknown    = "SMS+ could not complete the request"
)

// Respond renders the outcome as Okta's answer. Business failures are HTTP 200
// with Okta's error object, as Okta asks; only rejections of the call itself
// (auth, method, size, malformed) carry a 4xx status. Texts are fixed and never
// hold the OTP, the phone number or the link.
func (o *okta) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	if out == nil {
		out = &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: bridge.CodeInternal}
	}
	switch out.Kind {
	case bridge.OutcomeDelivered:
		return o.success("SUCCESSFUL", out, fmt.Sprintf("duration=%dms", out.Duration.Milliseconds()))
	case bridge.OutcomeFallbackDelivered:
		return o.success("SUCCESSFUL", out, fmt.Sprintf("path=fallback duration=%dms", out.Duration.Milliseconds()))
	case bridge.OutcomeTestOK:
		return o.success("SUCCESSFUL", out, "path=test")
	case bridge.OutcomePending:
		return o.success("PENDING", out, fmt.Sprintf("duration=%dms", out.Duration.Milliseconds()))
	case bridge.OutcomeRejected:
		code := answer.Code(out.Code, bridge.CodeMalformed)
		status := out.Status
		if status < 400 || status > 599 {
			status = rejectionStatus(code)
		}
		resp, err := o.failure(status, summaryRejected, code, out.Message)
		if err == nil && status == http.StatusMethodNotAllowed {
			resp.Headers = append(resp.Headers, bridge.Header{Name: "Allow", Values: []string{http.MethodPost}})
		}
		return resp, err
	default: // OutcomeFailed, and anything the host should not have sent
		code := bridge.CodeInternal
		if out.Kind == bridge.OutcomeFailed {
			code = answer.Code(out.Code, bridge.CodeInternal)
		}
		return o.failure(http.StatusOK, summaryFailed, code, out.Message)
	}
}

func (o *okta) success(status string, out *bridge.Outcome, meta string) (*bridge.Response, error) {
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

func (o *okta) failure(status int, summary, code, message string) (*bridge.Response, error) {
	text, ok := causeTexts[code]
	if !ok {
		text = causeUnknown
	}
	if parseMessages[message] {
		// Our own Parse texts name the field at fault; anything else from the
		// host is replaced by the fixed text above.
		text = message
	}
	cause := errorCause{
		ErrorSummary: text,
		Reason:       strings.ToUpper(code),
		LocationType: "body",
		Location:     "data.messageProfile",
		Domain:       errorDomain,
	}
	if code == bridge.CodeUnauthorized {
		cause.LocationType = "header"
		cause.Location = defaultAuthHeader
		if cfg := o.cfg.Load(); cfg != nil {
			cause.Location = cfg.header
		}
	}
	return answer.JSON(status, errorAnswer{Error: errorObject{
		ErrorSummary: summary,
		ErrorCauses:  []errorCause{cause},
	}})
}

// rejectionStatus is the status for a rejection that did not suggest one.
func rejectionStatus(code string) int {
	switch code {
	case bridge.CodeUnauthorized:
		return http.StatusUnauthorized
	case bridge.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case bridge.CodeMethod:
		return http.StatusMethodNotAllowed
	}
	return http.StatusBadRequest
}
