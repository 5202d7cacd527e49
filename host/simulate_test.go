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
	s := bin.Start(t, "PLUGIN_DIR="+dir, "ENABLED_BRIDGES="+strings.Join(bridges, ","),
		"MINIMAL_SHARED_SECRET=e2e-minimal-secret-0123456789abcdef")
	for i, id := range bridges {
		phone := fmt.Sprintf("+1201555%04d", 130+i)
		// The server's own settings: its port, plugins and secrets.
		code, out := bin.Run(t, s.Env, "simulate", id, "--phone", phone, "--otp", "482913")
		if code != ExitOK || !strings.Contains(out, "HTTP 200") {
			t.Errorf("simulate %s: exit %d\n%s", id, code, out)
			continue
		}
		if sms := s.NextSMS(t, phone); !strings.Contains(sms.Body, "482913") {
			t.Errorf("simulate %s: the enrolling user's text holds no code: %q", id, sms.Body)
		}
	}
	// A bridge that is not there is named, not guessed at.
	if code, out := bin.Run(t, s.Env, "simulate", "nosuch", "--phone", "+12015550199"); code != ExitFailed || !strings.Contains(out, "nosuch") {
		t.Errorf("simulate nosuch: exit %d\n%s", code, out)
	}
}
