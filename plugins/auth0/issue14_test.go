package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// Auth0's documented custom-phone-provider sample Action (auth0/docs-v2,
// configure-a-custom-phone-provider.mdx) builds this body for an OTP and posts
// it with fetch and no Content-Type: Node labels the string
// text/plain;charset=UTF-8. message_type holds notification.delivery_method.
const sampleActionSMS = `{"from":"+15550100","action":"second-factor-authenticator","language":"en_US",` +
	`"recipient":"+14155550142","message_type":"text","text":"Your code is 482913","code":"482913"}`

// sampleAction is the sample Action's request: its body, Bearer secret, and
// Node fetch's default label for a string.
func sampleAction(body, authz string) *bridge.Request {
	return bridgetest.Post("/hooks/auth0", []byte(body), "Authorization", authz, "Content-Type", "text/plain;charset=UTF-8")
}

// TestAuth0SampleAction (issue 14): Auth0's own sample Action was refused with
// 415 (text/plain), then 422 (message_type "text"), and never delivered.
func TestAuth0SampleAction(t *testing.T) {
	t.Parallel()
	a := configured(t, nil)
	for name, tc := range map[string]struct {
		req     *bridge.Request
		channel bridge.Channel
		code    string
		locale  string
	}{
		"text, text/plain": {sampleAction(sampleActionSMS, "Bearer "+testSecret), bridge.ChannelSMS, "482913", "en_US"},
		"voice, text/plain": {sampleAction(`{"from":"+15550100","action":"enrollment","language":"fr_FR","recipient":"+14155550142",`+
			`"message_type":"voice","text":"Votre code est 4 8 2 9 1 3","code":"482913"}`, "Bearer "+testSecret), bridge.ChannelVoice, "482913", "fr_FR"},
		"text, no Content-Type": {bridgetest.Post("/hooks/auth0", []byte(sampleActionSMS), "Authorization", "Bearer "+testSecret),
			bridge.ChannelSMS, "482913", "en_US"},
		// Auth0's Passwordless sample Action (sample-use-cases-actions.mdx).
		"Passwordless sample {to, from, body}": {bridgetest.Post("/hooks/auth0",
			[]byte(`{"to":"+14155550142","from":"+15550100","body":"Your code is 482913"}`),
			"Authorization", "Bearer "+testSecret, "Content-Type", "application/json"), bridge.ChannelSMS, "482913", ""},
		// Auth0's gateway-migration sample (unified-phone-experience-passwordless.mdx).
		"gateway migration sample {recipient, body, sender, req}": {bridgetest.Post("/hooks/auth0",
			[]byte(`{"recipient":"+14155550142","body":"Your verification code is: 482913","sender":"+15550100",`+
				`"req":{"ip":"203.0.113.7","user-agent":"Mozilla/5.0"}}`),
			"Authorization", "Bearer "+testSecret, "Content-Type", "application/json"), bridge.ChannelSMS, "482913", ""},
	} {
		res, err := a.Parse(context.Background(), tc.req)
		if err != nil || res.OTP == nil {
			t.Errorf("%s: Parse = %+v, %v; want an OTP event", name, res, err)
			continue
		}
		if e := res.OTP; e.Phone != "+14155550142" || e.OTP != tc.code || e.Channel != tc.channel || e.Locale != tc.locale {
			t.Errorf("%s: event %+v", name, e)
		}
	}
	// What the sample Action sees: 200 once the SMS is out.
	if resp, _ := a.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeDelivered}); resp.Status != 200 {
		t.Errorf("delivered: %d", resp.Status)
	}
	// The text/plain path reads only a strict JSON object, and only after the secret.
	for name, req := range map[string]*bridge.Request{
		"text/plain, not JSON":      sampleAction("recipient=+14155550142&code=482913", "Bearer "+testSecret),
		"text/plain, duplicate key": sampleAction(`{"recipient":"+14155550142","code":"482913","code":"111111"}`, "Bearer "+testSecret),
		"text/plain, wrong secret":  sampleAction(sampleActionSMS, "Bearer nope-nope-nope-nope"),
		"recipient and to differ":   sampleAction(`{"recipient":"+14155550142","to":"+14155550199","code":"482913"}`, "Bearer "+testSecret),
	} {
		if res, _ := a.Parse(context.Background(), req); res.Rejection == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestAuth0Notices (issue 14, corrected by the research memo): blocked_account
// and password_breach without a code are texted as is only when the operator
// enables it, from Auth0's sender; otherwise refused explicitly (422
// not_an_otp, which SMS+'s Action drops and Auth0 logs). change_password
// carries a reset code: protected like an OTP, never texted in clear.
func TestAuth0Notices(t *testing.T) {
	t.Parallel()
	// The custom phone provider's event.notification, as SMS+'s Action forwards it.
	blocked := `{"recipient":"+14155550142","message":"Your account has been blocked after multiple consecutive login attempts.",` +
		`"message_type":"blocked_account","delivery_method":"text","from":"+15550100","locale":"en_US","correlation_id":"c-1"}`
	breach := `{"recipient":"+14155550142","message":"We detected a breached password on your account. Reset it now.",` +
		`"message_type":"password_breach","delivery_method":"text","from":"+15550100"}`
	breachCode := `{"recipient":"+14155550142","message":"Breached password. Your reset code is 482913","code":"482913",` +
		`"message_type":"password_breach","delivery_method":"text"}`
	change := `{"recipient":"+14155550142","message":"Your password change code is 482913","code":"482913",` +
		`"message_type":"change_password","delivery_method":"text"}`
	changeNoCode := `{"recipient":"+14155550142","message":"Reset your password: https://acme.example/r/8841",` +
		`"message_type":"change_password","delivery_method":"text"}`
	req := func(body string) *bridge.Request { return post([]byte(body), "Bearer "+testSecret) }

	refusing := configured(t, nil)
	for name, body := range map[string]string{"blocked_account": blocked, "password_breach without a code": breach, "change_password without a code": changeNoCode} {
		res, _ := refusing.Parse(context.Background(), req(body))
		if res.Rejection == nil || res.Rejection.Reason != bridge.ReasonNotOTP || res.Rejection.Response.Status != http.StatusUnprocessableEntity {
			t.Errorf("AUTH0_NOTICES unset, %s: %+v; want 422 not_an_otp", name, res)
		}
	}
	for name, body := range map[string]string{"change_password": change, "password_breach with a code": breachCode} {
		res, _ := refusing.Parse(context.Background(), req(body))
		if res.OTP == nil || res.OTP.OTP != "482913" {
			t.Errorf("%s: %+v; want an OTP event (a link, never the code in clear)", name, res)
		}
	}

	delivering := newAuth0()
	ctx := bridge.WithHostFeatures(context.Background(), bridge.FeatureNotices)
	if err := delivering.Configure(ctx, map[string]string{settingSecret: testSecret, settingNotices: "deliver"}); err != nil {
		t.Fatal(err)
	}
	res, _ := delivering.Parse(context.Background(), req(blocked))
	if n := res.Notice; n == nil || n.Phone != "+14155550142" || n.Sender != "+15550100" || n.Kind != "blocked_account" ||
		n.TransactionID != "c-1" || n.Message == "" {
		t.Errorf("blocked_account with AUTH0_NOTICES=deliver: %+v", res)
	}
	if res, _ := delivering.Parse(context.Background(), req(breach)); res.Notice == nil || res.Notice.Kind != "password_breach" {
		t.Errorf("password_breach without a code, deliver: %+v", res)
	}
	for name, body := range map[string]string{"change_password": change, "password_breach with a code": breachCode} {
		if res, _ := delivering.Parse(context.Background(), req(body)); res.OTP == nil {
			t.Errorf("%s with AUTH0_NOTICES=deliver: %+v; want an OTP event", name, res)
		}
	}
	if res, _ := delivering.Parse(context.Background(), req(changeNoCode)); res.Rejection == nil {
		t.Errorf("change_password without a code was not refused: %+v", res)
	}
	// A host that does not deliver notices: the setting is refused, not ignored.
	err := newAuth0().Configure(context.Background(), map[string]string{settingSecret: testSecret, settingNotices: "deliver"})
	bridgetest.Problems(t, err, []string{"AUTH0_NOTICES=deliver needs an SMS+ host that delivers notices"}, testSecret)
	err = newAuth0().Configure(context.Background(), map[string]string{settingSecret: testSecret, settingNotices: "yes"})
	bridgetest.Problems(t, err, []string{"AUTH0_NOTICES must be refuse or deliver"}, testSecret)
}

// TestAuth0YearLikeCode (issue 14): the legacy Passwordless gateway sends the
// code only in body; with options.totp.length 4, a code from 1900 to 2099 was
// refused. AUTH0_OTP_LENGTH=4 delivers it when it is the only candidate.
func TestAuth0YearLikeCode(t *testing.T) {
	t.Parallel()
	gateway := []byte(`{"recipient":"+1 399 999 0144","body":"Your verification code is: 2024","sender":"+1 234 567"}`)
	if res, _ := configured(t, nil).Parse(context.Background(), post(gateway, "Bearer "+testSecret)); res.OTP != nil {
		t.Errorf("without AUTH0_OTP_LENGTH a year-like code was taken: %+v", res.OTP)
	}
	a := configured(t, map[string]string{settingSecret: testSecret, settingLength: "4"})
	res, _ := a.Parse(context.Background(), post(gateway, "Bearer "+testSecret))
	if res.OTP == nil || res.OTP.OTP != "2024" {
		t.Errorf("AUTH0_OTP_LENGTH=4: %+v", res)
	}
	two := []byte(`{"recipient":"+1 399 999 0144","body":"© 2026 Acme. Your verification code is: 2024"}`)
	if res, _ := a.Parse(context.Background(), post(two, "Bearer "+testSecret)); res.OTP != nil {
		t.Errorf("two candidates of length 4: %+v", res.OTP)
	}
	bridgetest.Problems(t, newAuth0().Configure(context.Background(), map[string]string{settingSecret: testSecret, settingLength: "3"}),
		[]string{"AUTH0_OTP_LENGTH must be a whole number from 4 to 10"}, testSecret)
}

// TestAuth0SecretRotation: during a rotation the Action's bearer and the
// gateway's JWT may use either secret.
func TestAuth0SecretRotation(t *testing.T) {
	t.Parallel()
	const next = "auth0-next-secret-0123456789"
	a := configured(t, map[string]string{settingSecret: next, settingPrevious: testSecret})
	body := []byte(sampleActionSMS)
	claims := map[string]any{"exp": testNow.Add(time.Minute).Unix()}
	for name, authz := range map[string]string{
		"bearer, new": "Bearer " + next, "bearer, previous": "Bearer " + testSecret,
		"JWT, new": "Bearer " + jwt("HS256", claims, []byte(next)), "JWT, previous": "Bearer " + jwt("HS256", claims, []byte(testSecret)),
	} {
		if res, _ := a.Parse(context.Background(), post(body, authz)); res.OTP == nil {
			t.Errorf("%s refused: %+v", name, res.Rejection)
		}
	}
	if res, _ := a.Parse(context.Background(), post(body, "Bearer "+jwt("HS256", claims, []byte("a-third-secret-0123456789")))); res.OTP != nil {
		t.Error("a JWT signed with a third secret accepted")
	}
}

// TestAuth0ConformanceWithNotices: the kit, with notices delivered and Auth0's
// sample Action among the requests.
func TestAuth0ConformanceWithNotices(t *testing.T) {
	s := suite(t)
	s.Settings[settingNotices] = "deliver"
	s.HostFeatures = []string{bridge.FeatureNotices}
	s.Requests = append(s.Requests, sampleAction(sampleActionSMS, "Bearer "+testSecret),
		post(bridgetest.Fixture(t, "blocked_account.json"), "Bearer "+testSecret))
	bridgetest.Run(t, newAuth0(), s)
}
