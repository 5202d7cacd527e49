package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// oktaRequest is the telephony hook body as Okta's reference documents it
// (developer.okta.com, telephony inline hook: the sample request), with its
// messageProfile replaced. Okta's own sample phone number has no "+".
func oktaRequest(messageProfile string) []byte {
	return []byte(`{"eventId":"uS5871kJThSsU8qlA1LTcg","eventTime":"2022-01-28T21:37:02.000Z",` +
		`"eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json",` +
		`"cloudEventVersion":"0.1","source":"https://${yourOktaDomain}/api/v1/inlineHooks/cal2xd5phv9fsPLcF0g7",` +
		`"requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"reqRgSk8IBBRhuo0YdlEDTmUw",` +
		`"method":"POST","url":{"value":"/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"},` +
		`"ipAddress":"127.0.0.1"}},"userProfile":{"firstName":"test","lastName":"user","login":"test.user@okta.com",` +
		`"userId":"00u7n6nsfevSTq0o70g7"},"messageProfile":` + messageProfile + `}}`)
}

// TestBusinessRefusalsAnswer200WithErrorObject (issue 14): a request Okta sent
// and SMS+ read but will not serve is answered HTTP 200 with Okta's error
// object ("don't use HTTP status codes to return information"); only the call
// itself (credentials, method, media type, an unreadable body) gets a 4xx.
// Before: 400 for every one of these. What Okta does with either answer is the
// same (it fails over to its own providers): the test reads the answer as Okta
// does, and checks it is not a success.
func TestBusinessRefusalsAnswer200WithErrorObject(t *testing.T) {
	t.Parallel()
	o := configured(t, nil)
	for name, tc := range map[string]struct {
		profile string
		reason  string
	}{
		"invalid phone":     {`{"msgTemplate":"Your code is 12345","phoneNumber":"+1 399 999","otpExpires":"2022-01-28T21:42:02.000Z","deliveryChannel":"SMS","otpCode":"12345","locale":"EN-US"}`, "INVALID_PHONE"},
		"no phone":          {`{"msgTemplate":"Your code is 12345","otpExpires":"2022-01-28T21:42:02.000Z","deliveryChannel":"SMS","otpCode":"12345","locale":"EN-US"}`, "MISSING_FIELD"},
		"code not digits":   {`{"msgTemplate":"Your code is 12a45","phoneNumber":"9876543210","deliveryChannel":"SMS","otpCode":"12a45","locale":"EN-US"}`, "INVALID_OTP"},
		"no code anywhere":  {`{"msgTemplate":"Your code is ready","phoneNumber":"9876543210","deliveryChannel":"SMS","locale":"EN-US"}`, "MISSING_FIELD"},
		"no messageProfile": {`null`, "MISSING_FIELD"},
	} {
		res, err := o.Parse(context.Background(), post(oktaRequest(tc.profile), "Authorization", testSecret))
		if err != nil || res.Rejection == nil {
			t.Fatalf("%s: Parse = %+v, %v; want a refusal", name, res, err)
		}
		r := res.Rejection.Response
		var a oktaAnswer
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &a) != nil || a.Error == nil || len(a.Error.ErrorCauses) != 1 ||
			a.Error.ErrorCauses[0].Reason != tc.reason || oktaSuccess(r) {
			t.Errorf("%s: answered %d %s; want 200 with Okta's error object, reason %s", name, r.Status, r.Body, tc.reason)
		}
		if a.DebugContext["smsplusOutcome"] != "rejected" || a.DebugContext["smsplusReason"] != strings.ToLower(tc.reason) {
			t.Errorf("%s: debugContext %v", name, a.DebugContext)
		}
	}
	// The call itself: still a 4xx.
	for name, tc := range map[string]struct {
		req    *bridge.Request
		status int
	}{
		"wrong secret": {post(oktaRequest(`{"phoneNumber":"9876543210","otpCode":"12345"}`), "Authorization", "nope"), 401},
		"not JSON":     {post([]byte(`{"data":`), "Authorization", testSecret), 400},
		"text/plain":   {post(oktaRequest(`{"phoneNumber":"9876543210","otpCode":"12345"}`), "Authorization", testSecret, "Content-Type", "text/plain"), 415},
		"other event":  {post([]byte(`{"eventType":"com.okta.user.pre-registration","data":{}}`), "Authorization", testSecret), 400},
	} {
		res, _ := o.Parse(context.Background(), tc.req)
		if res.Rejection == nil || res.Rejection.Response.Status != tc.status {
			t.Errorf("%s: %+v, want %d", name, res, tc.status)
		}
	}
}

