package pluginhost

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// featureBridge records the host features Configure hears.
type featureBridge struct {
	debugged
	heard chan []string
}

func (f featureBridge) Configure(ctx context.Context, _ map[string]string) error {
	f.heard <- bridge.HostFeatures(ctx)
	return nil
}

// The host announces its features to Configure over the wire, and reads the
// plugin's from its Info: each side enables only what the other understands.
func TestFeaturesAnnouncedBothWays(t *testing.T) {
	t.Parallel()
	for name, announce := range map[string][]string{"none": nil, "notices": {bridge.FeatureNotices}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reattach := make(chan *plugin.ReattachConfig, 1)
			closed := make(chan struct{})
			b := featureBridge{heard: make(chan []string, 1)}
			go func() {
				_ = bridge.Serve(b, bridge.WithDebug(ctx, reattach, closed), bridge.WithGoPluginLogger(hclog.NewNullLogger()))
			}()
			var rc *plugin.ReattachConfig
			select {
			case rc = <-reattach:
			case <-time.After(10 * time.Second):
				t.Fatal("the bridge did not listen")
			}
			m := NewManager(Options{Reattach: map[string]*plugin.ReattachConfig{"acme": rc}, HostFeatures: announce})
			if err := m.Start(context.Background(), nil, []string{"acme"}); err != nil {
				t.Fatal(err)
			}
			defer m.Stop()
			if got := <-b.heard; !slices.Equal(got, announce) {
				t.Errorf("Configure heard host features %q, want %q", got, announce)
			}
			p, _ := m.Get("acme")
			for _, f := range bridge.PluginFeatures() {
				if !p.HasFeature(f) {
					t.Errorf("the plugin's feature %s is not seen", f)
				}
			}
			if p.HasFeature("teleport") {
				t.Error("a feature the plugin never announced is seen")
			}
		})
	}
}
