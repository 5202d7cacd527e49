// Package pluginhost finds, launches, configures and stops the bridge plugins, and
// routes hooks to them.
//
// A bridge is a separate executable named smsplus-bridge-<id>, spoken to over
// hashicorp/go-plugin's gRPC transport with automatic mutual TLS. A misbehaving
// bridge can crash only its own process, never the host.
//
// A plugin is also a separate trust domain: it receives only the settings in its
// own namespace (namespace.go), runs only as the exact file that was verified,
// refused when others could have replaced it (binary.go), and dies with the host
// (launch_linux.go).
//
// One plugin may run as several bridges, its named instances (okta and
// okta-preview=okta for two Okta orgs): one process each, each answered with its
// own settings only (named.go).
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

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

// ChecksumSetting is the name of the setting that pins the SHA-256 of a bridge's
// binary: PLUGIN_SHA256_<ID>, the id upper-cased with '-' turned into '_'.
func ChecksumSetting(id string) string {
	return "PLUGIN_SHA256_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_"))
}

// parsePin decodes a pinned checksum; "" means not pinned.
func parsePin(id, pin string) ([]byte, error) {
	pin = strings.ToLower(strings.TrimSpace(pin))
	if pin == "" {
		return nil, nil
	}
	sum, err := hex.DecodeString(pin)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("%s is not a SHA-256 in hex (64 characters; `sha256sum %s%s` prints it)", ChecksumSetting(id), Prefix, id)
	}
	return sum, nil
}

// Plugin is one enabled bridge. It outlives its process: when the process dies
// the Manager launches a new one, and meanwhile Alive is false and Parse and
// Respond fail with bridge.ErrUnavailable.
type Plugin struct {
	// ID is the bridge's id: its route, its settings namespace, its label in logs,
	// metrics and audit. For a named instance (okta-preview=okta) it is the
	// instance's, not the plugin's.
	ID string
	// Binary is the plugin file it runs; Binary.ID is the plugin's own id.
	Binary Found
	// Info is what the bridge reported at its first launch, as the host sees the
	// bridge: for a named instance, its ID and its settings' names are the
	// instance's (named.go).
	Info bridge.Info

	mu       sync.RWMutex
	inst     *instance // nil while the process is down
	lastErr  string    // why the last restart failed, if it did
	restarts atomic.Uint64
	// rendered are the answers to the host's own refusals, rendered at each
	// launch (launchRendered), so the host can still answer in the vendor's
	// format while the plugin is down, and a flood of refused calls costs the
	// plugin nothing.
	rendered atomic.Pointer[renderedAnswers]
	// want is what every restart must find: the pinned SHA-256, or else the first
	// launch's. So the binary that runs is always the one first launched, and
	// checksum (its hex) is the SHA-256 of whatever process is running.
	want     expected
	checksum string
}

// instance is one running plugin process.
type instance struct {
	sum     []byte // SHA-256 of the file it runs; nil when reattached
	client  *plugin.Client
	b       instanceBridge
	info    bridge.Info
	pid     int
	started time.Time
}

var (
	_ bridge.Exampler = (*Plugin)(nil)
	_ interface {
		Parse(context.Context, *bridge.Request) (*bridge.ParseResult, error)
		Respond(context.Context, *bridge.Outcome) (*bridge.Response, error)
	} = (*Plugin)(nil)
)

// instanceBridge is what a launched plugin serves: the contract and its
// optional capabilities (the SDK's client has them all; a plugin without one
// answers bridge.ErrUnsupported).
type instanceBridge interface {
	bridge.Bridge
	bridge.Exampler
}

func (p *Plugin) current() *instance {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.inst
}

// Alive reports whether the plugin process is running.
func (p *Plugin) Alive() bool {
	inst := p.current()
	return inst != nil && !inst.client.Exited()
}

// live returns the running instance, or ErrUnavailable while there is none or it
// has exited (the supervisor may not have noticed yet).
func (p *Plugin) live(op string) (*instance, error) {
	inst := p.current()
	if inst == nil || inst.client.Exited() {
		return nil, fmt.Errorf("%s: %w: %s is restarting", op, bridge.ErrUnavailable, p.ID)
	}
	return inst, nil
}

// died turns an error from an instance that exited during the call into
// ErrUnavailable, whatever the transport reported.
func (p *Plugin) died(op string, inst *instance, err error) error {
	if err != nil && inst.client.Exited() {
		return fmt.Errorf("%s: %w: %s exited: %w", op, bridge.ErrUnavailable, p.ID, err)
	}
	return err
}

