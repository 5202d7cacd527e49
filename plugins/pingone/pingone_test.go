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

const testSecret = "pingone-test-secret-0123456789"

var basic = bridgetest.BasicAuth("pingone", testSecret)

func configured(t testing.TB, settings map[string]string) *pingOne {
	t.Helper()
	if settings == nil {
		settings = map[string]string{settingSecret: testSecret}
	}
	p := newPingOne()
	if err := p.Configure(context.Background(), settings); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func post(body []byte, ctype string, headers ...string) *bridge.Request {
	if ctype != "" {
		headers = append(headers, "Content-Type", ctype)
	}
	return bridgetest.Post("/hooks/pingone", body, headers...)
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		settings map[string]string
		problems []string
	}{
		"seed name":       {settings: map[string]string{settingSecret: testSecret}},
		"general alias":   {settings: map[string]string{settingAlias: testSecret}},
		"custom header":   {settings: map[string]string{settingSecret: testSecret, settingHeader: "X-Authorization", settingUser: "sms"}},
		"missing":         {settings: map[string]string{}, problems: []string{"PING_SHARED_SECRET (or PINGONE_SHARED_SECRET) is required"}},
		"short":           {settings: map[string]string{settingSecret: "pingone:"}, problems: []string{"shorter than 16"}},
		"user with colon": {settings: map[string]string{settingSecret: testSecret, settingUser: "a:b"}, problems: []string{"must not contain ':'"}},
		"bad header name": {settings: map[string]string{settingSecret: testSecret, settingHeader: "X Auth"}, problems: []string{"not a valid HTTP header name"}},
		"all problems":    {settings: map[string]string{settingUser: "a:b", settingHeader: "x y"}, problems: []string{"required", "':'", "header"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := newPingOne().Configure(context.Background(), tc.settings)
			bridgetest.Problems(t, err, tc.problems, testSecret)
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	withHeader := map[string]string{settingSecret: testSecret, settingHeader: "X-Authorization"}
	ev := func(ph, code, msg string, ch bridge.Channel, locale string) *bridge.OTPEvent {
		return &bridge.OTPEvent{Phone: ph, OTP: code, Message: msg, Channel: ch, Locale: locale}
	}
	tests := map[string]struct {
		settings map[string]string
		req      *bridge.Request
		want     *bridge.OTPEvent
		ping     bool
	}{
		"reference template, basic auth": {req: post(bridgetest.Fixture(t, "sms_reference.json"), "application/json", "Authorization", basic),
			want: ev("+14155552671", "730194", "Your Acme passcode is 730194. It expires in 5 minutes.", bridge.ChannelSMS, "")},
		"recommended template, NUMBER_ONLY, 8 digits, German": {req: post(bridgetest.Fixture(t, "sms_number_only.json"), "application/json", "Authorization", basic),
			want: ev("+4915112345678", "58210947", "Ihr Acme-Passcode lautet 58210947", bridge.ChannelSMS, "de")},
		"voice with SSML tags uses otp": {req: post(bridgetest.Fixture(t, "voice.json"), "application/json", "Authorization", "Bearer "+testSecret),
			want: ev("+447700900456", "391602", string(mustField(t, "voice.json", "body")), bridge.ChannelVoice, "en")},
		"form body, Telesign-style keys": {req: post(bridgetest.Fixture(t, "form_telesign.txt"), "application/x-www-form-urlencoded", "Authorization", basic),
			want: ev("+14155552671", "730194", "Your passcode is 730194", bridge.ChannelSMS, "")},
		"form body without content type": {req: post(bridgetest.Fixture(t, "form_telesign.txt"), "", "Authorization", basic),
			want: ev("+14155552671", "730194", "Your passcode is 730194", bridge.ChannelSMS, "")},
		"raw newlines in the JSON template": {req: post(bridgetest.Fixture(t, "multiline.json"), "application/json", "Authorization", basic),
			want: ev("+14155552671", "048213", "Acme\nYour passcode is 048213\nDo not share it.", bridge.ChannelSMS, "")},
		"custom header": {settings: withHeader, req: post(bridgetest.Fixture(t, "sms_reference.json"), "application/json", "X-Authorization", testSecret),
			want: ev("+14155552671", "730194", "Your Acme passcode is 730194. It expires in 5 minutes.", bridge.ChannelSMS, "")},
		"unsubstituted otp and locale ignored": {req: post([]byte(`{"to":"+14155552671","message":"Code 0193","otp":"${otp}","locale":"${locale}"}`), "application/json", "Authorization", basic),
			want: ev("+14155552671", "0193", "Code 0193", bridge.ChannelSMS, "")},
		"same value under two names": {req: post([]byte(`{"recipient":"+14155552671","to":"+14155552671","body":"Code 1234"}`), "application/json", "Authorization", basic),
			want: ev("+14155552671", "1234", "Code 1234", bridge.ChannelSMS, "")},
		// Since issue 14 only the documented text is a test: a digit-free text
		// (test_sms.json) is refused or delivered (TestNonOTPTexts).
		"connection test text": {req: post(bridgetest.Fixture(t, "connection_test.json"), "application/json", "Authorization", basic), ping: true},
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
			if res.OTP == nil {
				t.Fatalf("want an OTP event: %+v", res.Rejection)
			}
			if !reflect.DeepEqual(res.OTP, tc.want) {
				t.Errorf("event:\n got %+v\nwant %+v", res.OTP, tc.want)
			}
		})
	}
}

func mustField(t *testing.T, file, name string) string {
	var m map[string]string
	if err := json.Unmarshal(bridgetest.Fixture(t, file), &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

func TestParseRejected(t *testing.T) {
	t.Parallel()
	js := "application/json"
	sms := bridgetest.Fixture(t, "sms_reference.json")
	tests := map[string]struct {
		unconfigured bool
		req          *bridge.Request
		status       int
		code         bridge.Reason
	}{
		"not configured":           {unconfigured: true, req: post(sms, js, "Authorization", basic), status: 401, code: bridge.ReasonUnauthorized},
		"GET":                      {req: &bridge.Request{Method: http.MethodGet, RawQuery: "to=%2B1&message=x", Headers: []bridge.Header{{Name: "Authorization", Values: []string{basic}}}}, status: 405, code: bridge.ReasonMethod},
		"no auth":                  {req: post(sms, js), status: 401, code: bridge.ReasonUnauthorized},
		"empty password (REF bug)": {req: post(sms, js, "Authorization", bridgetest.BasicAuth("pingone", "")), status: 401, code: bridge.ReasonUnauthorized},
		"wrong user":               {req: post(sms, js, "Authorization", bridgetest.BasicAuth("admin", testSecret)), status: 401, code: bridge.ReasonUnauthorized},
		"wrong bearer":             {req: post(sms, js, "Authorization", "Bearer "+testSecret+"x"), status: 401, code: bridge.ReasonUnauthorized},
		"custom header not set up": {req: post(sms, js, "X-Authorization", testSecret), status: 401, code: bridge.ReasonUnauthorized},
		"placeholders":             {req: post(bridgetest.Fixture(t, "placeholders.json"), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"xml":                      {req: post([]byte("<sms/>"), "text/xml", "Authorization", basic), status: 415, code: bridge.ReasonMediaType},
		"quote, message not last":  {req: post([]byte(`{"recipient":"+14155552671","body":"say "hi" 1234","otp":"1234"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"PingOne's test SMS":       {req: post(bridgetest.Fixture(t, "test_sms.json"), js, "Authorization", basic), status: 422, code: bridge.ReasonNotOTP},
		"non-UTF-8":                {req: post([]byte("{\"recipient\":\"+14155552671\",\"body\":\"C\xf3digo 1234\"}"), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"number in JSON":           {req: post([]byte(`{"recipient":14155552671,"body":"Code 1234"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"two different numbers":    {req: post([]byte(`{"recipient":"+14155552671","to":"+14155552672","body":"Code 1234"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"form duplicate":           {req: post([]byte("phone_number=%2B1415&phone_number=%2B1416&message=1234"), "application/x-www-form-urlencoded", "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"JSON duplicate":           {req: post([]byte(`{"recipient":"+14155552671","body":"Code 1234","otp":"1234","otp":"5678"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"JSON case-folded":         {req: post([]byte(`{"recipient":"+14155552671","Recipient":"+14155552672","body":"Code 1234"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"JSON nested duplicate":    {req: post([]byte(`{"recipient":"+14155552671","body":"Code 1234","user":{"name":"a","NAME":"b"}}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"sniffed JSON duplicate":   {req: post([]byte(`{"recipient":"+14155552671","body":"Code 1234","BODY":"Code 5678"}`), "", "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"duplicate, raw newline":   {req: post([]byte("{\"recipient\":\"+14155552671\",\"body\":\"Code\n1234\",\"Otp\":\"1\",\"otp\":\"1234\"}"), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"text/plain":               {req: post(sms, "text/plain", "Authorization", basic), status: 415, code: bridge.ReasonMediaType},
		"no recipient":             {req: post([]byte(`{"body":"Code 1234"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMissingField},
		"no body":                  {req: post([]byte(`{"recipient":"+14155552671","otp":"1234"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMissingField},
		"national number":          {req: post([]byte(`{"recipient":"4155552671","body":"Code 1234"}`), js, "Authorization", basic), status: 422, code: bridge.ReasonInvalidPhone},
		"two codes in text":        {req: post([]byte(`{"recipient":"+14155552671","body":"Code 1234 or 5678"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMissingField},
		"otp with letters":         {req: post([]byte(`{"recipient":"+14155552671","body":"x","otp":"12ab"}`), js, "Authorization", basic), status: 422, code: bridge.ReasonInvalidOTP},
		"otp 3 digits":             {req: post([]byte(`{"recipient":"+14155552671","body":"x","otp":"123"}`), js, "Authorization", basic), status: 422, code: bridge.ReasonInvalidOTP},
		"unknown channel":          {req: post([]byte(`{"recipient":"+14155552671","body":"Code 1234","channel":"email"}`), js, "Authorization", basic), status: 400, code: bridge.ReasonMalformed},
		"too large":                {req: post([]byte(`{"body":"`+strings.Repeat("1", maxBody)+`"}`), js, "Authorization", basic), status: 413, code: bridge.ReasonBodyTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPingOne()
			if !tc.unconfigured {
				p = configured(t, nil)
			}
			if tc.req.Method == "" {
				tc.req.Method = http.MethodPost
			}
			res, err := p.Parse(context.Background(), tc.req)
			if err != nil || res.Rejection == nil {
				t.Fatalf("Parse = %+v %+v, %v; want a rejection", res.OTP, res.TestPing, err)
			}
			if r := res.Rejection; r.Response.Status != tc.status || r.Reason != tc.code || !byStatus(r) {
				t.Errorf("rejection = %d %s %s, want %d %s", r.Response.Status, r.Reason, r.Response.Body, tc.status, tc.code)
			}
		})
	}
}

func TestRespondNeverReturnsTheLink(t *testing.T) {
	t.Parallel()
	resp, err := configured(t, nil).Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"})
	if err != nil || resp.Status != 200 || strings.Contains(string(resp.Body), "sms.example") {
		t.Fatalf("Respond = %d %s, %v", resp.Status, resp.Body, err)
	}
	resp, _ = configured(t, nil).Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonUnsupportedChannel})
	if resp.Status != 422 {
		t.Fatalf("voice refusal answered %d", resp.Status)
	}
}

func suite(t testing.TB) bridgetest.Suite {
	s := bridgetest.Suite{Settings: map[string]string{settingSecret: testSecret}}
	for _, name := range []string{"sms_reference.json", "sms_number_only.json", "voice.json", "multiline.json", "connection_test.json", "raw_quote.json"} {
		s.Requests = append(s.Requests, post(bridgetest.Fixture(t, name), "application/json", "Authorization", basic))
	}
	s.Requests = append(s.Requests, post(bridgetest.Fixture(t, "form_telesign.txt"), "application/x-www-form-urlencoded", "Authorization", basic))
	s.Bodies = [][]byte{bridgetest.Fixture(t, "placeholders.json"), bridgetest.Fixture(t, "test_sms.json")}
	return s
}

func TestConformance(t *testing.T) { bridgetest.Run(t, newPingOne(), suite(t)) }

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
	f.Add("application/x-www-form-urlencoded", []byte("phone_number=%ff&message=%"))
	// Found by fuzzing the lenient Raw reader: the message's opening quote is the last quote.
	f.Add(" ", []byte(`{"000000000":"00000000000","body":"}`))
	p := configured(f, nil)
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		res, err := p.Parse(context.Background(), post(body, ctype, "Authorization", basic))
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
		if resp, err := p.Respond(context.Background(), out); err != nil || !json.Valid(resp.Body) {
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
