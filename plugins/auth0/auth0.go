package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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

// Setting names. AUTH0_SECRET is the seed's name; AUTH0_SHARED_SECRET the
// general <ID>_SHARED_SECRET form.
const (
	settingSecret    = "AUTH0_SECRET"
	settingAlias     = "AUTH0_SHARED_SECRET"
	settingBase64    = "AUTH0_SECRET_BASE64"
	settingAudience  = "AUTH0_GATEWAY_AUDIENCE"
	settingJWTMaxAge = "AUTH0_JWT_MAX_AGE_SECONDS"
	settingPrevious  = settingAlias + auth.PreviousSuffix // AUTH0_SHARED_SECRET_PREVIOUS
	settingLength    = "AUTH0_OTP_LENGTH"
	settingNotices   = "AUTH0_NOTICES"
)

// AUTH0_NOTICES values: what to do with a message that carries no code.
const (
	noticesRefuse  = "refuse"
	noticesDeliver = "deliver"
)

const (
	minSecretLen = 16
	maxBody      = 64 << 10
	// Auth0 gives an Action 20 s in all; the legacy gateway waits 30 s. The host
	// budgets its own, shorter time below this.
	deadline = 10 * time.Second
)

// Fixed rejection texts; they name fields, never values.
const (
	msgNotConfigured = "the Auth0 bridge is not configured"
	msgUnauthorized  = "the bearer token is missing or wrong"
	msgMethod        = "only POST is accepted"
	msgTooLarge      = "the request body is too large"
	msgNotUTF8       = "the request body is not valid UTF-8"
	msgNotObject     = "the request body must be a JSON object"
	msgMediaType     = "the content type must be application/json, or text/plain with a JSON body (send the header Content-Type: application/json)"
	msgDuplicate     = "the request body names a field twice, or twice in different letter case"
	msgBadJSON       = "the request body is not a valid Auth0 phone message payload"
	msgNoRecipient   = "recipient is required"
	msgBadPhone      = "recipient is not a phone number"
	msgBadDelivery   = "delivery_method must be text or voice"
	msgNotOTP        = "message_type is a notice without a code (blocked_account, password_breach): SMS+ delivers it only with AUTH0_NOTICES=deliver"
	msgNoCodeType    = "message_type carries no code here: SMS+ delivers one-time codes only, and this message must not be texted in clear"
	msgTwoRecipients = "recipient and to are both set, to different values"
	msgTwoTexts      = "the message text is given under two names with different values"
	msgNoCodeNoDigit = "the message carries no one-time code: SMS+ delivers one-time codes only"
	msgNoCode        = "code is required when the message does not hold exactly one code"
	msgNoText        = "the message text is required"
	msgBadCode       = "code must be 4 to 10 digits"
)

var (
	_ bridge.Bridge   = (*auth0)(nil)
	_ bridge.Exampler = (*auth0)(nil)
)

// auth0 implements bridge.Bridge for Auth0. With the Actions triggers Auth0 runs
// the operator's JavaScript, which calls SMS+; the wire format is the one the
// setup guide's Action sends (docs/setup/auth0.md). The legacy Passwordless SMS
// gateway calls SMS+ directly, with a JWT signed with the shared secret.
type auth0 struct {
	now func() time.Time
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	secret   auth.Rotation
	jwtKeys  [][]byte // one per accepted secret
	audience string
	maxAge   time.Duration // of a legacy gateway JWT
	region   string
	length   int  // AUTH0_OTP_LENGTH; 0 = unknown
	notices  bool // AUTH0_NOTICES=deliver
}

func newAuth0() *auth0 { return &auth0{now: time.Now} }