// Parse calls the running plugin.
func (p *Plugin) Parse(ctx context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	inst, err := p.live("parse")
	if err != nil {
		return nil, err
	}
	res, err := inst.b.Parse(ctx, req)
	return res, p.died("parse", inst, err)
}

// Respond calls the running plugin.
func (p *Plugin) Respond(ctx context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	inst, err := p.live("respond")
	if err != nil {
		return nil, err
	}
	res, err := inst.b.Respond(ctx, out)
	return res, p.died("respond", inst, err)
}

// Example asks the running plugin for an authentic example of its vendor's call
// (the optional Example RPC): bridge.ErrUnsupported when the plugin has none.
func (p *Plugin) Example(ctx context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	inst, err := p.live("example")
	if err != nil {
		return nil, err
	}
	req, err := inst.b.Example(ctx, want)
	return req, p.died("example", inst, err)
}

// Unavailable returns the failure answer to send while the plugin cannot be reached.
func (p *Plugin) Unavailable() *bridge.Response {
	return p.Rendered(bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonUnavailable})
}

// Rendered returns the answer to out rendered at the plugin's launch (one of
// launchRendered, matched on kind and reason), or nil: out must then be
// rendered by Respond.
func (p *Plugin) Rendered(out bridge.Outcome) *bridge.Response {
	r := p.rendered.Load()
	if r == nil || out.TransactionID != "" {
		return nil
	}
	return (*r)[bridge.Outcome{Kind: out.Kind, Reason: out.Reason}]
}

// renderedAnswers are answers by outcome (kind and reason only).
type renderedAnswers map[bridge.Outcome]*bridge.Response

// launchRendered are the outcomes rendered at each launch: those of the host's
// own refusals, which depend on nothing in the call (no transaction id; a
// zero Duration, so no time is shown). Overload, bodies too slow, too large or
// unreadable are what a flood of calls brings: answering them costs no call to
// the plugin, whose time then goes to the calls the host took. The first one
// must render: it is what the host answers while the plugin is down.
var launchRendered = []bridge.Outcome{
	{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonUnavailable},
	{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOverloaded},
	{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonDeadline},
	{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonBodyTooLarge},
	{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonRequestTimeout},
	{Kind: bridge.OutcomeRejected, Reason: bridge.ReasonMalformed},
}

// render renders launchRendered with b: an error only if the first fails; any
// other that fails is left to Respond.
func render(ctx context.Context, b bridge.Bridge) (*renderedAnswers, error) {
	r := renderedAnswers{}
	for i, out := range launchRendered {
		resp, err := b.Respond(ctx, &out)
		if err != nil && i == 0 {
			return nil, fmt.Errorf("render failure answer: %w", err)
		}
		if err == nil {
			r[out] = resp
		}
	}
	return &r, nil
}

// HasFeature reports whether the plugin understands the optional feature f of
// the contract (bridge.FeatureWithheld...), as its Info announced.
func (p *Plugin) HasFeature(f string) bool { return p.Info.HasFeature(f) }

// Deadline is how long the plugin's vendor waits for an answer.
func (p *Plugin) Deadline() time.Duration { return p.Info.Deadline }

// Restarts counts the times the plugin was launched again after its process
// died. (For the metrics endpoint.)
func (p *Plugin) Restarts() uint64 { return p.restarts.Load() }

// PID is the process id of the running plugin, or 0.
func (p *Plugin) PID() int {
	if inst := p.current(); inst != nil {
		return inst.pid
	}
	return 0
}

