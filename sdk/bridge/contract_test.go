package bridge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/internal/bridgepb"
)

// The Go reasons are converted by value and named by hand; pin both to the wire.
func TestReasonsMatchWire(t *testing.T) {
	t.Parallel()
	if len(Reasons())+1 != len(bridgepb.Reason_name) {
		t.Fatalf("Go has %d reasons, the wire %d (with UNSPECIFIED)", len(Reasons()), len(bridgepb.Reason_name))
	}
	for num, wire := range bridgepb.Reason_name {
		want := strings.ToLower(strings.TrimPrefix(wire, "REASON_"))
		if got := Reason(num).String(); got != want {
			t.Errorf("Reason(%d) = %q, wire %s", num, got, wire)
		}
	}
	if Reason(99).Known() || Reason(99).String() != "unknown" || ReasonUnspecified.Known() {
		t.Error("an unknown reason must say so")
	}
}

// exampler is a bridge with the optional Example capability.
type exampler struct{ echoBridge }

func (exampler) Example(_ context.Context, want ExampleRequest) (*Request, error) {
	if want.Phone == "" {
		return nil, ErrNotConfigured
	}
	return &Request{Method: "POST", Path: "/hooks/echo", RawQuery: "x=1",
		Headers: []Header{{Name: "Authorization", Values: []string{"Bearer s"}}},
		Body:    []byte(want.Phone + " " + want.OTP + " " + want.Locale)}, nil
}

// An optional RPC is a capability: present when the bridge implements its
// interface, gRPC Unimplemented (ErrUnsupported on the host) when not.
func TestExampleIsOptional(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	with := dial(t, &exampler{}).(Exampler)
	got, err := with.Example(ctx, ExampleRequest{Phone: "+14155550142", OTP: "0042", Locale: "en-US"})
	want := &Request{Method: "POST", Path: "/hooks/echo", RawQuery: "x=1",
		Headers: []Header{{Name: "Authorization", Values: []string{"Bearer s"}}}, Body: []byte("+14155550142 0042 en-US")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Example = %+v, %v; want %+v", got, err, want)
	}
	if _, err := with.Example(ctx, ExampleRequest{}); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Example before Configure = %v, want ErrNotConfigured", err)
	}
	without := dial(t, &echoBridge{}).(Exampler) // the host's client always has the method
	if _, err := without.Example(ctx, ExampleRequest{Phone: "+14155550142", OTP: "0042"}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Example of a bridge without it = %v, want ErrUnsupported", err)
	}
}

func TestReattachRoundTrip(t *testing.T) {
	t.Parallel()
	in := map[string]*plugin.ReattachConfig{
		"acme":  {Protocol: plugin.ProtocolGRPC, ProtocolVersion: ProtocolVersion, Pid: 42, Test: true, Addr: &net.UnixAddr{Net: "unix", Name: "/tmp/plugin1"}},
		"other": {Protocol: plugin.ProtocolGRPC, ProtocolVersion: ProtocolVersion, Pid: 7, Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}},
	}
	s, err := FormatReattach(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseReattach(s)
	if err != nil {
		t.Fatal(err)
	}
	for id, rc := range in {
		got := out[id]
		if got == nil || got.Pid != rc.Pid || got.Test != rc.Test || got.Addr.String() != rc.Addr.String() || got.Addr.Network() != rc.Addr.Network() {
			t.Errorf("%s: %+v, want %+v", id, got, rc)
		}
	}
	for _, bad := range []string{"", "{", `{"a":{"protocol":"netrpc","protocol_version":1,"addr":{"network":"unix","address":"/x"}}}`,
		`{"a":{"protocol":"grpc","protocol_version":2,"addr":{"network":"unix","address":"/x"}}}`,
		`{"a":{"protocol":"grpc","protocol_version":1,"addr":{"network":"udp","address":"x"}}}`} {
		if _, err := ParseReattach(bad); err == nil {
			t.Errorf("ParseReattach(%q) accepted", bad)
		}
	}
}

// Debug mode serves without a host, says where it listens, and a host (here a
// go-plugin client, as pluginhost configures one) attaches to it there.
func TestServeDebugReattach(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- Serve(&exampler{}, WithDebug(ctx, reattach, closed), WithGoPluginLogger(hclog.NewNullLogger()))
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case err := <-served:
		t.Fatalf("Serve returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no reattach config")
	}
	// What the host reads from SMSPLUS_REATTACH_BRIDGES.
	env, err := FormatReattach(map[string]*plugin.ReattachConfig{"echo": rc})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseReattach(env)
	if err != nil {
		t.Fatal(err)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		// A reattached client does not negotiate: it needs the plugin set itself.
		HandshakeConfig: Handshake, Plugins: PluginSets(nil)[ProtocolVersion], Reattach: parsed["echo"],
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, Logger: hclog.NewNullLogger(),
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := raw.(Bridge).Info(context.Background())
	if err != nil || info.ID != "echo" || info.SDKVersion != SDKVersion {
		t.Fatalf("Info over the reattached connection = %+v, %v", info, err)
	}
	client.Kill()
	cancel()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("debug serving did not stop with its context")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
}

func TestServeOptionErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := make(chan *plugin.ReattachConfig)
	for name, opts := range map[string][]ServeOption{
		"both debug modes":     {WithManagedDebug(), WithDebug(ctx, ch, nil)},
		"both, the other way":  {WithDebug(ctx, ch, nil), WithManagedDebug()},
		"debug without a chan": {WithDebug(ctx, nil, nil)},
	} {
		if err := Serve(&echoBridge{}, opts...); err == nil {
			t.Errorf("%s: Serve accepted the options", name)
		}
	}
	var stderr bytes.Buffer
	if err := mainServe(&echoBridge{}, []string{"-log-level", "loud"}, &stderr, nil); err == nil {
		t.Error("Main accepted -log-level loud")
	}
	if err := mainServe(&echoBridge{}, []string{"-nope"}, &stderr, nil); err == nil {
		t.Error("Main accepted an unknown flag")
	}
	var c serveConfig
	for level, want := range map[slog.Level]hclog.Level{slog.LevelDebug: hclog.Debug, slog.LevelInfo: hclog.Info, slog.LevelWarn: hclog.Warn, slog.LevelError: hclog.Error} {
		if err := WithLogLevel(level)(&c); err != nil || c.level != want {
			t.Errorf("WithLogLevel(%s) = %s, want %s", level, c.level, want)
		}
	}
}
