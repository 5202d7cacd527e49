package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/phone"
)

const testSecret = "s3cr3t-0123456789abcdef"

func configured(t testing.TB, settings map[string]string) *okta {
	t.Helper()
	if settings == nil {
		settings = map[string]string{settingSecret: testSecret}
	}
	o := newOkta()
	if err := o.Configure(context.Background(), settings); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return o
}

// post builds a hook call with the given header name, value pairs. It sends
// Content-Type: application/json, as Okta does, unless the pairs name another
// (an empty value sends none).
func post(body []byte, headers ...string) *bridge.Request {
	r := &bridge.Request{Method: http.MethodPost, Path: "/hooks/okta", Body: body}
	ctype := "application/json"
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Content-Type") {
			ctype = headers[i+1]
			continue
		}
		r.Headers = append(r.Headers, bridge.Header{Name: headers[i], Values: []string{headers[i+1]}})
	}
	if ctype != "" {
		r.Headers = append(r.Headers, bridge.Header{Name: "Content-Type", Values: []string{ctype}})
	}
	return r
}

func TestInfo(t *testing.T) {
	t.Parallel()
	info, err := newOkta().Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "okta" || info.Version != "0.1.0" || info.Deadline != 3*time.Second {
		t.Errorf("Info = %+v", info)
	}
	var secret, header *bridge.Setting
	for i := range info.Settings {
		switch info.Settings[i].Name {
		case settingSecret:
			secret = &info.Settings[i]
		case settingHeader:
			header = &info.Settings[i]
		}
	}
	// Not required since issue 14: OAuth 2.0 (OKTA_OAUTH_ISSUER...) is the
	// alternative; Configure requires one of the two.
	if secret == nil || secret.Required || !secret.Secret {
		t.Errorf("%s setting = %+v, want secret, optional (OAuth 2.0 is the alternative)", settingSecret, secret)
	}
	if header == nil || header.Required || header.Secret {
		t.Errorf("%s setting = %+v, want optional, not secret", settingHeader, header)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		settings map[string]string
		problems []string // substrings, one per expected problem, in order
	}{
		"secret only":       {settings: map[string]string{settingSecret: testSecret}},
		"custom header":     {settings: map[string]string{settingSecret: testSecret, settingHeader: "X-Okta-Secret"}},
		"nil settings":      {settings: nil, problems: []string{"OKTA_SHARED_SECRET is required: set it to the Authentication secret configured on the Okta inline hook"}},
		"blank secret":      {settings: map[string]string{settingSecret: "  \t"}, problems: []string{"OKTA_SHARED_SECRET is required"}},
		"short secret":      {settings: map[string]string{settingSecret: "hunter2"}, problems: []string{"shorter than 16 characters: anyone who can reach the hook URL could guess it"}},
		"header with space": {settings: map[string]string{settingSecret: testSecret, settingHeader: "X Okta"}, problems: []string{`OKTA_AUTH_HEADER "X Okta" is not a valid HTTP header name`}},
		"header with colon": {settings: map[string]string{settingSecret: testSecret, settingHeader: "Authorization:"}, problems: []string{"not a valid HTTP header name"}},
		"every problem at once": {
			settings: map[string]string{settingSecret: "tiny-s3cr3t", settingHeader: "bad\nname"},
			problems: []string{"OKTA_SHARED_SECRET is shorter", "OKTA_AUTH_HEADER"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := newOkta().Configure(context.Background(), tc.settings)
			bridgetest.Problems(t, err, tc.problems, tc.settings[settingSecret])
		})
	}
}

func TestConfigureFailureFailsClosed(t *testing.T) {
	t.Parallel()
	o := configured(t, nil)
	body := bridgetest.Fixture(t, "sms.json")
	if res, _ := o.Parse(context.Background(), post(body, "Authorization", testSecret)); res.OTP == nil {
		t.Fatalf("before reconfigure: %+v", res.Rejection)
	}
	if err := o.Configure(context.Background(), map[string]string{}); err == nil {
		t.Fatal("Configure with no secret succeeded")
	}
	res, err := o.Parse(context.Background(), post(body, "Authorization", testSecret))
	if err != nil || res.Rejection == nil || res.Rejection.Reason != bridge.ReasonUnauthorized {
		t.Fatalf("after failed reconfigure: %+v, %v; want unauthorized", res, err)
	}
}

