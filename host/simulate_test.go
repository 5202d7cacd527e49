package host

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// `smsplus simulate <id>` works for any bridge, the SDK's example bridge
// included, with no vendor knowledge in the host: each plugin renders its own
// authentic example, and the running server takes it like the vendor's call.
// Its exit code says what the server did, for every bridge alike, whatever the
// vendor's answer format (Okta answers a failure with HTTP 200).
func TestSimulateAnyBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := e2e.Shipped(t)
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	minimal := e2e.BuildPlugin(t, filepath.Join(root, "sdk", "examples", "minimal"), "")
	dir := bin.PluginDirWith(t, e2e.ShippedBridges, map[string]string{"minimal": minimal})
	bridges := append([]string{"minimal"}, e2e.ShippedBridges...)
	const minimalSecret = "MINIMAL_SHARED_SECRET"
	s := bin.Start(t, "PLUGIN_DIR="+dir, "ENABLED_BRIDGES="+strings.Join(bridges, ","),
		minimalSecret+"=e2e-minimal-secret-0123456789abcdef")

	// The same configuration with every bridge's credential changed: what an
	// operator whose .env is out of date would simulate with.
	var stale []string
	for k, v := range e2e.Secrets {
		stale = append(stale, k+"=stale-"+v)
	}
	staleEnv := e2e.MergeEnv(s.Env, append(stale, minimalSecret+"=stale-e2e-minimal-secret-0123456789")...)

	for i, id := range bridges {
		t.Run(id, func(t *testing.T) {
			phone := fmt.Sprintf("+1201555%04d", 130+i)
			// The server's own settings: its port, plugins and secrets.
			code, out := bin.Run(t, s.Env, "simulate", id, "--phone", phone, "--otp", "482913")
			if code != ExitOK || !strings.Contains(out, "SMS+ outcome: delivered") {
				t.Errorf("simulate %s: exit %d, want %d (delivered)\n%s", id, code, ExitOK, out)
			} else if sms := s.NextSMS(t, phone); !strings.Contains(sms.Body, "482913") {
				t.Errorf("simulate %s: the enrolling user's text holds no code: %q", id, sms.Body)
			}

			// A premium-rate number (REFUSED_NUMBER_TYPES): the server takes the
			// call and texts nothing.
			code, out = bin.Run(t, s.Env, "simulate", id, "--phone", "+19005550123")
			if code != ExitHookFailed || !strings.Contains(out, "destination_refused") {
				t.Errorf("simulate %s to a premium-rate number: exit %d, want %d\n%s", id, code, ExitHookFailed, out)
			}

			// Credentials the server does not know: refused.
			code, out = bin.Run(t, staleEnv, "simulate", id, "--phone", phone)
			if code != ExitHookRefused || !strings.Contains(out, "unauthorized") {
				t.Errorf("simulate %s with a stale secret: exit %d, want %d\n%s", id, code, ExitHookRefused, out)
			}
		})
	}

	// --locale is what the vendor would send: the text is in that language, for
	// the vendors whose calls carry one.
	for i, id := range []string{"okta", "auth0", "pingone"} {
		phone := fmt.Sprintf("+1201555%04d", 160+i)
		code, out := bin.Run(t, s.Env, "simulate", id, "--phone", phone, "--locale", "es-ES")
		if code != ExitOK {
			t.Errorf("simulate %s --locale es-ES: exit %d\n%s", id, code, out)
			continue
		}
		if sms := s.NextSMS(t, phone); !strings.Contains(sms.Body, "SMS+") || !strings.Contains(sms.Body, "Protege") {
			t.Errorf("simulate %s --locale es-ES: the text is not in Spanish: %q", id, sms.Body)
		}
	}

	// No server: no answer.
	if code, out := bin.Run(t, s.Env, "simulate", "okta", "--phone", "+12015550198", "--url", "http://127.0.0.1:1/hooks/okta"); code != ExitNoAnswer {
		t.Errorf("simulate with no server: exit %d, want %d\n%s", code, ExitNoAnswer, out)
	}
	// A bridge that is not there is named, not guessed at.
	if code, out := bin.Run(t, s.Env, "simulate", "nosuch", "--phone", "+12015550199"); code != ExitFailed || !strings.Contains(out, "nosuch") {
		t.Errorf("simulate nosuch: exit %d\n%s", code, out)
	}
}

// configs/dev.env, which `make run` and the README's tour use, enables every
// shipped bridge with settings each one's own check accepts, so the tour's
// `smsplus simulate <id> --env-file configs/dev.env` works for each of them.
func TestDevEnvEnablesEveryBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	bin := e2e.Shipped(t)
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	code, out := bin.Run(t, []string{"PLUGIN_DIR=" + bin.PluginDir},
		"check-config", "--env-file", filepath.Join(root, "configs", "dev.env"))
	if code != ExitOK {
		t.Fatalf("check-config with configs/dev.env: exit %d\n%s", code, out)
	}
	for _, id := range e2e.ShippedBridges {
		if !strings.Contains(out, id) {
			t.Errorf("configs/dev.env does not enable %s:\n%s", id, out)
		}
	}
}
