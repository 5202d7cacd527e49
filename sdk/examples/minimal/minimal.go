package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
		ID:           "minimal",
		DisplayName:  "Generic JSON webhook (HMAC-SHA256)",
		Version:      "0.1.0",
		Capabilities: []string{"sms", "voice", "test_ping"},
		Deadline:     5 * time.Second,
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
	Message string `json:"message"`
	Channel string `json:"channel"` // "sms" (default) or "voice"
	Test    bool   `json:"test"`    // a connectivity check: answered, never texted
	ID      string `json:"id"`      // the caller's id for this delivery, optional
}

func (m *minimal) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	if req.Method != http.MethodPost {
		return bridge.Reject(http.StatusMethodNotAllowed, bridge.CodeMethod, "only POST is accepted"), nil
	}
	cfg := m.cfg.Load()
	if cfg == nil || !m.signed(cfg, req) {
		return bridge.Reject(http.StatusUnauthorized, bridge.CodeUnauthorized, "the signature is missing, wrong or stale"), nil
	}
	if len(req.Body) > maxBody {
		return bridge.Reject(http.StatusRequestEntityTooLarge, bridge.CodeBodyTooLarge, "the body is too large"), nil
	}
	// The sender labels its JSON as such: a body with another label did not
	// come from it, and is refused before any decoding.
	if payload.RequireJSON(req) != nil {
		return bridge.Reject(http.StatusUnsupportedMediaType, bridge.CodeMediaType, "the content type must be application/json"), nil
	}
	// payload.JSON refuses a key given twice or in two letter cases, so what the
	// sender signed has one meaning.
	var h hook
	if err := payload.JSON(req.Body, &h); err != nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, "the body is not a valid hook"), nil
	}
	if h.Test {
		return &bridge.ParseResult{TestPing: &bridge.TestPing{}}, nil
	}
	e164, err := phone.Normalize(h.Phone, cfg.region)
	if err != nil {
		return bridge.Reject(http.StatusUnprocessableEntity, bridge.CodeInvalidPhone, "phone is not a phone number"), nil
	}
	code := strings.TrimSpace(h.Code)
	if code == "" {
		code, _ = otp.FromText(h.Message)
	}
	if !otp.Valid(code) {
		return bridge.Reject(http.StatusUnprocessableEntity, bridge.CodeInvalidOTP, "code must be 4 to 10 digits"), nil
	}
	channel := bridge.ChannelSMS
	switch strings.ToLower(strings.TrimSpace(h.Channel)) {
	case "", "sms":
	case "voice":
		channel = bridge.ChannelVoice
	default:
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, "channel must be sms or voice"), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{
		Phone: e164, OTP: code, Message: h.Message, Channel: channel, TransactionID: h.ID,
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
	mac := hmac.New(sha256.New, cfg.secret)
	mac.Write([]byte(ts + "."))
	mac.Write(req.Body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// Respond answers 200 for success and a conventional 4xx/5xx status otherwise,
// from fixed texts only: never from what the host put in the outcome's message.
func (m *minimal) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out, nil)
}
