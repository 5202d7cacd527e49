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

// Setting names. FUSIONAUTH_PASS is the seed's name; FUSIONAUTH_SHARED_SECRET
// the general <ID>_SHARED_SECRET form.
const (
	settingSecret   = "FUSIONAUTH_PASS"
	settingAlias    = "FUSIONAUTH_SHARED_SECRET"
	settingPrevious = settingAlias + auth.PreviousSuffix // FUSIONAUTH_SHARED_SECRET_PREVIOUS
	settingUser     = "FUSIONAUTH_USER"
	settingHeader   = "FUSIONAUTH_AUTH_HEADER"
	settingLength   = "FUSIONAUTH_OTP_LENGTH"
	settingNonMFA   = "FUSIONAUTH_NON_MFA"
)

// FUSIONAUTH_NON_MFA values: what to do with a message that is not a
// two-factor code (1.59+ phone identities share the messenger).
const (
	nonMFARefuse  = "refuse"
	nonMFADeliver = "deliver"
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
	msgBadCode       = "code must be 4 to 10 digits: set the tenant's Two-Factor one-time code generator (Advanced > External identifier generation) to digits"
	msgNotMFA        = "the message carries no two-factor code (a phone verification code or a notice): SMS+ texts it only with " +
		settingNonMFA + "=deliver, or give the tenant's phone configuration another messenger"
)

var (
	_ bridge.Bridge   = (*fusionAuth)(nil)
	_ bridge.Exampler = (*fusionAuth)(nil)
)

// fusionAuth implements bridge.Bridge for FusionAuth's Generic Messenger.
type fusionAuth struct {
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	user, header, region string
	pass                 auth.Rotation
	length               int  // FUSIONAUTH_OTP_LENGTH; 0 = unknown
	deliver              bool // FUSIONAUTH_NON_MFA=deliver
}

func newFusionAuth() *fusionAuth { return &fusionAuth{} }

func (f *fusionAuth) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "fusionauth",
		DisplayName: "FusionAuth Generic Messenger",
		Version:     "0.1.0",
		Deadline:    deadline,
		Settings: []bridge.Setting{
			{Name: settingSecret, Required: true, Secret: true, Description: "The messenger's Basic auth password " +
				"(httpAuthenticationPassword), or the value of its custom auth header."},
			{Name: settingAlias, Secret: true, Description: "Another name for " + settingSecret + "; set only one."},
			auth.PreviousSetting(settingAlias),
			{Name: settingLength, Description: "The length of the tenant's Two-Factor one-time codes (Advanced > External " +
				"identifier generation; default 6): used only when a message carries no code field (before 1.67) and the code " +
				"is read from the text; a year-like code of that length is then accepted. Default: unset."},
			{Name: settingNonMFA, Description: "What to do with messages that are not two-factor codes, which FusionAuth 1.59+ " +
				"sends through the same messenger when it also serves the tenant's phone configuration (alphanumeric phone " +
				"verification codes, new-device and password notices): " + nonMFARefuse + " (default: answered 422 not_an_otp) " +
				"or " + nonMFADeliver + " (texted as is, without a link). The text \"" + bridge.ConnectionTestText +
				"\" is always a connection test."},
			{Name: settingUser, Description: "The messenger's Basic auth username. Default: " + defaultUser + "."},
			{Name: settingHeader, Description: "The name of a custom header (messenger Headers) that carries " +
				settingSecret + " instead of Basic auth, e.g. Authorization or X-API-Key. Unset: Basic only."},
			phone.Setting,
		},
	}, nil
}

func (f *fusionAuth) Configure(ctx context.Context, settings map[string]string) error {
	pass, problems := auth.RotatingSecret(settings, minSecretLen, "the Generic Messenger's password or custom header value",
		settingPrevious, settingSecret, settingAlias)
	length, p := otp.Length(settings, settingLength, "the tenant's Two-Factor one-time code length")
	if p != "" {
		problems = append(problems, p)
	}
	deliver := false
	switch v := strings.ToLower(strings.TrimSpace(settings[settingNonMFA])); v {
	case "", nonMFARefuse:
	case nonMFADeliver:
		deliver = true
		if !bridge.HostHasFeature(ctx, bridge.FeatureNotices) {
			problems = append(problems, settingNonMFA+"="+nonMFADeliver+" needs an SMS+ host that delivers notices (feature "+
				bridge.FeatureNotices+"); this one does not: unset it, or upgrade SMS+")
		}
	default:
		problems = append(problems, settingNonMFA+" must be "+nonMFARefuse+" or "+nonMFADeliver)
	}
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
	f.cfg.Store(&config{user: user, pass: pass, header: header, region: region, length: length, deliver: deliver})
	return nil
}

// message is FusionAuth's Generic Messenger body. Every value is a string;
// code, message and type exist only on recent versions. Fields not declared
// here (userId) are ignored.
type message struct {
	PhoneNumber string `json:"phoneNumber"`
	TextMessage string `json:"textMessage"`
	Message     string `json:"message"` // voice text (1.65+)
	Type        string `json:"type"`    // SMS or Voice
	Code        string `json:"code"`    // 1.67+
}

