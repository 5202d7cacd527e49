// Package pluginhost finds, launches, configures and stops the bridge plugins, and
// routes hooks to them.
//
// A bridge is a separate executable named smsplus-bridge-<id>, spoken to over
// hashicorp/go-plugin's gRPC transport with automatic mutual TLS. A misbehaving
// bridge can crash only its own process, never the host.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// Prefix is the file name prefix of bridge plugin binaries.
const Prefix = "smsplus-bridge-"

// Found is a plugin binary found on disk.
type Found struct {
	ID   string
	Path string
}

// DefaultDirs returns where plugins are looked for when PLUGIN_DIR is not set:
// next to the smsplus binary (beside it, then in its plugins/ folder, which is
// where `make build` puts them), then ./bin/plugins (for `go run`).
func DefaultDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe), filepath.Join(filepath.Dir(exe), "plugins"))
	}
	return append(dirs, filepath.Join("bin", "plugins"))
}

// Discover lists the plugin binaries in dirs. When an id is found in several
// directories, the first directory wins. Missing directories are skipped.
func Discover(dirs []string) ([]Found, error) {
	seen := map[string]bool{}
	var out []Found
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read plugin dir %s: %w", dir, err)
		}
		for _, e := range entries {
			id, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || id == "" || seen[id] || strings.ContainsAny(id, ". ") {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
				continue
			}
			abs, err := filepath.Abs(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			seen[id] = true
			out = append(out, Found{ID: id, Path: abs})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Checksum returns the hex SHA-256 of a file.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Plugin is one launched bridge.
type Plugin struct {
	Found
	Info bridge.Info
	bridge.Bridge

	client *plugin.Client
	// unavailable is the vendor's failure answer, rendered once at start, so the
	// host can still answer in the vendor's format when the plugin has died.
	unavailable *bridge.Response
}

// Alive reports whether the plugin process is still running.
func (p *Plugin) Alive() bool { return p.client != nil && !p.client.Exited() }

// Unavailable returns the failure answer to send while the plugin cannot be reached.
func (p *Plugin) Unavailable() *bridge.Response { return p.unavailable }

// Options configure a Manager.
type Options struct {
	// Setting returns the configured value of a setting by its environment name.
	Setting func(name string) string
	// Logger receives the plugins' own log lines.
	Logger hclog.Logger
	// StartTimeout bounds launching one plugin and its Info/Configure calls.
	StartTimeout time.Duration
}

// Manager owns the running plugins.
type Manager struct {
	opts    Options
	mu      sync.RWMutex
	plugins map[string]*Plugin
}

// NewManager returns an empty Manager.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.Setting == nil {
		opts.Setting = func(string) string { return "" }
	}
	return &Manager{opts: opts, plugins: map[string]*Plugin{}}
}

// Start launches and configures the enabled bridges found in dirs. It tries every
// bridge and returns all problems together; on error nothing is left running.
func (m *Manager) Start(ctx context.Context, found []Found, enabled []string) error {
	byID := map[string]Found{}
	for _, f := range found {
		byID[f.ID] = f
	}
	var problems []error
	for _, id := range enabled {
		f, ok := byID[id]
		if !ok {
			problems = append(problems, fmt.Errorf("bridge %s is enabled but no %s%s binary was found (build it with `make plugins`, or set PLUGIN_DIR)", id, Prefix, id))
			continue
		}
		p, err := m.launch(ctx, f)
		if err != nil {
			problems = append(problems, fmt.Errorf("bridge %s: %w", id, err))
			continue
		}
		m.mu.Lock()
		m.plugins[id] = p
		m.mu.Unlock()
	}
	if len(problems) > 0 {
		m.Stop()
		return errors.Join(problems...)
	}
	return nil
}

func (m *Manager) launch(ctx context.Context, f Found) (*Plugin, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.StartTimeout)
	defer cancel()
	client, b, err := connect(f.Path, m.opts.Logger.Named(f.ID), m.opts.StartTimeout)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			client.Kill()
		}
	}()
	info, err := b.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	if info.ID != f.ID {
		return nil, fmt.Errorf("binary %s reports id %q, want %q", f.Path, info.ID, f.ID)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		if v := m.opts.Setting(s.Name); v != "" {
			settings[s.Name] = v
		}
	}
	if err := b.Configure(ctx, settings); err != nil {
		return nil, err
	}
	unavailable, err := b.Respond(ctx, &bridge.Outcome{
		Kind: bridge.OutcomeFailed, Code: bridge.CodeUnavailable, Message: "SMS+ bridge unavailable",
	})
	if err != nil {
		return nil, fmt.Errorf("render failure answer: %w", err)
	}
	ok = true
	return &Plugin{Found: f, Info: info, Bridge: b, client: client, unavailable: unavailable}, nil
}

// Get returns the running plugin for a bridge id.
func (m *Manager) Get(id string) (*Plugin, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.plugins[id]
	return p, ok
}

// Plugins returns the running plugins, sorted by id.
func (m *Manager) Plugins() []*Plugin {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Plugin, 0, len(m.plugins))
	for _, p := range m.plugins {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stop ends every plugin process. It is safe to call more than once.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	var wg sync.WaitGroup
	for id, p := range m.plugins {
		wg.Add(1)
		go func() { defer wg.Done(); p.client.Kill() }()
		delete(m.plugins, id)
	}
	wg.Wait()
}

// Deadline is how long the plugin's vendor waits for an answer.
func (p *Plugin) Deadline() time.Duration { return p.Info.Deadline }

// connect starts the plugin binary at path and returns its Bridge. The caller
// owns the client and must Kill it.
func connect(path string, logger hclog.Logger, timeout time.Duration) (*plugin.Client, bridge.Bridge, error) {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  bridge.Handshake,
		VersionedPlugins: bridge.PluginSets(nil),
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           logger,
		StartTimeout:     timeout,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("launch %s: %w", path, err)
	}
	raw, err := rpc.Dispense(bridge.PluginName)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("dispense: %w", err)
	}
	b, ok := raw.(bridge.Bridge)
	if !ok {
		client.Kill()
		return nil, nil, fmt.Errorf("plugin does not implement the bridge contract")
	}
	return client, b, nil
}

// Describe launches a plugin only to read its Info, then stops it.
func Describe(ctx context.Context, f Found, timeout time.Duration) (bridge.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, b, err := connect(f.Path, hclog.NewNullLogger(), timeout)
	if err != nil {
		return bridge.Info{}, err
	}
	defer client.Kill()
	return b.Info(ctx)
}
