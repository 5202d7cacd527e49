package attack_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackHostileBridgeReadsHostSecrets.
//
// Attacker: the author of a bridge plugin (a third party's, or a shipped one
// replaced by someone who can write the plugin folder). A bridge is built from the
// SDK alone and declares the settings it wants in Info.Settings.
//
// Path: plugin launch -> Info.Settings -> Configure(settings). The host answered
// every declared name from its whole configuration and environment, so the
// bridge in testdata/hostile, declaring HASH_SALT, DATA_ENCRYPTION_KEY,
// OKTA_SHARED_SECRET and ATTACK_CANARY, got the salt that un-hashes user ids, the
// key that unseals every stored code, another bridge's secret and any variable.
//
// Defence proved: a bridge gets only settings in its own namespace (its id
// upper-cased, then "_") plus a short list of non-secret host settings; a plugin
// that declares anything else is refused at start (exit != 0, a message naming
// the settings and the rule) and never receives a value. The control twin,
// declaring only its own POLITE_DUMP_DIR, starts and receives exactly that.
func TestAttackHostileBridgeReadsHostSecrets(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	hostile := e2e.BuildPlugin(t, "testdata/hostile", "")
	polite := e2e.BuildPlugin(t, "testdata/hostile", "-X main.id=polite")

	var key [32]byte
	_, _ = rand.Read(key[:])
	var canary [12]byte
	_, _ = rand.Read(canary[:])
	secrets := map[string]string{
		"HASH_SALT":           e2e.HashSalt,
		"DATA_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key[:]),
		"OKTA_SHARED_SECRET":  e2e.Secrets["OKTA_SHARED_SECRET"],
		"ATTACK_CANARY":       "canary-" + hex.EncodeToString(canary[:]),
	}
	dump := t.TempDir()
	env := []string{
		"DATA_ENCRYPTION_KEY=" + secrets["DATA_ENCRYPTION_KEY"], "ATTACK_CANARY=" + secrets["ATTACK_CANARY"],
		"HOSTILE_DUMP_DIR=" + dump, "POLITE_DUMP_DIR=" + dump,
	}
	// received reads what a bridge's Configure got, by setting name.
	received := func(id string) (map[string]string, bool) {
		raw, err := os.ReadFile(filepath.Join(dump, id+"-configure.json"))
		if os.IsNotExist(err) {
			return nil, false
		}
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		return got, true
	}
	// stolen names the host secrets among the values a bridge received.
	stolen := func(got map[string]string) []string {
		var out []string
		for name, secret := range secrets {
			for _, v := range got {
				if strings.Contains(v, secret) {
					out = append(out, name)
					break
				}
			}
		}
		slices.Sort(out)
		return out
	}

	t.Run("hostile", func(t *testing.T) {
		r := bin.StartExpectingFailure(t, append(env, "ENABLED_BRIDGES=okta,hostile",
			"PLUGIN_DIR="+bin.PluginDirWith(t, []string{"okta"}, map[string]string{"hostile": hostile}))...)
		if r.Started {
			got, _ := received("hostile")
			t.Errorf("smsplus serve started with a bridge that declares HASH_SALT, DATA_ENCRYPTION_KEY, OKTA_SHARED_SECRET "+
				"and ATTACK_CANARY outside its HOSTILE_ namespace; its Configure received the values of %v", stolen(got))
			return
		}
		out := r.Stderr + r.Stdout
		if r.Code == 0 {
			t.Errorf("smsplus serve exited 0 after refusing the hostile bridge")
		}
		for _, name := range []string{"HASH_SALT", "DATA_ENCRYPTION_KEY", "OKTA_SHARED_SECRET", "ATTACK_CANARY", "HOSTILE_"} {
			if !strings.Contains(out, name) {
				t.Errorf("the refusal does not name %s (the settings outside the namespace, and the HOSTILE_ rule):\n%s", name, out)
			}
		}
		if got, ok := received("hostile"); ok {
			t.Errorf("the refused bridge was configured anyway, with the values of %v", stolen(got))
		}
		for name, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("the refusal prints the value of %s", name)
			}
		}
	})

	t.Run("control: own namespace only", func(t *testing.T) {
		s := bin.Start(t, append(env, "ENABLED_BRIDGES=okta,polite",
			"PLUGIN_DIR="+bin.PluginDirWith(t, []string{"okta"}, map[string]string{"polite": polite}))...)
		got, ok := received("polite")
		if !ok || got["POLITE_DUMP_DIR"] != dump || len(stolen(got)) > 0 {
			t.Fatalf("the polite bridge was configured with %d settings (host secrets among them: %v); want exactly POLITE_DUMP_DIR",
				len(got), stolen(got))
		}
		s.Stop()
	})
}
