package host

import (
	"context"
	"io"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/host/internal/pluginhost"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// The bridge plugins as serve, simulate, check-config and plugins see them:
// where they are found, how they are launched, and the settings they declare,
// which the configuration's checks need (their namespaces, their secrets).

// pluginDirs are the folders searched for plugins: PLUGIN_DIR, or the defaults.
func pluginDirs(cfg *config.Config) []string {
	if cfg.PluginDir != "" {
		return []string{cfg.PluginDir}
	}
	return pluginhost.DefaultDirs()
}

// pluginOptions are the plugin manager's settings. The manager answers each
// bridge's declared settings through Setting, and only those in the bridge's
// namespace (pluginhost.SettingsPrefix); PLUGIN_SHA256_<ID> pins are read there too.
// The plugins hear the optional features the hook flow implements, so that a
// bridge enables its notices only for a host that texts them.
func pluginOptions(cfg *config.Config, log hclog.Logger) pluginhost.Options {
	return pluginhost.Options{
		HostFeatures:             hookflow.HostFeatures,
		Setting:                  cfg.Setting,
		Instances:                cfg.BridgePlugins,
		Reserved:                 providerPrefixes(cfg),
		RestartBackoff:           cfg.PluginRestartBackoff,
		AllowInsecurePermissions: cfg.PluginAllowInsecurePermissions,
		Logger:                   log,
	}
}

// providerPrefixes are the setting prefixes of the SMS providers (BACKUP_ for
// SMS_PROVIDERS=twilio,backup:twilio): a bridge named backup would otherwise
// read BACKUP_AUTH_TOKEN as a setting of its own.
func providerPrefixes(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, p := range cfg.SMSRouting.Providers {
		out[p.Prefix] = "SMS provider " + p.Name
	}
	return out
}

// startPlugins starts the enabled bridges.
func startPlugins(ctx context.Context, cfg *config.Config, stderr io.Writer) (*pluginhost.Manager, error) {
	return startBridges(ctx, cfg, cfg.EnabledBridges, stderr)
}

// startBridges launches and configures the bridges ids, as `smsplus serve` does,
// and supervises them until the manager stops.
func startBridges(ctx context.Context, cfg *config.Config, ids []string, stderr io.Writer) (*pluginhost.Manager, error) {
	found, err := pluginhost.Discover(pluginDirs(cfg))
	if err != nil {
		return nil, err
	}
	level := hclog.LevelFromString(cfg.LogLevel)
	opts := pluginOptions(cfg, hclog.New(&hclog.LoggerOptions{
		Name: "bridge", Output: stderr, Level: level, JSONFormat: cfg.LogFormat == "json",
	}))
	// A developer's bridges running under a debugger (bridge.Main -debug).
	if v := cfg.ReattachBridges; v != "" {
		if opts.Reattach, err = bridge.ParseReattach(v); err != nil {
			return nil, err
		}
	}
	m := pluginhost.NewManager(opts)
	if err := m.Start(ctx, found, ids); err != nil {
		return nil, err // every bridge's problems, joined
	}
	return m, nil
}

// declaredSettings are the settings each bridge declares, by id: those m runs
// (nil: none) and, with inspect, the others found on disk, launched only to read
// their Info as `smsplus plugins` does (no setting is passed to them).
func declaredSettings(ctx context.Context, cfg *config.Config, m *pluginhost.Manager, inspect bool) map[string][]bridge.Setting {
	out := map[string][]bridge.Setting{}
	if m != nil {
		for _, p := range m.Plugins() {
			out[p.ID] = p.Info.Settings
		}
	}
	if !inspect {
		return out
	}
	found, _ := pluginhost.Discover(pluginDirs(cfg))
	idle := slices.DeleteFunc(found, func(f pluginhost.Found) bool { _, ok := out[f.ID]; return ok })
	for _, in := range pluginhost.NewManager(pluginOptions(cfg, nil)).Inspect(ctx, idle, cfg.EnabledBridges) {
		if in.Info != nil && in.Info.ID == in.ID {
			out[in.ID] = in.Info.Settings
		}
	}
	// A named instance that did not start reads its plugin's settings under its
	// own names (okta-preview: OKTA_PREVIEW_...).
	for id, plugin := range cfg.BridgePlugins {
		if _, ok := out[id]; !ok && out[plugin] != nil {
			out[id] = pluginhost.InstanceSettings(id, plugin, out[plugin])
		}
	}
	return out
}

// namespaces describes the bridges found or enabled for the configuration's
// checks: their settings namespaces and the settings they declare, when known.
func namespaces(cfg *config.Config, declared map[string][]bridge.Setting) []config.Namespace {
	ids := slices.Clone(cfg.EnabledBridges)
	if found, err := pluginhost.Discover(pluginDirs(cfg)); err == nil {
		for _, f := range found {
			if !slices.Contains(ids, f.ID) {
				ids = append(ids, f.ID)
			}
		}
	}
	out := make([]config.Namespace, 0, len(ids))
	for _, id := range ids {
		ns := config.Namespace{ID: id, Prefixes: pluginhost.SettingsNamespace(id)}
		settings, ok := declared[id]
		ns.Declared = ok
		for _, s := range settings {
			ns.Settings = append(ns.Settings, s.Name)
		}
		out = append(out, ns)
	}
	return out
}

// bridgeSettingProblems checks the settings the enabled bridges declare as the
// host's are checked: X_FILE, and placeholders in the secret ones.
func bridgeSettingProblems(cfg *config.Config, declared map[string][]bridge.Setting) []string {
	var settings []config.BridgeSetting
	for _, id := range cfg.EnabledBridges {
		for _, s := range declared[id] {
			settings = append(settings, config.BridgeSetting{Name: s.Name, Secret: s.Secret})
		}
	}
	return cfg.BridgeProblems(settings...)
}