// Options configure a Manager.
type Options struct {
	// Setting returns the configured value of a setting by its environment name.
	// Bridges receive the settings they declare; PLUGIN_SHA256_<ID> pins a binary.
	Setting func(name string) string
	// Logger receives the plugins' own log lines and the supervisor's.
	Logger hclog.Logger
	// HostFeatures are the optional features of the contract the host
	// implements (bridge.FeatureNotices...), announced to every plugin's
	// Configure, so that a plugin enables only what the host will honour.
	HostFeatures []string
	// StartTimeout bounds launching one plugin and its Info/Configure calls.
	StartTimeout time.Duration
	// RestartBackoff is the wait before the first restart of a dead plugin; it
	// doubles after each failed or short-lived attempt up to MaxRestartBackoff.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// PollInterval is how often the supervisor checks that processes are alive.
	PollInterval time.Duration
	// AllowInsecurePermissions accepts plugin files and folders that group or
	// others may write, or that another account owns (PLUGIN_ALLOW_INSECURE_PERMISSIONS);
	// the problems are logged instead.
	AllowInsecurePermissions bool
	// Reserved are setting prefixes the host reads for others than bridges,
	// mapped to whose they are: the SMS providers' (BACKUP_ for the provider
	// backup, which reads BACKUP_AUTH_TOKEN). No bridge may declare a setting
	// under one, nor run as a named instance whose namespace lies under one.
	Reserved map[string]string
	// Instances maps each named instance's bridge id to the plugin it runs
	// (okta-preview -> okta; config.Bridges.BridgePlugins). An id not in it runs
	// smsplus-bridge-<id>.
	Instances map[string]string
	// Reattach names bridges already running in debug mode (bridge.ReattachEnv,
	// parsed by bridge.ParseReattach): the host attaches to them where they
	// listen instead of launching a binary. For development under a debugger
	// only: no binary is checked, and a reattached bridge that exits stays down.
	Reattach map[string]*plugin.ReattachConfig

	// afterVerify, when set, runs between a binary's checks and its exec (tests
	// swap the file there).
	afterVerify func(path string)
	// plainSocket turns go-plugin's automatic mTLS off: BenchmarkRoundTrip
	// measures what it costs. Production keeps it (docs/bridges.md).
	plainSocket bool
}

