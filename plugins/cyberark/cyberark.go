package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/payload"
	"github.com/smsplus/smsplus/sdk/phone"
)

// Setting names. CYBERARK_PASS is the seed's name (the Node SMS+ code reads it;
// its README says CYBERARK_SHARED_SECRET, accepted here as the general form).
const (
	settingSecret   = "CYBERARK_PASS"
	settingAlias    = "CYBERARK_SHARED_SECRET"
	settingPrevious = settingAlias + auth.PreviousSuffix // CYBERARK_SHARED_SECRET_PREVIOUS
	settingUser     = "CYBERARK_USER"
	settingLength   = "CYBERARK_OTP_LENGTH"
)

const (
	defaultUser  = "cyberark"
	minSecretLen = 16
	maxBody      = 64 << 10
	deadline     = 10 * time.Second // CyberArk's timeout is not documented
)

// Fixed rejection texts; they name fields, never values.
const (
	msgNotConfigured = "the CyberArk bridge is not configured"
	msgUnauthorized  = "the Basic credentials are missing or wrong"
	msgMethod        = "only POST is accepted"
	msgTooLarge      = "the request body is too large"
	msgNotUTF8       = "the request body is not valid UTF-8"
	msgMediaType     = "the content type must be application/json or application/x-www-form-urlencoded"
	msgBadBody       = "the request body is not a valid JSON object or form"
	msgFieldType     = "phoneNumber and smsMessage must be strings"
	msgDuplicate     = "a field appears twice"
	msgNoPhone       = "phoneNumber is required"
	msgBadPhone      = "phoneNumber is not a phone number"
	msgNoMessage     = "smsMessage is required"
	msgNotOTP        = "smsMessage carries no one-time code: SMS+ delivers one-time codes only"
	msgNoCode        = "smsMessage does not hold exactly one code"
)

var (
	_ bridge.Bridge   = (*cyberArk)(nil)
	_ bridge.Exampler = (*cyberArk)(nil)
)

// cyberArk implements bridge.Bridge for CyberArk Identity's custom SMS gateway:
// HTTP Basic, a JSON or form body with phoneNumber and smsMessage. The message is
// the only carrier of the code, so the code is read from the text.
type cyberArk struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	user, region string
	pass         auth.Rotation
	length       int // CYBERARK_OTP_LENGTH; 0 = unknown
}

func newCyberArk() *cyberArk { return &cyberArk{} }

func (c *cyberArk) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "cyberark",
		DisplayName: "CyberArk Identity SMS gateway",
		Version:     "0.1.0",
		Deadline:    deadline,
		Settings: []bridge.Setting{
			{Name: settingSecret, Required: true, Secret: true, Description: "The password of the SMS gateway's " +
				"username:password authentication (sent as HTTP Basic)."},
			{Name: settingAlias, Secret: true, Description: "Another name for " + settingSecret + "; set only one."},
			auth.PreviousSetting(settingAlias),
			{Name: settingLength, Description: "The length of CyberArk's SMS codes, 4 to 10 (read it off one real SMS): the " +
				"code is read from the text, and a year-like code of that length is then accepted when it is the only " +
				"candidate. Default: unset (4 to 10 digits, years refused)."},
			{Name: settingUser, Description: "The user name of the SMS gateway's authentication. Default: " + defaultUser + "."},
			phone.Setting,
		},
	}, nil
}

func (c *cyberArk) Configure(_ context.Context, settings map[string]string) error {
	pass, problems := auth.RotatingSecret(settings, minSecretLen, "the password of the CyberArk SMS gateway's authentication",
		settingPrevious, settingSecret, settingAlias)
	length, p := otp.Length(settings, settingLength, "one real CyberArk SMS")
	if p != "" {
		problems = append(problems, p)
	}
	user := strings.TrimSpace(settings[settingUser])
	if user == "" {
		user = defaultUser
	} else if strings.Contains(user, ":") {
		problems = append(problems, settingUser+" must not contain ':' (HTTP Basic cannot carry it)")
	}
	region, p := phone.RegionFrom(settings)
	if p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		c.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	c.cfg.Store(&config{user: user, pass: pass, region: region, length: length})
	return nil
}

func (c *cyberArk) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req == nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadBody), nil
	}
	if req.Method != http.MethodPost {
		return answer.Reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod), nil
	}
	cfg := c.cfg.Load()
	if cfg == nil {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured), nil
	}
	// Passwords may contain ':'; only the first one separates the user.
	if !cfg.pass.Basic(strings.TrimSpace(req.Header("Authorization")), cfg.user) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized), nil
	}
	if len(req.Body) > maxBody {
		return answer.Reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge), nil
	}
	f, err := payload.Fields(req, "phoneNumber", "smsMessage")
	switch {
	case errors.Is(err, payload.ErrNotUTF8):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8), nil
	case errors.Is(err, payload.ErrMediaType):
		return answer.Reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType), nil
	case errors.Is(err, payload.ErrFieldType):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgFieldType), nil
	case errors.Is(err, payload.ErrDuplicate):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate), nil
	case err != nil:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadBody), nil
	}
	text := f["smsMessage"]
	if strings.TrimSpace(text) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoMessage), nil
	}
	// The Node SMS+ treated a message starting with "test" as the admin's check,
	// and admins test that way; no CyberArk code message starts like that.
	if isTestMessage(text) || bridge.IsConnectionTest(text) {
		return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
	}
	if strings.TrimSpace(f["phoneNumber"]) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoPhone), nil
	}
	e164, err := phone.Normalize(f["phoneNumber"], cfg.region)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, msgBadPhone), nil
	}
	// The text is CyberArk's only carrier of the code. A bare "123456" (the
	// connection test the Node SMS+'s guide suggests) cannot be told from a real
	// code and is delivered: the admin receives a real link.
	code, ok := otp.FromTextLength(text, cfg.length)
	if !ok {
		if !otp.HasDigits(text) {
			return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNotOTP), nil
		}
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:   e164,
		OTP:     code,
		Message: text,
		Channel: bridge.ChannelSMS, // the gateway has no voice channel
	}}, nil
}

// isTestMessage reports whether the first word of text is "test", "tests" or
// "testing", in any case.
func isTestMessage(text string) bool {
	word := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
	if len(word) == 0 || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(text)), word[0]) {
		return false
	}
	switch word[0] {
	case "test", "tests", "testing":
		return true
	}
	return false
}

// Example renders the gateway's call for want: JSON with HTTP Basic, the code in
// the text only, as CyberArk sends it.
func (c *cyberArk) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := c.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	body, err := json.Marshal(map[string]string{
		"phoneNumber": want.Phone,
		"smsMessage":  "Your CyberArk Identity verification code is " + want.OTP,
	})
	if err != nil {
		return nil, err
	}
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/cyberark", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}},
		{Name: "Authorization", Values: []string{auth.BasicHeader(cfg.user, cfg.pass.Current())}},
	}}, nil
}

// Respond answers by status only: CyberArk's reading of the answer is not
// documented; any 2xx is taken as sent.
func (c *cyberArk) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
