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

// Setting names. FUSIONAUTH_PASS is the seed's name; FUSIONAUTH_SHARED_SECRET
// the general <ID>_SHARED_SECRET form.
const (
	settingSecret = "FUSIONAUTH_PASS"
	settingAlias  = "FUSIONAUTH_SHARED_SECRET"
	settingUser   = "FUSIONAUTH_USER"
	settingHeader = "FUSIONAUTH_AUTH_HEADER"
)

const (
	defaultUser  = "fusionauth"
	minSecretLen = 16
	maxBody      = 64 << 10
	// The messenger's readTimeout is admin-set; the setup guide asks for 5000 ms.
	deadline = 5 * time.Second
)

// Fixed rejection texts; they name fields, never values.
const (
	msgNotConfigured = "the FusionAuth bridge is not configured"
	msgUnauthorized  = "the credentials are missing or wrong"
	msgMethod        = "only POST is accepted"
	msgTooLarge      = "the request body is too large"
	msgNotUTF8       = "the request body is not valid UTF-8"
	msgNotObject     = "the request body must be a JSON object"
	msgMediaType     = "the content type must be application/json"
	msgDuplicate     = "the request body names a field twice, or twice in different letter case"
	msgBadJSON       = "the request body is not a valid Generic Messenger payload"
	msgNoPhone       = "phoneNumber is required"
	msgBadPhone      = "phoneNumber is not a phone number"
	msgBadType       = "type must be SMS or Voice"
	msgNoText        = "code or textMessage is required"
	msgNoCode        = "code is required when the message does not hold exactly one code (FusionAuth 1.67+ sends it)"
	msgBadCode       = "code must be 4 to 10 digits"
)

var ownTexts = map[string]bool{
	msgNotConfigured: true, msgUnauthorized: true, msgMethod: true, msgTooLarge: true, msgNotUTF8: true,
	msgNotObject: true, msgBadJSON: true, msgNoPhone: true, msgBadPhone: true, msgBadType: true,
	msgNoText: true, msgNoCode: true, msgBadCode: true,
	msgMediaType: true, msgDuplicate: true,
}

var _ bridge.Bridge = (*fusionAuth)(nil)

// fusionAuth implements bridge.Bridge for FusionAuth's Generic Messenger.
type fusionAuth struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	user, pass, header, region string
}

func newFusionAuth() *fusionAuth { return &fusionAuth{} }

func (f *fusionAuth) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:           "fusionauth",
		DisplayName:  "FusionAuth Generic Messenger",
		Version:      "0.1.0",
		Capabilities: []string{"sms", "voice", "test_ping"},
		Deadline:     deadline,
		Settings: []bridge.Setting{
			{Name: settingSecret, Required: true, Secret: true, Description: "The messenger's Basic auth password " +
				"(httpAuthenticationPassword), or the value of its custom auth header."},
			{Name: settingAlias, Secret: true, Description: "Another name for " + settingSecret + "; set only one."},
			{Name: settingUser, Description: "The messenger's Basic auth username. Default: " + defaultUser + "."},
			{Name: settingHeader, Description: "The name of a custom header (messenger Headers) that carries " +
				settingSecret + " instead of Basic auth, e.g. Authorization or X-API-Key. Unset: Basic only."},
			phone.Setting,
		},
	}, nil
}

func (f *fusionAuth) Configure(_ context.Context, settings map[string]string) error {
	pass, problems := auth.Secret(settings, minSecretLen, "the Generic Messenger's password or custom header value",
		settingSecret, settingAlias)
	user := strings.TrimSpace(settings[settingUser])
	if user == "" {
		user = defaultUser
	} else if strings.Contains(user, ":") {
		problems = append(problems, settingUser+" must not contain ':' (HTTP Basic cannot carry it)")
	}
	header := strings.TrimSpace(settings[settingHeader])
	if header != "" && !auth.ValidHeaderName(header) {
		problems = append(problems, fmt.Sprintf("%s %q is not a valid HTTP header name", settingHeader, header))
	}
	region, p := phone.RegionFrom(settings)
	if p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		f.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	f.cfg.Store(&config{user: user, pass: pass, header: header, region: region})
	return nil
}

