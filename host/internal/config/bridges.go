package config

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Bridges holds the settings of the bridge plugins and of the hooks they serve.
// Each bridge's own settings (OKTA_SHARED_SECRET, ...) are not here: the plugin
// declares them and receives their values (Setting).
type Bridges struct {
	// EnabledBridges are the ids of the bridges to run: each one's route
	// (/hooks/<id>), settings namespace (<ID>_...) and label in metrics and audit.
	EnabledBridges []string
	// BridgePlugins names the plugin of each named instance: a bridge listed as
	// okta-preview=okta in ENABLED_BRIDGES runs smsplus-bridge-okta under the id
	// okta-preview (a second Okta org). nil when there is none; a bridge not in
	// it runs smsplus-bridge-<id>. Use Plugin(id).
	BridgePlugins map[string]string
	PluginDir     string // empty: next to the smsplus binary, then ./bin/plugins
	HookBudget    time.Duration
	MaxBodyBytes  int64
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
	ids, plugins := r.enabledBridges("enabled_bridges")
	c := Bridges{
		EnabledBridges:                 ids,
		BridgePlugins:                  plugins,
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
	r.instancePins(c.BridgePlugins)
	if c.HookBodyTimeout >= c.HookBudget {
		r.problem("HOOK_BODY_TIMEOUT_MS: must be less than HOOK_BUDGET_MS (%d), or no time is left for the hook itself", c.HookBudget.Milliseconds())
	}
	return c
}

// Plugin is the plugin bridge id runs: its own, or the one its named instance
// names (okta for okta-preview=okta).
func (b *Bridges) Plugin(id string) string {
	if p, ok := b.BridgePlugins[id]; ok {
		return p
	}
	return id
}

// enabledBridges reads ENABLED_BRIDGES: a comma-separated list of bridge ids, in
// any case, each either a plugin's id (okta) or a named instance of a plugin,
// id=plugin (okta-preview=okta). It returns the ids and the instances' plugins.
func (r *reader) enabledBridges(key string) ([]string, map[string]string) {
	var ids []string
	var plugins map[string]string
	pluginOf := func(id string) string {
		if p, ok := plugins[id]; ok {
			return p
		}
		return id
	}
	for _, item := range r.list(key) {
		id, plugin, named := strings.Cut(strings.ToLower(item), "=")
		id, plugin = strings.TrimSpace(id), strings.TrimSpace(plugin)
		if !named {
			plugin = id
		}
		bad := false
		for _, s := range []string{id, plugin} {
			if !validBridgeID(s) {
				r.problem("%s: %q is not a valid bridge id (lower-case letters, digits and '-', at most 32; "+
					"the id is the hook's route /hooks/<id> and names its settings <ID>_...)", envName(key), s)
				bad = true
				break
			}
		}
		if bad {
			continue
		}
		if slices.Contains(ids, id) {
			if pluginOf(id) != plugin {
				r.problem("%s: the bridge id %s is listed twice, running plugin %s and plugin %s: each bridge needs an id of its own "+
					"(e.g. %s-2=%s)", envName(key), id, pluginOf(id), plugin, id, plugin)
			}
			continue
		}
		ids = append(ids, id)
		if plugin != id {
			if plugins == nil {
				plugins = map[string]string{}
			}
			plugins[id] = plugin
		}
	}
	// An instance's id names it, not a plugin: another bridge running a plugin of
	// that name would be ambiguous (which binary is "okta-preview"?).
	for _, id := range ids {
		if p := pluginOf(id); p != id {
			for _, other := range ids {
				if other != id && pluginOf(other) == id {
					r.problem("%s: %s is a named instance of plugin %s, and %s names it as its plugin: a plugin is named by its binary "+
						"smsplus-bridge-<plugin>, never by an instance's id", envName(key), id, p, other)
				}
			}
		}
	}
	return ids, plugins
}

// instancePins refuses a checksum pin named after an instance: an instance runs
// its plugin's binary, pinned by PLUGIN_SHA256_<PLUGIN>. Ignored, such a pin
// would leave an operator believing the binary is checked when it is not.
func (r *reader) instancePins(plugins map[string]string) {
	for _, id := range slices.Sorted(maps.Keys(plugins)) {
		key := "plugin_sha256_" + strings.ReplaceAll(id, "-", "_")
		if r.raw[key] != "" {
			pin := "PLUGIN_SHA256_" + strings.ToUpper(strings.ReplaceAll(plugins[id], "-", "_"))
			r.problem("%s: %s is a named instance of plugin %s and runs its binary, which %s pins (one pin for every "+
				"instance of a plugin): set that one instead", envName(key), id, plugins[id], pin)
		}
	}
}

func validBridgeID(id string) bool {
	if id == "" || len(id) > 32 {
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