// TestVoiceRequests: Okta's voice request ("deliveryChannel":"voice call", no
// msgTemplate, per the 2024 reference) reaches the host as voice, with or
// without a code; a "fail closed" answer (withheld) is SUCCESSFUL, the one
// answer that keeps Okta from speaking the code through its own providers.
func TestVoiceRequests(t *testing.T) {
	t.Parallel()
	o := configured(t, nil)
	for name, tc := range map[string]struct{ profile, code string }{
		"with otpCode":   {`{"phoneNumber":"9876543210","otpExpires":"2022-01-28T21:42:02.000Z","deliveryChannel":"voice call","otpCode":"12345","locale":"EN-US"}`, "12345"},
		"without a code": {`{"phoneNumber":"9876543210","otpExpires":"2022-01-28T21:42:02.000Z","deliveryChannel":"voice call","locale":"EN-US"}`, ""},
		"CALL (2022-23)": {`{"phoneNumber":"9876543210","deliveryChannel":"CALL","otpCode":"12345"}`, "12345"},
	} {
		res, err := o.Parse(context.Background(), post(oktaRequest(tc.profile), "Authorization", testSecret))
		if err != nil || res.OTP == nil || res.OTP.Channel != bridge.ChannelVoice || res.OTP.OTP != tc.code || res.OTP.Phone != "+19876543210" {
			t.Errorf("%s: Parse = %+v, %v", name, res, err)
		}
	}
	resp, err := o.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeWithheld, Reason: bridge.ReasonUnsupportedChannel})
	if err != nil || !oktaSuccess(resp) || !strings.Contains(string(resp.Body), `"smsplusOutcome":"withheld"`) {
		t.Errorf("withheld: %v %s", err, resp.Body)
	}
}

// TestSecretRotation: during a rotation Okta may send either secret.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	const next = "n3xt-s3cr3t-0123456789"
	o := configured(t, map[string]string{settingSecret: next, settingPrevious: testSecret})
	body := oktaRequest(`{"phoneNumber":"9876543210","otpCode":"12345","deliveryChannel":"SMS"}`)
	for _, s := range []string{testSecret, next, "Bearer " + next} {
		if res, _ := o.Parse(context.Background(), post(body, "Authorization", s)); res.OTP == nil {
			t.Errorf("secret %.4s… refused during the rotation", s)
		}
	}
	if res, _ := o.Parse(context.Background(), post(body, "Authorization", "n0t-0n3-0f-th3m-0123")); res.Rejection == nil {
		t.Error("a third secret accepted")
	}
	req, err := o.Example(context.Background(), bridge.ExampleRequest{Phone: "+14155550123", OTP: "123456"})
	if err != nil || req.Header("Authorization") != next {
		t.Errorf("the example does not use the new secret: %v", err)
	}
}

const (
	oauthAudience = "api://default"
	oauthClient   = "0oa9hooksmsplus"
	oauthScope    = "com.smsplus.telephony"
)

func oauthOkta(t *testing.T, ks *bridgetest.KeyServer, extra map[string]string) (o *okta, advance func(time.Duration)) {
	t.Helper()
	o = newOkta()
	o.httpClient = ks.Client()
	var skew atomic.Int64 // the verifier's clock runs ahead of the wall clock by skew
	o.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	advance = func(d time.Duration) { skew.Add(int64(d)) }
	settings := map[string]string{settingIssuer: ks.Issuer(), settingAudience: oauthAudience, settingClientID: oauthClient,
		settingScope: oauthScope}
	for k, v := range extra {
		settings[k] = v
	}
	if err := o.Configure(context.Background(), settings); err != nil {
		t.Fatal(err)
	}
	return o, advance
}