// Manager owns the plugins: it launches the enabled ones, restarts those that
// die, and stops them all.
type Manager struct {
	opts    Options
	mu      sync.RWMutex
	plugins map[string]*Plugin
	found   []Found
	enabled []string
	rule    settingsRule

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
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
	if opts.RestartBackoff <= 0 {
		opts.RestartBackoff = 200 * time.Millisecond
	}
	if opts.MaxRestartBackoff < opts.RestartBackoff {
		opts.MaxRestartBackoff = max(30*time.Second, opts.RestartBackoff)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	return &Manager{opts: opts, plugins: map[string]*Plugin{}, stop: make(chan struct{})}
}

// pluginOf is the plugin bridge id runs (Options.Instances).
func (m *Manager) pluginOf(id string) string {
	if p, ok := m.opts.Instances[id]; ok && p != "" {
		return p
	}
	return id
}

// Start launches and configures the enabled bridges among found, and supervises
// them: one process per bridge, named instances included. It tries every bridge
// and returns all problems together; on error nothing is left running. The
// bridges start in parallel.
func (m *Manager) Start(ctx context.Context, found []Found, enabled []string) error {
	byID := map[string]Found{}
	for _, f := range found {
		byID[f.ID] = f
	}
	m.mu.Lock()
	m.found, m.enabled = found, enabled
	m.rule = newSettingsRule(knownIDs(found, enabled), m.opts.Reserved)
	m.mu.Unlock()
	if m.opts.AllowInsecurePermissions {
		m.opts.Logger.Warn("PLUGIN_ALLOW_INSECURE_PERMISSIONS=true: plugin files and folders that others could replace are accepted")
	}
	for _, id := range slices.Sorted(maps.Keys(m.opts.Reattach)) {
		m.opts.Logger.Warn("attaching to a bridge running in debug mode ("+bridge.ReattachEnv+"): its binary is not checked; never do this in production",
			"bridge", id)
	}

	problems := make([]error, len(enabled))
	started := make([]*Plugin, len(enabled))
	var wg sync.WaitGroup
	for i, id := range enabled {
		plugin := m.pluginOf(id)
		if why := instanceProblem(id, plugin, byID, m.rule); why != "" {
			problems[i] = errors.New(why)
			continue
		}
		f, ok := byID[plugin]
		if !ok && m.opts.Reattach[id] != nil {
			f, ok = Found{ID: plugin}, true // attached to, not launched: no binary needed
		}
		switch {
		case !ok && plugin == id:
			problems[i] = fmt.Errorf("bridge %s is enabled but no %s%s binary was found (build it with `make plugins`, or set PLUGIN_DIR)", id, Prefix, id)
			continue
		case !ok:
			problems[i] = fmt.Errorf("bridge %s runs plugin %s (%s=%s in ENABLED_BRIDGES), but no %s%s binary was found "+
				"(build it with `make plugins`, or set PLUGIN_DIR)", id, plugin, id, plugin, Prefix, plugin)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := m.first(ctx, id, f)
			if err != nil {
				problems[i] = fmt.Errorf("bridge %s: %w", id, err)
				return
			}
			started[i] = p
		}()
	}
	wg.Wait()
	m.mu.Lock()
	for _, p := range started {
		if p != nil {
			m.plugins[p.ID] = p
		}
	}
	m.mu.Unlock()
	if err := errors.Join(problems...); err != nil {
		m.Stop()
		return err
	}
	for _, p := range started {
		if p != nil {
			m.wg.Add(1)
			go m.supervise(p)
		}
	}
	return nil
}

// knownIDs are the bridges whose namespaces must stay apart: every one found or
// enabled.
func knownIDs(found []Found, enabled []string) []string {
	ids := slices.Clone(enabled)
	for _, f := range found {
		ids = append(ids, f.ID)
	}
	return ids
}

// settingsRule returns the rule for the bridges Start was given.
func (m *Manager) settingsRule() settingsRule {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rule
}

// first launches bridge id, which runs the binary f, for the first time.
func (m *Manager) first(ctx context.Context, id string, f Found) (*Plugin, error) {
	pin, err := parsePin(f.ID, m.opts.Setting(ChecksumSetting(f.ID)))
	if err != nil {
		return nil, err
	}
	want := expected{sum: pin}
	if pin != nil {
		want.setting = ChecksumSetting(f.ID)
	}
	inst, rendered, err := m.launch(ctx, id, f, want)
	if err != nil {
		return nil, err
	}
	if want.sum == nil {
		want.sum = inst.sum // from now on the binary must stay the one launched now
	}
	p := &Plugin{ID: id, Binary: f, Info: inst.info, inst: inst, want: want, checksum: hex.EncodeToString(inst.sum)}
	if inst.sum == nil {
		p.checksum = "" // reattached: nothing was hashed
	}
	p.rendered.Store(rendered)
	m.opts.Logger.Named(id).Info("bridge started", "plugin", f.ID, "version", inst.info.Version, "pid", inst.pid,
		"sha256", p.checksum, "sha256_pinned", want.setting != "")
	return p, nil
}

// verify opens the bridge's binary and refuses it when others could have
// replaced it or when it is not the one expected. The caller must Close it.
func (m *Manager) verify(f Found, want expected) (*binary, error) {
	bin, err := openBinary(f.Path)
	if err != nil {
		return nil, err
	}
	err = want.check(f.ID, bin)
	if err == nil && len(bin.problems) > 0 {
		if !m.opts.AllowInsecurePermissions {
			err = bin.insecure()
		} else {
			m.opts.Logger.Named(f.ID).Warn("launching a plugin others could have replaced (PLUGIN_ALLOW_INSECURE_PERMISSIONS=true)",
				"problems", strings.Join(bin.problems, "; "))
		}
	}
	if err != nil {
		_ = bin.Close()
		return nil, err
	}
	return bin, nil
}

// launch verifies and starts one process of bridge id from the binary f, checks
// that it is the plugin it claims to be and declares only settings it may read,
// configures it with bridge id's settings and renders the answers to the
// host's own refusals (launchRendered). The process's info is the bridge's as
// the host sees it (Plugin.Info).
func (m *Manager) launch(ctx context.Context, id string, f Found, want expected) (*instance, *renderedAnswers, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.StartTimeout)
	defer cancel()
	var (
		client *plugin.Client
		b      instanceBridge
		pid    int
		sum    []byte
		err    error
	)
	if rc := m.opts.Reattach[id]; rc != nil {
		client, b, err = reattach(rc, m.opts.Logger.Named(id))
		pid = rc.Pid
	} else {
		var bin *binary
		if bin, err = m.verify(f, want); err != nil {
			return nil, nil, err
		}
		defer bin.Close() // the process has its own copy of the descriptor
		if m.opts.afterVerify != nil {
			m.opts.afterVerify(f.Path)
		}
		sum = bin.sum
		client, b, pid, err = connect(bin, f, m.opts.Logger.Named(id), m.opts.StartTimeout, !m.opts.plainSocket)
	}
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			client.Kill()
		}
	}()
	info, err := b.Info(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("info: %w", err)
	}
	if info.ID != f.ID {
		return nil, nil, fmt.Errorf("binary %s reports id %q, want %q", f.Path, info.ID, f.ID)
	}
	// Checked before Configure, so a refused plugin never sees a value: the
	// plugin's names in its own namespace, then a named instance's names in the
	// instance's.
	rule := m.settingsRule()
	if err := rule.check(f.ID, info.Settings); err != nil {
		return nil, nil, err
	}
	names := newRenaming(id, f.ID, info.Settings)
	if err := rule.checkInstance(id, f.ID, names.settings(info.Settings)); err != nil {
		return nil, nil, err
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		if name := names.names[s.Name]; name != "" {
			if v := m.opts.Setting(name); v != "" {
				settings[s.Name] = v
			}
		}
	}
	if err := b.Configure(bridge.WithHostFeatures(ctx, m.opts.HostFeatures...), settings); err != nil {
		if id != f.ID {
			// The plugin names its own settings; the operator sets the instance's.
			return nil, nil, errors.New(names.text(err.Error()))
		}
		return nil, nil, err
	}
	info.ID, info.Settings = id, names.settings(info.Settings)
	rendered, err := render(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	inst := &instance{sum: sum, client: client, b: b, info: info, pid: pid, started: time.Now()}
	ok = true
	return inst, rendered, nil
}

