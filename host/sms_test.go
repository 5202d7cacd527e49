package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/telnyxfake"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
	"github.com/smsplus/smsplus/host/internal/sms/vonagefake"
)

func loadEnv(t *testing.T, env ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Sources{Environ: append([]string{"HASH_SALT=pepper", "BASE_URL=https://sms.example.com"}, env...)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func twilioEnv(name string, tw *twiliofake.Server, token bool) []string {
	p := strings.ToUpper(name) + "_"
	env := []string{p + "ACCOUNT_SID=" + tw.AccountSID, p + "API_KEY=" + tw.APIKey, p + "API_SECRET=" + tw.APISecret,
		p + "FROM_NUMBER=+15005550006", p + "API_BASE_URL=" + tw.URL}
	if token {
		env = append(env, p+"AUTH_TOKEN="+tw.AuthToken)
	}
	return env
}

// Each provider's problems name its own settings, all at once.
func TestRouterProblemsNameTheProvidersSettings(t *testing.T) {
	t.Parallel()
	cfg := loadEnv(t, "SMS_PROVIDERS=twilio,backup:twilio,vonage:http", "TWILIO_ACCOUNT_SID=AC1", "BACKUP_ACCOUNT_SID=AC2")
	_, err := newRouter(cfg, nil, slog.New(slog.DiscardHandler), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"TWILIO_ACCOUNT_SID", "BACKUP_ACCOUNT_SID", "BACKUP_API_KEY", "VONAGE_URL: must be", "VONAGE_ID_PATH: is required"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nlacks %q", msg, want)
		}
	}
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(line, "BACKUP_") && strings.Contains(line, "TWILIO_") {
			t.Errorf("a backup problem names a TWILIO_ setting: %s", line)
		}
	}
}

// Without SMS_PROVIDERS, SMS_PROVIDER's one provider sends, as before.
func TestRouterLegacyConsole(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	r, err := newRouter(loadEnv(t), nil, slog.New(slog.DiscardHandler), &out)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Send(context.Background(), sms.Message{To: "+12015550123", Body: "hello"})
	if err != nil || rec.Provider != "console" || !strings.Contains(out.String(), "sms body: hello") {
		t.Fatalf("receipt %+v, err %v, console %q", rec, err, out.String())
	}
}

