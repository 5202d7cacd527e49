package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// ReattachEnv is the host setting that makes the host attach to bridges already
// running (under a debugger, with WithManagedDebug) instead of launching their
// binaries. Its value is what WithManagedDebug prints: a JSON object from bridge
// id to where that bridge listens. For development only: the host then runs no
// check on those bridges' binaries.
const ReattachEnv = "SMSPLUS_REATTACH_BRIDGES"

// ServeOption configures Serve.
type ServeOption func(*serveConfig) error

type serveConfig struct {
	level  hclog.Level
	logger hclog.Logger
	out    io.Writer // where managed debug prints the reattach setting

	debugCtx      context.Context
	debugReattach chan<- *plugin.ReattachConfig
	debugClosed   chan<- struct{}
	managedDebug  bool
	reattachWait  time.Duration
}

// WithLogLevel sets the level of the log lines go-plugin writes for the plugin
// process (default slog.LevelInfo). The host shows them in its own log.
func WithLogLevel(level slog.Level) ServeOption {
	return func(c *serveConfig) error {
		switch {
		case level < slog.LevelInfo:
			c.level = hclog.Debug
		case level < slog.LevelWarn:
			c.level = hclog.Info
		case level < slog.LevelError:
			c.level = hclog.Warn
		default:
			c.level = hclog.Error
		}
		return nil
	}
}

// WithGoPluginLogger hands go-plugin a logger of your own instead of the default
// one (hclog JSON on stderr at the WithLogLevel level).
func WithGoPluginLogger(l hclog.Logger) ServeOption {
	return func(c *serveConfig) error {
		c.logger = l
		return nil
	}
}

// WithDebug serves in debug mode, for tests and tools that drive the plugin
// in-process: the plugin does not need to be launched by a host, sends where it
// listens on reattach (give it to the host, see ReattachEnv and ParseReattach),
// serves until ctx ends, and closes closed (if not nil) once it has stopped.
// Serve then returns instead of exiting the process. See WithManagedDebug for
// running a bridge under a debugger.
func WithDebug(ctx context.Context, reattach chan<- *plugin.ReattachConfig, closed chan<- struct{}) ServeOption {
	return func(c *serveConfig) error {
		if c.managedDebug {
			return errors.New("bridge: WithDebug and WithManagedDebug cannot be used together")
		}
		if ctx == nil || reattach == nil {
			return errors.New("bridge: WithDebug needs a context and a reattach channel")
		}
		c.debugCtx, c.debugReattach, c.debugClosed = ctx, reattach, closed
		return nil
	}
}

// WithManagedDebug serves in debug mode for a debugger (e.g. `dlv exec
// ./smsplus-bridge-acme -- -debug` with Main): the plugin starts on its own,
// prints to stdout the ReattachEnv setting to give `smsplus serve`, and serves
// until interrupted (Ctrl-C). The printed format is for people, not a contract.
func WithManagedDebug() ServeOption {
	return func(c *serveConfig) error {
		if c.debugReattach != nil {
			return errors.New("bridge: WithDebug and WithManagedDebug cannot be used together")
		}
		c.managedDebug = true
		return nil
	}
}

// Serve runs b as a plugin. Call it from the bridge's main (or call Main). It
// refuses to run when started by hand rather than by the SMS+ host, and it exits
// the process when the host that launched it is gone; it returns only in debug
// modes (WithDebug, WithManagedDebug) or when an option is wrong.
func Serve(b Bridge, opts ...ServeOption) error {
	conf := serveConfig{level: hclog.Info, out: os.Stdout, reattachWait: 5 * time.Second}
	for _, o := range opts {
		if err := o(&conf); err != nil {
			return err
		}
	}
	if conf.logger == nil {
		conf.logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: conf.level})
	}
	sc := &plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(Served(b)),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           conf.logger,
	}
	switch {
	case conf.managedDebug:
		return serveManagedDebug(b, sc, conf)
	case conf.debugReattach != nil:
		sc.Test = &plugin.ServeTestConfig{Context: conf.debugCtx, ReattachConfigCh: conf.debugReattach, CloseCh: conf.debugClosed}
		plugin.Serve(sc)
		return nil
	}
	go exitWhenOrphaned()
	plugin.Serve(sc) // exits the process when the host is done with it
	return nil
}

