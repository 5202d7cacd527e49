package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/pluginhost"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// The checks of the settings that need more than the configuration: what the
// bridges declare (their namespaces, their secrets) and what the engines think
// of their settings. check-config reports them all in one pass; serve refuses to
// start on a problem and logs the warnings.

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

// report gathers the problems and warnings of every check, each once.
type report struct {
	problems, warnings []string
}

// add records err's problems: each of a *config.Error, each of an errors.Join.
func (r *report) add(err error) {
	var ce *config.Error
	joined, isJoin := err.(interface{ Unwrap() []error })
	switch {
	case err == nil:
	case errors.As(err, &ce):
		r.problem(ce.Problems...)
	case isJoin:
		for _, e := range joined.Unwrap() {
			r.add(e)
		}
	default:
		r.problem(err.Error())
	}
}

func (r *report) problem(ps ...string) {
	for _, p := range ps {
		if !slices.Contains(r.problems, p) {
			r.problems = append(r.problems, p)
		}
	}
}

func (r *report) warn(ws ...string) {
	for _, w := range ws {
		if w != "" && !slices.Contains(r.warnings, w) {
			r.warnings = append(r.warnings, w)
		}
	}
}

// print lists the problems, then the warnings; a problem of several lines (a
// bridge's list) keeps its lines together, indented.
func (r *report) print(w io.Writer) {
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%d %s:\n", len(items), title)
		for _, it := range items {
			fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(it, "\n", "\n    "))
		}
	}
	list("configuration problem(s)", r.problems)
	list("warning(s)", r.warnings)
}