func (a *auth0) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "auth0",
		DisplayName: "Auth0 custom phone provider and SMS gateway",
		Version:     "0.1.0",
		Deadline:    deadline,
		Settings: []bridge.Setting{
			{Name: settingSecret, Required: true, Secret: true, Description: "The secret the Auth0 Action sends as " +
				`"Authorization: Bearer <secret>" (the Action secret SMSPLUS_SECRET), and the legacy SMS gateway's ` +
				"gateway_authentication.secret that signs its JWT."},
			{Name: settingAlias, Secret: true, Description: "Another name for " + settingSecret + "; set only one."},
			auth.PreviousSetting(settingAlias),
			{Name: settingLength, Description: "The length of Auth0's codes, 4 to 10 (the legacy SMS gateway's " +
				"options.totp.length, the dashboard's OTP Length): used only when a call carries no code field and the code " +
				"is read from the text; a year-like code of that length is then accepted. Default: unset."},
			{Name: settingNotices, Description: "What to do with Auth0 messages that carry no code (blocked_account, and " +
				"password_breach without a code): " + noticesRefuse + " (default: answered 422 not_an_otp, so the Action " +
				"drops it and Auth0 logs a failed delivery) or " + noticesDeliver + " (texted as is, without a link, from " +
				"Auth0's sender when given). change_password carries a reset code and is always protected like a one-time code."},
			{Name: settingBase64, Description: "true when the legacy SMS gateway's secret is base64 encoded " +
				"(gateway_authentication.secret_base64_encoded). Default: false."},
			{Name: settingAudience, Description: "The legacy SMS gateway's gateway_authentication.audience. " +
				"When set, its JWT must carry this aud claim."},
			{Name: settingJWTMaxAge, Description: fmt.Sprintf("How long a legacy SMS gateway JWT is accepted, in seconds: "+
				"its exp must be at most this far ahead and its iat (when present) at most this old, each give or take %d s "+
				"of clock skew. Default: %d.", int(jwtSkew.Seconds()), int(defaultJWTMaxAge.Seconds()))},
			phone.Setting,
		},
	}, nil
}

// Configure validates the settings and reports every problem at once. A failed
// Configure leaves the bridge refusing every call.
func (a *auth0) Configure(ctx context.Context, settings map[string]string) error {
	secret, problems := auth.RotatingSecret(settings, minSecretLen,
		"the secret your Auth0 Action sends (event.secrets.SMSPLUS_SECRET) or the SMS gateway's secret",
		settingPrevious, settingSecret, settingAlias)
	var keys [][]byte
	switch v := strings.ToLower(strings.TrimSpace(settings[settingBase64])); v {
	case "", "false", "0", "no":
		for _, s := range secret.Values() {
			keys = append(keys, []byte(s))
		}
	case "true", "1", "yes":
		for i, s := range secret.Values() {
			key, err := decodeBase64(s)
			if err != nil && s != "" {
				name := settingSecret
				if i == 1 {
					name = settingPrevious
				}
				problems = append(problems, name+" is not valid base64, but "+settingBase64+" is true")
			}
			keys = append(keys, key)
		}
	default:
		problems = append(problems, settingBase64+" must be true or false")
	}
	length, p := otp.Length(settings, settingLength, "the connection's options.totp.length, the dashboard's OTP Length")
	if p != "" {
		problems = append(problems, p)
	}
	notices := false
	switch v := strings.ToLower(strings.TrimSpace(settings[settingNotices])); v {
	case "", noticesRefuse:
	case noticesDeliver:
		notices = true
		if !bridge.HostHasFeature(ctx, bridge.FeatureNotices) {
			problems = append(problems, settingNotices+"="+noticesDeliver+" needs an SMS+ host that delivers notices "+
				"(feature "+bridge.FeatureNotices+"); this one does not: unset it, or upgrade SMS+")
		}
	default:
		problems = append(problems, settingNotices+" must be "+noticesRefuse+" or "+noticesDeliver)
	}
	maxAge := defaultJWTMaxAge
	if v := strings.TrimSpace(settings[settingJWTMaxAge]); v != "" {
		// Compared in seconds: n * time.Second could overflow and wrap.
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > int(maxJWTMaxAge/time.Second) {
			problems = append(problems, fmt.Sprintf("%s must be a whole number of seconds from 1 to %d",
				settingJWTMaxAge, int(maxJWTMaxAge.Seconds())))
		} else {
			maxAge = time.Duration(n) * time.Second
		}
	}
	region, p := phone.RegionFrom(settings)
	if p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		a.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	a.cfg.Store(&config{secret: secret, jwtKeys: keys, audience: strings.TrimSpace(settings[settingAudience]),
		maxAge: maxAge, region: region, length: length, notices: notices})
	return nil
}