func TestParseOTP(t *testing.T) {
	t.Parallel()
	sms := bridgetest.Fixture(t, "sms.json")
	withProfile := func(mp string) []byte {
		return []byte(`{"eventId":"e1","eventType":"com.okta.telephony.provider","data":{"messageProfile":` + mp + `}}`)
	}
	min := func(otp string, ch bridge.Channel, msg string) *bridge.OTPEvent {
		return &bridge.OTPEvent{Phone: "+14155550123", OTP: otp, Channel: ch, Message: msg, TransactionID: "e1"}
	}
	smsWant := &bridge.OTPEvent{
		Phone:         "+14155550123",
		OTP:           "604913",
		Message:       "Your Acme verification code is 604913",
		Channel:       bridge.ChannelSMS,
		Locale:        "EN-US",
		ExpiresAt:     time.Date(2026, 3, 2, 9, 19, 7, 112_000_000, time.UTC),
		TransactionID: "3QdDXl7qTgmjRWNbxuC9Kg",
	}
	tests := map[string]struct {
		settings map[string]string
		headers  []string
		body     []byte
		want     *bridge.OTPEvent
	}{
		"sms with bearer secret": {headers: []string{"Authorization", "Bearer " + testSecret}, body: sms, want: smsWant},
		"sms with raw secret":    {headers: []string{"Authorization", testSecret}, body: sms, want: smsWant},
		"header name any case":   {headers: []string{"authorization", testSecret}, body: sms, want: smsWant},
		"custom auth header": {
			settings: map[string]string{settingSecret: testSecret, settingHeader: "X-Okta-Secret"},
			headers:  []string{"x-okta-secret", "Bearer " + testSecret}, body: sms, want: smsWant,
		},
		"voice": {
			headers: []string{"Authorization", testSecret}, body: bridgetest.Fixture(t, "voice.json"),
			want: &bridge.OTPEvent{
				Phone: "+4915123456789", OTP: "318842", Channel: bridge.ChannelVoice, Locale: "DE-DE",
				ExpiresAt:     time.Date(2026, 3, 2, 10, 6, 55, 0, time.UTC),
				TransactionID: "7bLq2RrVQ1m0ZyTnP3xW4A",
			},
		},
		"preview is a real send": {
			headers: []string{"Authorization", testSecret}, body: bridgetest.Fixture(t, "preview.json"),
			want: &bridge.OTPEvent{
				Phone: "+15555551212", OTP: "11111", Message: "(HOOK)Your code is 11111", Channel: bridge.ChannelSMS, Locale: "EN-US",
				ExpiresAt: time.Date(2026, 3, 1, 21, 48, 34, 321_000_000, time.UTC), TransactionID: "Kx0pJ3v7S9eQy5mWb2nC1g",
			},
		},
		"template fallback keeps leading zero, national phone normalized, bad expiry ignored": {
			headers: []string{"Authorization", testSecret}, body: bridgetest.Fixture(t, "template_only.json"),
			want: &bridge.OTPEvent{
				Phone: "+19876543210", OTP: "012345", Message: "Your code is 012345", Channel: bridge.ChannelSMS,
				TransactionID: "Vq8mN2cP0sLk4TzR6yHb1w",
			},
		},
		"year in template is not the code": {
			headers: []string{"Authorization", testSecret},
			body:    withProfile(`{"phoneNumber":"+14155550123","msgTemplate":"Acme 2026: your code is 604913"}`),
			want:    min("604913", bridge.ChannelSMS, "Acme 2026: your code is 604913"),
		},
		"spaced national number and German template": {
			settings: map[string]string{settingSecret: testSecret, "DEFAULT_PHONE_REGION": "DE"},
			headers:  []string{"Authorization", testSecret},
			body:     withProfile(`{"phoneNumber":"0151 2345 6789","msgTemplate":"Ihr Bestätigungscode lautet 0815 (gültig 5 Min.)"}`),
			want: &bridge.OTPEvent{Phone: "+4915123456789", OTP: "0815", Channel: bridge.ChannelSMS, Message: "Ihr Bestätigungscode lautet 0815 (gültig 5 Min.)",
				TransactionID: "e1"},
		},
		"otpCode preferred over template": {
			headers: []string{"Authorization", testSecret},
			body:    withProfile(`{"phoneNumber":"+14155550123","otpCode":"0042","msgTemplate":"Code 998877"}`),
			want:    min("0042", bridge.ChannelSMS, "Code 998877"),
		},
		"template with year and one code is fine when code is not year-like": {
			headers: []string{"Authorization", testSecret},
			body:    withProfile(`{"phoneNumber":"+14155550123","msgTemplate":"Your code is 604913. It expires in 5 minutes."}`),
			want:    min("604913", bridge.ChannelSMS, "Your code is 604913. It expires in 5 minutes."),
		},
		"no deliveryChannel is sms": {
			headers: []string{"Authorization", testSecret},
			body:    withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234"}`),
			want:    min("1234", bridge.ChannelSMS, ""),
		},
		"CALL is voice": {
			headers: []string{"Authorization", testSecret},
			body:    withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234","deliveryChannel":"CALL"}`),
			want:    min("1234", bridge.ChannelVoice, ""),
		},
		"Sms any case is sms": {
			headers: []string{"Authorization", testSecret},
			body:    withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234567890","deliveryChannel":" Sms "}`),
			want:    min("1234567890", bridge.ChannelSMS, ""),
		},
		"JSON with a charset": {
			headers: []string{"Authorization", testSecret, "Content-Type", "application/json; charset=UTF-8"},
			body:    withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234"}`),
			want:    min("1234", bridge.ChannelSMS, ""),
		},
		"null optional fields and unknown fields of any type": {
			headers: []string{"Authorization", testSecret},
			body: []byte(`{"eventId":"e1","eventType":null,"extra":[1,{"a":1e999}],"data":{"context":null,"userProfile":null,` +
				`"messageProfile":{"phoneNumber":"+14155550123","otpCode":"1234","locale":null,"firstName":7}}}`),
			want: min("1234", bridge.ChannelSMS, ""),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := configured(t, tc.settings)
			res, err := o.Parse(context.Background(), post(tc.body, tc.headers...))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if res.Rejection != nil || res.TestPing != nil {
				t.Fatalf("Parse = rejection %+v, ping %+v; want an OTP event", res.Rejection, res.TestPing)
			}
			if !reflect.DeepEqual(res.OTP, tc.want) {
				t.Errorf("OTP event:\n got %+v\nwant %+v", res.OTP, tc.want)
			}
		})
	}
}

