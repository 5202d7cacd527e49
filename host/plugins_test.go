package host

import (
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/pluginhost"
)

func TestChecksumColumn(t *testing.T) {
	t.Parallel()
	disk, other := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	f := pluginhost.Found{ID: "okta"}
	for _, tc := range []struct {
		in   pluginhost.Inspection
		st   pluginhost.Status
		want string
	}{
		{pluginhost.Inspection{Found: f}, pluginhost.Status{}, "-"},
		{pluginhost.Inspection{Found: f, SHA256: disk}, pluginhost.Status{}, "abababababababab… (not pinned)"},
		{pluginhost.Inspection{Found: f, SHA256: disk, Pinned: true}, pluginhost.Status{SHA256: disk}, "abababababababab… (pinned)"},
		{pluginhost.Inspection{Found: f, SHA256: disk, Pinned: true, Problems: []string{"… does not match PLUGIN_SHA256_OKTA: not launched"}},
			pluginhost.Status{}, "abababababababab… (MISMATCH with PLUGIN_SHA256_OKTA)"},
		{pluginhost.Inspection{Found: f, SHA256: disk}, pluginhost.Status{SHA256: other},
			"abababababababab… (not pinned) (server runs cdcdcdcdcdcdcdcd…)"},
	} {
		if got := checksumColumn(tc.in, tc.st); got != tc.want {
			t.Errorf("checksumColumn(%+v, %+v) = %q, want %q", tc.in, tc.st, got, tc.want)
		}
	}
}
