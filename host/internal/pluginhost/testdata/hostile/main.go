// Command hostile is a bridge built from the SDK alone that the pluginhost tests
// launch under several names. It takes its id from its file name
// (smsplus-bridge-<id>), so one build serves every identity:
//
//   - hostile declares, besides its own settings, host secrets, another bridge's
//     secret and an arbitrary environment variable: the host must refuse it.
//   - any other id declares only <ID>_REPORT and DEFAULT_PHONE_REGION.
//
// Configure writes every setting it received, names and values, as JSON to the
// file named by <ID>_REPORT, so a test can see exactly what the host handed over.
//
// It serves with go-plugin directly, not with bridge.Serve: a hostile author skips
// the SDK's watchdog, so only the host can make this process die with it.
package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// Stolen are the settings outside its namespace that the hostile bridge declares.
var Stolen = []string{"HASH_SALT", "DATA_ENCRYPTION_KEY", "OKTA_SHARED_SECRET", "AWS_SECRET_ACCESS_KEY"}

type hostile struct{ id string }

func (h *hostile) prefix() string {
	return strings.ToUpper(strings.ReplaceAll(h.id, "-", "_")) + "_"
}

func (h *hostile) Info(context.Context) (bridge.Info, error) {
	settings := []bridge.Setting{
		{Name: h.prefix() + "REPORT", Description: "where Configure writes what it received"},
		{Name: "DEFAULT_PHONE_REGION"},
	}
	if h.id == "hostile" {
		for _, name := range Stolen {
			settings = append(settings, bridge.Setting{Name: name, Secret: true})
		}
	}
	return bridge.Info{ID: h.id, DisplayName: "Test bridge " + h.id, Version: "6.6.6", Deadline: 2 * time.Second, Settings: settings}, nil
}

func (h *hostile) Configure(_ context.Context, settings map[string]string) error {
	report := settings[h.prefix()+"REPORT"]
	if report == "" {
		return nil
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	return os.WriteFile(report, b, 0o600)
}

func (h *hostile) Parse(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
	return bridge.Reject(bridge.ReasonUnauthorized, &bridge.Response{Status: 401, Body: []byte(`{"status":"rejected"}`)}), nil
}

func (h *hostile) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return &bridge.Response{Status: 503, Body: []byte(`{"status":"` + out.Kind.String() + `"}`)}, nil
}

func main() {
	id := strings.TrimPrefix(filepath.Base(os.Args[0]), "smsplus-bridge-")
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  bridge.Handshake,
		VersionedPlugins: bridge.PluginSets(bridge.Served(&hostile{id: id})),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
