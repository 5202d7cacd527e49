package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// PingOne's Raw body is text substitution (Settings > Senders > Custom
// Provider, body "Raw"): ${message} goes in unescaped. These are the bodies
// PingOne sends for the recommended Raw template (body last) when the
// notification template holds a quote, a backslash or a line break.
func TestPingOneQuoteInTemplate(t *testing.T) {
	t.Parallel()
	p := configured(t, nil)
	raw := func(message string) *bridge.Request {
		return post([]byte(`{"recipient":"+14155552671","otp":"730194","locale":"en","channel":"sms","body":"`+message+`"}`),
			"application/json", "Authorization", basic)
	}
	for name, tc := range map[string]struct{ message, want string }{
		"quotes":         {`Acme says "hi": your passcode is 730194`, `Acme says "hi": your passcode is 730194`},
		"quote at end":   {`Your "Acme" passcode is 730194 "`, `Your "Acme" passcode is 730194 "`},
		"backslash":      {`C:\Acme "vault" passcode 730194`, `C:\Acme "vault" passcode 730194`},
		"line break":     {"Acme \"MFA\"\nYour passcode is 730194", "Acme \"MFA\"\nYour passcode is 730194"},
		"escaped quotes": {`Acme \"MFA\" passcode 730194 "x"`, `Acme "MFA" passcode 730194 "x"`},
	} {
		res, err := p.Parse(context.Background(), raw(tc.message))
		if err != nil || res.OTP == nil {
			t.Errorf("%s: Parse = %+v, %v; want an OTP event", name, res, err)
			continue
		}
		if e := res.OTP; e.Phone != "+14155552671" || e.OTP != "730194" || e.Message != tc.want || e.Locale != "en" {
			t.Errorf("%s: event %+v", name, e)
		}
	}
	// Safely: a message that carries what looks like a field of ours (a user
	// attribute crafted to inject a recipient, or a template with the message
	// not last) is refused, never read as that field.
	for name, body := range map[string]string{
		// ${message} = Hi ","recipient":"+19005550100","x":" 730194 (a given name)
		"injected recipient":             `{"recipient":"+14155552671","otp":"730194","channel":"sms","body":"Hi ","recipient":"+19005550100","x":" 730194"}`,
		"injected recipient and a quote": `{"recipient":"+14155552671","otp":"730194","channel":"sms","body":"Hi "x", ","recipient":"+19005550100","x":" 730194"}`,
		"message not last":               `{"recipient":"+14155552671","body":"say "hi" 730194","otp":"730194"}`,
		"quote before body":              `{"recipient":"+1415"5552671","otp":"730194","body":"Code 730194"}`,
		"message never closed":           `{"recipient":"+14155552671","otp":"730194","body":"}`,
	} {
		res, _ := p.Parse(context.Background(), post([]byte(body), "application/json", "Authorization", basic))
		if res.Rejection == nil || res.Rejection.Response.Status != http.StatusBadRequest {
			t.Errorf("%s: %+v, want 400", name, res)
		}
	}
}

