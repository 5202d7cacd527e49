package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// otpLife is how long Okta's codes live (otpExpires is about 5 minutes ahead).
const otpLife = 5 * time.Minute

// Example renders the telephony inline hook call Okta makes for want, with the
// configured auth header carrying the secret verbatim, as Okta sends it.
func (o *okta) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	cfg := o.cfg.Load()
	if cfg == nil {
		return nil, bridge.ErrNotConfigured
	}
	if cfg.secret.Current() == "" {
		return nil, fmt.Errorf("%w: with OAuth 2.0 alone SMS+ cannot obtain Okta's token; set %s as well to simulate Okta's call",
			bridge.ErrUnsupported, settingSecret)
	}
	locale := strings.ToUpper(strings.TrimSpace(want.Locale))
	if locale == "" {
		locale = "EN-US"
	}
	now := time.Now().UTC()
	type obj = map[string]any
	body, err := json.Marshal(obj{
		"eventId":           randomID(),
		"eventTime":         now.Format(time.RFC3339Nano),
		"eventType":         eventTypeTelephony,
		"eventTypeVersion":  "1.0",
		"contentType":       "application/json",
		"cloudEventVersion": "0.1",
		"source":            "https://example.okta.com/api/v1/inlineHooks/cal4egvp1mbMldrYN1d7",
		"requestType":       "com.okta.user.telephony.mfa-verification",
		"data": obj{
			"context": obj{"request": obj{"id": randomID(), "method": http.MethodPost,
				"url": obj{"value": "/idp/idx/challenge/send"}, "ipAddress": "203.0.113.24"}},
			"userProfile": obj{"firstName": "Maria", "lastName": "Lopez", "login": "maria.lopez@example.com", "userId": "00u8k2xq7lZ0dP4ah5d7"},
			"messageProfile": obj{
				"msgTemplate":     "Your verification code is " + want.OTP,
				"phoneNumber":     want.Phone,
				"otpExpires":      now.Add(otpLife).Format(time.RFC3339Nano),
				"deliveryChannel": "SMS",
				"otpCode":         want.OTP,
				"locale":          locale,
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return &bridge.Request{Method: http.MethodPost, Path: "/hooks/okta", Body: body, Headers: []bridge.Header{
		{Name: "Content-Type", Values: []string{"application/json"}},
		{Name: "Accept", Values: []string{"application/json"}},
		{Name: cfg.header, Values: []string{cfg.secret.Current()}},
	}}, nil
}

// randomID is an Okta-shaped id: 22 URL-safe characters.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
