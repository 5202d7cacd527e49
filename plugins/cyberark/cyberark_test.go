package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/phone"
)

const testPass = "cyberark:pass-with-colon-0123"

var basic = bridgetest.BasicAuth("cyberark", testPass)

func configured(t testing.TB, settings map[string]string) *cyberArk {
	t.Helper()
	if settings == nil {
		settings = map[string]string{settingSecret: testPass}
	}
	c := newCyberArk()
	if err := c.Configure(context.Background(), settings); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c
}

func post(body []byte, ctype, authz string) *bridge.Request {
	var h []string
	if ctype != "" {
		h = append(h, "Content-Type", ctype)
	}
	if authz != "" {
		h = append(h, "Authorization", authz)
	}
	return bridgetest.Post("/hooks/cyberark", body, h...)
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		settings map[string]string
		problems []string
	}{
		"seed name":         {settings: map[string]string{settingSecret: testPass}},
		"README name":       {settings: map[string]string{settingAlias: testPass, settingUser: "smsplus"}},
		"missing":           {settings: map[string]string{settingUser: "x"}, problems: []string{"CYBERARK_PASS (or CYBERARK_SHARED_SECRET) is required"}},
		"empty (REF bug)":   {settings: map[string]string{settingSecret: ""}, problems: []string{"required"}},
		"short":             {settings: map[string]string{settingSecret: "pass"}, problems: []string{"shorter than 16"}},
		"different aliases": {settings: map[string]string{settingSecret: testPass, settingAlias: testPass + "2"}, problems: []string{"set only one"}},
		"user with colon":   {settings: map[string]string{settingSecret: testPass, settingUser: "a:b"}, problems: []string{"':'"}},
		"bad region":        {settings: map[string]string{settingSecret: testPass, phone.RegionSetting: "France"}, problems: []string{"DEFAULT_PHONE_REGION"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := newCyberArk().Configure(context.Background(), tc.settings)
			bridgetest.Problems(t, err, tc.problems, testPass)
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	js := "application/json"
	ev := func(ph, code, msg string) *bridge.OTPEvent {
		return &bridge.OTPEvent{Phone: ph, OTP: code, Message: msg, Channel: bridge.ChannelSMS}
	}
	tests := map[string]struct {
		settings map[string]string
		req      *bridge.Request
		want     *bridge.OTPEvent
		ping     bool
	}{
		"json":                      {req: post(bridgetest.Fixture(t, "sms.json"), js, basic), want: ev("+12025550187", "604182", "Your CyberArk Identity verification code is 604182")},
		"form":                      {req: post(bridgetest.Fixture(t, "form.txt"), "application/x-www-form-urlencoded", basic), want: ev("+12025550187", "604182", "Your code is 604182")},
		"form, no content type":     {req: post(bridgetest.Fixture(t, "form.txt"), "", basic), want: ev("+12025550187", "604182", "Your code is 604182")},
		"bare digits are delivered": {req: post(bridgetest.Fixture(t, "connection_test.json"), js, basic), want: ev("+12025550187", "123456", "123456")},
		"French national number": {settings: map[string]string{settingSecret: testPass, phone.RegionSetting: "FR"}, req: post(bridgetest.Fixture(t, "national_french.json"), js, basic),
			want: ev("+33612345678", "0193", "Votre code de vérification CyberArk est 0193. Valable 10 minutes.")},
		"number without plus":    {req: post([]byte(`{"phoneNumber":"2025550187","smsMessage":"Code: 12345678"}`), js, basic), want: ev("+12025550187", "12345678", "Code: 12345678")},
		"custom user":            {settings: map[string]string{settingSecret: testPass, settingUser: "gw"}, req: post(bridgetest.Fixture(t, "sms.json"), js, bridgetest.BasicAuth("gw", testPass)), want: ev("+12025550187", "604182", "Your CyberArk Identity verification code is 604182")},
		"year and phone ignored": {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"© 2026 Acme. Code 048213. Help: +1 202 555 0100"}`), js, basic), want: ev("+12025550187", "048213", "© 2026 Acme. Code 048213. Help: +1 202 555 0100")},
		"test message":           {req: post(bridgetest.Fixture(t, "test_message.json"), js, basic), ping: true},
		"TESTING, no phone":      {req: post([]byte(`{"smsMessage":"TESTING 1 2 3"}`), js, basic), ping: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := configured(t, tc.settings).Parse(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ping {
				if res.TestPing == nil {
					t.Fatalf("want a test ping: %+v %+v", res.OTP, res.Rejection)
				}
				return
			}
			if res.OTP == nil || !reflect.DeepEqual(res.OTP, tc.want) {
				t.Fatalf("event:\n got %+v (%+v)\nwant %+v", res.OTP, res.Rejection, tc.want)
			}
		})
	}
}

func TestParseRejected(t *testing.T) {
	t.Parallel()
	js := "application/json"
	sms := bridgetest.Fixture(t, "sms.json")
	tests := map[string]struct {
		unconfigured bool
		method       string
		req          *bridge.Request
		status       int
		code         bridge.Reason
	}{
		"not configured":      {unconfigured: true, req: post(sms, js, basic), status: 401, code: bridge.ReasonUnauthorized},
		"PUT":                 {method: http.MethodPut, req: post(sms, js, basic), status: 405, code: bridge.ReasonMethod},
		"no auth":             {req: post(sms, js, ""), status: 401, code: bridge.ReasonUnauthorized},
		"empty password":      {req: post(sms, js, bridgetest.BasicAuth("cyberark", "")), status: 401, code: bridge.ReasonUnauthorized},
		"password cut at ':'": {req: post(sms, js, bridgetest.BasicAuth("cyberark", "cyberark")), status: 401, code: bridge.ReasonUnauthorized},
		"bearer":              {req: post(sms, js, "Bearer "+testPass), status: 401, code: bridge.ReasonUnauthorized},
		"wrong field names":   {req: post(bridgetest.Fixture(t, "malformed.json"), js, basic), status: 400, code: bridge.ReasonMissingField},
		"no phone":            {req: post([]byte(`{"smsMessage":"Code 604182"}`), js, basic), status: 400, code: bridge.ReasonMissingField},
		"bad phone":           {req: post([]byte(`{"phoneNumber":"your-number","smsMessage":"123456"}`), js, basic), status: 422, code: bridge.ReasonInvalidPhone},
		"short phone":         {req: post([]byte(`{"phoneNumber":"+1 202","smsMessage":"123456"}`), js, basic), status: 422, code: bridge.ReasonInvalidPhone},
		"no digits":           {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"Your account was locked"}`), js, basic), status: 422, code: bridge.ReasonNotOTP},
		"two codes":           {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"Code 1234, or 5678"}`), js, basic), status: 400, code: bridge.ReasonMissingField},
		"phone digits only":   {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"Call +1 202 555 0100"}`), js, basic), status: 400, code: bridge.ReasonMissingField},
		"3 digits":            {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"Code 123"}`), js, basic), status: 400, code: bridge.ReasonMissingField},
		"11 digits":           {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"Code 12345678901"}`), js, basic), status: 400, code: bridge.ReasonMissingField},
		"arabic-indic code":   {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"الرمز ٦٠٤١٨٢"}`), js, basic), status: 400, code: bridge.ReasonMissingField},
		"number field":        {req: post([]byte(`{"phoneNumber":12025550187,"smsMessage":"123456"}`), js, basic), status: 400, code: bridge.ReasonMalformed},
		"duplicate json key":  {req: post([]byte(`{"phoneNumber":"+12025550187","phoneNumber":"+12025550188","smsMessage":"123456"}`), js, basic), status: 400, code: bridge.ReasonMalformed},
		"folded json key":     {req: post([]byte(`{"phoneNumber":"+12025550187","PhoneNumber":"+12025550188","smsMessage":"123456"}`), js, basic), status: 400, code: bridge.ReasonMalformed},
		"nested dup key":      {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"123456","meta":[{"id":1,"ID":2}]}`), js, basic), status: 400, code: bridge.ReasonMalformed},
		"sniffed, folded":     {req: post([]byte(`{"phoneNumber":"+12025550187","smsMessage":"123456","SMSMESSAGE":"654321"}`), "", basic), status: 400, code: bridge.ReasonMalformed},
		"form dup key":        {req: post([]byte("phoneNumber=%2B12025550187&smsMessage=123456&smsMessage=654321"), "application/x-www-form-urlencoded", basic), status: 400, code: bridge.ReasonMalformed},
		"text/plain":          {req: post(sms, "text/plain", basic), status: 415, code: bridge.ReasonMediaType},
		"non-UTF-8":           {req: post([]byte("{\"phoneNumber\":\"+12025550187\",\"smsMessage\":\"\xc3\x28 123456\"}"), js, basic), status: 400, code: bridge.ReasonMalformed},
		"form non-UTF-8":      {req: post([]byte("phoneNumber=%2B12025550187&smsMessage=%ff123456"), "application/x-www-form-urlencoded", basic), status: 400, code: bridge.ReasonMalformed},
		"truncated":           {req: post(sms[:20], js, basic), status: 400, code: bridge.ReasonMalformed},
		"xml":                 {req: post([]byte("<a/>"), "application/xml", basic), status: 415, code: bridge.ReasonMediaType},
		"too large":           {req: post([]byte(strings.Repeat("a", maxBody+1)), js, basic), status: 413, code: bridge.ReasonBodyTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCyberArk()
			if !tc.unconfigured {
				c = configured(t, nil)
			}
			if tc.method != "" {
				tc.req.Method = tc.method
			}
			res, err := c.Parse(context.Background(), tc.req)
			if err != nil || res.Rejection == nil {
				t.Fatalf("Parse = %+v %+v, %v; want a rejection", res.OTP, res.TestPing, err)
			}
			if r := res.Rejection; r.Response.Status != tc.status || r.Reason != tc.code || !byStatus(r) {
				t.Errorf("rejection = %d %s %s, want %d %s", r.Response.Status, r.Reason, r.Response.Body, tc.status, tc.code)
			}
		})
	}
}

