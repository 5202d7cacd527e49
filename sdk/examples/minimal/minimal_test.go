package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
		req     *bridge.Request
		otp     string
		expires time.Time
		reason  bridge.Reason
		isPing  bool
	}{
		"national number, code from text": {req: signed(body, now), otp: "0042"},
		"clock skew within 5 min":         {req: signed(body, now.Add(4*time.Minute)), otp: "0042"},
		"stale":                           {req: signed(body, now.Add(-6*time.Minute)), reason: bridge.ReasonUnauthorized},
		"test ping":                       {req: signed([]byte(`{"test":true}`), now), isPing: true},
		"body changed after signing": {req: func() *bridge.Request {
			r := signed(body, now)
			r.Body = []byte(`{"phone":"303 555 1213","message":"Your code is 0042"}`)
			return r
		}(), reason: bridge.ReasonUnauthorized},
		"expiry": {req: signed([]byte(`{"phone":"+13035551212","code":"0042","expires":"2026-09-21T12:05:00Z"}`), now), otp: "0042",
			expires: time.Date(2026, 9, 21, 12, 5, 0, 0, time.UTC)},
		"bad expiry":  {req: signed([]byte(`{"phone":"+13035551212","code":"0042","expires":"in 5 minutes"}`), now), reason: bridge.ReasonMalformed},
		"bad phone":   {req: signed([]byte(`{"phone":"12","code":"1234"}`), now), reason: bridge.ReasonInvalidPhone},
		"bad channel": {req: signed([]byte(`{"phone":"+14155550142","code":"1234","channel":"fax"}`), now), reason: bridge.ReasonMalformed},
		// Signed, yet ambiguous: encoding/json would keep the last code, or fill
		// Code from CODE. payload.JSON refuses both shapes.
		"duplicate key":   {req: signed([]byte(`{"phone":"+14155550142","code":"1234","code":"5678"}`), now), reason: bridge.ReasonMalformed},
		"case-folded key": {req: signed([]byte(`{"phone":"+14155550142","code":"1234","CODE":"5678"}`), now), reason: bridge.ReasonMalformed},
		"text/plain": {req: func() *bridge.Request {
			r := signed(body, now)
			r.Headers[0].Values = []string{"text/plain"}
			return r
		}(), reason: bridge.ReasonMediaType},
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
			case tc.reason != bridge.ReasonUnspecified:
				if res.Rejection == nil || res.Rejection.Reason != tc.reason {
					t.Fatalf("want rejection %s, got %+v", tc.reason, res)
				}
			default:
				if res.OTP == nil || res.OTP.OTP != tc.otp || res.OTP.Phone != "+13035551212" || !res.OTP.ExpiresAt.Equal(tc.expires) {
					t.Fatalf("want OTP %s, got %+v %+v", tc.otp, res.OTP, res.Rejection)
				}
			}
		})
	}
}

// The example is signed with the configured secret, so the bridge's own Parse
// takes it for the phone and code asked for; without a configuration there is
// no example.
func TestExample(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_790_000_000, 0)
	m := &minimal{now: func() time.Time { return now }}
	want := bridge.ExampleRequest{Phone: "+14155550142", OTP: "048213"}
	if _, err := m.Example(context.Background(), want); !errors.Is(err, bridge.ErrNotConfigured) {
		t.Fatalf("Example before Configure = %v, want ErrNotConfigured", err)
	}
	if err := m.Configure(context.Background(), map[string]string{settingSecret: secret}); err != nil {
		t.Fatal(err)
	}
	req, err := m.Example(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Parse(context.Background(), req)
	if err != nil || res.OTP == nil || res.OTP.Phone != want.Phone || res.OTP.OTP != want.OTP {
		t.Fatalf("Parse(example) = %+v, %v", res, err)
	}
}
