package pluginhost

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// debugged is a bridge served in debug mode, as under a debugger.
type debugged struct{ configured chan map[string]string }

func (debugged) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{ID: "acme", DisplayName: "Acme", Version: "1.0.0",
		Settings: []bridge.Setting{{Name: "ACME_SHARED_SECRET", Secret: true, Description: "d"}}}, nil
}

func (d debugged) Configure(_ context.Context, s map[string]string) error {
	d.configured <- s
	return nil
}

func (debugged) Parse(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
	return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, "no"), nil
}

func (debugged) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}

// With SMSPLUS_REATTACH_BRIDGES the host attaches to a bridge already running
// (under a debugger) instead of launching a binary: no binary is needed, the
// bridge still gets only its own settings, and stopping the host leaves it
// running.
func TestReattachToADebuggedBridge(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	d := debugged{configured: make(chan map[string]string, 4)}
	go func() {
		_ = bridge.Serve(d, bridge.WithDebug(ctx, reattach, closed), bridge.WithGoPluginLogger(hclog.NewNullLogger()))
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-time.After(10 * time.Second):
		t.Fatal("the debugged bridge did not listen")
	}
	env, err := bridge.FormatReattach(map[string]*plugin.ReattachConfig{"acme": rc})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := bridge.ParseReattach(env)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{"ACME_SHARED_SECRET": "s3cret-0123456789", "HASH_SALT": "never-for-a-bridge"}
	m := NewManager(Options{Reattach: parsed, Setting: func(n string) string { return settings[n] }})
	if err := m.Start(context.Background(), nil, []string{"acme"}); err != nil {
		t.Fatal(err)
	}
	if got := <-d.configured; len(got) != 1 || got["ACME_SHARED_SECRET"] == "" {
		t.Errorf("the debugged bridge was configured with %v", got)
	}
	p, ok := m.Get("acme")
	if !ok || !p.Alive() {
		t.Fatal("the reattached bridge is not running")
	}
	res, err := p.Parse(context.Background(), &bridge.Request{Method: "POST"})
	if err != nil || res.Rejection == nil || res.Rejection.Response.Status != 401 {
		t.Fatalf("Parse through the reattached bridge = %+v, %v", res, err)
	}
	if st := m.Status(); len(st) != 1 || !st[0].Running || st[0].SHA256 != "" {
		t.Errorf("status %+v: want running, with no checksum (nothing was hashed)", st)
	}
	m.Stop()
	select {
	case <-closed:
		t.Fatal("stopping the host stopped the debugged bridge")
	default:
	}
	cancel()
	<-closed
}
