package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
)

const secret = "example-secret-0123456789abcdef-0123"

// signed builds a call the way the sender does.
func signed(body []byte, at time.Time) *bridge.Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return &bridge.Request{Method: "POST", Path: "/hooks/minimal", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}},
		{Name: headerTimestamp, Values: []string{ts}},
		{Name: headerSignature, Values: []string{"sha256=" + hex.EncodeToString(mac.Sum(nil))}},
	}}
}

func suite(t *testing.T) bridgetest.Suite {
	s := bridgetest.Suite{Settings: map[string]string{settingSecret: secret}}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s.Requests = append(s.Requests, signed(b, time.Now()))
	}
	return s
}

func TestConformance(t *testing.T) {
	bridgetest.Run(t, &minimal{now: time.Now}, suite(t))
}

func TestConformanceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bridgetest.RunBinary(t, bridgetest.Build(t, "."), suite(t))
}

func TestParse(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_790_000_000, 0)
	m := &minimal{now: func() time.Time { return now }}
	if err := m.Configure(context.Background(), map[string]string{settingSecret: secret, "DEFAULT_PHONE_REGION": "US"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"phone":"303 555 1212","message":"Your code is 0042"}`)
	tests := map[string]struct {
		req    *bridge.Request
		otp    string
		code   string
		isPing bool
	}{
		"national number, code from text": {req: signed(body, now), otp: "0042"},
		"clock skew within 5 min":         {req: signed(body, now.Add(4*time.Minute)), otp: "0042"},
		"stale":                           {req: signed(body, now.Add(-6*time.Minute)), code: bridge.CodeUnauthorized},
		"test ping":                       {req: signed([]byte(`{"test":true}`), now), isPing: true},
		"body changed after signing": {req: func() *bridge.Request {
			r := signed(body, now)
			r.Body = []byte(`{"phone":"303 555 1213","message":"Your code is 0042"}`)
			return r
		}(), code: bridge.CodeUnauthorized},
		"bad phone":   {req: signed([]byte(`{"phone":"12","code":"1234"}`), now), code: bridge.CodeInvalidPhone},
		"bad channel": {req: signed([]byte(`{"phone":"+14155550142","code":"1234","channel":"fax"}`), now), code: bridge.CodeMalformed},
		// Signed, yet ambiguous: encoding/json would keep the last code, or fill
		// Code from CODE. payload.JSON refuses both shapes.
		"duplicate key":   {req: signed([]byte(`{"phone":"+14155550142","code":"1234","code":"5678"}`), now), code: bridge.CodeMalformed},
		"case-folded key": {req: signed([]byte(`{"phone":"+14155550142","code":"1234","CODE":"5678"}`), now), code: bridge.CodeMalformed},
		"text/plain": {req: func() *bridge.Request {
			r := signed(body, now)
			r.Headers[0].Values = []string{"text/plain"}
			return r
		}(), code: bridge.CodeMediaType},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := m.Parse(context.Background(), tc.req)
			switch {
			case err != nil:
				t.Fatal(err)
			case tc.isPing:
				if res.TestPing == nil {
					t.Fatalf("want a test ping, got %+v", res)
				}
			case tc.code != "":
				if res.Rejection == nil || res.Rejection.Code != tc.code {
					t.Fatalf("want rejection %s, got %+v", tc.code, res)
				}
			default:
				if res.OTP == nil || res.OTP.OTP != tc.otp || res.OTP.Phone != "+13035551212" {
					t.Fatalf("want OTP %s, got %+v %+v", tc.otp, res.OTP, res.Rejection)
				}
			}
		})
	}
}
