package host

import (
	"strings"
	"testing"
)

// A wrong VOICE_POLICY and a wrong sender in NOTICE_SENDERS are both reported,
// with the rest, in one run of check-config; a misspelt VOICE_POLICY is a
// warning naming the real setting.
func TestCheckConfigVoiceSettings(t *testing.T) {
	t.Parallel()
	code, out := checkConfig(t, "HASH_SALT=a-long-enough-salt-for-tests", "VOICE_POLICY=speak",
		"NOTICE_SENDERS=+1 555,ACME", "VOICE_POLICYY=sms_link")
	if code != ExitFailed {
		t.Errorf("exit %d, want %d", code, ExitFailed)
	}
	problems, warnings, _ := strings.Cut(out, "warning(s):")
	for _, want := range []string{`VOICE_POLICY: must be refuse, fail_closed or sms_link, got "speak"`, `NOTICE_SENDERS: "+1 555" is not a sender`} {
		if !strings.Contains(problems, want) {
			t.Errorf("no problem %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(warnings, "VOICE_POLICYY (environment): not a setting SMS+ knows; did you mean VOICE_POLICY?") {
		t.Errorf("no warning for VOICE_POLICYY in:\n%s", out)
	}
	if strings.Contains(out, "ACME") {
		t.Errorf("a valid sender was reported:\n%s", out)
	}
}
