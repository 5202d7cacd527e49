package e2e

import (
	"strings"

	"github.com/smsplus/smsplus/host/internal/biometrics/typingdna/fake"
	"github.com/smsplus/smsplus/host/internal/sms/snsfake"
	"github.com/smsplus/smsplus/host/internal/sms/telnyxfake"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
	"github.com/smsplus/smsplus/host/internal/sms/vonagefake"
)

// TwilioEnv is the settings that send texts with twilio-go through tw, the fake
// of Twilio's API, from a valid test sender number.
func TwilioEnv(tw *twiliofake.Server) []string {
	return []string{"SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID=" + tw.AccountSID, "TWILIO_API_KEY=" + tw.APIKey,
		"TWILIO_API_SECRET=" + tw.APISecret, "TWILIO_FROM_NUMBER=+15005550006", "TWILIO_API_BASE_URL=" + tw.URL}
}

// TypingDNAEnv is the settings that run the TypingDNA engine, the production
// client, against td, the fake of TypingDNA's API.
func TypingDNAEnv(td *fake.Server) []string {
	return []string{"BIOMETRICS_ENGINE=typingdna", "TYPINGDNA_API_KEY=" + td.Key, "TYPINGDNA_API_SECRET=" + td.Secret,
		"TYPINGDNA_SERVER=" + td.URL}
}

// TwilioProviderEnv is the settings of a Twilio provider named name
// (SMS_PROVIDERS=name:twilio) sending through tw, the fake of Twilio's API:
// its NAME_* settings, with the auth token that verifies tw's signed status
// callbacks beside the API key that sends.
func TwilioProviderEnv(name string, tw *twiliofake.Server) []string {
	p := strings.ToUpper(name) + "_"
	return []string{p + "ACCOUNT_SID=" + tw.AccountSID, p + "API_KEY=" + tw.APIKey, p + "API_SECRET=" + tw.APISecret,
		p + "AUTH_TOKEN=" + tw.AuthToken, p + "FROM_NUMBER=+15005550006", p + "API_BASE_URL=" + tw.URL}
}

// VonageProviderEnv is the settings of a Vonage provider named name
// (SMS_PROVIDERS=name:vonage) sending through v, the fake of Vonage's SMS
// API, with the signature secret that verifies v's signed receipts.
func VonageProviderEnv(name string, v *vonagefake.Server) []string {
	p := strings.ToUpper(name) + "_"
	return []string{p + "API_KEY=" + v.APIKey, p + "API_SECRET=" + v.APISecret, p + "FROM=SMSPlus",
		p + "SIGNATURE_SECRET=" + v.SignatureSecret, p + "SIGNATURE_METHOD=" + v.SignatureMethod, p + "API_BASE_URL=" + v.URL}
}

// TelnyxProviderEnv is the settings of a Telnyx provider named name
// (SMS_PROVIDERS=name:telnyx) sending through tx, the fake of Telnyx's
// Messaging API, with the public key that verifies tx's signed webhooks.
func TelnyxProviderEnv(name string, tx *telnyxfake.Server) []string {
	p := strings.ToUpper(name) + "_"
	return []string{p + "API_KEY=" + tx.APIKey, p + "FROM=+15005550006", p + "PUBLIC_KEY=" + tx.PublicKey,
		p + "API_BASE_URL=" + tx.URL}
}

// SNSProviderEnv is the settings of an Amazon SNS provider named name
// (SMS_PROVIDERS=name:sns) publishing through sn, the fake of SNS, with the
// AWS SDK.
func SNSProviderEnv(name string, sn *snsfake.Server) []string {
	p := strings.ToUpper(name) + "_"
	return []string{p + "REGION=eu-west-1", p + "ACCESS_KEY_ID=" + sn.AccessKeyID, p + "SECRET_ACCESS_KEY=" + sn.SecretAccessKey,
		p + "ENDPOINT=" + sn.URL}
}
