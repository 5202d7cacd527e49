package main

import (
	"context"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// TestYearLikeCode (issue 14): CyberArk sends the code only in smsMessage
// ({phoneNumber, smsMessage}, from the Node SMS+ guide: CyberArk's contract is
// unverified). A 4-digit code from 1900 to 2099 was always refused;
// CYBERARK_OTP_LENGTH=4 delivers it when it is the only candidate.
func TestYearLikeCode(t *testing.T) {
	t.Parallel()
	body := []byte(`{"phoneNumber":"+14155550142","smsMessage":"Your CyberArk Identity verification code is 1987"}`)
	if res, _ := configured(t, nil).Parse(context.Background(), post(body, "application/json", basic)); res.OTP != nil {
		t.Errorf("without CYBERARK_OTP_LENGTH: %+v", res.OTP)
	}
	c := configured(t, map[string]string{settingSecret: testPass, settingLength: "4"})
	res, _ := c.Parse(context.Background(), post(body, "application/json", basic))
	if res.OTP == nil || res.OTP.OTP != "1987" {
		t.Errorf("CYBERARK_OTP_LENGTH=4: %+v", res)
	}
	// The Centrify lineage puts a short URL next to the code: its digits are not
	// of the code's length, and do not count.
	withURL := []byte(`{"phoneNumber":"+14155550142","smsMessage":"Code 2024 or continue at https://aaa0042.my.idaptive.app/u/1234567"}`)
	if res, _ := c.Parse(context.Background(), post(withURL, "application/json", basic)); res.OTP == nil || res.OTP.OTP != "2024" {
		t.Errorf("a code and a short URL: %+v", res)
	}
}

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	const next = "cyberark-next-pass-0123456789"
	c := configured(t, map[string]string{settingSecret: next, settingPrevious: testPass})
	body := bridgetest.Fixture(t, "sms.json")
	for _, authz := range []string{basic, bridgetest.BasicAuth("cyberark", next)} {
		if res, _ := c.Parse(context.Background(), post(body, "application/json", authz)); res.OTP == nil {
			t.Errorf("refused during the rotation: %+v", res.Rejection)
		}
	}
}