// TestPingOneGET: the sender's "Type: GET" puts ${to} and ${message} (and
// optionally ${otp}) in the URL. Accepted only with PINGONE_ALLOW_GET=true.
func TestPingOneGET(t *testing.T) {
	t.Parallel()
	get := func(query string) *bridge.Request {
		return &bridge.Request{Method: http.MethodGet, Path: "/hooks/pingone", RawQuery: query,
			Headers: []bridge.Header{{Name: "Authorization", Values: []string{basic}}}}
	}
	q := "to=%2B14155552671&message=Your%20passcode%20is%20730194&otp=730194&from=%2B15550100"
	if res, _ := configured(t, nil).Parse(context.Background(), get(q)); res.Rejection == nil || res.Rejection.Response.Status != 405 {
		t.Errorf("GET without %s: %+v, want 405", settingGET, res)
	}
	p := configured(t, map[string]string{settingSecret: testSecret, settingGET: "true"})
	res, _ := p.Parse(context.Background(), get(q))
	if res.OTP == nil || res.OTP.Phone != "+14155552671" || res.OTP.OTP != "730194" || res.OTP.Message != "Your passcode is 730194" {
		t.Errorf("GET: %+v", res)
	}
	// Spaces as '+' (form encoding) and no ${otp} in the URL.
	if res, _ := p.Parse(context.Background(), get("to=14155552671&message=Your+passcode+is+730194")); res.OTP == nil || res.OTP.OTP != "730194" {
		t.Errorf("GET, NUMBER_ONLY, no otp: %+v", res)
	}
	for name, req := range map[string]*bridge.Request{
		"a field twice":  get(q + "&otp=111111"),
		"with a body":    {Method: http.MethodGet, RawQuery: q, Body: []byte("{}"), Headers: get("").Headers},
		"no credentials": {Method: http.MethodGet, RawQuery: q},
	} {
		if res, _ := p.Parse(context.Background(), req); res.Rejection == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	bridgetest.Problems(t, newPingOne().Configure(context.Background(), map[string]string{settingSecret: testSecret, settingGET: "maybe"}),
		[]string{settingGET + " must be true or false"}, testSecret)
}

// TestPingOneVoiceMarkedOnURL: the admin marks the VOICE request with
// ?channel=voice; a voice request without ${otp} reaches the host as voice
// without a code (its voice policy answers).
func TestPingOneVoiceMarkedOnURL(t *testing.T) {
	t.Parallel()
	p := configured(t, nil)
	req := post([]byte(`{"recipient":"+14155552671","body":"<Say>7</Say><Say>3</Say><Say>0</Say>"}`), "application/json", "Authorization", basic)
	req.RawQuery = "channel=voice"
	res, _ := p.Parse(context.Background(), req)
	if res.OTP == nil || res.OTP.Channel != bridge.ChannelVoice || res.OTP.OTP != "" {
		t.Errorf("voice without otp: %+v", res)
	}
	req = post([]byte(`{"recipient":"+14155552671","body":"Code 730194","channel":"sms"}`), "application/json", "Authorization", basic)
	req.RawQuery = "channel=voice"
	if res, _ := p.Parse(context.Background(), req); res.Rejection == nil {
		t.Errorf("channel sms in the body, voice in the URL: %+v", res)
	}
}

// TestNonOTPTexts (issue 14): a text without a code (a PingOne notification,
// or the sender's test SMS, whose text PingOne does not document) was taken for
// the admin's test and answered 200 unsent. It is now refused explicitly, or
// texted as is with PINGONE_NON_OTP=deliver; only the documented text is a test.
func TestNonOTPTexts(t *testing.T) {
	t.Parallel()
	notice := post([]byte(`{"recipient":"+14155552671","body":"A new device was paired with your account.","channel":"sms"}`),
		"application/json", "Authorization", basic)
	res, _ := configured(t, nil).Parse(context.Background(), notice)
	if res.Rejection == nil || res.Rejection.Reason != bridge.ReasonNotOTP || res.Rejection.Response.Status != 422 {
		t.Errorf("notification, %s unset: %+v; want 422 not_an_otp", settingNonOTP, res)
	}
	p := newPingOne()
	if err := p.Configure(bridge.WithHostFeatures(context.Background(), bridge.FeatureNotices),
		map[string]string{settingSecret: testSecret, settingNonOTP: "deliver"}); err != nil {
		t.Fatal(err)
	}
	res, _ = p.Parse(context.Background(), notice)
	if res.Notice == nil || res.Notice.Phone != "+14155552671" || res.Notice.Kind != "notification" ||
		!strings.Contains(res.Notice.Message, "new device") {
		t.Errorf("notification, deliver: %+v", res)
	}
	if res, _ := p.Parse(context.Background(), post(bridgetest.Fixture(t, "connection_test.json"), "application/json", "Authorization", basic)); res.TestPing == nil {
		t.Errorf("the documented test text: %+v", res)
	}
	bridgetest.Problems(t, newPingOne().Configure(context.Background(), map[string]string{settingSecret: testSecret, settingNonOTP: "deliver"}),
		[]string{"needs an SMS+ host that delivers notices"}, testSecret)
}

// TestPingOneOAuth: "OAuth2 - Client Credentials": PingOne fetches a token
// from the operator's authorization server and sends it as a bearer token; an
// RFC 9068 token (client_id, space-separated scope) verified against the
// server's keys.
func TestPingOneOAuth(t *testing.T) {
	t.Parallel()
	ks := bridgetest.NewKeyServer(t)
	p := newPingOne()
	p.httpClient = ks.Client()
	if err := p.Configure(context.Background(), map[string]string{settingIssuer: ks.Issuer(), settingAudience: "https://smsplus.example/hooks/pingone",
		settingClientID: "pingone-sender", settingScope: "smsplus:send"}); err != nil {
		t.Fatal(err)
	}
	token := func(client string) string {
		c := ks.Claims("https://smsplus.example/hooks/pingone", client, "", time.Hour)
		delete(c, "cid")
		delete(c, "scp")
		c["client_id"], c["scope"] = client, "openid smsplus:send"
		return "Bearer " + ks.Sign(t, c)
	}
	body := bridgetest.Fixture(t, "sms_reference.json")
	if res, _ := p.Parse(context.Background(), post(body, "application/json", "Authorization", token("pingone-sender"))); res.OTP == nil {
		t.Errorf("PingOne's token refused: %+v", res.Rejection)
	}
	for name, authz := range map[string]string{"other client": token("someone-else"), "Basic": basic, "static bearer": "Bearer " + testSecret} {
		if res, _ := p.Parse(context.Background(), post(body, "application/json", "Authorization", authz)); res.Rejection == nil || res.Rejection.Response.Status != 401 {
			t.Errorf("%s: %+v, want 401", name, res)
		}
	}
}

// TestPingOneSecretRotation: both secrets during a rotation, in every scheme.
func TestPingOneSecretRotation(t *testing.T) {
	t.Parallel()
	const next = "pingone-next-secret-0123456789"
	p := configured(t, map[string]string{settingSecret: next, settingPrevious: testSecret})
	body := bridgetest.Fixture(t, "sms_reference.json")
	for _, authz := range []string{basic, bridgetest.BasicAuth("pingone", next), "Bearer " + next, "Bearer " + testSecret} {
		if res, _ := p.Parse(context.Background(), post(body, "application/json", "Authorization", authz)); res.OTP == nil {
			t.Errorf("refused during the rotation: %+v", res.Rejection)
		}
	}
}

// TestPingOneOTPLength (issue 14, item 2): with the Node SMS+'s Raw template
// {"recipient":"${to}","body":"${message}"} (no ${otp}) the code is read from
// the text. A notification template that also holds another number leaves two
// candidates: refused unless PINGONE_OTP_LENGTH says which length codes have.
func TestPingOneOTPLength(t *testing.T) {
	t.Parallel()
	body := []byte(`{"recipient":"+14155552671","body":"Acme support 4821: your passcode is 58210947"}`)
	req := func() *bridge.Request { return post(body, "application/json", "Authorization", basic) }
	if res, _ := configured(t, nil).Parse(context.Background(), req()); res.Rejection == nil {
		t.Fatalf("two candidates and no length: %+v, want a refusal", res)
	}
	res, err := configured(t, map[string]string{settingSecret: testSecret, settingLength: "8"}).Parse(context.Background(), req())
	if err != nil || res.OTP == nil || res.OTP.OTP != "58210947" {
		t.Fatalf("PINGONE_OTP_LENGTH=8: %+v, %v; want the 8-digit code", res, err)
	}
	if err := newPingOne().Configure(context.Background(), map[string]string{settingSecret: testSecret, settingLength: "12"}); err == nil {
		t.Error("PINGONE_OTP_LENGTH=12 accepted")
	}
}
