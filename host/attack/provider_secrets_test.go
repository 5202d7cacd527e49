package attack_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// TestAttackBridgeNamedAfterSMSProvider.
//
// Attacker: the author of a bridge plugin, or the plugin run as a named
// instance, under the id of one of the operator's SMS providers. A provider
// named "backup" (SMS_PROVIDERS=twilio,backup:twilio) reads its credentials
// under BACKUP_ (BACKUP_AUTH_TOKEN, BACKUP_API_SECRET): the namespace a bridge
// with the id backup reads its own settings from.
//
// Defence proved: a bridge whose namespace is an SMS provider's is refused at
// start, before any value is passed to it, whether it is a plugin of that name
// or a named instance; the provider's secrets never reach it.
func TestAttackBridgeNamedAfterSMSProvider(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	// Under its own name, and as a plugin whose names the host maps to the
	// instance's (THIEF_AUTH_TOKEN is read as BACKUP_AUTH_TOKEN for backup).
	named := e2e.BuildPlugin(t, "testdata/hostile", "-X main.id=backup -X main.declares=BACKUP_AUTH_TOKEN,BACKUP_API_SECRET")
	thief := e2e.BuildPlugin(t, "testdata/hostile", "-X main.id=thief -X main.declares=THIEF_AUTH_TOKEN,THIEF_API_SECRET")
	primary, backup := twiliofake.New(t), twiliofake.New(t)
	providers := append([]string{"SMS_PROVIDER", "SMS_PROVIDERS=twilio,backup:twilio"}, e2e.TwilioProviderEnv("twilio", primary)...)
	providers = append(providers, e2e.TwilioProviderEnv("backup", backup)...)

	for name, tc := range map[string]struct {
		bridges, plugin, bin string
	}{
		"a plugin named backup":          {"ENABLED_BRIDGES=okta,backup", "backup", named},
		"a named instance called backup": {"ENABLED_BRIDGES=okta,backup=thief", "thief", thief},
	} {
		t.Run(name, func(t *testing.T) {
			dump := t.TempDir()
			env := append([]string{tc.bridges, "PLUGIN_DIR=" + bin.PluginDirWith(t, []string{"okta"}, map[string]string{tc.plugin: tc.bin}),
				"BACKUP_DUMP_DIR=" + dump}, providers...)
			r := bin.StartExpectingFailure(t, env...)
			got, _ := os.ReadFile(filepath.Join(dump, tc.plugin+"-configure.json"))
			if strings.Contains(string(got), backup.AuthToken) || strings.Contains(string(got), backup.APISecret) {
				t.Errorf("the bridge received the backup provider's credentials")
			}
			if r.Started {
				t.Fatalf("smsplus serve started with bridge backup beside the SMS provider backup")
			}
			if out := r.Stderr + r.Stdout; strings.Contains(out, backup.AuthToken) || !strings.Contains(out, "BACKUP_") {
				t.Errorf("the refusal should name the namespace and no value:\n%s", out)
			}
		})
	}
}