func (f *fusionAuth) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req == nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON), nil
	}
	if req.Method != http.MethodPost {
		return answer.Reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, msgMethod), nil
	}
	cfg := f.cfg.Load()
	if cfg == nil {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgNotConfigured), nil
	}
	if !cfg.authentic(req) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, msgUnauthorized), nil
	}
	if len(req.Body) > maxBody {
		return answer.Reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, msgTooLarge), nil
	}
	// The Generic Messenger posts JSON labelled application/json; a body with
	// another label was not sent by it.
	if payload.RequireJSON(req) != nil {
		return answer.Reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, msgMediaType), nil
	}
	var m message
	switch err := payload.JSON(req.Body, &m); {
	case errors.Is(err, payload.ErrNotUTF8):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotUTF8), nil
	case errors.Is(err, payload.ErrNotObject):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgNotObject), nil
	case errors.Is(err, payload.ErrDuplicate):
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgDuplicate), nil
	case err != nil:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadJSON), nil
	}

	channel, text := bridge.ChannelSMS, m.TextMessage
	switch strings.ToLower(strings.TrimSpace(m.Type)) {
	case "", "sms":
	case "voice":
		channel, text = bridge.ChannelVoice, m.Message
	default:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, msgBadType), nil
	}
	if strings.TrimSpace(m.PhoneNumber) == "" {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoPhone), nil
	}
	// FusionAuth sends the number as stored, e.g. "3035551212".
	e164, err := phone.Normalize(m.PhoneNumber, cfg.region)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, msgBadPhone), nil
	}

	code := strings.TrimSpace(m.Code)
	if code == "" {
		if channel == bridge.ChannelSMS && bridge.IsConnectionTest(text) {
			// The one text taken for the admin's connection test
			// (docs/fusionauth.md); FusionAuth's own test button sends an
			// undocumented text, and is broken since 1.62.
			return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
		}
		// Before 1.67 the code travels only in the text. The voice text spells the
		// digits apart, so it rarely yields one.
		var ok bool
		if code, ok = otp.FromTextLength(text, cfg.length); !ok {
			switch {
			case channel == bridge.ChannelVoice:
				// The host's voice policy answers it (bridge.FeatureVoiceWithoutCode).
				code = ""
			case strings.TrimSpace(text) == "":
				return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoText), nil
			case !otp.MayHoldCode(text):
				// No run of digits that could be a code: a phone verification code
				// (alphanumeric since 1.59) or a notice. Never taken for a test,
				// never dropped: texted as is when the operator chose it,
				// refused explicitly otherwise.
				if cfg.deliver {
					return &bridge.ParseResult{Notice: &bridge.Notice{Phone: e164, Message: text, Kind: "non_mfa"}}, nil
				}
				return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonNotOTP, msgNotMFA), nil
			default:
				return answer.Reject(http.StatusBadRequest, bridge.ReasonMissingField, msgNoCode), nil
			}
		}
	}
	if code != "" && !otp.Valid(code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidOTP, msgBadCode), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone:   e164,
		OTP:     code,
		Message: text,
		Channel: channel,
	}}, nil
}

// authentic accepts HTTP Basic with the messenger's credentials, or the secret
// in the configured custom header. Both checks run, in constant time.
func (c *config) authentic(req *bridge.Request) bool {
	basic := c.pass.Basic(strings.TrimSpace(req.Header("Authorization")), c.user)
	custom := c.header != "" && c.pass.HeaderSecret(strings.TrimSpace(req.Header(c.header)))
	return basic || custom
}

// Example renders the Generic Messenger's call (FusionAuth 1.67+) for want, with
// the configured credentials: the custom header when one is set, else HTTP Basic.
func (f *fusionAuth) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := f.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	body, err := json.Marshal(map[string]string{
		"code":        want.OTP,
		"phoneNumber": want.Phone,
		"message":     "Your verification code is " + want.OTP,
		"textMessage": "Two Factor Code: " + want.OTP,
		"type":        "SMS",
		"userId":      "7d2f9c1e-5a4b-4c3d-9e8f-0a1b2c3d4e5f",
	})
	if err != nil {
		return nil, err
	}
	authz := bridge.Header{Name: "Authorization", Values: []string{auth.BasicHeader(cfg.user, cfg.pass.Current())}}
	if cfg.header != "" {
		authz = bridge.Header{Name: cfg.header, Values: []string{cfg.pass.Current()}}
	}
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/fusionauth", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}}, authz,
	}}, nil
}

// Respond answers by status only: FusionAuth takes any 200-299 as sent and
// ignores the body. A voice request gets what the host's VOICE_POLICY decides:
// 422 unsupported_channel (refuse), 200 withheld (fail_closed), or 200 delivered
// once the link is texted (sms_link).
func (f *fusionAuth) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