// TestOAuthHook: Okta's OAuth 2.0 hook authentication (client credentials
// against a custom authorization server, Authorization: Bearer <JWT>),
// verified against a local key server, through a key rotation.
func TestOAuthHook(t *testing.T) {
	t.Parallel()
	ks := bridgetest.NewKeyServer(t)
	o, advance := oauthOkta(t, ks, nil)
	body := oktaRequest(`{"msgTemplate":"Your code is 12345","phoneNumber":"9876543210","deliveryChannel":"SMS","otpCode":"12345"}`)
	parse := func(authz string) *bridge.ParseResult {
		res, err := o.Parse(context.Background(), post(body, "Authorization", authz))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	good := ks.Claims(oauthAudience, oauthClient, oauthScope, time.Hour)
	if res := parse("Bearer " + ks.Sign(t, good)); res.OTP == nil {
		t.Fatalf("Okta's token refused: %+v", res.Rejection)
	}
	bad := func(k string, v any) string {
		c := ks.Claims(oauthAudience, oauthClient, oauthScope, time.Hour)
		c[k] = v
		return "Bearer " + ks.Sign(t, c)
	}
	for name, authz := range map[string]string{
		"other audience":  bad("aud", "api://other"),
		"other client":    bad("cid", "0oaother"),
		"other scope":     bad("scp", []string{"okta.users.read"}),
		"expired":         bad("exp", time.Now().Add(-time.Hour).Unix()),
		"other issuer":    bad("iss", "https://acme.okta.com/oauth2/default"),
		"no token":        "",
		"a static secret": testSecret,
		"a static bearer": "Bearer " + testSecret,
	} {
		if res := parse(authz); res.Rejection == nil || res.Rejection.Response.Status != 401 {
			t.Errorf("%s: %+v, want 401", name, res)
		}
	}
	// Okta rotates its keys: a new kid appears and signs. A kid SMS+ does not
	// know makes it fetch the keys again, at most every 30 s.
	next := ks.AddKey(t)
	ks.Use(next)
	advance(31 * time.Second)
	if res := parse("Bearer " + ks.Sign(t, ks.Claims(oauthAudience, oauthClient, oauthScope, time.Hour))); res.OTP == nil {
		t.Errorf("token signed with Okta's new key refused: %+v", res.Rejection)
	}
}

// TestOAuthMigration: with both OAuth and the header secret configured, each
// is accepted (switch the hook from one to the other without downtime).
func TestOAuthMigration(t *testing.T) {
	t.Parallel()
	ks := bridgetest.NewKeyServer(t)
	o, _ := oauthOkta(t, ks, map[string]string{settingSecret: testSecret})
	body := oktaRequest(`{"phoneNumber":"9876543210","deliveryChannel":"SMS","otpCode":"12345"}`)
	for name, authz := range map[string]string{
		"token":  "Bearer " + ks.Sign(t, ks.Claims(oauthAudience, oauthClient, oauthScope, time.Hour)),
		"secret": testSecret,
	} {
		if res, _ := o.Parse(context.Background(), post(body, "Authorization", authz)); res.OTP == nil {
			t.Errorf("%s refused: %+v", name, res.Rejection)
		}
	}
}

func TestOAuthConfigure(t *testing.T) {
	t.Parallel()
	full := func(issuer string) map[string]string {
		return map[string]string{settingIssuer: issuer, settingAudience: oauthAudience, settingClientID: oauthClient, settingScope: oauthScope}
	}
	for name, tc := range map[string]struct {
		settings map[string]string
		problems []string
	}{
		"OAuth alone":              {settings: full("https://acme.okta.com/oauth2/default")},
		"org authorization server": {settings: full("https://acme.okta.com"), problems: []string{"custom authorization server"}},
		"http issuer":              {settings: full("http://acme.okta.com/oauth2/default"), problems: []string{"https"}},
		"no audience, client nor scope": {settings: map[string]string{settingIssuer: "https://acme.okta.com/oauth2/default"},
			problems: []string{settingAudience, settingClientID, settingScope}},
		"audience without issuer": {settings: map[string]string{settingAudience: oauthAudience}, problems: []string{settingIssuer + " is required"}},
	} {
		err := newOkta().Configure(context.Background(), tc.settings)
		bridgetest.Problems(t, err, tc.problems)
		_ = name
	}
}

// TestOktaOTPLength (issue 14, item 2): Okta documents otpCode in every
// request, but a request without it falls back to msgTemplate, where a
// 4-digit code from 1900 to 2099 reads as a year and is refused unless
// OKTA_OTP_LENGTH says codes have 4 digits.
func TestOktaOTPLength(t *testing.T) {
	t.Parallel()
	body := oktaRequest(`{"msgTemplate":"Your code is 2024","phoneNumber":"9876543210","deliveryChannel":"SMS","locale":"EN-US"}`)
	if res, _ := configured(t, nil).Parse(context.Background(), post(body, "Authorization", testSecret)); res.OTP != nil {
		t.Errorf("without OKTA_OTP_LENGTH a year-like code was taken: %+v", res.OTP)
	}
	res, err := configured(t, map[string]string{settingSecret: testSecret, settingLength: "4"}).Parse(context.Background(), post(body, "Authorization", testSecret))
	if err != nil || res.OTP == nil || res.OTP.OTP != "2024" {
		t.Errorf("OKTA_OTP_LENGTH=4: %+v, %v", res, err)
	}
}

// TestDebugContextDuration: Okta's System Log gets how long SMS+ took
// (issue 14: "outcome, transaction id, duration").
func TestDebugContextDuration(t *testing.T) {
	t.Parallel()
	o := configured(t, nil)
	resp, err := o.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_abc", Duration: 412 * time.Millisecond})
	var a oktaAnswer
	if err != nil || json.Unmarshal(resp.Body, &a) != nil || a.DebugContext["smsplusDurationMs"] != "412" || a.DebugContext["smsplusTransactionId"] != "sp_abc" {
		t.Errorf("debugContext of a delivery in 412 ms: %v %s", err, resp.Body)
	}
}