// message is FusionAuth's Generic Messenger body. Every value is a string;
// code, message, type and userId exist only on recent versions.
type message struct {
	PhoneNumber string `json:"phoneNumber"`
	TextMessage string `json:"textMessage"`
	Message     string `json:"message"` // voice text (1.65+)
	Type        string `json:"type"`    // SMS or Voice
	Code        string `json:"code"`    // 1.67+
	UserID      string `json:"userId"`
}

func (f *fusionAuth) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req == nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgBadJSON), nil
	}
	if req.Method != http.MethodPost {
		return bridge.Reject(http.StatusMethodNotAllowed, bridge.CodeMethod, msgMethod), nil
	}
	cfg := f.cfg.Load()
	if cfg == nil {
		return bridge.Reject(http.StatusUnauthorized, bridge.CodeUnauthorized, msgNotConfigured), nil
	}
	if !cfg.authentic(req) {
		return bridge.Reject(http.StatusUnauthorized, bridge.CodeUnauthorized, msgUnauthorized), nil
	}
	if len(req.Body) > maxBody {
		return bridge.Reject(http.StatusRequestEntityTooLarge, bridge.CodeBodyTooLarge, msgTooLarge), nil
	}
	// The Generic Messenger posts JSON labelled application/json; a body with
	// another label was not sent by it.
	if payload.RequireJSON(req) != nil {
		return bridge.Reject(http.StatusUnsupportedMediaType, bridge.CodeMediaType, msgMediaType), nil
	}
	var m message
	switch err := payload.JSON(req.Body, &m); {
	case errors.Is(err, payload.ErrNotUTF8):
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgNotUTF8), nil
	case errors.Is(err, payload.ErrNotObject):
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgNotObject), nil
	case errors.Is(err, payload.ErrDuplicate):
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgDuplicate), nil
	case err != nil:
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgBadJSON), nil
	}

	channel, text := bridge.ChannelSMS, m.TextMessage
	switch strings.ToLower(strings.TrimSpace(m.Type)) {
	case "", "sms":
	case "voice":
		channel, text = bridge.ChannelVoice, m.Message
	default:
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, msgBadType), nil
	}
	if strings.TrimSpace(m.PhoneNumber) == "" {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoPhone), nil
	}
	// FusionAuth sends the number as stored, e.g. "3035551212".
	e164, err := phone.Normalize(m.PhoneNumber, cfg.region)
	if err != nil {
		return bridge.Reject(http.StatusUnprocessableEntity, bridge.CodeInvalidPhone, msgBadPhone), nil
	}

	code := strings.TrimSpace(m.Code)
	if code == "" {
		// Before 1.67 the code travels only in the text. The voice text spells the
		// digits apart, so it rarely yields one.
		var ok bool
		if code, ok = otp.FromText(text); !ok {
			switch {
			case strings.TrimSpace(text) == "":
				return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoText), nil
			case channel == bridge.ChannelSMS && !otp.HasDigits(text):
				// FusionAuth's messenger carries two-factor codes only; a text with
				// no digit at all is the admin's "Test generic configuration".
				return &bridge.ParseResult{TestPing: &bridge.TestPing{Metadata: map[string]string{"reason": "message without digits"}}}, nil
			}
			return bridge.Reject(http.StatusBadRequest, bridge.CodeMissingField, msgNoCode), nil
		}
	}
	if !otp.Valid(code) {
		return bridge.Reject(http.StatusUnprocessableEntity, bridge.CodeInvalidOTP, msgBadCode), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:    e164,
		OTP:      code,
		Message:  text,
		Channel:  channel,
		Subject:  strings.TrimSpace(m.UserID),
		Metadata: map[string]string{},
	}}, nil
}

// authentic accepts HTTP Basic with the messenger's credentials, or the secret
// in the configured custom header. Both checks run, in constant time.
func (c *config) authentic(req *bridge.Request) bool {
	basic := auth.Basic(strings.TrimSpace(req.Header("Authorization")), c.user, c.pass)
	custom := c.header != "" && auth.HeaderSecret(strings.TrimSpace(req.Header(c.header)), c.pass)
	return basic || custom
}

// Respond answers by status only: FusionAuth takes any 200-299 as sent and
// ignores the body. A voice request is refused by the host (unsupported_channel)
// with 422: a link cannot be spoken.
func (f *fusionAuth) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out, ownTexts)
}