// stableAfter is how long a process must live for its restart backoff to reset.
const stableAfter = time.Minute

// supervise restarts p's process whenever it dies, with exponential backoff.
// While it is down, Alive is false and the host answers with Unavailable.
func (m *Manager) supervise(p *Plugin) {
	defer m.wg.Done()
	log := m.opts.Logger.Named(p.ID)
	backoff := m.opts.RestartBackoff
	tick := time.NewTicker(m.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		inst := p.current()
		if inst != nil && !inst.client.Exited() {
			if time.Since(inst.started) > stableAfter {
				backoff = m.opts.RestartBackoff
			}
			continue
		}
		if inst != nil {
			inst.client.Kill() // reap and release its connections
			p.mu.Lock()
			p.inst = nil
			p.mu.Unlock()
			log.Warn("bridge process exited; restarting", "backoff", backoff.String(), "restarts", p.Restarts())
		}
		select {
		case <-m.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, m.opts.MaxRestartBackoff)
		next, rendered, err := m.launch(context.Background(), p.ID, p.Binary, p.want)
		if err != nil {
			// The bridge stays down, answering its vendor's failure format, and the
			// next try checks the binary again: putting the original back heals it.
			p.mu.Lock()
			p.lastErr = firstLine(err.Error())
			p.mu.Unlock()
			log.Error("bridge restart failed; the bridge stays down", "err", firstLine(err.Error()), "next_backoff", backoff.String())
			continue
		}
		select {
		case <-m.stop: // Stop ran while we were launching
			next.client.Kill()
			return
		default:
		}
		p.rendered.Store(rendered)
		p.mu.Lock()
		p.inst, p.lastErr = next, ""
		p.mu.Unlock()
		p.restarts.Add(1)
		log.Info("bridge restarted", "pid", next.pid, "restarts", p.Restarts(), "sha256", p.checksum)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Get returns the plugin of an enabled bridge.
func (m *Manager) Get(id string) (*Plugin, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.plugins[id]
	return p, ok
}

// Plugins returns the enabled plugins, sorted by id.
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

// Restarts returns how often the bridge's process was relaunched after dying.
func (m *Manager) Restarts(id string) uint64 {
	if p, ok := m.Get(id); ok {
		return p.Restarts()
	}
	return 0
}

// Status is what /readyz and `smsplus plugins` show about one bridge.
type Status struct {
	ID string `json:"id"`
	// Plugin is the plugin a named instance runs (okta for okta-preview); empty
	// for a bridge that runs its own.
	Plugin     string `json:"plugin,omitempty"`
	Found      bool   `json:"found"`
	Enabled    bool   `json:"enabled"`
	Running    bool   `json:"running"`
	Version    string `json:"version,omitempty"`
	Protocol   int    `json:"protocol,omitempty"`
	SDKVersion string `json:"sdk_version,omitempty"`
	// SHA256 is the SHA-256 of the file the running process executes (of the last
	// one that ran while the bridge is down).
	SHA256   string `json:"sha256,omitempty"`
	Pinned   bool   `json:"sha256_pinned"`
	Restarts uint64 `json:"restarts"`
	Error    string `json:"error,omitempty"`
	Path     string `json:"-"`
}

// Status lists every bridge found or enabled, sorted by id.
func (m *Manager) Status() []Status {
	m.mu.RLock()
	found, enabled := m.found, m.enabled
	m.mu.RUnlock()
	byID := map[string]*Status{}
	for _, f := range found {
		byID[f.ID] = &Status{ID: f.ID, Found: true, Path: f.Path}
	}
	for _, id := range enabled {
		st, ok := byID[id]
		if plugin := m.pluginOf(id); plugin != id {
			st, ok = &Status{ID: id, Plugin: plugin}, true
			if f, found := byID[plugin]; found && f.Found {
				st.Found, st.Path = true, f.Path
			} else {
				st.Error = "no " + Prefix + plugin + " binary found"
			}
			byID[id] = st
		}
		if !ok {
			st = &Status{ID: id, Error: "no " + Prefix + id + " binary found"}
			byID[id] = st
		}
		st.Enabled = true
		p, ok := m.Get(id)
		if !ok {
			continue
		}
		st.Running = p.Alive()
		info := p.Info
		if inst := p.current(); inst != nil {
			info = inst.info
		}
		st.Version, st.Protocol, st.SDKVersion = info.Version, info.Protocol, info.SDKVersion
		st.SHA256, st.Pinned, st.Restarts = p.checksum, p.want.setting != "", p.Restarts()
		p.mu.RLock()
		st.Error = p.lastErr
		p.mu.RUnlock()
	}
	out := make([]Status, 0, len(byID))
	for _, st := range byID {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Ready reports an error naming every enabled bridge whose process is not running.
func (m *Manager) Ready() error {
	var down []string
	for _, p := range m.Plugins() {
		if !p.Alive() {
			down = append(down, p.ID)
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("bridge(s) not running: %s", strings.Join(down, ", "))
	}
	return nil
}

// Stop ends supervision and every plugin process. It is safe to call more than once.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	var wg sync.WaitGroup
	for id, p := range m.plugins {
		if inst := p.current(); inst != nil {
			wg.Add(1)
			go func() { defer wg.Done(); inst.client.Kill() }()
		}
		delete(m.plugins, id)
	}
	wg.Wait()
}

// passedEnv are the host variables a plugin may see: none of them is a secret.
var passedEnv = []string{"PATH", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// pluginEnv is the environment of a plugin process. Plugins run with one
// scheduler thread (PLUGIN_GOMAXPROCS to change it): a bridge parses a few
// kilobytes per hook, and fewer idle threads to wake costs less CPU per call.
func pluginEnv(host []string) []string {
	procs := "1"
	var env []string
	for _, kv := range host {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PLUGIN_GOMAXPROCS" && v != "" {
			procs = v
		}
		if slices.Contains(passedEnv, k) {
			env = append(env, kv)
		}
	}
	return append(env, "GOMAXPROCS="+procs)
}

// connect starts the verified binary and returns its Bridge and process id. The
// caller owns the client and must Kill it.
//
// go-plugin's own checksum check (SecureConfig) is not used: it hashes the path,
// then executes the path, and a file swapped in between runs.
func connect(bin *binary, f Found, logger hclog.Logger, timeout time.Duration, mtls bool) (*plugin.Client, instanceBridge, int, error) {
	var run *procRunner
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  bridge.Handshake,
		VersionedPlugins: bridge.PluginSets(nil),
		// go-plugin prepares spec (its environment: the handshake cookie, the
		// client certificate); the host decides what runs.
		RunnerFunc: func(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
			cmd := command(bin.file, f.Path)
			cmd.Env = append(pluginEnv(os.Environ()), spec.Env...)
			cmd.Stdin = spec.Stdin
			var err error
			run, err = newProcRunner(cmd, f.Path)
			return run, err
		},
		// A bridge gets its own settings through Configure and nothing else: the
		// host's environment holds every other bridge's secret, the salt and the
		// SMS and biometrics credentials.
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         mtls,
		Logger:           logger,
		StartTimeout:     timeout,
	}
	client := plugin.NewClient(cfg)
	b, err := dispense(client)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("launch %s: %w", f.Path, err)
	}
	return client, b, run.pid(), nil
}

// reattach connects to a bridge already running in debug mode (see
// Options.Reattach). The caller owns the client; killing it leaves the
// debugged process running.
func reattach(rc *plugin.ReattachConfig, logger hclog.Logger) (*plugin.Client, instanceBridge, error) {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: bridge.Handshake,
		// A reattached client does not negotiate a version: it is given the set.
		Plugins:          bridge.PluginSets(nil)[bridge.ProtocolVersion],
		Reattach:         rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
	})
	b, err := dispense(client)
	if err != nil {
		return nil, nil, fmt.Errorf("attach to the bridge in debug mode at %s: %w", rc.Addr, err)
	}
	return client, b, nil
}