func TestParseRejected(t *testing.T) {
	t.Parallel()
	sms := bridgetest.Fixture(t, "sms.json")
	auth := []string{"Authorization", testSecret}
	withProfile := func(mp string) []byte {
		return []byte(`{"eventType":"com.okta.telephony.provider","data":{"messageProfile":` + mp + `}}`)
	}
	tests := map[string]struct {
		unconfigured bool
		settings     map[string]string
		method       string
		headers      []string
		body         []byte
		status       int
		code         bridge.Reason
		message      string // exact, when set
	}{
		"not configured":                       {unconfigured: true, headers: auth, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"GET":                                  {method: http.MethodGet, headers: auth, body: sms, status: 405, code: bridge.ReasonMethod},
		"lowercase post":                       {method: "post", headers: auth, body: sms, status: 405, code: bridge.ReasonMethod},
		"missing auth header":                  {body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"wrong secret":                         {headers: []string{"Authorization", "Bearer " + testSecret + "x"}, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"secret prefix":                        {headers: []string{"Authorization", testSecret[:10]}, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"empty bearer":                         {headers: []string{"Authorization", "Bearer "}, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"basic scheme":                         {headers: []string{"Authorization", "Basic " + testSecret}, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"secret in the wrong header":           {settings: map[string]string{settingSecret: testSecret, settingHeader: "X-Okta-Secret"}, headers: auth, body: sms, status: 401, code: bridge.ReasonUnauthorized},
		"auth checked before body":             {headers: []string{"Authorization", "nope"}, body: []byte("{"), status: 401, code: bridge.ReasonUnauthorized},
		"empty body":                           {headers: auth, body: nil, status: 400, code: bridge.ReasonMalformed},
		"whitespace body":                      {headers: auth, body: []byte(" \n"), status: 400, code: bridge.ReasonMalformed},
		"null body":                            {headers: auth, body: []byte("null"), status: 400, code: bridge.ReasonMalformed},
		"malformed JSON":                       {headers: auth, body: []byte(`{"data":`), status: 400, code: bridge.ReasonMalformed},
		"trailing garbage":                     {headers: auth, body: append(append([]byte{}, sms...), []byte("garbage")...), status: 400, code: bridge.ReasonMalformed},
		"two objects":                          {headers: auth, body: append(append([]byte{}, sms...), []byte("{}")...), status: 400, code: bridge.ReasonMalformed},
		"array body":                           {headers: auth, body: []byte(`[` + string(sms) + `]`), status: 400, code: bridge.ReasonMalformed},
		"string body":                          {headers: auth, body: []byte(`"hello"`), status: 400, code: bridge.ReasonMalformed},
		"non-UTF-8 bytes":                      {headers: auth, body: withProfile("{\"phoneNumber\":\"+1415\xff\xfe\",\"otpCode\":\"1234\"}"), status: 400, code: bridge.ReasonMalformed},
		"otpCode as number":                    {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":604913}`), status: 400, code: bridge.ReasonMalformed},
		"huge number":                          {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":1e999999999}`), status: 400, code: bridge.ReasonMalformed},
		"phoneNumber as object":                {headers: auth, body: withProfile(`{"phoneNumber":{"n":1},"otpCode":"1234"}`), status: 400, code: bridge.ReasonMalformed},
		"messageProfile as string":             {headers: auth, body: withProfile(`"x"`), status: 400, code: bridge.ReasonMalformed},
		"deep nesting":                         {headers: auth, body: []byte(`{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`), status: 400, code: bridge.ReasonMalformed},
		"wrong eventType":                      {headers: auth, body: []byte(`{"eventType":"com.okta.event_hook","data":{"messageProfile":{"phoneNumber":"+1415","otpCode":"1234"}}}`), status: 400, code: bridge.ReasonMalformed},
		"empty eventType":                      {headers: auth, body: []byte(`{"eventType":"","data":{"messageProfile":{"phoneNumber":"+1415","otpCode":"1234"}}}`), status: 400, code: bridge.ReasonMalformed},
		"flat malformed example":               {headers: auth, body: bridgetest.Fixture(t, "malformed_flat.json"), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile is required"},
		"data null":                            {headers: auth, body: []byte(`{"data":null}`), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile is required"},
		"no messageProfile":                    {headers: auth, body: []byte(`{"data":{"userProfile":{"login":"a"}}}`), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile is required"},
		"no phoneNumber":                       {headers: auth, body: withProfile(`{"otpCode":"1234"}`), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile.phoneNumber is required"},
		"blank phoneNumber":                    {headers: auth, body: withProfile(`{"phoneNumber":"  ","otpCode":"1234"}`), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile.phoneNumber is required"},
		"no otpCode nor template":              {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123"}`), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile.otpCode is required"},
		"template with only a year":            {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","msgTemplate":"Acme 2026: your code is ready"}`), status: 200, code: bridge.ReasonMissingField, message: "data.messageProfile.otpCode is required"},
		"template with a phone number only":    {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","msgTemplate":"Call +1 415 555 0123"}`), status: 200, code: bridge.ReasonMissingField},
		"phone too short":                      {headers: auth, body: withProfile(`{"phoneNumber":"+1 399 999","otpCode":"1234"}`), status: 200, code: bridge.ReasonInvalidPhone, message: "data.messageProfile.phoneNumber is not a phone number"},
		"phone with letters":                   {headers: auth, body: withProfile(`{"phoneNumber":"1-800-FLOWERS","otpCode":"1234"}`), status: 200, code: bridge.ReasonInvalidPhone},
		"template with two codes":              {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","msgTemplate":"Code 1234 or 5678"}`), status: 200, code: bridge.ReasonMissingField},
		"template year-like next to short run": {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","msgTemplate":"Code 2024 valid 10 min"}`), status: 200, code: bridge.ReasonMissingField},
		"otpCode letters":                      {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"12ab56"}`), status: 200, code: bridge.ReasonInvalidOTP, message: "data.messageProfile.otpCode must be 4 to 10 digits"},
		"otpCode too short":                    {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"123"}`), status: 200, code: bridge.ReasonInvalidOTP},
		"otpCode too long":                     {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"12345678901"}`), status: 200, code: bridge.ReasonInvalidOTP},
		"otpCode non-ASCII digits":             {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"١٢٣٤٥٦"}`), status: 200, code: bridge.ReasonInvalidOTP},
		"body too large":                       {headers: auth, body: bytes.Repeat([]byte(" "), maxBody+1), status: 413, code: bridge.ReasonBodyTooLarge},
		"duplicate otpCode":                    {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234","otpCode":"5678"}`), status: 400, code: bridge.ReasonMalformed, message: msgDuplicate},
		"case-folded otpCode":                  {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234","OTPCODE":"5678"}`), status: 400, code: bridge.ReasonMalformed, message: msgDuplicate},
		"case-folded data":                     {headers: auth, body: []byte(`{"data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"1234"}},"Data":{}}`), status: 400, code: bridge.ReasonMalformed, message: msgDuplicate},
		"Kelvin sign in a key":                 {headers: auth, body: withProfile(`{"phoneNumber":"+14155550123","otpCode":"1234","\u212alocale":"x","klocale":"y"}`), status: 400, code: bridge.ReasonMalformed, message: msgDuplicate},
		"text/plain":                           {headers: append([]string{"Content-Type", "text/plain;charset=UTF-8"}, auth...), body: sms, status: 415, code: bridge.ReasonMediaType, message: msgMediaType},
		"no content type":                      {headers: append([]string{"Content-Type", ""}, auth...), body: sms, status: 415, code: bridge.ReasonMediaType},
		"form content type":                    {headers: append([]string{"Content-Type", "application/x-www-form-urlencoded"}, auth...), body: sms, status: 415, code: bridge.ReasonMediaType},
		"structured +json type":                {headers: append([]string{"Content-Type", "application/cloudevents+json"}, auth...), body: sms, status: 415, code: bridge.ReasonMediaType},
		"auth before content type":             {headers: []string{"Content-Type", "text/plain", "Authorization", "nope"}, body: sms, status: 401, code: bridge.ReasonUnauthorized},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := newOkta()
			if !tc.unconfigured {
				o = configured(t, tc.settings)
			}
			req := post(tc.body, tc.headers...)
			if tc.method != "" {
				req.Method = tc.method
			}
			res, err := o.Parse(context.Background(), req)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if res.OTP != nil || res.TestPing != nil || res.Rejection == nil {
				t.Fatalf("Parse = %+v, want only a rejection", res)
			}
			// Okta reads the status of a refused call, and its admins the cause.
			r := res.Rejection
			var a oktaAnswer
			if err := json.Unmarshal(r.Response.Body, &a); err != nil || a.Error == nil || len(a.Error.ErrorCauses) != 1 {
				t.Fatalf("rejection answer is not Okta's error object: %s", r.Response.Body)
			}
			cause := a.Error.ErrorCauses[0]
			if r.Response.Status != tc.status || r.Reason != tc.code || cause.Reason != strings.ToUpper(tc.code.String()) {
				t.Errorf("rejection = %d %s (%s), want %d %s", r.Response.Status, r.Reason, r.Response.Body, tc.status, tc.code)
			}
			if tc.message != "" && cause.ErrorSummary != tc.message {
				t.Errorf("cause = %q, want %q", cause.ErrorSummary, tc.message)
			}
		})
	}
}

func TestParseNilRequest(t *testing.T) {
	t.Parallel()
	res, err := configured(t, nil).Parse(context.Background(), nil)
	if err != nil || res.Rejection == nil {
		t.Fatalf("Parse(nil) = %+v, %v; want a rejection", res, err)
	}
}

// oktaAnswer decodes either of Okta's answer shapes.
type oktaAnswer struct {
	Commands []struct {
		Type  string `json:"type"`
		Value []struct {
			Status              string `json:"status"`
			Provider            string `json:"provider"`
			TransactionID       string `json:"transactionId"`
			TransactionMetadata string `json:"transactionMetadata"`
		} `json:"value"`
	} `json:"commands"`
	Error *struct {
		ErrorSummary string `json:"errorSummary"`
		ErrorCauses  []struct {
			ErrorSummary string `json:"errorSummary"`
			Reason       string `json:"reason"`
			LocationType string `json:"locationType"`
			Location     string `json:"location"`
			Domain       string `json:"domain"`
		} `json:"errorCauses"`
	} `json:"error"`
	DebugContext map[string]string `json:"debugContext"`
}

func TestRespond(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		out       *bridge.Outcome
		status    int
		okStatus  string // commands[0].value[0].status, for success answers
		txMeta    string
		reason    string // error.errorCauses[0].reason, for error answers
		causeText string // exact, when set
		allowPOST bool
	}{
		"delivered": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1", Duration: 12 * time.Millisecond},
			status: 200, okStatus: "SUCCESSFUL", txMeta: "duration=12ms",
		},
		"fallback delivered": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeFallbackDelivered, TransactionID: "sp_1", Duration: 40 * time.Millisecond},
			status: 200, okStatus: "SUCCESSFUL", txMeta: "path=fallback duration=40ms",
		},
		"delivered, rendered ahead (no duration yet)": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"},
			status: 200, okStatus: "SUCCESSFUL", txMeta: "",
		},
		"test ok": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeTestOK, TransactionID: "sp_1"},
			status: 200, okStatus: "SUCCESSFUL", txMeta: "path=test",
		},
		"pending": {
			out:    &bridge.Outcome{Kind: bridge.OutcomePending, TransactionID: "sp_1", Duration: 2500 * time.Millisecond},
			status: 200, okStatus: "PENDING", txMeta: "duration=2500ms",
		},
		"withheld (voice, fail closed)": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeWithheld, Reason: bridge.ReasonUnsupportedChannel, Duration: 3 * time.Millisecond},
			status: 200, okStatus: "SUCCESSFUL", txMeta: "path=withheld duration=3ms",
		},
		"failed invalid phone": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonInvalidPhone},
			status: 200, reason: "INVALID_PHONE", causeText: "The phone number is not a valid destination",
		},
		"failed deadline": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonDeadline},
			status: 200, reason: "DEADLINE_EXCEEDED",
		},
		"failed, code expired": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOTPExpired},
			status: 200, reason: "OTP_EXPIRED", causeText: "The one-time passcode expires too soon to be delivered",
		},
		"failed without reason": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeFailed},
			status: 200, reason: "INTERNAL_ERROR",
		},
		"failed, reason from a newer host": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.Reason(99)},
			status: 200, reason: "INTERNAL_ERROR",
		},
		"host refused, body too large": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonBodyTooLarge},
			status: 413, reason: "BODY_TOO_LARGE",
		},
		"host refused, body too slow": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout},
			status: 408, reason: "REQUEST_TIMEOUT", causeText: "The request body did not arrive in time",
		},
		"host refused, body unreadable": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonMalformed},
			status: 400, reason: "MALFORMED_REQUEST",
		},
		"host refused, method": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonMethod},
			status: 405, reason: "METHOD_NOT_ALLOWED", allowPOST: true,
		},
		"unspecified": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeUnspecified, Reason: bridge.ReasonSMSFailed},
			status: 200, reason: "INTERNAL_ERROR",
		},
		"unknown kind": {
			out:    &bridge.Outcome{Kind: bridge.OutcomeKind(99)},
			status: 200, reason: "INTERNAL_ERROR",
		},
		"nil outcome": {
			out:    nil,
			status: 200, reason: "INTERNAL_ERROR",
		},
	}
	o := configured(t, nil)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, err := o.Respond(context.Background(), tc.out)
			if err != nil {
				t.Fatalf("Respond: %v", err)
			}
			if resp.Status != tc.status {
				t.Errorf("status = %d, want %d", resp.Status, tc.status)
			}
			if got := header(resp, "Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := header(resp, "Allow"); tc.allowPOST != (got == http.MethodPost) {
				t.Errorf("Allow = %q, want POST: %v", got, tc.allowPOST)
			}
			var a oktaAnswer
			dec := json.NewDecoder(bytes.NewReader(resp.Body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a); err != nil {
				t.Fatalf("body is not an Okta answer: %v\n%s", err, resp.Body)
			}
			// Every answer tells Okta's System Log what SMS+ did.
			kind := bridge.OutcomeFailed
			if tc.out != nil {
				kind = tc.out.Kind
			}
			if dc := a.DebugContext; dc["smsplusOutcome"] == "" ||
				tc.okStatus != "" && dc["smsplusOutcome"] != kind.String() ||
				tc.out != nil && tc.out.TransactionID != "" && dc["smsplusTransactionId"] != tc.out.TransactionID ||
				tc.reason != "" && dc["smsplusReason"] != strings.ToLower(tc.reason) {
				t.Errorf("debugContext = %v", dc)
			}
			if tc.okStatus != "" {
				if a.Error != nil || len(a.Commands) != 1 || len(a.Commands[0].Value) != 1 {
					t.Fatalf("want one command with one action: %s", resp.Body)
				}
				c := a.Commands[0]
				v := c.Value[0]
				if c.Type != "com.okta.telephony.action" || v.Status != tc.okStatus || v.Provider != "SMSPLUS" ||
					v.TransactionID != tc.out.TransactionID || v.TransactionMetadata != tc.txMeta {
					t.Errorf("answer = %s", resp.Body)
				}
				return
			}
			if a.Commands != nil || a.Error == nil || a.Error.ErrorSummary == "" || len(a.Error.ErrorCauses) != 1 {
				t.Fatalf("want an error object with one cause: %s", resp.Body)
			}
			c := a.Error.ErrorCauses[0]
			if c.Reason != tc.reason || c.Domain != "smsplus" || c.ErrorSummary == "" || c.LocationType == "" || c.Location == "" {
				t.Errorf("cause = %+v, want reason %s", c, tc.reason)
			}
			if tc.causeText != "" && c.ErrorSummary != tc.causeText {
				t.Errorf("cause summary = %q, want %q", c.ErrorSummary, tc.causeText)
			}
		})
	}
}

