package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readRouting(r *reader) SMSRouting { return r.smsRouting(r.sms()) }

func TestSMSRoutingReader(t *testing.T) {
	t.Parallel()
	base := func(p ...SMSProvider) *SMSRouting {
		var names []string
		for _, x := range p {
			names = append(names, x.Name)
		}
		return &SMSRouting{Providers: p, Default: SMSRoute{Providers: names}, Countries: map[string]SMSRoute{},
			BreakerFailures: 5, BreakerCooldown: 30 * time.Second, Receipts: true, ResendWithin: 5 * time.Minute}
	}
	legacyTwilio := Twilio{AccountSID: "AC1", AuthToken: "tok1", FromNumber: "+15005550006", Timeout: 10 * time.Second}
	backup := Twilio{AccountSID: "AC2", APIKey: "SK2", APISecret: "sec2", Timeout: 2 * time.Second}

	routed := base(
		SMSProvider{Name: "twilio", Type: "twilio", Prefix: "TWILIO_", Twilio: legacyTwilio},
		SMSProvider{Name: "backup", Type: "twilio", Prefix: "BACKUP_", Twilio: backup},
		SMSProvider{Name: "vonage", Type: "http", Prefix: "VONAGE_",
			HTTP: HTTP{Secrets: map[string]string{}, Params: map[string]string{}, Timeout: 10 * time.Second}},
	)
	routed.Default.Providers = []string{"twilio", "backup"}
	routed.Countries = map[string]SMSRoute{
		"GB": {Providers: []string{"vonage", "twilio"}, Sender: "SMSPlus"},
		"FR": {Providers: []string{"twilio", "backup"}, Sender: "+33700000000"},
	}
	routed.BreakerFailures, routed.BreakerCooldown = 3, 10*time.Second
	routed.ResendUndelivered, routed.ResendWithin = true, 2*time.Minute

	runSection(t, readRouting, map[string]sectionCase[SMSRouting]{
		"console by default": {want: base(SMSProvider{Name: "console", Type: "console", Prefix: "TWILIO_"})},
		"SMS_PROVIDER=twilio and TWILIO_* as before": {
			env:  []string{"SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID=AC1", "TWILIO_AUTH_TOKEN=tok1", "TWILIO_FROM_NUMBER=+15005550006"},
			want: base(SMSProvider{Name: "twilio", Type: "twilio", Prefix: "TWILIO_", Twilio: legacyTwilio})},
		"providers, routes, senders, breaker, resend": {
			env: []string{"SMS_PROVIDERS=twilio, backup:twilio,vonage:HTTP", "TWILIO_ACCOUNT_SID=AC1", "TWILIO_AUTH_TOKEN=tok1",
				"TWILIO_FROM_NUMBER=+15005550006", "BACKUP_ACCOUNT_SID=AC2", "BACKUP_API_KEY=SK2", "BACKUP_API_SECRET=sec2",
				"BACKUP_TIMEOUT_MS=2000", "SMS_ROUTE_DEFAULT=twilio,backup", "SMS_ROUTE_GB=vonage,twilio", "sms_sender_gb=SMSPlus",
				"SMS_SENDER_FR=+33700000000", "SMS_BREAKER_FAILURES=3", "SMS_BREAKER_COOLDOWN_MS=10000",
				"SMS_RESEND_UNDELIVERED=true", "SMS_RESEND_WITHIN_SECONDS=120"},
			want: routed},
		// Every problem at once, each naming its setting.
		"problems": {
			env: []string{"SMS_PROVIDERS=twilio,Bad-Name,pigeon:carrier,twilio", "SMS_ROUTE_DEFAULT=twilio,nope",
				"SMS_ROUTE_XY=twilio", "SMS_ROUTE_GBR=twilio", "SMS_SENDER_US=SMSPlus", "SMS_SENDER_CA=SMS+Plus!",
				"SMS_ROUTE_DE=twilio,twilio", "SMS_BREAKER_FAILURES=0"},
			problems: []string{"SMS_BREAKER_FAILURES", `SMS_PROVIDERS: "bad-name"`, `SMS_PROVIDERS: provider pigeon has type "carrier"`,
				"SMS_PROVIDERS: provider twilio is named twice", `SMS_ROUTE_DEFAULT: unknown provider "nope"`,
				"SMS_ROUTE_DE: provider twilio is named twice", `SMS_ROUTE_GBR: "GBR" is not an ISO 3166 country code`,
				`SMS_ROUTE_XY: "XY" is not`, "SMS_SENDER_CA: must be an E.164 number",
				`SMS_SENDER_US: US does not deliver texts from an alphanumeric sender id such as "SMSPlus"`}},
		"alphanumeric where allowed": {env: []string{"SMS_SENDER_GB=SMSPlus", "SMS_SENDER_US=+15005550006", "SMS_SENDER_CA=12345"}},
	})
}

func TestSMSRoutingSecretFromFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("tok9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Sources{Environ: []string{"HASH_SALT=pepper", "SMS_PROVIDERS=backup:twilio", "BACKUP_AUTH_TOKEN_FILE=" + path}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SMSRouting.Providers[0].Twilio.AuthToken; got != "tok9" {
		t.Fatalf("BACKUP_AUTH_TOKEN from its file = %q", got)
	}
	_, err = Load(Sources{Environ: []string{"HASH_SALT=pepper", "SMS_PROVIDERS=backup:twilio", "BACKUP_AUTH_TOKEN=replace-me"}})
	if err == nil || !strings.Contains(err.Error(), "BACKUP_AUTH_TOKEN") {
		t.Fatalf("a placeholder token: %v", err)
	}
}

// Typo warnings know the names that depend on the providers.
func TestSMSRoutingTypoWarnings(t *testing.T) {
	t.Parallel()
	c, _ := Load(Sources{Environ: []string{"HASH_SALT=pepper", "SMS_PROVIDERS=twilio,backup:twilio",
		"BACKUP_ACOUNT_SID=AC2", "BACKUP_AUTH_TOKEN=t", "SMS_ROUTE_GB=backup", "SMS_ROUTES_DE=twilio", "SMS_RESEND_UNDELIVRED=true"}})
	got := c.Warnings()
	for _, want := range []string{
		"BACKUP_ACOUNT_SID (environment): not a setting SMS+ knows; did you mean BACKUP_ACCOUNT_SID?",
		"SMS_RESEND_UNDELIVRED (environment): not a setting SMS+ knows; did you mean SMS_RESEND_UNDELIVERED?",
		"SMS_ROUTES_DE (environment): not a setting SMS+ knows",
	} {
		if !slices.ContainsFunc(got, func(w string) bool { return strings.HasPrefix(w, want) }) {
			t.Errorf("no warning %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, w := range got {
		if strings.HasPrefix(w, "SMS_ROUTE_GB") || strings.HasPrefix(w, "BACKUP_AUTH_TOKEN") {
			t.Errorf("a known setting drew a warning: %s", w)
		}
	}
}
