package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/phone"
)

const testSecret = "auth0-test-secret-0123456789"

var testNow = time.Unix(1_790_000_000, 0)

func configured(t testing.TB, settings map[string]string) *auth0 {
	t.Helper()
	if settings == nil {
		settings = map[string]string{settingSecret: testSecret}
	}
	a := newAuth0()
	a.now = func() time.Time { return testNow }
	if err := a.Configure(context.Background(), settings); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return a
}

func post(body []byte, authz string) *bridge.Request {
	if authz == "" {
		return bridgetest.Post("/hooks/auth0", body, "Content-Type", "application/json")
	}
	return bridgetest.Post("/hooks/auth0", body, "Content-Type", "application/json", "Authorization", authz)
}

// jwt signs claims with HS256 (or the given alg header) and key.
func jwt(alg string, claims map[string]any, key []byte) string {
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// unsigned returns an "alg":"none" token, which must never pass.
func unsigned(claims map[string]any) string {
	parts := strings.Split(jwt("none", claims, nil), ".")
	return parts[0] + "." + parts[1] + "."
}

// rawJWT signs the given header and claims texts as they are, so a test can send
// JSON that encoding/json would never produce (a claim given twice).
func rawJWT(header, claims string, key []byte) string {
	signing := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// setContentType replaces the request's Content-Type; "-" removes it.
func setContentType(req *bridge.Request, ctype string) {
	req.Headers = slices.DeleteFunc(req.Headers, func(h bridge.Header) bool { return strings.EqualFold(h.Name, "Content-Type") })
	if ctype != "-" {
		req.Headers = append(req.Headers, bridge.Header{Name: "Content-Type", Values: []string{ctype}})
	}
}

// TestJWTLifetime walks each time bound of the gateway JWT to its edge: exp is
// required, in the future and at most the max age ahead; iat, when present, at
// most the max age old and not in the future; nbf honoured; each with jwtSkew.
func TestJWTLifetime(t *testing.T) {
	t.Parallel()
	key := []byte(testSecret)
	const maxAge = 2 * time.Minute
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	tests := map[string]struct {
		claims map[string]any
		want   bool
	}{
		"exp soon":                 {claims: map[string]any{"exp": at(time.Minute)}, want: true},
		"exp at the max age":       {claims: map[string]any{"exp": at(maxAge + jwtSkew)}, want: true},
		"exp past the max age":     {claims: map[string]any{"exp": at(maxAge + jwtSkew + time.Second)}},
		"exp just passed, in skew": {claims: map[string]any{"exp": at(-jwtSkew + time.Second)}, want: true},
		"exp passed beyond skew":   {claims: map[string]any{"exp": at(-jwtSkew)}},
		"exp fractional":           {claims: map[string]any{"exp": float64(at(time.Minute)) + 0.5}, want: true},
		"no exp":                   {claims: map[string]any{"iat": at(0)}},
		"iat now":                  {claims: map[string]any{"exp": at(time.Minute), "iat": at(0)}, want: true},
		"iat at the max age":       {claims: map[string]any{"exp": at(time.Minute), "iat": at(-maxAge - jwtSkew)}, want: true},
		"iat older than max age":   {claims: map[string]any{"exp": at(time.Minute), "iat": at(-maxAge - jwtSkew - time.Second)}},
		"iat ahead, in skew":       {claims: map[string]any{"exp": at(time.Minute), "iat": at(jwtSkew)}, want: true},
		"iat ahead beyond skew":    {claims: map[string]any{"exp": at(time.Minute), "iat": at(jwtSkew + time.Second)}},
		"iat not a number":         {claims: map[string]any{"exp": at(time.Minute), "iat": "now"}},
		"nbf ahead, in skew":       {claims: map[string]any{"exp": at(time.Minute), "nbf": at(jwtSkew)}, want: true},
		"nbf ahead beyond skew":    {claims: map[string]any{"exp": at(time.Minute), "nbf": at(jwtSkew + time.Second)}},
		"nbf null":                 {claims: map[string]any{"exp": at(time.Minute), "nbf": nil}},
		"exp in 2100 with old iat": {claims: map[string]any{"exp": int64(4_102_444_800), "iat": at(0)}},
		"exp negative":             {claims: map[string]any{"exp": -1}},
		"exp beyond float range":   {claims: map[string]any{"exp": json.RawMessage("1e999")}},
		"claims not an object":     {claims: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			token := jwt("HS256", tc.claims, key)
			if got := verifyJWT(token, key, "", testNow, maxAge); got != tc.want {
				t.Errorf("verifyJWT = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestJWTMaxAgeSetting(t *testing.T) {
	t.Parallel()
	token := "Bearer " + jwt("HS256", map[string]any{"exp": testNow.Add(20 * time.Minute).Unix()}, []byte(testSecret))
	body := bridgetest.Fixture(t, "legacy_gateway.json")
	for setting, accepted := range map[string]bool{"": false, "300": false, "1800": true} {
		a := configured(t, map[string]string{settingSecret: testSecret, settingJWTMaxAge: setting})
		res, err := a.Parse(context.Background(), post(body, token))
		if err != nil || (res.OTP != nil) != accepted {
			t.Errorf("%s=%q: Parse = %+v, %v; want accepted %v", settingJWTMaxAge, setting, res, err, accepted)
		}
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		settings map[string]string
		problems []string
	}{
		"seed name":             {settings: map[string]string{settingSecret: testSecret}},
		"general alias":         {settings: map[string]string{settingAlias: testSecret}},
		"base64 secret":         {settings: map[string]string{settingSecret: base64.StdEncoding.EncodeToString([]byte(testSecret)), settingBase64: "true"}},
		"missing":               {settings: nil, problems: []string{"AUTH0_SECRET (or AUTH0_SHARED_SECRET) is required"}},
		"short":                 {settings: map[string]string{settingSecret: "undefined"}, problems: []string{"AUTH0_SECRET is shorter than 16"}},
		"aliases disagree":      {settings: map[string]string{settingSecret: testSecret, settingAlias: testSecret + "x"}, problems: []string{"set only one"}},
		"bad base64 flag":       {settings: map[string]string{settingSecret: testSecret, settingBase64: "maybe"}, problems: []string{"AUTH0_SECRET_BASE64 must be true or false"}},
		"not base64":            {settings: map[string]string{settingSecret: "not base64 at all !!!", settingBase64: "true"}, problems: []string{"not valid base64"}},
		"bad region":            {settings: map[string]string{settingSecret: testSecret, phone.RegionSetting: "USA"}, problems: []string{"DEFAULT_PHONE_REGION"}},
		"max age":               {settings: map[string]string{settingSecret: testSecret, settingJWTMaxAge: " 600 "}},
		"max age not a number":  {settings: map[string]string{settingSecret: testSecret, settingJWTMaxAge: "5m"}, problems: []string{"AUTH0_JWT_MAX_AGE_SECONDS must be"}},
		"max age zero":          {settings: map[string]string{settingSecret: testSecret, settingJWTMaxAge: "0"}, problems: []string{"AUTH0_JWT_MAX_AGE_SECONDS must be"}},
		"max age too long":      {settings: map[string]string{settingSecret: testSecret, settingJWTMaxAge: "86401"}, problems: []string{"AUTH0_JWT_MAX_AGE_SECONDS must be"}},
		"max age overflows":     {settings: map[string]string{settingSecret: testSecret, settingJWTMaxAge: "9223372037"}, problems: []string{"AUTH0_JWT_MAX_AGE_SECONDS must be"}},
		"every problem at once": {settings: map[string]string{settingBase64: "x", phone.RegionSetting: "??", settingJWTMaxAge: "-1"}, problems: []string{"required", "AUTH0_SECRET_BASE64", "AUTH0_JWT_MAX_AGE_SECONDS", "DEFAULT_PHONE_REGION"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := newAuth0().Configure(context.Background(), tc.settings)
			bridgetest.Problems(t, err, tc.problems, testSecret)
		})
	}
}

func TestParseOTP(t *testing.T) {
	t.Parallel()
	bearer := "Bearer " + testSecret
	gatewayJWT := "Bearer " + jwt("HS256", map[string]any{"sub": "auth0", "aud": "urn:smsplus", "iat": testNow.Unix(), "exp": testNow.Add(time.Minute).Unix()}, []byte(testSecret))
	tests := map[string]struct {
		settings map[string]string
		authz    string
		ctype    string
		body     []byte
		want     *bridge.OTPEvent
	}{
		"action, reference shape": {authz: bearer, body: bridgetest.Fixture(t, "action_sms.json"), want: &bridge.OTPEvent{
			Phone: "+14155550142", OTP: "482913", Message: "Your verification code is: 482913. It expires in 5 minutes.",
			Channel: bridge.ChannelSMS}},
		"action, voice is flagged": {authz: bearer, body: bridgetest.Fixture(t, "action_voice.json"), want: &bridge.OTPEvent{
			Phone: "+447700900321", OTP: "271845", Message: "Your verification code is 271845", Channel: bridge.ChannelVoice,
			Locale: "en_GB", TransactionID: "c0a8f3e2-5b1d-4c6e-9f7a-2d3e4b5c6d7e"}},
		"action, extended, leading zero": {authz: bearer, body: bridgetest.Fixture(t, "action_extended.json"), want: &bridge.OTPEvent{
			Phone: "+14155550142", OTP: "048213", Message: "Your verification code is 048213", Channel: bridge.ChannelSMS,
			Locale: "es_MX", TransactionID: "7f1d2c3b-0a9e-4d8c-b7a6-5e4f3d2c1b0a"}},
		"send-phone-message forwarded": {authz: bearer, body: bridgetest.Fixture(t, "send_phone_message.json"), want: &bridge.OTPEvent{
			Phone: "+14155550142", OTP: "0042", Message: "Tu código de verificación es 0042", Channel: bridge.ChannelSMS}},
		"legacy gateway with its JWT, spaced number, code from body": {
			settings: map[string]string{settingSecret: testSecret, settingAudience: "urn:smsplus"},
			authz:    gatewayJWT, body: bridgetest.Fixture(t, "legacy_gateway.json"), want: &bridge.OTPEvent{
				Phone: "+13999990144", OTP: "5820", Message: "Your verification code is: 5820", Channel: bridge.ChannelSMS}},
		"legacy gateway, base64 secret": {
			settings: map[string]string{settingSecret: base64.URLEncoding.EncodeToString([]byte("raw key bytes \x00\x01 for the gateway")), settingBase64: "true"},
			authz:    "Bearer " + jwt("HS256", map[string]any{"sub": "x", "exp": testNow.Add(time.Minute).Unix()}, []byte("raw key bytes \x00\x01 for the gateway")),
			body:     []byte(`{"recipient":"3035551212","body":"Code 12345678"}`), want: &bridge.OTPEvent{
				Phone: "+13035551212", OTP: "12345678", Message: "Code 12345678", Channel: bridge.ChannelSMS}},
		"send-phone-message voice": {authz: bearer,
			body: []byte(`{"recipient":"+14155550142","text":"Your code is 1234","code":"1234","message_type":"voice"}`), want: &bridge.OTPEvent{
				Phone: "+14155550142", OTP: "1234", Message: "Your code is 1234", Channel: bridge.ChannelVoice}},
		"national number in default region GB": {settings: map[string]string{settingSecret: testSecret, phone.RegionSetting: "gb"}, authz: bearer,
			body: []byte(`{"recipient":"07700 900321","message":"x","code":"8888"}`), want: &bridge.OTPEvent{
				Phone: "+447700900321", OTP: "8888", Message: "x", Channel: bridge.ChannelSMS}},
		"code field wins over the text": {authz: bearer,
			body: []byte(`{"recipient":"+14155550142","message":"Code 111111","code":"222222"}`), want: &bridge.OTPEvent{
				Phone: "+14155550142", OTP: "222222", Message: "Code 111111", Channel: bridge.ChannelSMS}},
		"chinese template without code field": {authz: bearer,
			body: []byte(`{"recipient":"+8613800138000","message":"您的验证码是604913，5分钟内有效"}`), want: &bridge.OTPEvent{
				Phone: "+8613800138000", OTP: "604913", Message: "您的验证码是604913，5分钟内有效", Channel: bridge.ChannelSMS}},
		"JSON with a charset": {authz: bearer, ctype: "application/json; charset=UTF-8",
			body: []byte(`{"recipient":"+14155550142","code":"1234"}`), want: &bridge.OTPEvent{
				Phone: "+14155550142", OTP: "1234", Channel: bridge.ChannelSMS}},
		"null and unknown fields": {authz: bearer,
			body: []byte(`{"recipient":"+14155550142","code":"1234","locale":null,"priority":7,"user":{"id":1}}`), want: &bridge.OTPEvent{
				Phone: "+14155550142", OTP: "1234", Channel: bridge.ChannelSMS}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req := post(tc.body, tc.authz)
			if tc.ctype != "" {
				setContentType(req, tc.ctype)
			}
			res, err := configured(t, tc.settings).Parse(context.Background(), req)
			if err != nil || res.OTP == nil {
				t.Fatalf("Parse = %+v %+v, %v", res.OTP, res.Rejection, err)
			}
			if !reflect.DeepEqual(res.OTP, tc.want) {
				t.Errorf("event:\n got %+v\nwant %+v", res.OTP, tc.want)
			}
		})
	}
}

func TestParseRejected(t *testing.T) {
	t.Parallel()
	bearer := "Bearer " + testSecret
	sms := bridgetest.Fixture(t, "action_sms.json")
	claims := map[string]any{"sub": "auth0", "aud": "urn:smsplus", "exp": testNow.Unix()}
	key := []byte(testSecret)
	exp := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	gw := func(c map[string]any) string { return "Bearer " + jwt("HS256", c, key) }
	tests := map[string]struct {
		unconfigured bool
		method       string
		authz        string
		ctype        string // default application/json; "-" sends none
		body         []byte
		status       int
		code         bridge.Reason
	}{
		"jwt, no exp":             {authz: gw(map[string]any{"sub": "auth0", "iat": testNow.Unix()}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, exp in 2100":        {authz: gw(map[string]any{"sub": "auth0", "exp": int64(4_102_444_800)}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, exp beyond max age": {authz: gw(map[string]any{"exp": exp(defaultJWTMaxAge + jwtSkew + time.Second)}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, exp a string":       {authz: gw(map[string]any{"exp": "1790000060"}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, exp null":           {authz: gw(map[string]any{"exp": nil}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, exp huge":           {authz: gw(map[string]any{"exp": 1e300}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, nbf huge negative":  {authz: gw(map[string]any{"exp": exp(time.Minute), "nbf": 1e300}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, iat too old":        {authz: gw(map[string]any{"exp": exp(time.Minute), "iat": exp(-defaultJWTMaxAge - jwtSkew - time.Second)}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, iat in the future":  {authz: gw(map[string]any{"exp": exp(time.Minute), "iat": exp(jwtSkew + time.Second)}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, EXP in upper case":  {authz: gw(map[string]any{"EXP": exp(time.Minute)}), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, exp given twice":    {authz: "Bearer " + rawJWT(`{"alg":"HS256"}`, `{"exp":1,"exp":`+strconv.FormatInt(exp(time.Minute), 10)+`}`, key), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, alg given twice":    {authz: "Bearer " + rawJWT(`{"alg":"none","alg":"HS256"}`, `{"exp":`+strconv.FormatInt(exp(time.Minute), 10)+`}`, key), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		// text/plain and no Content-Type are accepted for a strict JSON object
		// since issue 14 (Auth0's sample Action sends them): TestAuth0SampleAction.
		"text/plain, not JSON":    {authz: bearer, ctype: "text/plain;charset=UTF-8", body: []byte("recipient=%2B14155550142&code=1234"), status: 400, code: bridge.ReasonMalformed},
		"text/plain in latin-1":   {authz: bearer, ctype: "text/plain;charset=ISO-8859-1", body: sms, status: 415, code: bridge.ReasonMediaType},
		"text/html":               {authz: bearer, ctype: "text/html", body: sms, status: 415, code: bridge.ReasonMediaType},
		"form content type":       {authz: bearer, ctype: "application/x-www-form-urlencoded", body: sms, status: 415, code: bridge.ReasonMediaType},
		"auth before media type":  {authz: "Bearer nope", ctype: "text/plain", body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"duplicate key":           {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":"1234","code":"5678"}`), status: 400, code: bridge.ReasonMalformed},
		"case-folded key":         {authz: bearer, body: []byte(`{"recipient":"+14155550142","RECIPIENT":"+14155550199","code":"1234"}`), status: 400, code: bridge.ReasonMalformed},
		"nested duplicate key":    {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":"1234","req":{"ip":"a","IP":"b"}}`), status: 400, code: bridge.ReasonMalformed},
		"not configured":          {unconfigured: true, authz: bearer, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"GET":                     {method: http.MethodGet, authz: bearer, body: sms, status: 405, code: bridge.ReasonMethod},
		"no auth":                 {body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"Bearer undefined":        {authz: "Bearer undefined", body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"wrong secret":            {authz: bearer + "x", body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"secret without scheme":   {authz: testSecret, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"basic scheme":            {authz: bridgetest.BasicAuth("auth0", testSecret), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, wrong key":          {authz: "Bearer " + jwt("HS256", claims, []byte("another-key-0123456789")), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, alg none":           {authz: "Bearer " + unsigned(claims), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, HS512 header":       {authz: "Bearer " + jwt("HS512", claims, []byte(testSecret)), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, expired":            {authz: "Bearer " + jwt("HS256", map[string]any{"exp": testNow.Add(-2 * time.Minute).Unix()}, []byte(testSecret)), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, not yet valid":      {authz: "Bearer " + jwt("HS256", map[string]any{"nbf": testNow.Add(2 * time.Minute).Unix()}, []byte(testSecret)), body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"jwt, garbage segments":   {authz: "Bearer a.b.c", body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"auth checked first":      {authz: "Bearer nope", body: []byte("{"), status: 401, code: bridge.ReasonUnauthorized},
		"empty body":              {authz: bearer, body: nil, status: 400, code: bridge.ReasonMalformed},
		"null body":               {authz: bearer, body: []byte("null"), status: 400, code: bridge.ReasonMalformed},
		"array body":              {authz: bearer, body: []byte("[" + string(sms) + "]"), status: 400, code: bridge.ReasonMalformed},
		"truncated JSON":          {authz: bearer, body: sms[:40], status: 400, code: bridge.ReasonMalformed},
		"trailing garbage":        {authz: bearer, body: append(append([]byte{}, sms...), "x"...), status: 400, code: bridge.ReasonMalformed},
		"non-UTF-8":               {authz: bearer, body: []byte("{\"recipient\":\"+1415\xff\",\"code\":\"1234\"}"), status: 400, code: bridge.ReasonMalformed},
		"code as number":          {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":482913}`), status: 400, code: bridge.ReasonMalformed},
		"recipient as number":     {authz: bearer, body: []byte(`{"recipient":14155550142,"code":"482913"}`), status: 400, code: bridge.ReasonMalformed},
		"too large":               {authz: bearer, body: []byte(`{"x":"` + strings.Repeat("a", maxBody) + `"}`), status: 413, code: bridge.ReasonBodyTooLarge},
		"no recipient":            {authz: bearer, body: []byte(`{"message":"Code 1234","code":"1234"}`), status: 400, code: bridge.ReasonMissingField},
		"REF phoneNumber field":   {authz: bearer, body: []byte(`{"phoneNumber":"+14155550142","smsMessage":"Code 1234"}`), status: 400, code: bridge.ReasonMissingField},
		"truncated docs number":   {authz: bearer, body: []byte(`{"recipient":"+1 399 999","body":"Code 5820"}`), status: 422, code: bridge.ReasonInvalidPhone},
		"letters in number":       {authz: bearer, body: []byte(`{"recipient":"+1 415 CALL ME","code":"1234"}`), status: 422, code: bridge.ReasonInvalidPhone},
		"blocked_account":         {authz: bearer, body: bridgetest.Fixture(t, "blocked_account.json"), status: 422, code: bridge.ReasonNotOTP},
		"change_password":         {authz: bearer, body: []byte(`{"recipient":"+14155550142","message":"Reset: https://x/1234","message_type":"change_password"}`), status: 422, code: bridge.ReasonNotOTP},
		"no code, text no digits": {authz: bearer, body: []byte(`{"recipient":"+14155550142","message":"We blocked your account."}`), status: 422, code: bridge.ReasonNotOTP},
		"no code, two numbers":    {authz: bearer, body: []byte(`{"recipient":"+14155550142","message":"Code 1234 or 5678"}`), status: 400, code: bridge.ReasonMissingField},
		"no code, only a year":    {authz: bearer, body: []byte(`{"recipient":"+14155550142","message":"Welcome to Acme 2026"}`), status: 400, code: bridge.ReasonMissingField},
		"code too short":          {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":"123"}`), status: 422, code: bridge.ReasonInvalidOTP},
		"code too long":           {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":"12345678901"}`), status: 422, code: bridge.ReasonInvalidOTP},
		"code with letters":       {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":"12ab"}`), status: 422, code: bridge.ReasonInvalidOTP},
		"unknown delivery":        {authz: bearer, body: []byte(`{"recipient":"+14155550142","code":"1234","delivery_method":"fax"}`), status: 400, code: bridge.ReasonMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAuth0()
			a.now = func() time.Time { return testNow }
			if !tc.unconfigured {
				a = configured(t, nil)
			}
			req := post(tc.body, tc.authz)
			if tc.method != "" {
				req.Method = tc.method
			}
			if tc.ctype != "" {
				setContentType(req, tc.ctype)
			}
			res, err := a.Parse(context.Background(), req)
			if err != nil || res.Rejection == nil {
				t.Fatalf("Parse = %+v, %v; want a rejection", res, err)
			}
			if r := res.Rejection; r.Response.Status != tc.status || r.Reason != tc.code || !byStatus(r) {
				t.Errorf("rejection = %d %s %s, want %d %s", r.Response.Status, r.Reason, r.Response.Body, tc.status, tc.code)
			}
		})
	}
}

func TestJWTAudience(t *testing.T) {
	t.Parallel()
	key := []byte(testSecret)
	for name, tc := range map[string]struct {
		aud  any
		want bool
	}{
		"match": {aud: "urn:smsplus", want: true}, "in array": {aud: []string{"x", "urn:smsplus"}, want: true},
		"other": {aud: "urn:other"}, "missing": {aud: nil}, "number": {aud: 7},
	} {
		claims := map[string]any{"sub": "auth0", "exp": testNow.Add(time.Minute).Unix()}
		if tc.aud != nil {
			claims["aud"] = tc.aud
		}
		if got := verifyJWT(jwt("HS256", claims, key), key, "urn:smsplus", testNow, defaultJWTMaxAge); got != tc.want {
			t.Errorf("%s: verifyJWT = %v", name, got)
		}
	}
}

// TestRespond checks the statuses the setup guide's Action and the legacy
// gateway rely on. The body shape is covered by sdk/answer and bridgetest.
func TestRespond(t *testing.T) {
	t.Parallel()
	a := configured(t, nil)
	for _, tc := range []struct {
		out    *bridge.Outcome
		status int
	}{
		{&bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"}, 200},
		{&bridge.Outcome{Kind: bridge.OutcomePending}, 200},
		{&bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonUnsupportedChannel}, 422},
		{&bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInvalidPhone}, 422},
		{&bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonSMSFailed}, 502},
		{&bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonUnavailable}, 503},
		{&bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonRateLimited}, 429},
		{&bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonBodyTooLarge}, 413},
		{&bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout}, 408},
	} {
		resp, err := a.Respond(context.Background(), tc.out)
		if err != nil || resp.Status != tc.status {
			t.Errorf("Respond(%s %s) = %d, %v; want %d", tc.out.Kind, tc.out.Reason, resp.Status, err, tc.status)
		}
	}
}

func suite(t testing.TB) bridgetest.Suite {
	s := bridgetest.Suite{Settings: map[string]string{settingSecret: testSecret, phone.RegionSetting: "US"}}
	for _, name := range []string{"action_sms.json", "action_voice.json", "action_extended.json", "legacy_gateway.json", "send_phone_message.json"} {
		s.Requests = append(s.Requests, post(bridgetest.Fixture(t, name), "Bearer "+testSecret))
	}
	s.Bodies = [][]byte{bridgetest.Fixture(t, "blocked_account.json")}
	return s
}

func TestConformance(t *testing.T) { bridgetest.Run(t, newAuth0(), suite(t)) }

func TestConformanceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bridgetest.RunBinary(t, bridgetest.Build(t, "."), suite(t))
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("Bearer "+testSecret, b)
	}
	f.Add("Bearer "+jwt("HS256", map[string]any{"aud": "x"}, []byte(testSecret)), []byte(`{"recipient":"1","body":"2026 1234"}`))
	f.Add("", []byte("\xff{"))
	a := configured(f, nil)
	f.Fuzz(func(t *testing.T, authz string, body []byte) {
		res, err := a.Parse(context.Background(), post(body, authz))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		out := &bridge.Outcome{Kind: bridge.OutcomeDelivered}
		switch {
		case res.OTP != nil:
			voiceNoCode := res.OTP.OTP == "" && res.OTP.Channel == bridge.ChannelVoice
			if !otp.Valid(res.OTP.OTP) && !voiceNoCode || !phone.IsE164(res.OTP.Phone) {
				t.Fatalf("bad event %+v", res.OTP)
			}
		case res.Rejection != nil:
			r := res.Rejection
			if r.Response.Status < 400 || r.Response.Status > 599 || !byStatus(r) {
				t.Fatalf("bad rejection %s %d %s", r.Reason, r.Response.Status, r.Response.Body)
			}
			return
		default:
			t.Fatalf("Parse returned %+v", res)
		}
		resp, err := a.Respond(context.Background(), out)
		if err != nil || !json.Valid(resp.Body) {
			t.Fatalf("Respond = %+v, %v", resp, err)
		}
	})
}

// byStatus reports whether r's answer is answer.Reject's: "rejected", the
// reason, a text and no retry.
func byStatus(r *bridge.Rejection) bool {
	var a struct {
		Status, Error, Message string
		Retryable              *bool
	}
	return r.Response != nil && json.Unmarshal(r.Response.Body, &a) == nil && a.Status == "rejected" &&
		a.Error == r.Reason.String() && a.Message != "" && a.Retryable != nil && !*a.Retryable
}
