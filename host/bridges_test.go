package host

import (
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/config"
)

// PLUGIN_RESTART_BACKOFF_MS reaches the plugin manager as read and checked by the
// configuration.
func TestConfigPluginRestartBackoff(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]time.Duration{"": 200 * time.Millisecond, "PLUGIN_RESTART_BACKOFF_MS=1500": 1500 * time.Millisecond} {
		cfg, err := config.Load(config.Sources{Environ: []string{"HASH_SALT=pepper", env}})
		if err != nil {
			t.Fatal(err)
		}
		if got := pluginOptions(cfg, nil).RestartBackoff; got != want {
			t.Errorf("%q: backoff %v, want %v", env, got, want)
		}
	}
}
