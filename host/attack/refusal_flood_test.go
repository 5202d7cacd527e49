package attack_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackRefusedFloodLoadsThePlugin.
//
// Attacker: a network client with no credentials that floods a hook URL with
// calls the host refuses before any bridge reads them (bodies over
// MAX_BODY_BYTES), at whatever rate its sockets allow, to take the bridge
// plugin's time from the IAM's real hooks.
//
// Path: every refusal is answered in the vendor's format, which only the bridge
// knows. When the host asked the plugin to render each one (a Respond call), each
// refused call cost a gRPC round trip in the plugin, as much as a call the bridge
// parses and rejects itself.
//
// Defence proved: the answers to the host's own refusals are rendered once per
// plugin launch and sent without a call. Measured as the plugin process's CPU
// for the same number of calls: refused bodies cost it less than a fifth of what
// calls with a wrong secret (which the bridge must parse) cost.
func TestAttackRefusedFloodLoadsThePlugin(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES=okta")
	plugin := s.PluginPID(t, "okta")
	const calls = 1500

	flood := func(body []byte, wantStatus int) int64 {
		t.Helper()
		before := cpuTicks(t, plugin)
		for i := range calls {
			// 100-continue: the client sends no body the host refused at its
			// length, so it can read the answer instead of failing to write.
			req := s.HookRequest("okta", map[string]string{"Authorization": "wrong-secret-0123456789", "Expect": "100-continue"}, body)
			ans, err := e2e.Do(nil, req)
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if ans.Status != wantStatus {
				t.Fatalf("call %d: status %d, want %d: %s", i, ans.Status, wantStatus, ans.Body)
			}
		}
		return cpuTicks(t, plugin) - before
	}
	// Okta's own format for both: 401 for the wrong secret, 413 for the body.
	parsed := flood([]byte(`{"eventType":"com.okta.telephony.provider"}`), http.StatusUnauthorized)
	refused := flood(bytes.Repeat([]byte(" "), 70<<10), http.StatusRequestEntityTooLarge)
	t.Logf("plugin CPU for %d calls: %d ticks parsed and rejected by the bridge, %d refused by the host", calls, parsed, refused)
	if parsed < 10 {
		t.Fatalf("%d calls the bridge parses cost its plugin %d ticks: too few to compare with", calls, parsed)
	}
	if refused*5 >= parsed {
		t.Fatalf("%d refused calls cost the plugin %d ticks of CPU, against %d for as many calls it parses: refusals reach the plugin", calls, refused, parsed)
	}
}

func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	n, ok := e2e.CPUTicks(pid)
	if !ok {
		t.Fatalf("no CPU figure for process %d", pid)
	}
	return n
}