func header(r *bridge.Response, name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) && len(h.Values) > 0 {
			return h.Values[0]
		}
	}
	return ""
}

// TestSimulateSample checks configs/samples/okta.json, the payload the host's
// end-to-end tests post, once its placeholders are filled.
func TestSimulateSample(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "configs", "samples", "okta.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"{{PHONE}}", "{{OTP}}", "{{EVENT_ID}}", "{{NOW}}", "{{EXPIRES}}"} {
		if !bytes.Contains(raw, []byte(p)) {
			t.Errorf("sample lacks placeholder %s", p)
		}
	}
	body := strings.NewReplacer(
		"{{PHONE}}", "+14155550123",
		"{{OTP}}", "048213",
		"{{EVENT_ID}}", "sim-1",
		"{{NOW}}", "2026-03-02T09:14:07Z",
		"{{EXPIRES}}", "2026-03-02T09:19:07Z",
	).Replace(string(raw))
	res, err := configured(t, nil).Parse(context.Background(), post([]byte(body), "Authorization", "Bearer "+testSecret))
	if err != nil || res.OTP == nil {
		t.Fatalf("Parse = %+v, %v", res, err)
	}
	e := res.OTP
	if e.Phone != "+14155550123" || e.OTP != "048213" || e.TransactionID != "sim-1" || e.Channel != bridge.ChannelSMS ||
		!e.ExpiresAt.Equal(time.Date(2026, 3, 2, 9, 19, 7, 0, time.UTC)) || !strings.Contains(e.Message, "048213") {
		t.Errorf("event = %+v", e)
	}
	// The template alone must also yield the code.
	if got, ok := otp.FromText(e.Message); !ok || got != "048213" {
		t.Errorf("otp.FromText(%q) = %q, %v", e.Message, got, ok)
	}
}

