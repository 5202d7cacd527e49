package main

import (
	"context"
	"encoding/json"
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

const testPass = "fusionauth-test-pass-0123456789"

var basic = bridgetest.BasicAuth("fusionauth", testPass)

func configured(t testing.TB, settings map[string]string) *fusionAuth {
	t.Helper()
	if settings == nil {
		settings = map[string]string{settingSecret: testPass}
	}
	f := newFusionAuth()
	if err := f.Configure(context.Background(), settings); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return f
}

func post(body []byte, headers ...string) *bridge.Request {
	return bridgetest.Post("/hooks/fusionauth", body, append([]string{"Content-Type", "application/json"}, headers...)...)
}

// typed is post with another Content-Type; "" sends none.
func typed(ctype string, body []byte, headers ...string) *bridge.Request {
	if ctype == "" {
		return bridgetest.Post("/hooks/fusionauth", body, headers...)
	}
	return bridgetest.Post("/hooks/fusionauth", body, append([]string{"Content-Type", ctype}, headers...)...)
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		settings map[string]string
		problems []string
	}{
		"seed name":       {settings: map[string]string{settingSecret: testPass}},
		"alias + header":  {settings: map[string]string{settingAlias: testPass, settingHeader: "X-API-Key"}},
		"missing":         {settings: map[string]string{}, problems: []string{"FUSIONAUTH_PASS (or FUSIONAUTH_SHARED_SECRET) is required"}},
		"short":           {settings: map[string]string{settingSecret: "fusionauth"}, problems: []string{"shorter than 16"}},
		"bad header":      {settings: map[string]string{settingSecret: testPass, settingHeader: "API KEY"}, problems: []string{"not a valid HTTP header name"}},
		"user with colon": {settings: map[string]string{settingSecret: testPass, settingUser: "fa:x"}, problems: []string{"':'"}},
		"bad region":      {settings: map[string]string{settingSecret: testPass, phone.RegionSetting: "AUS"}, problems: []string{"DEFAULT_PHONE_REGION"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := newFusionAuth().Configure(context.Background(), tc.settings)
			bridgetest.Problems(t, err, tc.problems)
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	withHeader := map[string]string{settingSecret: testPass, settingHeader: "Authorization"}
	tests := map[string]struct {
		settings map[string]string
		req      *bridge.Request
		want     *bridge.OTPEvent
		ping     bool
	}{
		"JSON with a charset": {req: typed("application/json;charset=UTF-8", []byte(`{"phoneNumber":"+13035551212","code":"1234"}`), "Authorization", basic),
			want: &bridge.OTPEvent{Phone: "+13035551212", OTP: "1234", Channel: bridge.ChannelSMS}},
		"1.67 payload, code field": {req: post(bridgetest.Fixture(t, "sms_167.json"), "Authorization", basic), want: &bridge.OTPEvent{
			Phone: "+13035551212", OTP: "829104", Message: "Two Factor Code: 829104", Channel: bridge.ChannelSMS}},
		"voice is flagged": {req: post(bridgetest.Fixture(t, "voice.json"), "Authorization", basic), want: &bridge.OTPEvent{
			Phone: "+61412345678", OTP: "381220", Message: "Your verification code is 3 8 1 2 2 0", Channel: bridge.ChannelVoice}},
		"legacy, national number, code from text": {req: post(bridgetest.Fixture(t, "legacy_national.json"), "Authorization", basic), want: &bridge.OTPEvent{
			Phone: "+13035551212", OTP: "451098", Message: "Two Factor Code: 451098", Channel: bridge.ChannelSMS}},
		"leading zero, punctuated number, Spanish": {req: post(bridgetest.Fixture(t, "leading_zero.json"), "Authorization", basic), want: &bridge.OTPEvent{
			Phone: "+13035551212", OTP: "012345", Message: "Código de dos factores: 012345", Channel: bridge.ChannelSMS}},
		"Australian national number": {settings: map[string]string{settingSecret: testPass, phone.RegionSetting: "AU"},
			req: post([]byte(`{"phoneNumber":"0412 345 678","textMessage":"Code 4821","type":"sms"}`), "Authorization", basic), want: &bridge.OTPEvent{
				Phone: "+61412345678", OTP: "4821", Message: "Code 4821", Channel: bridge.ChannelSMS}},
		"API-KEY style header": {settings: withHeader, req: post(bridgetest.Fixture(t, "legacy_national.json"), "Authorization", testPass), want: &bridge.OTPEvent{
			Phone: "+13035551212", OTP: "451098", Message: "Two Factor Code: 451098", Channel: bridge.ChannelSMS}},
		// Since issue 14 only the documented text is a test; a digit-free text
		// (test_message.json) is a non-MFA message (TestNonMFAMessages).
		"admin test": {req: post(bridgetest.Fixture(t, "connection_test.json"), "Authorization", basic), ping: true},
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
	sms := bridgetest.Fixture(t, "sms_167.json")
	tests := map[string]struct {
		unconfigured bool
		req          *bridge.Request
		status       int
		code         bridge.Reason
	}{
		"not configured":               {unconfigured: true, req: post(sms, "Authorization", basic), status: 401, code: bridge.ReasonUnauthorized},
		"no auth":                      {req: post(sms), status: 401, code: bridge.ReasonUnauthorized},
		"empty pass":                   {req: post(sms, "Authorization", bridgetest.BasicAuth("fusionauth", "")), status: 401, code: bridge.ReasonUnauthorized},
		"raw secret, no header set up": {req: post(sms, "Authorization", testPass), status: 401, code: bridge.ReasonUnauthorized},
		"wrong user":                   {req: post(sms, "Authorization", bridgetest.BasicAuth("admin", testPass)), status: 401, code: bridge.ReasonUnauthorized},
		"empty text, no code":          {req: post(bridgetest.Fixture(t, "malformed_empty.json"), "Authorization", basic), status: 400, code: bridge.ReasonMissingField},
		"digit-free text (the old test heuristic)": {req: post(bridgetest.Fixture(t, "test_message.json"), "Authorization", basic), status: 422, code: bridge.ReasonNotOTP},
		"no phone":                 {req: post([]byte(`{"code":"1234","type":"SMS"}`), "Authorization", basic), status: 400, code: bridge.ReasonMissingField},
		"bad phone":                {req: post([]byte(`{"phoneNumber":"555","code":"1234"}`), "Authorization", basic), status: 422, code: bridge.ReasonInvalidPhone},
		"unknown type":             {req: post([]byte(`{"phoneNumber":"+13035551212","code":"1234","type":"Email"}`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"code as number":           {req: post([]byte(`{"phoneNumber":"+13035551212","code":12345}`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"code too short":           {req: post([]byte(`{"phoneNumber":"+13035551212","code":"123"}`), "Authorization", basic), status: 422, code: bridge.ReasonInvalidOTP},
		"code too long":            {req: post([]byte(`{"phoneNumber":"+13035551212","code":"12345678901"}`), "Authorization", basic), status: 422, code: bridge.ReasonInvalidOTP},
		"text with a year only":    {req: post([]byte(`{"phoneNumber":"+13035551212","textMessage":"Acme 2026"}`), "Authorization", basic), status: 400, code: bridge.ReasonMissingField},
		"non-UTF-8":                {req: post([]byte("{\"phoneNumber\":\"+13035551212\",\"textMessage\":\"\xffCode 1234\"}"), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"not an object":            {req: post([]byte(`["+13035551212"]`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"malformed":                {req: post([]byte(`{"phoneNumber":`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"too large":                {req: post([]byte(strings.Repeat(" ", maxBody+1)), "Authorization", basic), status: 413, code: bridge.ReasonBodyTooLarge},
		"duplicate code":           {req: post([]byte(`{"phoneNumber":"+13035551212","code":"1234","code":"5678"}`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"case-folded code":         {req: post([]byte(`{"phoneNumber":"+13035551212","code":"1234","Code":"5678"}`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"long s in a key":          {req: post([]byte(`{"phoneNumber":"+13035551212","code":"1234","type":"SMS","\u017fender":"x","Sender":"y"}`), "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"text/plain":               {req: typed("text/plain", sms, "Authorization", basic), status: 415, code: bridge.ReasonMediaType},
		"no content type":          {req: typed("", sms, "Authorization", basic), status: 415, code: bridge.ReasonMediaType},
		"form content type":        {req: typed("application/x-www-form-urlencoded", sms, "Authorization", basic), status: 415, code: bridge.ReasonMediaType},
		"auth before content type": {req: typed("text/plain", sms), status: 401, code: bridge.ReasonUnauthorized},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFusionAuth()
			if !tc.unconfigured {
				f = configured(t, nil)
			}
			res, err := f.Parse(context.Background(), tc.req)
			if err != nil || res.Rejection == nil {
				t.Fatalf("Parse = %+v %+v, %v; want a rejection", res.OTP, res.TestPing, err)
			}
			if r := res.Rejection; r.Response.Status != tc.status || r.Reason != tc.code || !byStatus(r) {
				t.Errorf("rejection = %d %s %s, want %d %s", r.Response.Status, r.Reason, r.Response.Body, tc.status, tc.code)
			}
		})
	}
}

func suite(t testing.TB) bridgetest.Suite {
	s := bridgetest.Suite{Settings: map[string]string{settingSecret: testPass, settingHeader: "X-API-Key"}}
	for _, name := range []string{"sms_167.json", "voice.json", "legacy_national.json", "leading_zero.json", "connection_test.json"} {
		s.Requests = append(s.Requests, post(bridgetest.Fixture(t, name), "Authorization", basic))
	}
	s.Requests = append(s.Requests, post(bridgetest.Fixture(t, "sms_167.json"), "X-API-Key", testPass))
	s.Bodies = [][]byte{bridgetest.Fixture(t, "malformed_empty.json")}
	return s
}

func TestConformance(t *testing.T) { bridgetest.Run(t, newFusionAuth(), suite(t)) }

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
		f.Add(b)
	}
	fa := configured(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := fa.Parse(context.Background(), post(body, "Authorization", basic))
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
		if resp, err := fa.Respond(context.Background(), out); err != nil || !json.Valid(resp.Body) {
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
