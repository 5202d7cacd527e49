package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/host/internal/pluginhost"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// The vendor's side of a hook comes from the bridge itself: the harness launches
// the server's plugin binary a second time, configured with the server's own
// settings, and asks it for an authentic call of its vendor (the optional
// Example RPC that `smsplus simulate` uses). The harness then knows no vendor's
// payload or credential scheme: a bridge that changes them changes its example
// with them, and a bridge whose example its own Parse refuses fails here.

// vendors are the plugins a server's tests render examples with, launched on
// first use and stopped with the server.
type vendors struct {
	mu      sync.Mutex
	started map[string]*pluginhost.Manager // bridge id -> a manager of that one plugin
}

// ExampleTimeout bounds rendering one example, the plugin's launch included.
const ExampleTimeout = 15 * time.Second

// Example asks bridge's plugin, configured with the server's settings, for its
// vendor's call carrying phone and otp, addressed to this server's hook.
func (s *Server) Example(t testing.TB, bridge, phone, otp string) *http.Request {
	t.Helper()
	req, err := s.ExampleErr(bridge, phone, otp)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// ExampleErr is Example for goroutines.
func (s *Server) ExampleErr(id, phone, otp string) (*http.Request, error) {
	p, err := s.vendor(id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ExampleTimeout)
	defer cancel()
	ex, err := p.Example(ctx, bridge.ExampleRequest{Phone: phone, OTP: otp})
	if err != nil {
		return nil, fmt.Errorf("bridge %s renders no example: %w", id, err)
	}
	url := s.Base + "/hooks/" + id
	if ex.RawQuery != "" {
		url += "?" + ex.RawQuery
	}
	method := ex.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(ex.Body))
	if err != nil {
		return nil, fmt.Errorf("bridge %s example: %w", id, err)
	}
	for _, h := range ex.Headers {
		for _, v := range h.Values {
			req.Header.Add(h.Name, v)
		}
	}
	return req, nil
}

// Parse has bridge's plugin, configured as the server's, parse req (a call
// from Example, say) as the server will: what the host learns from the call,
// such as the event's subject, which the logs must not show.
func (s *Server) Parse(t testing.TB, id string, req *http.Request) *bridge.ParseResult {
	t.Helper()
	p, err := s.vendor(id)
	if err != nil {
		t.Fatal(err)
	}
	in := &bridge.Request{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery, RemoteAddr: "127.0.0.1:1"}
	for name, values := range req.Header {
		in.Headers = append(in.Headers, bridge.Header{Name: name, Values: values})
	}
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		if in.Body, err = io.ReadAll(body); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ExampleTimeout)
	defer cancel()
	res, err := p.Parse(ctx, in)
	if err != nil {
		t.Fatalf("bridge %s: parse: %v", id, err)
	}
	return res
}

// vendor returns bridge id's plugin as the vendor side runs it, launching it on
// first use: the binary the server found, configured as the server configures it.
func (s *Server) vendor(id string) (*pluginhost.Plugin, error) {
	s.vendors.mu.Lock()
	defer s.vendors.mu.Unlock()
	if m, ok := s.vendors.started[id]; ok {
		p, _ := m.Get(id)
		return p, nil
	}
	cfg, err := config.Load(config.Sources{Environ: s.Env})
	if cfg == nil {
		return nil, fmt.Errorf("the server's settings: %w", err)
	}
	found, err := pluginhost.Discover(s.pluginDirs())
	if err != nil {
		return nil, err
	}
	m := pluginhost.NewManager(pluginhost.Options{
		HostFeatures:             hookflow.HostFeatures, // as the server announces them
		Setting:                  cfg.Setting,
		Instances:                cfg.BridgePlugins,
		AllowInsecurePermissions: cfg.PluginAllowInsecurePermissions,
		StartTimeout:             ExampleTimeout,
	})
	ctx, cancel := context.WithTimeout(context.Background(), ExampleTimeout)
	defer cancel()
	if err := m.Start(ctx, found, []string{id}); err != nil {
		return nil, fmt.Errorf("the vendor's side of bridge %s: %w", id, err)
	}
	if s.vendors.started == nil {
		s.vendors.started = map[string]*pluginhost.Manager{}
	}
	s.vendors.started[id] = m
	p, _ := m.Get(id)
	return p, nil
}

// stopVendors stops the plugins the server's examples were rendered with.
func (s *Server) stopVendors() {
	s.vendors.mu.Lock()
	defer s.vendors.mu.Unlock()
	for id, m := range s.vendors.started {
		m.Stop()
		delete(s.vendors.started, id)
	}
}

// pluginDirs are the folders the server looks for plugins in: PLUGIN_DIR, or
// (unset) beside its binary, in plugins/ next to it, then ./bin/plugins in its
// working directory (pluginhost.DefaultDirs, seen from the server).
func (s *Server) pluginDirs() []string {
	if d := Getenv(s.Env, "PLUGIN_DIR"); d != "" {
		return []string{d}
	}
	exe := s.cmd.Path
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return []string{filepath.Dir(exe), filepath.Join(filepath.Dir(exe), "plugins"), filepath.Join(s.cmd.Dir, "bin", "plugins")}
}
