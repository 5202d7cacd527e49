package config

import (
	"slices"
	"strings"
	"testing"
)

func TestVoicePolicy(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		env  string
		want string
	}{
		"default":     {"", VoiceRefuse},
		"refuse":      {"VOICE_POLICY=refuse", VoiceRefuse},
		"fail closed": {"VOICE_POLICY=Fail_Closed", VoiceFailClosed},
		"sms link":    {"VOICE_POLICY=sms_link", VoiceSMSLink},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(Sources{Environ: []string{"HASH_SALT=s", tc.env}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Voice.Policy != tc.want {
				t.Errorf("VOICE_POLICY %q: %q, want %q", tc.env, c.Voice.Policy, tc.want)
			}
		})
	}
	_, err := Load(Sources{Environ: []string{"HASH_SALT=s", "VOICE_POLICY=speak"}})
	if err == nil || !strings.Contains(err.Error(), "VOICE_POLICY") || !strings.Contains(err.Error(), "sms_link") {
		t.Errorf("VOICE_POLICY=speak: %v", err)
	}
}

func TestNoticeSenders(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notices.Senders) != 0 {
		t.Errorf("default senders: %q, want none (SMS+'s own sender only)", c.Notices.Senders)
	}
	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "NOTICE_SENDERS=+15550100, ACME Bank,12345,ACME Bank"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"+15550100", "ACME Bank", "12345"}; !slices.Equal(c.Notices.Senders, want) {
		t.Errorf("senders %q, want %q", c.Notices.Senders, want)
	}
	// Every bad sender is reported at once, with the setting's name.
	_, err = Load(Sources{Environ: []string{"HASH_SALT=s", "NOTICE_SENDERS=+1 555,TOO LONG A NAME,12,ok,<script>"}})
	if err == nil {
		t.Fatal("bad senders accepted")
	}
	for _, bad := range []string{`"+1 555"`, `"TOO LONG A NAME"`, `"12"`, `"<script>"`} {
		if !strings.Contains(err.Error(), "NOTICE_SENDERS: "+bad) {
			t.Errorf("no problem for %s in:\n%v", bad, err)
		}
	}
	if strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("a good sender reported: %v", err)
	}
}

func TestVoiceSettingsAreKnown(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s", "VOICE_POLICY=refuse", "NOTICE_SENDERS=ACME", "VOICE_POLICYY=sms_link"}})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "VOICE_POLICYY") {
		t.Errorf("no warning for the typo VOICE_POLICYY: %q", w)
	}
	if strings.Contains(w, "VOICE_POLICY (") || strings.Contains(w, "NOTICE_SENDERS (") {
		t.Errorf("a known setting drew a warning: %q", w)
	}
}