func TestIsTestMessage(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"Test message": true, "test": true, "  TESTING: 123456": true, "Tests.": true,
		"Testosterone": false, "Your test code 1234": false, "123456": false, "": false, "'Test'": false,
	} {
		if got := isTestMessage(s); got != want {
			t.Errorf("isTestMessage(%q) = %v", s, got)
		}
	}
}

func suite(t testing.TB) bridgetest.Suite {
	s := bridgetest.Suite{Settings: map[string]string{settingSecret: testPass, settingUser: "cyberark"}}
	for _, name := range []string{"sms.json", "connection_test.json", "test_message.json"} {
		s.Requests = append(s.Requests, post(bridgetest.Fixture(t, name), "application/json", basic))
	}
	s.Requests = append(s.Requests, post(bridgetest.Fixture(t, "form.txt"), "application/x-www-form-urlencoded", basic))
	s.Bodies = [][]byte{bridgetest.Fixture(t, "malformed.json"), bridgetest.Fixture(t, "national_french.json")}
	return s
}

func TestConformance(t *testing.T) { bridgetest.Run(t, newCyberArk(), suite(t)) }

func TestConformanceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bridgetest.RunBinary(t, bridgetest.Build(t, "."), suite(t))
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("application/json", b)
		f.Add("", b)
	}
	c := configured(f, nil)
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		res, err := c.Parse(context.Background(), post(body, ctype, basic))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		out := &bridge.Outcome{Kind: bridge.OutcomeDelivered}
		switch {
		case res.OTP != nil:
			if !otp.Valid(res.OTP.OTP) || !phone.IsE164(res.OTP.Phone) || res.OTP.Channel != bridge.ChannelSMS {
				t.Fatalf("bad event %+v", res.OTP)
			}
		case res.TestPing != nil:
			out.Kind = bridge.OutcomeTestOK
		case res.Rejection != nil:
			r := res.Rejection
			if r.Response.Status < 400 || r.Response.Status > 599 || !byStatus(r) {
				t.Fatalf("bad rejection %s %d %s", r.Reason, r.Response.Status, r.Response.Body)
			}
			return
		default:
			t.Fatalf("Parse returned nothing")
		}
		if resp, err := c.Respond(context.Background(), out); err != nil || !json.Valid(resp.Body) {
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
