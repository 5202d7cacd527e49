package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// The caller posts JSON (Content-Type: application/json) and signs each call:
// X-SMSPlus-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed
// with the shared secret>, where <timestamp> is the X-SMSPlus-Timestamp header
// (Unix seconds). Signing the timestamp lets the bridge refuse a captured call
// replayed later.
const (
	settingSecret   = "MINIMAL_SHARED_SECRET"
	headerSignature = "X-SMSPlus-Signature"
	headerTimestamp = "X-SMSPlus-Timestamp"
	maxSkew         = 5 * time.Minute
	maxBody         = 64 << 10
)

var timeNow = time.Now

var (
	_ bridge.Bridge   = (*minimal)(nil)
	_ bridge.Exampler = (*minimal)(nil)
)

type minimal struct {
	now func() time.Time
	cfg atomic.Pointer[config] // nil until a Configure succeeds
}

type config struct {
	secret []byte
	region string
}

func (m *minimal) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{
		ID:          "minimal",
		DisplayName: "Generic JSON webhook (HMAC-SHA256)",
		Version:     "0.1.0",
		Deadline:    5 * time.Second,
		Settings: []bridge.Setting{
			{Name: settingSecret, Required: true, Secret: true, Description: "The key both sides use to sign calls (HMAC-SHA256)."},
			phone.Setting,
		},
	}, nil
}

func (m *minimal) Configure(_ context.Context, settings map[string]string) error {
	secret, problems := auth.Secret(settings, 32, "the key the sender signs calls with", settingSecret)
	region, p := phone.RegionFrom(settings)
	if p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		m.cfg.Store(nil) // fail closed
		return &bridge.ConfigError{Problems: problems}
	}
	m.cfg.Store(&config{secret: []byte(secret), region: region})
	return nil
}

// hook is the body the caller sends.
type hook struct {
	Phone   string `json:"phone"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Channel string `json:"channel,omitempty"` // "sms" (default) or "voice"
	Test    bool   `json:"test,omitempty"`    // a connectivity check: answered, never texted
	ID      string `json:"id,omitempty"`      // the caller's id for this delivery, optional
	// Expires is when the code expires (RFC 3339), optional: the link then
	// expires no later.
	Expires string `json:"expires,omitempty"`
}

func (m *minimal) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req.Method != http.MethodPost {
		return answer.Reject(http.StatusMethodNotAllowed, bridge.ReasonMethod, "only POST is accepted"), nil
	}
	cfg := m.cfg.Load()
	if cfg == nil || !m.signed(cfg, req) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, "the signature is missing, wrong or stale"), nil
	}
	if len(req.Body) > maxBody {
		return answer.Reject(http.StatusRequestEntityTooLarge, bridge.ReasonBodyTooLarge, "the body is too large"), nil
	}
	// The sender labels its JSON as such: a body with another label did not
	// come from it, and is refused before any decoding.
	if payload.RequireJSON(req) != nil {
		return answer.Reject(http.StatusUnsupportedMediaType, bridge.ReasonMediaType, "the content type must be application/json"), nil
	}
	// payload.JSON refuses a key given twice or in two letter cases, so what the
	// sender signed has one meaning.
	var h hook
	if err := payload.JSON(req.Body, &h); err != nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, "the body is not a valid hook"), nil
	}
	if h.Test {
		return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
	}
	e164, err := phone.Normalize(h.Phone, cfg.region)
	if err != nil {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidPhone, "phone is not a phone number"), nil
	}
	code := strings.TrimSpace(h.Code)
	if code == "" {
		code, _ = otp.FromText(h.Message)
	}
	if !otp.Valid(code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonInvalidOTP, "code must be 4 to 10 digits"), nil
	}
	channel := bridge.ChannelSMS
	switch strings.ToLower(strings.TrimSpace(h.Channel)) {
	case "", "sms":
	case "voice":
		channel = bridge.ChannelVoice
	default:
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, "channel must be sms or voice"), nil
	}
	var expires time.Time
	if h.Expires != "" {
		if expires, err = time.Parse(time.RFC3339, h.Expires); err != nil {
			return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, "expires must be an RFC 3339 time"), nil
		}
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone: e164, OTP: code, Message: h.Message, Channel: channel, ExpiresAt: expires, TransactionID: h.ID,
	}}, nil
}

// signed checks the timestamp and the signature, the latter in constant time.
func (m *minimal) signed(cfg *config, req *bridge.Request) bool {
	ts := req.Header(headerTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || m.now().Sub(time.Unix(sec, 0)).Abs() > maxSkew {
		return false
	}
	got, ok := strings.CutPrefix(req.Header(headerSignature), "sha256=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil {
		return false
	}
	return hmac.Equal(sig, sign(cfg.secret, ts, req.Body))
}

// sign is the HMAC-SHA256 of "<timestamp>.<body>".
func sign(secret []byte, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// Respond answers 200 for success and a conventional 4xx/5xx status otherwise,
// from fixed texts only.
func (m *minimal) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}

// Example renders the call the sender would make for want, signed with the
// configured secret: `smsplus simulate minimal` posts it to a running SMS+.
func (m *minimal) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := m.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	body, err := json.Marshal(hook{Phone: want.Phone, Code: want.OTP, Message: "Your code is " + want.OTP,
		Channel: "sms", ID: "example-" + strconv.FormatInt(m.now().UnixNano(), 36)})
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(m.now().Unix(), 10)
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/minimal", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}},
		{Name: headerTimestamp, Values: []string{ts}},
		{Name: headerSignature, Values: []string{"sha256=" + hex.EncodeToString(sign(cfg.secret, ts, body))}},
	}}, nil
}