// hookBody holds every shape SMS+ accepts from Auth0. All values are strings;
// fields not declared here (action, req) are ignored.
//
//   - SMS+'s Action (docs/auth0.md): recipient, message, code, message_type
//     (otp_verify, otp_enroll, blocked_account, change_password,
//     password_breach), delivery_method (text, voice), locale, from,
//     correlation_id.
//   - Auth0's sample custom-phone-provider Action: recipient, text, code,
//     from, language, action, and message_type holding the delivery method
//     (text or voice); posted as text/plain.
//   - Auth0's Passwordless sample Action: to, from, body.
//   - send-phone-message (legacy MFA) forwarded: recipient, text, code,
//     message_type sms or voice.
//   - The legacy Passwordless SMS gateway: recipient, body, sender.
type hookBody struct {
	Recipient      string `json:"recipient"`
	To             string `json:"to"`
	Message        string `json:"message"` // SMS+'s Action: notification.as_text
	AsText         string `json:"as_text"`
	Text           string `json:"text"` // Auth0's sample Action; send-phone-message
	Body           string `json:"body"` // legacy gateway; Auth0's Passwordless sample
	Code           string `json:"code"`
	MessageType    string `json:"message_type"`    // a notification type, or the channel (sms, text, voice)
	DeliveryMethod string `json:"delivery_method"` // text or voice
	Locale         string `json:"locale"`
	Language       string `json:"language"` // Auth0's sample Action
	From           string `json:"from"`
	Sender         string `json:"sender"` // legacy gateway
	CorrelationID  string `json:"correlation_id"`
}

// Auth0's notification types (event.notification.message_type).
const (
	typeBlockedAccount = "blocked_account"
	typeChangePassword = "change_password"
	typePasswordBreach = "password_breach"
)

func (a *auth0) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req == nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON), nil
	}
	if req.Method != http.MethodPost {
		return answer.Reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod), nil
	}
	cfg := a.cfg.Load()
	if cfg == nil {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured), nil
	}
	if !a.authentic(cfg, req.Header("Authorization")) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized), nil
	}
	if len(req.Body) > maxBody {
		return answer.Reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge), nil
	}
	// SMS+'s Action labels its JSON application/json. Auth0's own sample Action
	// sets no Content-Type, so Node's fetch labels its JSON string
	// text/plain;charset=UTF-8: that label (or none) is accepted too, for a body
	// that is one strict JSON object, from a caller that already proved the
	// secret (docs/security.md).
	if payload.RequireJSONOrText(req) != nil {
		return answer.Reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType), nil
	}
	var h hookBody
	switch err := payload.JSON(req.Body, &h); {
	case errors.Is(err, payload.ErrNotUTF8):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8), nil
	case errors.Is(err, payload.ErrNotObject):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotObject), nil
	case errors.Is(err, payload.ErrDuplicate):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate), nil
	case err != nil:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON), nil
	}

	channel := bridge.ChannelSMS
	kind := ""
	switch mt := strings.ToLower(strings.TrimSpace(h.MessageType)); mt {
	case "sms", "text":
		// send-phone-message forwarded (sms), or Auth0's sample Action, which
		// puts notification.delivery_method here (text).
	case "voice":
		channel = bridge.ChannelVoice
	default:
		kind = mt // "", otp_verify, otp_enroll, or a notice
	}
	switch strings.ToLower(strings.TrimSpace(h.DeliveryMethod)) {
	case "", "text", "sms":
	case "voice":
		channel = bridge.ChannelVoice
	default:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadDelivery), nil
	}

	recipient, ok := same(h.Recipient, h.To)
	if !ok {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgTwoRecipients), nil
	}
	// The custom phone provider's text comes as message (SMS+'s Action), text
	// (Auth0's sample; send-phone-message), as_text, or body (the legacy
	// gateway; Auth0's Passwordless sample). as_voice spells digits apart and
	// is never read.
	text, ok := same(h.Message, h.AsText, h.Text, h.Body)
	if !ok {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgTwoTexts), nil
	}
	if strings.TrimSpace(recipient) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoRecipient), nil
	}
	// Auth0's docs show "+1 399 999 0144"; phone numbers may hold spaces.
	e164, err := phone.Normalize(recipient, cfg.region)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, msgBadPhone), nil
	}
	locale := strings.TrimSpace(firstNonEmpty(h.Locale, h.Language))

	// The code field is the source of truth, whatever the message type: a
	// notification that carries one (change_password's reset code, a
	// password_breach template holding {{code}}) is protected like an OTP.
	code := strings.TrimSpace(h.Code)
	if code == "" {
		switch kind {
		case typeBlockedAccount, typePasswordBreach:
			// blocked_account has no code; password_breach has one only if the
			// admin's template holds it.
			if kind == typePasswordBreach {
				if c, ok := otp.FromTextLength(text, cfg.length); ok {
					code = c
					break
				}
				if otp.MayHoldCode(text) {
					// It may hold a code SMS+ cannot pick out: never texted in clear.
					return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
				}
			}
			return a.notice(cfg, kind, e164, text, firstNonEmpty(h.From, h.Sender), locale, h.CorrelationID)
		case typeChangePassword:
			// A password reset code comes in the code field (SMS+'s Action
			// forwards it); without one the message is neither guessed from
			// its text (it may hold a link's digits) nor texted in clear.
			return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNoCodeType), nil
		case "":
		default:
			if !strings.HasPrefix(kind, "otp_") {
				// A notification type SMS+ does not know, without a code field:
				// never guessed from its text.
				return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNoCodeType), nil
			}
		}
	}
	if code == "" {
		var ok bool
		if code, ok = otp.FromTextLength(text, cfg.length); !ok {
			switch {
			case channel == bridge.ChannelVoice:
				// The host's voice policy answers it (bridge.FeatureVoiceWithoutCode).
				code = ""
			case !otp.HasDigits(text):
				return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNoCodeNoDigit), nil
			default:
				return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
			}
		}
	}
	if code != "" && !otp.Valid(code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidOTP, msgBadCode), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:         e164,
		OTP:           code,
		Message:       text,
		Channel:       channel,
		Locale:        locale,
		TransactionID: strings.TrimSpace(h.CorrelationID),
	}}, nil
}

