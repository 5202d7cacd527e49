package main

import (
	"context"
	"encoding/json"
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

// Setting names. PING_SHARED_SECRET is the seed's name; PINGONE_SHARED_SECRET
// the general <ID>_SHARED_SECRET form.
const (
	settingSecret = "PING_SHARED_SECRET"
	settingAlias  = "PINGONE_SHARED_SECRET"
	settingUser   = "PING_USERNAME"
	settingHeader = "PING_AUTH_HEADER"
)

const (
	defaultUser  = "pingone"
	minSecretLen = 16
	maxBody      = 64 << 10
	deadline     = 10 * time.Second // PingOne's timeout is not documented
)

// Fixed rejection texts; they name fields, never values.
const (
	msgNotConfigured = "the PingOne bridge is not configured"
	msgUnauthorized  = "the credentials are missing or wrong"
	msgMethod        = "only POST is accepted: use a POST request with a JSON or form body in the PingOne sender"
	msgTooLarge      = "the request body is too large"
	msgNotUTF8       = "the request body is not valid UTF-8"
	msgMediaType     = "the content type must be application/json or application/x-www-form-urlencoded"
	msgBadBody       = "the request body is not a valid JSON object or form"
	msgFieldType     = "recipient, body, otp, locale and channel must be strings"
	msgDuplicate     = "a field appears twice, or under two names with different values"
	msgPlaceholder   = "the PingOne template variables were not substituted (${to}, ${message})"
	msgNoRecipient   = "recipient (${to}) is required"
	msgBadPhone      = "recipient is not a phone number with its country code"
	msgBadChannel    = "channel must be sms or voice"
	msgNoMessage     = "body (${message}) is required"
	msgNoCode        = `otp is required when the message does not hold exactly one code: add "otp":"${otp}" to the template`
	msgBadCode       = "otp must be 4 to 10 digits"
)

// The field names SMS+ reads, with the aliases each may come under: the setup
// guide's template uses the first; the others are the reference template's and
// Telesign-style form keys.
var (
	phoneFields   = []string{"recipient", "to", "phone_number"}
	messageFields = []string{"body", "message"}
	allFields     = append(append([]string{"otp", "locale", "channel"}, phoneFields...), messageFields...)
)

var (
	_ bridge.Bridge   = (*pingOne)(nil)
	_ bridge.Exampler = (*pingOne)(nil)
)

// pingOne implements bridge.Bridge for PingOne's custom notification provider.
// PingOne has no fixed payload: the admin writes the request template, so the
// bridge reads the fields the setup guide's template sends (docs/setup/pingone.md).
type pingOne struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	secret string
	user   string
	header string // optional custom header carrying the secret
}

func newPingOne() *pingOne { return &pingOne{} }

func (p *pingOne) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "pingone",
		DisplayName: "PingOne custom SMS/voice provider",
		Version:     "0.1.0",
		Deadline:    deadline,
		Settings: []bridge.Setting{
			{Name: settingSecret, Required: true, Secret: true, Description: "The password (Basic), token (Bearer) or " +
				"header value (Custom Header) set as the PingOne sender's authentication."},
			{Name: settingAlias, Secret: true, Description: "Another name for " + settingSecret + "; set only one."},
			{Name: settingUser, Description: "The user name of the sender's Basic authentication. Default: " + defaultUser + "."},
			{Name: settingHeader, Description: "The header name of the sender's Custom Header authentication, " +
				"e.g. X-Authorization. Unset: only Basic and Bearer are accepted."},
		},
	}, nil
}

func (p *pingOne) Configure(_ context.Context, settings map[string]string) error {
	secret, problems := auth.Secret(settings, minSecretLen, "the password, token or header value of the PingOne sender's authentication",
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
	if len(problems) > 0 {
		p.cfg.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	p.cfg.Store(&config{secret: secret, user: user, header: header})
	return nil
}

func (p *pingOne) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req == nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadBody), nil
	}
	if req.Method != http.MethodPost {
		return answer.Reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod), nil
	}
	cfg := p.cfg.Load()
	if cfg == nil {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured), nil
	}
	if !cfg.authentic(req) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized), nil
	}
	if len(req.Body) > maxBody {
		return answer.Reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge), nil
	}
	f, rej := fields(req)
	if rej != nil {
		return rej, nil
	}

	to, ok1 := pick(f, phoneFields)
	text, ok2 := pick(f, messageFields)
	if !ok1 || !ok2 {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate), nil
	}
	if placeholder(to) || placeholder(text) {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgPlaceholder), nil
	}
	channel := bridge.ChannelSMS
	switch strings.ToLower(strings.TrimSpace(unlessPlaceholder(f["channel"]))) {
	case "", "sms", "text":
	case "voice":
		channel = bridge.ChannelVoice
	default:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadChannel), nil
	}
	if strings.TrimSpace(to) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoRecipient), nil
	}
	if strings.TrimSpace(text) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoMessage), nil
	}

	// ${otp} is the source of truth (voice wraps each digit of ${message} in the
	// sender's beforeTag/afterTag); the text is a fallback for the reference
	// template, which sends no otp.
	code := strings.TrimSpace(unlessPlaceholder(f["otp"]))
	if code == "" {
		var ok bool
		if code, ok = otp.FromText(text); !ok {
			// Every PingOne SMS template must hold ${otp}, so a text message with no
			// digit at all is the admin's "Send Test SMS": answer it, send nothing.
			if channel == bridge.ChannelSMS && !otp.HasDigits(text) {
				return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
			}
			return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
		}
	}
	if !otp.Valid(code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidOTP, msgBadCode), nil
	}
	// ${to} always carries the country code: "+14155552671" (FULL) or
	// "14155552671" (NUMBER_ONLY, the "Plus sign" toggle off).
	e164, err := phone.NormalizeWithCountryCode(to)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, msgBadPhone), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:   e164,
		OTP:     code,
		Message: text,
		Channel: channel,
		Locale:  strings.TrimSpace(unlessPlaceholder(f["locale"])),
	}}, nil
}

