package host

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkConfig runs `smsplus check-config` with env and no .env file.
func checkConfig(t *testing.T, env ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// No bridge binary is found in an empty plugin folder.
	env = append([]string{"PLUGIN_DIR=" + dir}, env...)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"check-config", "--env-file", envFile}, env, &out, &errOut)
	return code, out.String() + errOut.String()
}

// One run lists the configuration's problems, the bridges', the sender's and the
// placeholders, with the warnings apart; it used to stop at the first round.
func TestCheckConfigReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	code, out := checkConfig(t,
		"PLUGIN_RESTART_BACKOFF_MS=2s", "ENABLED_BRIDGES=okta", "OKTA_SHARED_SECRET=replace-me",
		"SMS_PROVIDER=twilio", "TWILIO_ACCOUNT_SID=ACxxx", "TWILIO_API_KEY=SKxxx", "TWILIO_API_SECRET=your_secret",
		"HASH_SALTT=pepper", "TWILIO_ACOUNT_SID=AC1")
	if code != ExitFailed {
		t.Errorf("exit %d, want %d", code, ExitFailed)
	}
	problems, warnings, _ := strings.Cut(out, "warning(s):")
	for _, want := range []string{
		"HASH_SALT: is required",                                    // the configuration
		"PLUGIN_RESTART_BACKOFF_MS: must be a whole number",         // a number once ignored
		"OKTA_SHARED_SECRET: the value is a well-known placeholder", // a bridge's secret
		"TWILIO_API_SECRET: the value is a well-known placeholder",
		"bridge okta is enabled but no smsplus-bridge-okta binary was found", // the bridges
		"TWILIO_ACCOUNT_SID: must be the account SID",                        // the sender
		"TWILIO_API_KEY: must be an API key SID",
		"TWILIO_API_SECRET: is required with TWILIO_API_KEY and must be letters and digits only",
		"TWILIO_FROM_NUMBER: a sender is required",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("no problem %q in:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"HASH_SALTT (environment): not a setting SMS+ knows; did you mean HASH_SALT?",
		"TWILIO_ACOUNT_SID (environment): not a setting SMS+ knows; did you mean TWILIO_ACCOUNT_SID?",
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("no warning %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "9 configuration problem(s):") {
		t.Errorf("want 9 problems, each once:\n%s", out)
	}
}

// Warnings are printed but do not fail the check.
func TestCheckConfigWarningsDoNotFail(t *testing.T) {
	t.Parallel()
	code, out := checkConfig(t, "HASH_SALT=pepper", "HASH_SALTT=pepper", "DEFAULT_LANGUAGE=tlh")
	if code != ExitOK || !strings.Contains(out, "configuration OK") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"2 warning(s):", "HASH_SALTT (environment)", "DEFAULT_LANGUAGE: SMS+ has no texts for \"tlh\""} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

// A file that cannot be read stops the check at once, with the reason.
func TestCheckConfigUnreadableFile(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := Main(context.Background(), []string{"check-config", "--config", filepath.Join(t.TempDir(), "none.yaml")},
		[]string{"HASH_SALT=pepper"}, &out, &out)
	if code != ExitFailed || !strings.Contains(out.String(), "none.yaml") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
}