// dispense connects client and returns the bridge it serves; it kills the
// client when that fails.
func dispense(client *plugin.Client) (instanceBridge, error) {
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, err
	}
	raw, err := rpc.Dispense(bridge.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense: %w", err)
	}
	b, ok := raw.(instanceBridge)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin does not implement the bridge contract")
	}
	return b, nil
}

// Inspection is what `smsplus plugins` shows about a plugin binary on disk.
type Inspection struct {
	Found
	SHA256 string // of the file on disk now
	Pinned bool   // PLUGIN_SHA256_<ID> is set (Problems says when it does not match)
	// Info is what the plugin reported; nil when it was not launched.
	Info *bridge.Info
	// Problems are the reasons the host refuses (or, with
	// PLUGIN_ALLOW_INSECURE_PERMISSIONS, warns about) this plugin, with their fix.
	Problems []string
}

// Inspect checks each found plugin as a launch would (permissions, pin, settings
// namespace among found and enabled) and launches those that pass, only to read
// their Info: nothing is configured and no setting is passed. A plugin refused
// for its permissions or its checksum is not launched.
func (m *Manager) Inspect(ctx context.Context, found []Found, enabled []string) []Inspection {
	rule := newSettingsRule(knownIDs(found, enabled), m.opts.Reserved)
	out := make([]Inspection, len(found))
	for i, f := range found {
		out[i] = m.inspect(ctx, f, rule)
	}
	return out
}

