package host_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestNamedInstancesEndToEnd serves two Okta orgs from one SMS+: the shipped
// Okta plugin as okta (production) and as the named instance okta-preview
// (ENABLED_BRIDGES=okta,okta-preview=okta), each with its own secret, the
// preview in the middle of a rotation. Each org's calls are accepted on its own
// route only, with its current or (preview) previous secret; production's
// secret is refused on the preview's route, and the other way round.
func TestNamedInstancesEndToEnd(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	const (
		prod        = "e2e-okta-prod-secret-5d1c9e04b7"
		prodOld     = "e2e-okta-prod-old-secret-80e2f1"
		preview     = "e2e-okta-preview-secret-3a9f6c21"
		previewOld  = "e2e-okta-preview-old-secret-7b44"
		previewHead = "X-Okta-Preview-Secret"
	)
	s := bin.Start(t, "ENABLED_BRIDGES=okta,okta-preview=okta",
		"OKTA_SHARED_SECRET="+prod, "OKTA_SHARED_SECRET_PREVIOUS="+prodOld,
		"OKTA_PREVIEW_SHARED_SECRET="+preview, "OKTA_PREVIEW_SHARED_SECRET_PREVIOUS="+previewOld,
		"OKTA_PREVIEW_AUTH_HEADER="+previewHead)

	t.Run("readyz shows each instance and its plugin", func(t *testing.T) {
		_, okta := s.PluginStatus(t, "okta")
		code, inst := s.PluginStatus(t, "okta-preview")
		if code != http.StatusOK || !inst.Running || inst.Plugin != "okta" || !inst.Found || okta.Plugin != "" ||
			inst.SHA256 != okta.SHA256 || len(inst.SHA256) != 64 {
			t.Errorf("readyz %d: okta %+v, okta-preview %+v", code, okta, inst)
		}
	})

	t.Run("one process per instance", func(t *testing.T) {
		if pids := s.PluginPIDs(); len(pids) != 2 {
			t.Errorf("plugin processes = %v, want 2 (one per bridge)", pids)
		}
	})

	// call posts Okta's call for route, authenticated with secret in header.
	call := func(t *testing.T, route, header, secret, phone, otp string) e2e.Answer {
		t.Helper()
		req := s.Example(t, route, phone, otp)
		req.Header.Del("Authorization")
		req.Header.Del(previewHead)
		req.Header.Set(header, secret)
		a, err := e2e.Do(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	n := 0
	for _, tc := range []struct {
		name, route, header, secret string
		accepted                    bool
	}{
		{"production's secret on production", "okta", "Authorization", prod, true},
		{"production's previous secret on production", "okta", "Authorization", prodOld, true},
		{"the preview's secret on the preview", "okta-preview", previewHead, preview, true},
		{"the preview's previous secret on the preview", "okta-preview", previewHead, previewOld, true},
		{"production's secret on the preview", "okta-preview", previewHead, prod, false},
		{"production's previous secret on the preview", "okta-preview", previewHead, prodOld, false},
		{"production's secret in production's header on the preview", "okta-preview", "Authorization", prod, false},
		{"the preview's secret on production", "okta", "Authorization", preview, false},
		{"the preview's previous secret on production", "okta", "Authorization", previewOld, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n++
			phone, otp := fmt.Sprintf("+1415555%02d20", n), fmt.Sprintf("70815%d", n)
			texts := len(s.SMS())
			a := call(t, tc.route, tc.header, tc.secret, phone, otp)
			switch {
			case tc.accepted && (a.Status != http.StatusOK || a.OktaStatus() != "SUCCESSFUL"):
				t.Fatalf("refused: %s", a)
			case tc.accepted:
				if _, cid := s.NextSMS(t, phone).Link(); cid == "" {
					t.Fatal("no link texted")
				}
			case a.Status != http.StatusUnauthorized:
				t.Fatalf("want Okta's 401, got %s", a)
			case len(s.SMS()) != texts:
				t.Fatal("a refused call was texted")
			}
		})
	}

	t.Run("simulate renders the instance's call", func(t *testing.T) {
		code, out := bin.Run(t, s.Env, "simulate", "okta-preview", "--phone", "+14155559920", "--otp", "602214")
		if code != 0 || !strings.Contains(out, "SUCCESSFUL") {
			t.Fatalf("simulate okta-preview: exit %d\n%s", code, out)
		}
		s.NextSMS(t, "+14155559920")
	})

	t.Run("metrics and logs are labelled by instance", func(t *testing.T) {
		m := s.Metrics(t)
		for _, want := range []struct {
			bridge, outcome string
			n               float64
		}{{"okta", "delivered", 2}, {"okta-preview", "delivered", 3}, {"okta-preview", "rejected", 3}, {"okta", "rejected", 2}} {
			if got := m.Sum("smsplus_hooks_total", "bridge", want.bridge, "outcome", want.outcome); got != want.n {
				t.Errorf("smsplus_hooks_total{bridge=%q,outcome=%q} = %v, want %v", want.bridge, want.outcome, got, want.n)
			}
		}
		entries, _ := s.Logs()
		handled := map[string]int{}
		for _, e := range entries {
			if e.Msg == "hook handled" {
				b, _ := e.Fields["bridge"].(string)
				handled[b]++
			}
		}
		if handled["okta"] != 2 || handled["okta-preview"] != 3 {
			t.Errorf("\"hook handled\" log lines by bridge: %v", handled)
		}
		for _, secret := range []string{prod, prodOld, preview, previewOld} {
			if strings.Contains(s.Stderr()+s.Stdout(), secret) {
				t.Error("a secret is in the logs")
			}
		}
	})
}

// TestNamedInstancesCheckConfig: `smsplus check-config`, with the real plugins,
// reports every problem of named instances in one run, in the names the
// operator sets, and knows an instance's settings when it warns about typos.
func TestNamedInstancesCheckConfig(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	env := e2e.MergeEnv(e2e.DefaultEnv(e2e.FreePort(t), t.TempDir(), bin.PluginDir),
		"ENABLED_BRIDGES=okta,okta-preview=okta,okta-preview=auth0,auth0=okta,okta-eu=oktaa,okta_us=okta",
		"OKTA_PREVIEW_SHARED_SECRET_PREVIOUS=e2e-okta-preview-old-secret-7b44", "OKTA_PREVIEW_SHARED_SECRT=e2e-okta-typo-secret-99",
		"PLUGIN_SHA256_OKTA_PREVIEW="+strings.Repeat("ab", 32))
	code, out := bin.Run(t, env, "check-config")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	problems, warnings, _ := strings.Cut(out, "warning(s):")
	for _, want := range []string{
		"ENABLED_BRIDGES: the bridge id okta-preview is listed twice, running plugin okta and plugin auth0",
		`ENABLED_BRIDGES: "okta_us" is not a valid bridge id`,
		"PLUGIN_SHA256_OKTA_PREVIEW: okta-preview is a named instance of plugin okta and runs its binary, which PLUGIN_SHA256_OKTA pins",
		"bridge auth0 is a named instance of plugin okta, but a plugin named auth0 is installed too",
		"bridge okta-eu runs plugin oktaa (okta-eu=oktaa in ENABLED_BRIDGES), but no smsplus-bridge-oktaa binary was found",
		"OKTA_PREVIEW_SHARED_SECRET_PREVIOUS is set but OKTA_PREVIEW_SHARED_SECRET is not",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("no problem %q in:\n%s", want, out)
		}
	}
	if want := "OKTA_PREVIEW_SHARED_SECRT (environment): bridge okta-preview does not read this setting; did you mean OKTA_PREVIEW_SHARED_SECRET?"; !strings.Contains(warnings, want) {
		t.Errorf("no warning %q in:\n%s", want, out)
	}
	if strings.Contains(out, "e2e-okta-") {
		t.Errorf("check-config prints a secret:\n%s", out)
	}
}