// serveManagedDebug serves until SIGINT and prints the reattach setting.
func serveManagedDebug(b Bridge, sc *plugin.ServeConfig, conf serveConfig) error {
	info, err := b.Info(context.Background())
	if err != nil {
		return fmt.Errorf("bridge: info: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	sc.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go plugin.Serve(sc)
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-closed:
		return errors.New("bridge: stopped before it was ready")
	case <-time.After(conf.reattachWait):
		return errors.New("bridge: timed out waiting for the plugin to listen")
	}
	value, err := FormatReattach(map[string]*plugin.ReattachConfig{info.ID: rc})
	if err != nil {
		return err
	}
	fmt.Fprintf(conf.out, "Bridge %s is serving in debug mode. Start SMS+ with this setting to use it:\n\n\t%s='%s'\n\n"+
		"The host then runs no check on this bridge's binary. Stop the bridge with Ctrl-C.\n",
		info.ID, ReattachEnv, strings.ReplaceAll(value, "'", `'"'"'`))
	<-closed
	return nil
}

// reattachAddr and reattachEntry are ReattachEnv's JSON shape.
type reattachAddr struct {
	Network string `json:"network"`
	Address string `json:"address"`
}

type reattachEntry struct {
	Protocol        string       `json:"protocol"`
	ProtocolVersion int          `json:"protocol_version"`
	Pid             int          `json:"pid"`
	Test            bool         `json:"test"`
	Addr            reattachAddr `json:"addr"`
}

// FormatReattach renders where bridges listen, by id, as ReattachEnv's value.
func FormatReattach(m map[string]*plugin.ReattachConfig) (string, error) {
	out := make(map[string]reattachEntry, len(m))
	for id, rc := range m {
		if rc == nil || rc.Addr == nil {
			return "", fmt.Errorf("bridge %s: no address to reattach to", id)
		}
		out[id] = reattachEntry{Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion, Pid: rc.Pid, Test: rc.Test,
			Addr: reattachAddr{Network: rc.Addr.Network(), Address: rc.Addr.String()}}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// ParseReattach decodes ReattachEnv's value: bridge id to where it listens.
func ParseReattach(s string) (map[string]*plugin.ReattachConfig, error) {
	var in map[string]reattachEntry
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("%s is not the JSON a bridge in debug mode prints: %w", ReattachEnv, err)
	}
	out := make(map[string]*plugin.ReattachConfig, len(in))
	for id, e := range in {
		var addr net.Addr
		var err error
		switch e.Addr.Network {
		case "unix":
			addr, err = net.ResolveUnixAddr("unix", e.Addr.Address)
		case "tcp":
			addr, err = net.ResolveTCPAddr("tcp", e.Addr.Address)
		default:
			err = fmt.Errorf("network %q is not unix or tcp", e.Addr.Network)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: bridge %s: %w", ReattachEnv, id, err)
		}
		if e.Protocol != string(plugin.ProtocolGRPC) || e.ProtocolVersion != ProtocolVersion {
			return nil, fmt.Errorf("%s: bridge %s speaks %s protocol %d, want grpc protocol %d",
				ReattachEnv, id, e.Protocol, e.ProtocolVersion, ProtocolVersion)
		}
		out[id] = &plugin.ReattachConfig{Protocol: plugin.ProtocolGRPC, ProtocolVersion: e.ProtocolVersion,
			Pid: e.Pid, Test: e.Test, Addr: addr}
	}
	return out, nil
}

// Main is a bridge's whole main function: it serves b and exits. With -debug it
// serves in managed debug mode (WithManagedDebug), e.g. under a debugger;
// -log-level sets WithLogLevel (debug, info, warn or error).
//
//	func main() { bridge.Main(newAcme()) }
func Main(b Bridge, opts ...ServeOption) {
	if err := mainServe(b, os.Args[1:], os.Stderr, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func mainServe(b Bridge, args []string, stderr io.Writer, opts []ServeOption) error {
	fs := flag.NewFlagSet("smsplus-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	debug := fs.Bool("debug", false, "serve in debug mode for a debugger: print the "+ReattachEnv+" setting for the host")
	level := fs.String("log-level", "", "level of the plugin's go-plugin log lines: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *level != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*level)); err != nil {
			return fmt.Errorf("-log-level: %w", err)
		}
		opts = append(opts, WithLogLevel(l))
	}
	if *debug {
		opts = append(opts, WithManagedDebug())
	}
	return Serve(b, opts...)
}