// The example is what `smsplus simulate okta` posts: Okta's payload for the phone
// and code asked for, with the configured header and secret, and a code that
// lives as long as Okta's do.
func TestExample(t *testing.T) {
	t.Parallel()
	want := bridge.ExampleRequest{Phone: "+14155550123", OTP: "048213", Locale: "fr-FR"}
	if _, err := newOkta().Example(context.Background(), want); !errors.Is(err, bridge.ErrNotConfigured) {
		t.Fatalf("Example before Configure = %v, want ErrNotConfigured", err)
	}
	o := configured(t, map[string]string{settingSecret: testSecret, settingHeader: "X-Okta-Secret"})
	req, err := o.Example(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if req.Header("X-Okta-Secret") != testSecret {
		t.Errorf("the example does not authenticate as Okta does: %+v", req.Headers)
	}
	before := time.Now()
	res, err := o.Parse(context.Background(), req)
	if err != nil || res.OTP == nil {
		t.Fatalf("Parse(example) = %+v, %v", res, err)
	}
	e := res.OTP
	if e.Phone != want.Phone || e.OTP != want.OTP || e.Locale != "FR-FR" || e.TransactionID == "" ||
		e.ExpiresAt.Before(before.Add(otpLife-time.Minute)) || e.ExpiresAt.After(before.Add(otpLife+time.Minute)) {
		t.Errorf("event = %+v", e)
	}
}

func TestConcurrentConfigureAndParse(t *testing.T) {
	t.Parallel()
	o := configured(t, nil)
	body := bridgetest.Fixture(t, "sms.json")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if i%2 == 0 {
					_ = o.Configure(context.Background(), map[string]string{settingSecret: testSecret})
					continue
				}
				res, err := o.Parse(context.Background(), post(body, "Authorization", testSecret))
				if err != nil || res.OTP == nil {
					t.Errorf("Parse = %+v, %v", res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(testSecret, b)
		f.Add("Bearer "+testSecret, b)
	}
	f.Add(testSecret, []byte(`{"data":{"messageProfile":{"phoneNumber":"1","msgTemplate":"2026 1234"}}}`))
	f.Add(testSecret, []byte("\xff{"))
	f.Add("", []byte("{}"))

	o := configured(f, nil)
	f.Fuzz(func(t *testing.T, authValue string, body []byte) {
		if len(body) > 2*maxBody {
			t.Skip()
		}
		res, err := o.Parse(context.Background(), post(body, "Authorization", authValue))
		if err != nil {
			t.Fatalf("Parse error: %v", err)
		}
		n := 0
		for _, set := range []bool{res.OTP != nil, res.TestPing != nil, res.Rejection != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Parse returned %d results: %+v", n, res)
		}
		switch {
		case res.OTP != nil:
			voiceNoCode := res.OTP.OTP == "" && res.OTP.Channel == bridge.ChannelVoice
			if !otp.Valid(res.OTP.OTP) && !voiceNoCode || !phone.IsE164(res.OTP.Phone) || res.OTP.Channel == bridge.ChannelUnspecified {
				t.Fatalf("bad event: %+v", res.OTP)
			}
			resp, err := o.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: "sp_1"})
			if err != nil || !json.Valid(resp.Body) {
				t.Fatalf("Respond = %+v, %v", resp, err)
			}
		case res.Rejection != nil:
			r := res.Rejection
			if !r.Reason.Known() || r.Response.Status != 200 && (r.Response.Status < 400 || r.Response.Status > 599) ||
				!json.Valid(r.Response.Body) || oktaSuccess(r.Response) {
				t.Fatalf("bad rejection: %s %d %s", r.Reason, r.Response.Status, r.Response.Body)
			}
		}
	})
}