// notice answers a message without a code: texted as is when the operator
// enabled it (AUTH0_NOTICES=deliver), refused explicitly otherwise (422
// not_an_otp: SMS+'s Action drops it and Auth0 logs the failed delivery).
func (a *auth0) notice(cfg *config, kind, phone, text, sender, locale, txn string) (*bridge.ParseResult, error) {
	if !cfg.notices {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNotOTP), nil
	}
	if strings.TrimSpace(text) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoText), nil
	}
	return &bridge.ParseResult{Notice: &bridge.Notice{
		Phone: phone, Message: text, Sender: strings.TrimSpace(sender), Locale: locale, Kind: kind,
		TransactionID: strings.TrimSpace(txn),
	}}, nil
}

// same returns the one value the non-empty vals agree on; ok is false when two
// of them differ (an ambiguous body).
func same(vals ...string) (string, bool) {
	var v string
	for _, x := range vals {
		if strings.TrimSpace(x) == "" {
			continue
		}
		if v != "" && x != v {
			return "", false
		}
		v = x
	}
	return v, true
}

// authentic accepts the shared secret as a bearer token (the Action) or a JWT
// signed with it (the legacy SMS gateway's gateway_authentication); during a
// rotation, the previous secret too.
func (a *auth0) authentic(cfg *config, header string) bool {
	if cfg.secret.Bearer(header) {
		return true
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.Count(token, ".") != 2 {
		return false
	}
	ok = false
	for _, key := range cfg.jwtKeys {
		if verifyJWT(strings.TrimSpace(token), key, cfg.audience, a.now(), cfg.maxAge) {
			ok = true
		}
	}
	return ok
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// Example renders the call the setup guide's Action makes (docs/setup/auth0.md)
// for want, with the secret as its bearer token.
func (a *auth0) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := a.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	locale := strings.ReplaceAll(strings.TrimSpace(want.Locale), "-", "_")
	if locale == "" {
		locale = "en_US"
	}
	body, err := json.Marshal(map[string]string{
		"recipient":       want.Phone,
		"message":         "Your verification code is " + want.OTP + ". It expires in 5 minutes.",
		"as_voice":        "Your verification code is " + want.OTP,
		"code":            want.OTP,
		"message_type":    "otp_verify",
		"delivery_method": "text",
		"locale":          locale,
		"correlation_id":  fmt.Sprintf("example-%d", a.now().UnixNano()),
	})
	if err != nil {
		return nil, err
	}
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/auth0", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}},
		{Name: "Authorization", Values: []string{"Bearer " + cfg.secret.Current()}},
	}}, nil
}

// Respond answers by status only: the legacy gateway reads nothing else and
// needs exactly 200; the setup guide's Action retries on 5xx and 429 and drops
// the message on other failures. A voice request gets what the host's
// VOICE_POLICY decides: 422 unsupported_channel (refuse), 200 withheld
// (fail_closed), or 200 delivered once the link is texted (sms_link).
func (a *auth0) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
