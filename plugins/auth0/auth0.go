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
	msgMediaType     = "the content type must be application/json (send the header Content-Type: application/json)"
	msgDuplicate     = "the request body names a field twice, or twice in different letter case"
	msgBadJSON       = "the request body is not a valid Auth0 phone message payload"
	msgNoRecipient   = "recipient is required"
	msgBadPhone      = "recipient is not a phone number"
	msgBadDelivery   = "delivery_method must be text or voice"
	msgNotOTP        = "message_type is not an OTP message (otp_verify, otp_enroll): SMS+ delivers one-time codes only"
	msgNoCodeNoDigit = "the message carries no one-time code: SMS+ delivers one-time codes only"
	msgNoCode        = "code is required when the message does not hold exactly one code"
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
	secret   string
	jwtKey   []byte
	audience string
	maxAge   time.Duration // of a legacy gateway JWT
	region   string
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
func (a *auth0) Configure(_ context.Context, settings map[string]string) error {
	secret, problems := auth.Secret(settings, minSecretLen,
		"the secret your Auth0 Action sends (event.secrets.SMSPLUS_SECRET) or the SMS gateway's secret", settingSecret, settingAlias)
	key := []byte(secret)
	switch v := strings.ToLower(strings.TrimSpace(settings[settingBase64])); v {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		var err error
		if key, err = decodeBase64(secret); err != nil && secret != "" {
			problems = append(problems, settingSecret+" is not valid base64, but "+settingBase64+" is true")
		}
	default:
		problems = append(problems, settingBase64+" must be true or false")
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
	a.cfg.Store(&config{secret: secret, jwtKey: key, audience: strings.TrimSpace(settings[settingAudience]),
		maxAge: maxAge, region: region})
	return nil
}

// hookBody holds every shape SMS+ accepts from Auth0. All values are strings;
// fields not declared here are ignored.
type hookBody struct {
	Recipient      string `json:"recipient"`
	Message        string `json:"message"` // custom-phone-provider: notification.as_text
	Text           string `json:"text"`    // send-phone-message: message_options.text
	Body           string `json:"body"`    // legacy Passwordless SMS gateway
	Code           string `json:"code"`
	MessageType    string `json:"message_type"`    // otp_verify, otp_enroll, ...; or sms / voice (send-phone-message)
	DeliveryMethod string `json:"delivery_method"` // text or voice
	Locale         string `json:"locale"`
	CorrelationID  string `json:"correlation_id"`
}

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
	// Both callers send JSON labelled application/json: the setup guide's Action
	// sets the header, and the legacy gateway posts JSON. Auth0's own sample
	// Action sets none (fetch then labels the string text/plain); the answer
	// names the header to add.
	if payload.RequireJSON(req) != nil {
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
	mt := strings.ToLower(strings.TrimSpace(h.MessageType))
	switch {
	case mt == "sms" || mt == "voice":
		// send-phone-message (legacy MFA) forwarded: message_type is the channel.
		if mt == "voice" {
			channel = bridge.ChannelVoice
		}
	case mt == "" || strings.HasPrefix(mt, "otp_"):
	default:
		// blocked_account, change_password, password_breach: no code to protect.
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNotOTP), nil
	}
	switch strings.ToLower(strings.TrimSpace(h.DeliveryMethod)) {
	case "", "text", "sms":
	case "voice":
		channel = bridge.ChannelVoice
	default:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadDelivery), nil
	}

	// The custom phone provider sends message, send-phone-message text, the
	// legacy Passwordless SMS gateway body.
	text := firstNonEmpty(h.Message, h.Text, h.Body)
	if strings.TrimSpace(h.Recipient) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoRecipient), nil
	}
	// Auth0's docs show "+1 399 999 0144"; phone numbers may hold spaces.
	e164, err := phone.Normalize(h.Recipient, cfg.region)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, msgBadPhone), nil
	}

	// The code field is the source of truth; the text only a fallback (the legacy
	// gateway sends nothing else). as_voice spells digits apart and is never read.
	code := strings.TrimSpace(h.Code)
	if code == "" {
		var ok bool
		if code, ok = otp.FromText(text); !ok {
			if !otp.HasDigits(text) {
				return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNoCodeNoDigit), nil
			}
			return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
		}
	}
	if !otp.Valid(code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidOTP, msgBadCode), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:         e164,
		OTP:           code,
		Message:       text,
		Channel:       channel,
		Locale:        strings.TrimSpace(h.Locale),
		TransactionID: strings.TrimSpace(h.CorrelationID),
	}}, nil
}

// authentic accepts the shared secret as a bearer token (the Action) or a JWT
// signed with it (the legacy SMS gateway's gateway_authentication).
func (a *auth0) authentic(cfg *config, header string) bool {
	if auth.Bearer(header, cfg.secret) {
		return true
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.Count(token, ".") != 2 {
		return false
	}
	return verifyJWT(strings.TrimSpace(token), cfg.jwtKey, cfg.audience, a.now(), cfg.maxAge)
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
		{Name: "Authorization", Values: []string{"Bearer " + cfg.secret}},
	}}, nil
}

// Respond answers by status only: the legacy gateway reads nothing else and
// needs exactly 200; the setup guide's Action retries on 5xx and 429 and drops
// the message on other failures. A voice request is refused by the host
// (unsupported_channel) and so answered 422: a link cannot be spoken.
func (a *auth0) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