// A Twilio provider with an auth token asks for status callbacks at its own
// receipts route; one without cannot verify them and asks for none.
func TestStatusCallbackFollowsTheAuthToken(t *testing.T) {
	t.Parallel()
	primary, backup := twiliofake.New(t), twiliofake.New(t)
	env := append([]string{"SMS_PROVIDERS=twilio,backup:twilio"}, twilioEnv("twilio", primary, false)...)
	cfg := loadEnv(t, append(env, twilioEnv("backup", backup, true)...)...)
	r, err := newRouter(cfg, nil, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Readers()["backup"]; !ok {
		t.Fatal("the backup provider reads no receipts")
	}
	primary.SetOutcome(twiliofake.Page(503))
	rec, err := r.Send(context.Background(), sms.Message{To: "+12015550123", Body: "hello", Reference: "ref.tag"})
	if err != nil || rec.Provider != "backup" {
		t.Fatalf("receipt %+v, err %v", rec, err)
	}
	got := backup.Messages()[0].StatusCallback
	if !strings.HasPrefix(got, "https://sms.example.com/sms/receipts/backup?") || !strings.Contains(got, "ref.tag") {
		t.Fatalf("status callback %q", got)
	}
	primary.SetOutcome(twiliofake.Accept())
	if _, err := r.Send(context.Background(), sms.Message{To: "+12015550124", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	if cb := primary.Messages()[0].StatusCallback; cb != "" {
		t.Fatalf("a provider without an auth token asked for callbacks at %q", cb)
	}
}

// A Vonage or Telnyx provider asks for receipts at its receipts route only
// when it can authenticate them (its signature secret, its public key) and
// SMS_RECEIPTS is on.
func TestHTTPProvidersAskForReceiptsWithTheirKey(t *testing.T) {
	t.Parallel()
	vg, tx := vonagefake.New(t), telnyxfake.New(t)
	base := []string{"SMS_PROVIDERS=vonage,telnyx", "SMS_ROUTE_GB=telnyx", "VONAGE_API_KEY=" + vg.APIKey,
		"VONAGE_API_SECRET=" + vg.APISecret, "VONAGE_FROM=SMSPlus", "VONAGE_API_BASE_URL=" + vg.URL, "TELNYX_API_KEY=" + tx.APIKey,
		"TELNYX_FROM=+15005550006", "TELNYX_API_BASE_URL=" + tx.URL}
	keys := []string{"VONAGE_SIGNATURE_SECRET=" + vg.SignatureSecret, "TELNYX_PUBLIC_KEY=" + tx.PublicKey}
	tests := map[string]struct {
		env      []string
		readers  bool
		callback bool
	}{
		"with keys":              {env: keys, readers: true, callback: true},
		"without keys":           {},
		"receipts off (a relay)": {env: append([]string{"SMS_RECEIPTS=false"}, keys...), readers: true},
	}
	n := 0
	for name, tc := range tests {
		n++
		us, gb := fmt.Sprintf("+120155503%02d", n), fmt.Sprintf("+4474001234%02d", n)
		r, err := newRouter(loadEnv(t, append(base, tc.env...)...), nil, slog.New(slog.DiscardHandler), io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		readers := r.Readers()
		if _, v := readers["vonage"]; v != tc.readers {
			t.Errorf("%s: vonage reads receipts: %v, want %v", name, v, tc.readers)
		}
		if _, x := readers["telnyx"]; x != tc.readers {
			t.Errorf("%s: telnyx reads receipts: %v, want %v", name, x, tc.readers)
		}
		for _, to := range []string{us, gb} {
			if _, err := r.Send(context.Background(), sms.Message{To: to, Body: "hello", Reference: "ref.tag"}); err != nil {
				t.Fatalf("%s: send to %s: %v", name, to, err)
			}
		}
		var vCallback, xCallback string
		for _, m := range vg.Messages() {
			if m.To == strings.TrimPrefix(us, "+") {
				vCallback = m.Callback
			}
		}
		for _, m := range tx.Messages() {
			if m.To == gb {
				xCallback = m.WebhookURL
			}
		}
		wantV, wantX := "", ""
		if tc.callback {
			wantV, wantX = "https://sms.example.com/sms/receipts/vonage", "https://sms.example.com/sms/receipts/telnyx?smsplus_ref=ref.tag"
		}
		if vCallback != wantV || xCallback != wantX {
			t.Errorf("%s: callbacks vonage %q, telnyx %q; want %q, %q", name, vCallback, xCallback, wantV, wantX)
		}
	}
}

// docs/sms-providers.md writes the shipped Vonage and Telnyx templates as the
// settings of an http provider: those settings build the same template.
func TestDocumentedTemplatesAreTheShippedOnes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/sms-providers.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vonage", "telnyx"} {
		prefix := strings.ToUpper(name) + "_METHOD="
		start := strings.Index(string(doc), "```sh\n"+prefix)
		if start < 0 {
			t.Fatalf("docs/sms-providers.md writes no %s template", name)
		}
		block := string(doc)[start+len("```sh\n"):]
		block = block[:strings.Index(block, "```")]
		env := append([]string{"SMS_PROVIDERS=" + name + ":http"}, strings.Split(strings.TrimSpace(block), "\n")...)
		cfg := loadEnv(t, env...)
		got, err := httpConfig(cfg, cfg.SMSRouting.Providers[0])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := sms.HTTPPreset(name)
		for field, pair := range map[string][2]any{
			"method": {got.Method, want.Method}, "url": {got.URL, want.URL}, "headers": {got.Headers, want.Headers},
			"body_format": {got.BodyFormat, want.BodyFormat}, "body": {got.Body, want.Body},
			"text types":     {[]string{got.TextTypeGSM7, got.TextTypeUnicode}, []string{want.TextTypeGSM7, want.TextTypeUnicode}},
			"success_status": {got.SuccessStatus, want.SuccessStatus}, "success_path": {got.SuccessPath, want.SuccessPath},
			"success_value": {got.SuccessValue, want.SuccessValue}, "permanent_values": {got.PermanentValues, want.PermanentValues},
			"id_path": {got.IDPath, want.IDPath}, "error_path": {got.ErrorPath, want.ErrorPath},
			"permanent_codes": {got.PermanentCodes, want.PermanentCodes},
			"receipts":        {[]string{got.Receipts.Kind, got.Receipts.SignatureMethod}, []string{want.Receipts.Kind, want.Receipts.SignatureMethod}},
			"params":          {slices.Sorted(maps.Keys(got.Params)), slices.Sorted(maps.Keys(want.Params))},
		} {
			if !reflect.DeepEqual(pair[0], pair[1]) && !(reflect.ValueOf(pair[0]).Len() == 0 && reflect.ValueOf(pair[1]).Len() == 0) {
				t.Errorf("%s: documented %s %v, shipped %v", name, field, pair[0], pair[1])
			}
		}
	}
}

// The HTTP provider's problems are renamed to the settings the operator
// writes, for a shipped template and for the operator's own.
func TestHTTPProblemsNameTheSettings(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		typ, problem, want string
	}{
		"missing secret":      {"vonage", "sms provider eu: body: {{secret.api_secret}} names no secret (secrets: api_key)", "EU_API_SECRET: is required (the request template uses {{secret.api_secret}})"},
		"secret with newline": {"http", "sms provider eu: secrets: api-key: a secret cannot hold a line break (a file's trailing newline?)", "EU_API_KEY: a secret cannot hold a line break (a file's trailing newline?)"},
		"receipt key":         {"telnyx", "sms provider eu: receipts: public_key: must be Telnyx's Ed25519 public key, base64 (32 bytes)", "EU_PUBLIC_KEY: must be Telnyx's Ed25519 public key, base64 (32 bytes)"},
		"receipt format":      {"http", "sms provider eu: receipts: kind: must be vonage, telnyx or empty, got \"x\"", "EU_RECEIPT_FORMAT: must be vonage, telnyx or empty, got \"x\""},
		"preset url":          {"vonage", "sms provider eu: url: must be https (plain http only for a loopback host: the credentials travel in every request)", "EU_API_BASE_URL: must be https (plain http only for a loopback host: the credentials travel in every request)"},
		"own template":        {"http", "sms provider eu: text_type_gsm7, text_type_unicode: both are required when {{text_type}} is used", "EU_TEXT_TYPE_GSM7, EU_TEXT_TYPE_UNICODE: both are required when {{text_type}} is used"},
		"timeout":             {"http", "sms provider eu: timeout: must be positive, got -1s", "EU_TIMEOUT_MS: must be positive, got -1s"},
		"callback":            {"telnyx", "sms provider eu: callback: must be an absolute http(s) URL without a fragment", "BASE_URL: must be an absolute http(s) URL without a fragment"},
		"no setting":          {"vonage", "sms provider eu: body: not a form", "SMS_PROVIDERS: provider eu: body: not a form"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := config.SMSProvider{Name: "eu", Type: tc.typ, Prefix: "EU_"}
			if got := httpProblems(errors.New(tc.problem), p).Error(); got != tc.want {
				t.Errorf("%q\nrenamed %q\nwant    %q", tc.problem, got, tc.want)
			}
		})
	}
}