// authentic accepts the secret as the sender's Basic password, Bearer token or
// custom header value, whichever the admin chose. Every check is constant time.
func (c *config) authentic(req *bridge.Request) bool {
	authz := strings.TrimSpace(req.Header("Authorization"))
	basic := auth.Basic(authz, c.user, c.secret)
	bearer := auth.Bearer(authz, c.secret)
	custom := c.header != "" && auth.HeaderSecret(strings.TrimSpace(req.Header(c.header)), c.secret)
	return basic || bearer || custom
}

// fields decodes the body. PingOne's "Raw" JSON body is plain text substitution;
// when a template variable holds a line break the body is not valid JSON, so a
// body that fails only for raw control characters inside strings is read again
// with them escaped.
func fields(req *bridge.Request) (map[string]string, *bridge.ParseResult) {
	f, err := payload.Fields(req, allFields...)
	if errors.Is(err, payload.ErrMalformed) {
		if fixed, changed := escapeControls(req.Body); changed {
			again := *req
			again.Body = fixed
			f, err = payload.Fields(&again, allFields...)
		}
	}
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, payload.ErrNotUTF8):
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8)
	case errors.Is(err, payload.ErrMediaType):
		return nil, answer.Reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType)
	case errors.Is(err, payload.ErrFieldType):
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgFieldType)
	case errors.Is(err, payload.ErrDuplicate):
		return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate)
	}
	return nil, answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadBody)
}

// pick returns the value under the first of names that is set; ok is false when
// two of them are set to different values.
func pick(f map[string]string, names []string) (string, bool) {
	var v string
	for _, n := range names {
		x, ok := f[n]
		if !ok || x == "" {
			continue
		}
		if v != "" && x != v {
			return "", false
		}
		v = x
	}
	return v, true
}

// placeholder reports whether s still holds a PingOne template variable.
func placeholder(s string) bool { return strings.Contains(s, "${") }

func unlessPlaceholder(s string) string {
	if placeholder(s) {
		return ""
	}
	return s
}

// escapeControls escapes raw CR, LF and TAB inside JSON string literals.
func escapeControls(body []byte) ([]byte, bool) {
	out := make([]byte, 0, len(body)+16)
	inString, escaped, changed := false, false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString && (c == '\n' || c == '\r' || c == '\t'):
			esc := byte('n')
			if c == '\r' {
				esc = 'r'
			} else if c == '\t' {
				esc = 't'
			}
			out = append(out, '\\', esc)
			changed = true
			continue
		}
		out = append(out, c)
	}
	return out, changed
}

// Example renders the call the setup guide's sender template makes
// (docs/setup/pingone.md) for want, with HTTP Basic, or the custom header when
// one is set.
func (p *pingOne) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := p.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	locale, _, _ := strings.Cut(strings.TrimSpace(want.Locale), "-")
	if locale == "" {
		locale = "en"
	}
	body, err := json.Marshal(map[string]string{
		"recipient": want.Phone,
		"body":      "Your passcode is " + want.OTP + ". It expires in 5 minutes.",
		"otp":       want.OTP,
		"locale":    strings.ToLower(locale),
		"channel":   "sms",
	})
	if err != nil {
		return nil, err
	}
	authz := bridge.Header{Name: "Authorization", Values: []string{auth.BasicHeader(cfg.user, cfg.secret)}}
	if cfg.header != "" {
		authz = bridge.Header{Name: cfg.header, Values: []string{cfg.secret}}
	}
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/pingone", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}}, authz,
	}}, nil
}

// Respond answers by status only (any 2xx is accepted, the body is ignored).
// The answer never carries the link: the Node SMS+ returned it here. A voice
// request is refused by the host (unsupported_channel): 422, a link cannot be
// spoken. Keep PingOne's "Fallback to Ping Twilio account" disabled, or every
// failure texts the raw code.
func (p *pingOne) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
