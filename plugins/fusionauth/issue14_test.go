package main

import (
	"context"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/bridgetest"
)

// FusionAuth 1.59+ sends phone-identity messages through the tenant's phone
// messenger, which may be the MFA messenger: bodies as the Generic Messenger
// posts them before 1.67 ({phoneNumber, textMessage, type}); the texts follow
// FusionAuth's default templates (phone verification with a 6-character
// alphanumeric code, a new-device notice).
var nonMFA = map[string]string{
	"alphanumeric verification code": `{"phoneNumber":"+13035551212","textMessage":"Your verification code is K7Q2ZP","type":"SMS"}`,
	"letters-only verification code": `{"phoneNumber":"+13035551212","textMessage":"Your verification code is QXBZRT","type":"SMS"}`,
	"new device notice":              `{"phoneNumber":"+13035551212","textMessage":"New sign-in to your account","type":"SMS","userId":"7d2f9c1e-5a4b-4c3d-9e8f-0a1b2c3d4e5f"}`,
}

// TestNonMFAMessages (issue 14): alphanumeric codes got 400, digit-free
// notices were taken for the admin's test (200, never sent). Now: refused
// explicitly by default (422 not_an_otp), texted as is with
// FUSIONAUTH_NON_MFA=deliver; never a test.
func TestNonMFAMessages(t *testing.T) {
	t.Parallel()
	refusing := configured(t, nil)
	p := newFusionAuth()
	if err := p.Configure(bridge.WithHostFeatures(context.Background(), bridge.FeatureNotices),
		map[string]string{settingSecret: testPass, settingNonMFA: "deliver"}); err != nil {
		t.Fatal(err)
	}
	for name, body := range nonMFA {
		res, _ := refusing.Parse(context.Background(), post([]byte(body), "Authorization", basic))
		if res.Rejection == nil || res.Rejection.Reason != bridge.ReasonNotOTP || res.Rejection.Response.Status != 422 {
			t.Errorf("%s, refuse: %+v; want 422 not_an_otp", name, res)
		}
		res, _ = p.Parse(context.Background(), post([]byte(body), "Authorization", basic))
		if res.Notice == nil || res.Notice.Phone != "+13035551212" || res.Notice.Kind != "non_mfa" || res.Notice.Message == "" {
			t.Errorf("%s, deliver: %+v; want a notice", name, res)
		}
	}
	// A text that may hold a code is never texted in clear, whatever the setting.
	ambiguous := `{"phoneNumber":"+13035551212","textMessage":"Two Factor Code: 1234 or 5678","type":"SMS"}`
	if res, _ := p.Parse(context.Background(), post([]byte(ambiguous), "Authorization", basic)); res.Rejection == nil || res.Rejection.Reason != bridge.ReasonMissingField {
		t.Errorf("two candidate codes, deliver: %+v; want missing_field", res)
	}
	// MFA still gets the link.
	mfa := `{"phoneNumber":"+13035551212","textMessage":"Two Factor Code: 482913","type":"SMS"}`
	if res, _ := p.Parse(context.Background(), post([]byte(mfa), "Authorization", basic)); res.OTP == nil || res.OTP.OTP != "482913" {
		t.Errorf("MFA message: %+v", res)
	}
	bridgetest.Problems(t, newFusionAuth().Configure(context.Background(), map[string]string{settingSecret: testPass, settingNonMFA: "deliver"}),
		[]string{"needs an SMS+ host that delivers notices"}, testPass)
}

// TestYearLikeCode: before 1.67, with the two-factor generator set to 4
// digits, a code from 1900 to 2099 was refused.
func TestYearLikeCode(t *testing.T) {
	t.Parallel()
	body := []byte(`{"phoneNumber":"+13035551212","textMessage":"Two Factor Code: 2024","type":"SMS"}`)
	if res, _ := configured(t, nil).Parse(context.Background(), post(body, "Authorization", basic)); res.OTP != nil {
		t.Errorf("without FUSIONAUTH_OTP_LENGTH: %+v", res.OTP)
	}
	res, _ := configured(t, map[string]string{settingSecret: testPass, settingLength: "4"}).Parse(context.Background(), post(body, "Authorization", basic))
	if res.OTP == nil || res.OTP.OTP != "2024" {
		t.Errorf("FUSIONAUTH_OTP_LENGTH=4: %+v", res)
	}
}

// TestVoiceWithoutCode: FusionAuth 1.65 to 1.66 send voice with the code only
// spelled out in message (${spokenCode}); it reaches the host as voice without a
// code, so that VOICE_POLICY=fail_closed can answer it.
func TestVoiceWithoutCode(t *testing.T) {
	t.Parallel()
	body := []byte(`{"phoneNumber":"+61412345678","message":"Your verification code is 3 8 1 2 2 0","type":"Voice","userId":"1c6a0d3b-8e2f-4b7a-a9c4-5d6e7f8a9b0c"}`)
	res, _ := configured(t, nil).Parse(context.Background(), post(body, "Authorization", basic))
	if res.OTP == nil || res.OTP.Channel != bridge.ChannelVoice || res.OTP.OTP != "" {
		t.Errorf("voice 1.65: %+v", res)
	}
	resp, _ := configured(t, nil).Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeWithheld, Reason: bridge.ReasonUnsupportedChannel})
	if resp.Status != 200 {
		t.Errorf("withheld answered %d", resp.Status)
	}
}

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	const next = "fusionauth-next-pass-0123456789"
	f := configured(t, map[string]string{settingSecret: next, settingPrevious: testPass})
	body := bridgetest.Fixture(t, "sms_167.json")
	for _, authz := range []string{basic, bridgetest.BasicAuth("fusionauth", next)} {
		if res, _ := f.Parse(context.Background(), post(body, "Authorization", authz)); res.OTP == nil {
			t.Errorf("refused during the rotation: %+v", res.Rejection)
		}
	}
}
