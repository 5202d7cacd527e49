package attack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackInstanceReadsOtherInstanceSecret.
//
// Attacker: the author of a bridge plugin an operator runs as two named
// instances, one per org of the vendor (ENABLED_BRIDGES=acme,acme-preview=acme):
// one binary, two sets of secrets. The plugin cannot tell which instance it is,
// so it wants both orgs' secrets from either process.
//
// Paths: (1) the production instance declares the preview's setting
// ACME_PREVIEW_SHARED_SECRET as well as its own; (2) the plugin declares only
// its own names (ACME_SHARED_SECRET), which the host answers with each
// instance's setting, and hopes that the host falls back to production's value
// where the instance's is unset, or answers both.
//
// Defence proved: a plugin is refused at start when it declares another
// bridge's settings, the other instance's included, and never receives a value;
// an instance receives exactly its own settings (ACME_PREVIEW_* for
// acme-preview, under the plugin's names), an unset one stays unset, and the
// other instance's, Okta's and the host's secrets never reach it.
func TestAttackInstanceReadsOtherInstanceSecret(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	quiet := e2e.BuildPlugin(t, "testdata/hostile", "-X main.id=acme -X main.declares=ACME_SHARED_SECRET")
	greedy := e2e.BuildPlugin(t, "testdata/hostile", "-X main.id=acme -X main.declares=ACME_SHARED_SECRET,ACME_PREVIEW_SHARED_SECRET")
	const (
		prod    = "attack-acme-prod-secret-61f0c2a9"
		preview = "attack-acme-preview-secret-0d7e4b"
	)
	secrets := map[string]string{"ACME_SHARED_SECRET": prod, "ACME_PREVIEW_SHARED_SECRET": preview,
		"OKTA_SHARED_SECRET": e2e.Secrets["OKTA_SHARED_SECRET"], "HASH_SALT": e2e.HashSalt}

	// start runs acme and acme-preview with the plugin bin and env; each
	// instance writes what its Configure got to its own folder.
	type dumps struct{ prod, preview string }
	setup := func(t *testing.T, plugin string, env ...string) (dumps, []string) {
		d := dumps{prod: t.TempDir(), preview: t.TempDir()}
		return d, append([]string{"ENABLED_BRIDGES=okta,acme,acme-preview=acme",
			"PLUGIN_DIR=" + bin.PluginDirWith(t, []string{"okta"}, map[string]string{"acme": plugin}),
			"ACME_DUMP_DIR=" + d.prod, "ACME_PREVIEW_DUMP_DIR=" + d.preview}, env...)
	}
	received := func(t *testing.T, dir string) (map[string]string, bool) {
		raw, err := os.ReadFile(filepath.Join(dir, "acme-configure.json"))
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

	t.Run("declaring the other instance's secret is refused", func(t *testing.T) {
		d, env := setup(t, greedy, "ACME_SHARED_SECRET="+prod, "ACME_PREVIEW_SHARED_SECRET="+preview)
		r := bin.StartExpectingFailure(t, env...)
		if r.Started {
			got, _ := received(t, d.prod)
			t.Fatalf("smsplus serve started with a plugin that declares ACME_PREVIEW_SHARED_SECRET as acme; acme received %d settings", len(got))
		}
		out := r.Stderr + r.Stdout
		if !strings.Contains(out, "ACME_PREVIEW_SHARED_SECRET (bridge acme-preview's)") {
			t.Errorf("the refusal does not name the preview's setting as acme-preview's:\n%s", out)
		}
		for _, dir := range []string{d.prod, d.preview} {
			if _, ok := received(t, dir); ok {
				t.Errorf("a refused instance was configured anyway (%s)", dir)
			}
		}
		for name, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("the refusal prints the value of %s", name)
			}
		}
	})

	t.Run("each instance receives its own settings only", func(t *testing.T) {
		d, env := setup(t, quiet, "ACME_SHARED_SECRET="+prod, "ACME_PREVIEW_SHARED_SECRET="+preview)
		s := bin.Start(t, env...)
		for name, tc := range map[string]struct {
			dir  string
			want map[string]string
		}{
			"acme":         {d.prod, map[string]string{"ACME_DUMP_DIR": d.prod, "ACME_SHARED_SECRET": prod}},
			"acme-preview": {d.preview, map[string]string{"ACME_DUMP_DIR": d.preview, "ACME_SHARED_SECRET": preview}},
		} {
			if got, _ := received(t, tc.dir); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s was configured with %s; want exactly its own %s", name, describe(got, secrets), describe(tc.want, secrets))
			}
		}
		s.Stop()
	})

	t.Run("an unset instance secret is not inherited", func(t *testing.T) {
		d, env := setup(t, quiet, "ACME_SHARED_SECRET="+prod)
		s := bin.Start(t, env...)
		if got, _ := received(t, d.preview); !reflect.DeepEqual(got, map[string]string{"ACME_DUMP_DIR": d.preview}) {
			t.Errorf("acme-preview, without a secret of its own, was configured with %s; want only its ACME_DUMP_DIR", describe(got, secrets))
		}
		s.Stop()
	})
}

// describe names the settings of got and whose secret each value is, never the
// value itself.
func describe(got map[string]string, secrets map[string]string) string {
	var parts []string
	for name, v := range got {
		whose := "another value"
		for s, secret := range secrets {
			if v == secret {
				whose = "the value of " + s
			}
		}
		if strings.HasPrefix(v, "/") {
			whose = "a folder"
		}
		parts = append(parts, name+"="+whose)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
