package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
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

	otpMinDigits = 4
	otpMaxDigits = 10
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
	msgEventType     = "eventType must be " + eventTypeTelephony
	msgNoProfile     = "data.messageProfile is required"
	msgNoPhone       = "data.messageProfile.phoneNumber is required"
	msgNoOTP         = "data.messageProfile.otpCode is required"
	msgBadOTP        = "data.messageProfile.otpCode must be 4 to 10 digits"
)

var parseMessages = map[string]bool{
	msgNotConfigured: true, msgUnauthorized: true, msgMethod: true, msgTooLarge: true,
	msgNotUTF8: true, msgNotObject: true, msgBadJSON: true, msgEventType: true,
	msgNoProfile: true, msgNoPhone: true, msgNoOTP: true, msgBadOTP: true,
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
		},
	}, nil
}

// Configure validates the settings and reports every problem at once. A failed
// Configure leaves the bridge unconfigured, so Parse rejects every call: a bad
// reload fails closed rather than running on stale or partial settings.
func (o *okta) Configure(_ context.Context, settings map[string]string) error {
	var problems []string

	secret := strings.TrimSpace(settings[settingSecret])
	switch {
	case secret == "":
		problems = append(problems, settingSecret+" is required: set it to the Authentication secret configured on the Okta inline hook")
	case utf8.RuneCountInString(secret) < minSecretLen:
		problems = append(problems, fmt.Sprintf("%s is shorter than %d characters: anyone who can reach the hook URL could guess it; use a long random value (e.g. openssl rand -hex 32) on both Okta and SMS+", settingSecret, minSecretLen))
	}

	header := strings.TrimSpace(settings[settingHeader])
	if header == "" {
		header = defaultAuthHeader
	} else if !isToken(header) {
		problems = append(problems, fmt.Sprintf("%s %q is not a valid HTTP header name: use letters, digits and '-' only, e.g. %s or X-Okta-Secret", settingHeader, header, defaultAuthHeader))
	}

	if len(problems) > 0 {
		o.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	o.cfg.Store(&config{secret: secret, header: header})
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

	body := req.Body
	if len(body) > maxBody {
		return bridge.Reject(http.StatusRequestEntityTooLarge, bridge.CodeBodyTooLarge, msgTooLarge), nil
	}
	if !utf8.Valid(body) {
		// encoding/json would silently turn bad bytes into U+FFFD.
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgNotUTF8), nil
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		// Also catches a bare null, which would decode into a zero struct.
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgNotObject), nil
	}
	var hr hookRequest
	if err := decodeOne(body, &hr); err != nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgBadJSON), nil
	}

	if hr.EventType != nil && *hr.EventType != eventTypeTelephony {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgEventType), nil
	}
	if hr.Data == nil || hr.Data.MessageProfile == nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoProfile), nil
	}
	mp := hr.Data.MessageProfile

	// The host normalizes and validates the number; Okta's own samples omit the +.
	phone := strings.TrimSpace(mp.PhoneNumber)
	if phone == "" {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoPhone), nil
	}

	// otpCode is the source of truth; the template is a conservative fallback.
	otp := strings.TrimSpace(mp.OTPCode)
	if otp == "" {
		var ok bool
		if otp, ok = otpFromTemplate(mp.MsgTemplate); !ok {
			return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoOTP), nil
		}
	}
	if !isOTP(otp) {
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
		Phone:         phone,
		OTP:           otp,
		Message:       mp.MsgTemplate,
		Channel:       channel,
		Locale:        strings.TrimSpace(mp.Locale),
		ExpiresAt:     expires,
		Subject:       subject,
		TransactionID: strings.TrimSpace(hr.EventID),
		Metadata:      meta,
	}}, nil
}

// decodeOne decodes exactly one JSON value into v and refuses anything but
// whitespace after it.
func decodeOne(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON object")
	}
	return nil
}

func isPreview(d *hookData) bool {
	if d.Context == nil || d.Context.Request == nil || d.Context.Request.URL == nil {
		return false
	}
	return strings.HasSuffix(strings.TrimSpace(d.Context.Request.URL.Value), previewSuffix)
}

func isOTP(s string) bool {
	if len(s) < otpMinDigits || len(s) > otpMaxDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// otpFromTemplate finds the code in Okta's rendered message. It answers only
// when the text holds exactly one standalone run of 4 to 10 ASCII digits, that
// is a run not glued to letters or other digits and not part of a number such
// as 2026-03-02, 10:30 or 1,000. A year-like run (19xx, 20xx) is refused when
// other digits appear in the text. Anything unclear yields false: the host then
// rejects the request instead of texting the wrong code.
func otpFromTemplate(tmpl string) (string, bool) {
	runs := digitRuns(tmpl)
	var candidates []string
	for _, r := range runs {
		if r.standalone && len(r.digits) >= otpMinDigits && len(r.digits) <= otpMaxDigits {
			candidates = append(candidates, r.digits)
		}
	}
	if len(candidates) != 1 {
		return "", false
	}
	c := candidates[0]
	if len(runs) > 1 && len(c) == 4 && (strings.HasPrefix(c, "19") || strings.HasPrefix(c, "20")) {
		return "", false
	}
	return c, true
}

type digitRun struct {
	digits     string
	standalone bool
}

// digitRuns lists the maximal runs of ASCII digits in s, in order.
func digitRuns(s string) []digitRun {
	var runs []digitRun
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[i:])
		runs = append(runs, digitRun{
			digits: s[start:i],
			standalone: (start == 0 || !joins(before, s[:start], true)) &&
				(i == len(s) || !joins(after, s[i:], false)),
		})
	}
	return runs
}

// joins reports whether the rune r next to a digit run ties the run to more
// text: a letter, a digit (ASCII or not), an underscore, or a number separator
// that has another digit on its far side. rest is the text on that side of the
// run, starting (after=false) or ending (before=true) with r.
func joins(r rune, rest string, before bool) bool {
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_' {
		return true
	}
	switch r {
	case '-', '.', ',', ':', '/':
		// A separator counts only when a digit is on its far side.
		if before {
			return len(rest) >= 2 && isDigit(rest[len(rest)-2])
		}
		return len(rest) >= 2 && isDigit(rest[1])
	}
	return false
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// isToken reports whether s is an RFC 9110 token, the syntax of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
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
		code := safeCode(out.Code, bridge.CodeMalformed)
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
			code = safeCode(out.Code, bridge.CodeInternal)
		}
		return o.failure(http.StatusOK, summaryFailed, code, out.Message)
	}
}

func (o *okta) success(status string, out *bridge.Outcome, meta string) (*bridge.Response, error) {
	return jsonResponse(http.StatusOK, actionAnswer{Commands: []command{{
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
	return jsonResponse(status, errorAnswer{Error: errorObject{
		ErrorSummary: summary,
		ErrorCauses:  []errorCause{cause},
	}})
}

func jsonResponse(status int, v any) (*bridge.Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode okta answer: %w", err)
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

// safeCode keeps a host-supplied reason code only if it looks like one of the
// stable snake_case codes, so nothing else can reach Okta through it.
func safeCode(code, fallback string) string {
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
