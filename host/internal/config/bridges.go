package config

import (
	"slices"
	"strings"
	"time"
)

// Bridges holds the settings of the bridge plugins and of the hooks they serve.
// Each bridge's own settings (OKTA_SHARED_SECRET, ...) are not here: the plugin
// declares them and receives their values (Setting).
type Bridges struct {
	EnabledBridges []string
	PluginDir      string // empty: next to the smsplus binary, then ./bin/plugins
	HookBudget     time.Duration
	MaxBodyBytes   int64
	// HookBodyTimeout bounds reading a hook's body, which happens before the hook
	// takes an admission slot: a client that trickles its body never holds one.
	HookBodyTimeout time.Duration
	// HookMaxPerClient caps the hook bodies one client address may be sending at
	// once, so that one client with many sockets cannot tie up the server.
	HookMaxPerClient int
	// PluginAllowInsecurePermissions accepts plugin files and folders that group
	// or others may write (PLUGIN_ALLOW_INSECURE_PERMISSIONS; off by default).
	PluginAllowInsecurePermissions bool
	// PluginRestartBackoff is the first wait before restarting a dead bridge; it
	// doubles up to 30 s (PLUGIN_RESTART_BACKOFF_MS).
	PluginRestartBackoff time.Duration
	// ReattachBridges (SMSPLUS_REATTACH_BRIDGES) names bridges a developer runs
	// under a debugger (bridge.Main -debug prints it): the host attaches to them
	// instead of launching their binaries. For development only.
	ReattachBridges string
}

func (r *reader) bridges() Bridges {
	c := Bridges{
		EnabledBridges:                 r.bridgeIDs("enabled_bridges"),
		PluginDir:                      r.str("plugin_dir"),
		HookBudget:                     r.millis("hook_budget_ms", 100, 60000),
		MaxBodyBytes:                   int64(r.int("max_body_bytes", 1024, 1<<20)),
		HookBodyTimeout:                r.millis("hook_body_timeout_ms", 50, 10000),
		HookMaxPerClient:               r.int("hook_max_per_client", 1, 100000),
		PluginAllowInsecurePermissions: r.bool("plugin_allow_insecure_permissions"),
		PluginRestartBackoff:           r.millis("plugin_restart_backoff_ms", 1, 30000),
		ReattachBridges:                r.str("smsplus_reattach_bridges"),
	}
	// Read by the plugin host from the process environment (pluginhost.pluginEnv);
	// checked here so that a bad value is a problem, not ignored.
	if r.str("plugin_gomaxprocs") != "" {
		r.int("plugin_gomaxprocs", 1, 1024)
	}
	r.bridgeSecrets(c.EnabledBridges)
	if c.HookBodyTimeout >= c.HookBudget {
		r.problem("HOOK_BODY_TIMEOUT_MS: must be less than HOOK_BUDGET_MS (%d), or no time is left for the hook itself", c.HookBudget.Milliseconds())
	}
	return c
}

// bridgeIDs reads a comma-separated list of bridge ids, in any case.
func (r *reader) bridgeIDs(key string) []string {
	var out []string
	for _, id := range r.list(key) {
		id = strings.ToLower(id)
		if slices.Contains(out, id) {
			continue
		}
		if !validBridgeID(id) {
			r.problem("%s: %q is not a valid bridge id (lower-case letters, digits and '-')", envName(key), id)
			continue
		}
		out = append(out, id)
	}
	return out
}

func validBridgeID(id string) bool {
	if len(id) > 32 {
		return false
	}
	for i, ch := range id {
		ok := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' && i > 0
		if !ok {
			return false
		}
	}
	return true
}