// oktaSuccess reads an answer as Okta does: HTTP 200 and commands[0].value[0]
// with status SUCCESSFUL or PENDING; anything else (an error object, FAILED, a
// non-200) makes Okta fail over.
func oktaSuccess(r *bridge.Response) bool {
	if r.Status != http.StatusOK {
		return false
	}
	var a oktaAnswer
	if json.Unmarshal(r.Body, &a) != nil || a.Error != nil || len(a.Commands) != 1 || len(a.Commands[0].Value) != 1 ||
		a.Commands[0].Type != "com.okta.telephony.action" {
		return false
	}
	st := a.Commands[0].Value[0].Status
	return st == "SUCCESSFUL" || st == "PENDING"
}

func conformance(t *testing.T) bridgetest.Suite {
	s := bridgetest.Suite{Settings: map[string]string{settingSecret: testSecret, settingHeader: "X-Okta-Secret"}, Success: oktaSuccess}
	for _, name := range []string{"sms.json", "voice.json", "preview.json", "template_only.json"} {
		s.Requests = append(s.Requests, post(bridgetest.Fixture(t, name), "X-Okta-Secret", "Bearer "+testSecret))
	}
	s.Bodies = append(s.Bodies, bridgetest.Fixture(t, "malformed_flat.json"))
	return s
}

func TestConformance(t *testing.T) {
	bridgetest.Run(t, newOkta(), conformance(t))
}

func TestConformanceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bridgetest.RunBinary(t, bridgetest.Build(t, "."), conformance(t))
}
