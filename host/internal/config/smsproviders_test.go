package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSNSAndHTTPProviderReaders(t *testing.T) {
	t.Parallel()
	provider := func(p SMSProvider) *SMSRouting {
		return &SMSRouting{Providers: []SMSProvider{p}, Default: SMSRoute{Providers: []string{p.Name}},
			Countries: map[string]SMSRoute{}, BreakerFailures: 5, BreakerCooldown: 30 * time.Second, Receipts: true,
			ResendWithin: 5 * time.Minute}
	}
	noValues := func() (map[string]string, map[string]string) { return map[string]string{}, map[string]string{} }
	vonageSecrets, _ := noValues()
	vonageSecrets["api_key"], vonageSecrets["api_secret"] = "k1", "s1"
	_, telnyxParams := noValues()
	telnyxParams["messaging_profile_id"] = "prof"

	runSection(t, readRouting, map[string]sectionCase[SMSRouting]{
		"sns": {
			env: []string{"SMS_PROVIDERS=aws:sns", "AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIAEXAMPLE1234567", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENG",
				"AWS_SMS_TYPE=Promotional", "AWS_SENDER_ID=SMSPlus", "AWS_MAX_PRICE=0.5", "AWS_ENDPOINT=https://vpce.example.com", "AWS_TIMEOUT_MS=3000"},
			want: provider(SMSProvider{Name: "aws", Type: "sns", Prefix: "AWS_", SNS: SNS{Region: "eu-west-1",
				AccessKeyID: "AKIAEXAMPLE1234567", SecretAccessKey: "wJalrXUtnFEMIK7MDENG", SMSType: "Promotional", SenderID: "SMSPlus",
				MaxPrice: "0.5", Endpoint: "https://vpce.example.com", Timeout: 3 * time.Second}})},
		"vonage: the shipped template's secrets and receipt keys": {
			env: []string{"SMS_PROVIDERS=vonage", "VONAGE_API_KEY=k1", "VONAGE_API_SECRET=s1", "VONAGE_FROM=SMSPlus",
				"VONAGE_SIGNATURE_SECRET=sig-secret-1", "VONAGE_SIGNATURE_METHOD=sha256", "VONAGE_API_BASE_URL=https://relay.example.com"},
			want: provider(SMSProvider{Name: "vonage", Type: "vonage", Prefix: "VONAGE_", HTTP: HTTP{
				APIBaseURL: "https://relay.example.com", Secrets: vonageSecrets, Params: map[string]string{}, From: "SMSPlus",
				Timeout: 10 * time.Second, SignatureSecret: "sig-secret-1", SignatureMethod: "sha256"}})},
		"telnyx under another name": {
			env: []string{"SMS_PROVIDERS=eu:telnyx", "EU_API_KEY=KEY1", "EU_MESSAGING_PROFILE_ID=prof", "EU_PUBLIC_KEY=pk"},
			want: provider(SMSProvider{Name: "eu", Type: "telnyx", Prefix: "EU_", HTTP: HTTP{
				Secrets: map[string]string{"api_key": "KEY1"}, Params: telnyxParams, Timeout: 10 * time.Second, PublicKey: "pk"}})},
		"http: the template names its secrets and params": {
			env: []string{"SMS_PROVIDERS=myapi:http", "MYAPI_METHOD=put", "MYAPI_URL=https://api.example.com/{{param.account}}/sms",
				`MYAPI_HEADERS={"Authorization":"Bearer {{secret.api-token}}"}`, "MYAPI_BODY_FORMAT=JSON",
				`MYAPI_BODY={"to":"{{to}}","text":"{{text}}","key":"{{secret.api-token}}"}`, "MYAPI_API_TOKEN=tok-1", "MYAPI_ACCOUNT=acc",
				"MYAPI_SUCCESS_STATUS=200, 202", "MYAPI_SUCCESS_PATH=ok", "MYAPI_SUCCESS_VALUE=true", "MYAPI_PERMANENT_VALUES=a,b",
				"MYAPI_ID_PATH=data.id", "MYAPI_ERROR_PATH=error.code", "MYAPI_PERMANENT_CODES=21211", "MYAPI_RECEIPT_FORMAT=Vonage",
				"MYAPI_SIGNATURE_SECRET=sig-secret-2"},
			want: provider(SMSProvider{Name: "myapi", Type: "http", Prefix: "MYAPI_", HTTP: HTTP{
				Method: "PUT", URL: "https://api.example.com/{{param.account}}/sms",
				Headers: map[string]string{"Authorization": "Bearer {{secret.api-token}}"}, BodyFormat: "json",
				Body:          `{"to":"{{to}}","text":"{{text}}","key":"{{secret.api-token}}"}`,
				SuccessStatus: []int{200, 202}, SuccessPath: "ok", SuccessValue: "true", PermanentValues: []string{"a", "b"},
				IDPath: "data.id", ErrorPath: "error.code", PermanentCodes: []string{"21211"}, ReceiptFormat: "vonage",
				Secrets: map[string]string{"api-token": "tok-1"}, Params: map[string]string{"account": "acc"},
				Timeout: 10 * time.Second, SignatureSecret: "sig-secret-2"}})},
		// Telnyx refuses a message with neither a sender nor a messaging
		// profile: check-config says so before the first send fails.
		"telnyx with neither a sender nor a messaging profile": {
			env:      []string{"SMS_PROVIDERS=telnyx", "TELNYX_API_KEY=KEY1"},
			problems: []string{"TELNYX_MESSAGING_PROFILE_ID, TELNYX_FROM: set one"}},
		"telnyx only on a country route with its own sender": {
			env: []string{"SMS_PROVIDERS=twilio,telnyx", "TELNYX_API_KEY=KEY1", "SMS_ROUTE_DEFAULT=twilio",
				"SMS_ROUTE_GB=telnyx", "SMS_SENDER_GB=SMSPlus"}},
		"telnyx on a country route without a sender": {
			env: []string{"SMS_PROVIDERS=twilio,telnyx", "TELNYX_API_KEY=KEY1", "SMS_ROUTE_DEFAULT=twilio",
				"SMS_ROUTE_GB=telnyx", "SMS_ROUTE_FR=twilio,telnyx"},
			problems: []string{"TELNYX_MESSAGING_PROFILE_ID, TELNYX_FROM: set one (SMS_ROUTE_FR has no SMS_SENDER_FR)"}},
		// Every problem at once, each naming its setting.
		"problems": {
			env: []string{"SMS_PROVIDERS=myapi:http,vonage", "MYAPI_HEADERS=Authorization: x", "MYAPI_SUCCESS_STATUS=200,ok",
				"MYAPI_BODY_FORMAT=form", "MYAPI_BODY=to={{to}}&u={{param.url}}&k={{secret.k}}&k2={{param.k}}", "MYAPI_TIMEOUT_MS=5",
				"MYAPI_K=replace-me", "VONAGE_SIGNATURE_METHOD=sha1"},
			problems: []string{"MYAPI_TIMEOUT_MS: must be a whole number from 100", "MYAPI_HEADERS: must be a JSON object", `MYAPI_SUCCESS_STATUS: must be HTTP statuses separated by commas (200,202), got "ok"`,
				"MYAPI_BODY: {{param.url}} would be read from MYAPI_URL", "MYAPI_K: is both a {{secret.k}} and a {{param.k}}",
				"MYAPI_K: the value is a well-known placeholder",
				"VONAGE_SIGNATURE_METHOD: is only used with VONAGE_SIGNATURE_SECRET"}},
	})
}

func TestHTTPProviderSecretFromFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Sources{Environ: []string{"HASH_SALT=pepper", "SMS_PROVIDERS=vonage,aws:sns",
		"VONAGE_API_SECRET_FILE=" + path, "AWS_SECRET_ACCESS_KEY_FILE=" + path}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SMSRouting.Providers[0].HTTP.Secrets["api_secret"]; got != "s3cr3t-from-file" {
		t.Errorf("VONAGE_API_SECRET from its file = %q", got)
	}
	if got := c.SMSRouting.Providers[1].SNS.SecretAccessKey; got != "s3cr3t-from-file" {
		t.Errorf("AWS_SECRET_ACCESS_KEY from its file = %q", got)
	}
	_, err = Load(Sources{Environ: []string{"HASH_SALT=pepper", "SMS_PROVIDERS=vonage",
		"VONAGE_API_SECRET_FILE=" + path, "VONAGE_API_SECRET=other"}})
	if err == nil || !strings.Contains(err.Error(), "VONAGE_API_SECRET and VONAGE_API_SECRET_FILE: set only one") {
		t.Fatalf("both set: %v", err)
	}
}

// Typo warnings know each type's settings, and the template's secrets.
func TestHTTPProviderTypoWarnings(t *testing.T) {
	t.Parallel()
	c, _ := Load(Sources{Environ: []string{"HASH_SALT=pepper", "SMS_PROVIDERS=telnyx,aws:sns,myapi:http",
		"TELNYX_PUBLC_KEY=x", "AWS_REGOIN=eu-west-1", "MYAPI_URL=https://x.example.com/?k={{secret.api_token}}",
		"MYAPI_API_TOKN=t", "TELNYX_API_KEY=k", "AWS_SESSION_TOKEN=abc"}})
	got := c.Warnings()
	for _, want := range []string{
		"TELNYX_PUBLC_KEY (environment): not a setting SMS+ knows; did you mean TELNYX_PUBLIC_KEY?",
		"AWS_REGOIN (environment): not a setting SMS+ knows; did you mean AWS_REGION?",
		"MYAPI_API_TOKN (environment): not a setting SMS+ knows; did you mean MYAPI_API_TOKEN?",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no warning %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, w := range got {
		if strings.HasPrefix(w, "TELNYX_API_KEY") || strings.HasPrefix(w, "AWS_SESSION_TOKEN") {
			t.Errorf("a known setting drew a warning: %s", w)
		}
	}
}
