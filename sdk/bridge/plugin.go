package bridge

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/smsplus/smsplus/sdk/internal/bridgepb"
)

// PluginName is the name under which a bridge is dispensed from its plugin binary.
const PluginName = "bridge"

// Handshake is shared by the host and every bridge binary. The magic cookie is not a
// security measure: it stops a user from running a plugin binary by hand, and stops
// the host from launching an executable that is not an SMS+ bridge.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SMSPLUS_BRIDGE_PLUGIN",
	MagicCookieValue: "8c1e6f0a-bridge-v1-3d9b2a77c4e5",
}

// Plugin adapts a Bridge to go-plugin's gRPC transport. The host uses it with a nil
// Impl; Serve sets Impl to the bridge being served.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Bridge
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the bridge's gRPC service (plugin side).
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	bridgepb.RegisterBridgeServer(s, &grpcServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Bridge that calls the plugin over conn (host side). It also
// implements every optional capability (Exampler); those the plugin lacks answer
// ErrUnsupported.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &grpcClient{c: bridgepb.NewBridgeClient(conn)}, nil
}

// PluginSets is the VersionedPlugins map for go-plugin, on either side: the host
// passes nil, Serve passes the bridge.
func PluginSets(b Bridge) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &Plugin{Impl: b}},
	}
}

// Served returns b as Serve presents it to the host, with the fields of Info that
// the SDK owns filled in and b's optional capabilities kept. The conformance kit
// uses it to check a bridge in-process exactly as the host will see it.
func Served(b Bridge) Bridge { return &servedBridge{Bridge: b} }

// servedBridge fills in the fields of Info that the SDK owns.
type servedBridge struct{ Bridge }

var _ Exampler = (*servedBridge)(nil)

func (s *servedBridge) Info(ctx context.Context) (Info, error) {
	info, err := s.Bridge.Info(ctx)
	info.SDKVersion = SDKVersion
	info.Protocol = ProtocolVersion
	info.Features = PluginFeatures()
	return info, err
}

// Example forwards to the bridge when it is an Exampler.
func (s *servedBridge) Example(ctx context.Context, want ExampleRequest) (*Request, error) {
	ex, ok := s.Bridge.(Exampler)
	if !ok {
		return nil, ErrUnsupported
	}
	return ex.Example(ctx, want)
}

// Logger returns a slog.Logger for use inside a plugin. It writes hclog-shaped JSON
// lines (@level, @message, @timestamp) to stderr, which go-plugin turns into
// structured entries in the host's log. Never log OTPs, phone numbers or secrets.
func Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				a.Key = "@timestamp"
			case slog.LevelKey:
				a.Key = "@level"
				a.Value = slog.StringValue(strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				a.Key = "@message"
			}
			return a
		},
	}))
}