func (m *Manager) inspect(ctx context.Context, f Found, rule settingsRule) Inspection {
	in := Inspection{Found: f}
	bin, err := openBinary(f.Path)
	if err != nil {
		in.Problems = append(in.Problems, err.Error())
		return in
	}
	defer bin.Close()
	in.SHA256 = bin.SHA256()
	if !m.preflight(&in, bin) {
		return in
	}
	info, err := m.readInfo(ctx, bin, f)
	if err != nil {
		in.Problems = append(in.Problems, err.Error())
		return in
	}
	in.Info = &info
	if info.ID != f.ID {
		in.Problems = append(in.Problems, fmt.Sprintf("the binary reports id %q, want %q", info.ID, f.ID))
	}
	if err := rule.check(f.ID, info.Settings); err != nil {
		in.Problems = append(in.Problems, err.Error())
	}
	return in
}

// preflight records the checks made before a launch (pin, permissions) in in,
// and reports whether a launch would go ahead.
func (m *Manager) preflight(in *Inspection, bin *binary) bool {
	launchable := true
	pin, err := parsePin(in.ID, m.opts.Setting(ChecksumSetting(in.ID)))
	switch {
	case err != nil:
		in.Problems, launchable = append(in.Problems, err.Error()), false
	case pin != nil:
		in.Pinned = true
		if err := (expected{sum: pin, setting: ChecksumSetting(in.ID)}).check(in.ID, bin); err != nil {
			in.Problems, launchable = append(in.Problems, err.Error()), false
		}
	}
	for _, p := range bin.problems {
		if m.opts.AllowInsecurePermissions {
			p += " (accepted: PLUGIN_ALLOW_INSECURE_PERMISSIONS=true)"
		} else {
			launchable = false
		}
		in.Problems = append(in.Problems, p)
	}
	return launchable
}

// readInfo launches the verified binary only to read its Info, then stops it.
func (m *Manager) readInfo(ctx context.Context, bin *binary, f Found) (bridge.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.StartTimeout)
	defer cancel()
	client, b, _, err := connect(bin, f, hclog.NewNullLogger(), m.opts.StartTimeout, !m.opts.plainSocket)
	if err != nil {
		return bridge.Info{}, err
	}
	defer client.Kill()
	info, err := b.Info(ctx)
	if err != nil {
		return bridge.Info{}, fmt.Errorf("info: %w", err)
	}
	return info, nil
}
