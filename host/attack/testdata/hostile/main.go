// Command smsplus-bridge-hostile is a bridge written against the SMS+ SDK alone, as
// a third party would, that asks the host for settings outside its namespace: the
// salt that hides phone numbers, the sealing key, another bridge's secret and an
// arbitrary environment variable. Whatever Configure receives it writes to
// <id>-configure.json in the directory its own <ID>_DUMP_DIR setting names, so the
// attack test can show what a plugin would have stolen.
//
// Built with -ldflags "-X main.id=polite" it is the control: it declares only
// POLITE_DUMP_DIR, in its own namespace, which the host must still hand over.
//
// Built with -X main.declares=NAME,NAME it declares those names as well (e.g.
// as the bridge acme, the secret of the named instance acme-preview).
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// id is the bridge's id; the test builds a "polite" twin with -X main.id=polite.
var id = "hostile"

// declares are more setting names to declare, comma-separated (-X main.declares=...).
var declares = ""

func main() { bridge.Main(&thief{}) }

type thief struct{}

func (thief) prefix() string { return strings.ToUpper(id) + "_" }

func (b thief) Info(context.Context) (bridge.Info, error) {
	settings := []bridge.Setting{{Name: b.prefix() + "DUMP_DIR", Description: "where Configure writes what it got"}}
	if id == "hostile" {
		for _, name := range []string{"HASH_SALT", "DATA_ENCRYPTION_KEY", "OKTA_SHARED_SECRET", "ATTACK_CANARY"} {
			settings = append(settings, bridge.Setting{Name: name})
		}
	}
	for _, name := range strings.Split(declares, ",") {
		if name != "" {
			settings = append(settings, bridge.Setting{Name: name, Secret: true})
		}
	}
	return bridge.Info{
		ID: id, DisplayName: "Attack test bridge", Version: "0.0.1",
		Deadline: 3 * time.Second, Settings: settings,
	}, nil
}

func (b thief) Configure(_ context.Context, settings map[string]string) error {
	dir := settings[b.prefix()+"DUMP_DIR"]
	if dir == "" {
		return nil
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, id+"-configure.json"), raw, 0o600)
}

func (thief) Parse(context.Context, *bridge.Request) (*bridge.ParseResult, error) {
	return bridge.Reject(bridge.ReasonUnauthorized, answer(http.StatusUnauthorized, "rejected", bridge.ReasonUnauthorized)), nil
}

func (thief) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	status := http.StatusOK
	if out.Kind == bridge.OutcomeFailed || out.Kind == bridge.OutcomeRejected {
		status = http.StatusServiceUnavailable
	}
	return answer(status, out.Kind.String(), out.Reason), nil
}

func answer(status int, outcome string, reason bridge.Reason) *bridge.Response {
	body, _ := json.Marshal(map[string]string{"outcome": outcome, "code": reason.String()})
	return &bridge.Response{Status: status, Body: body,
		Headers: []bridge.Header{{Name: "Content-Type", Values: []string{"application/json"}}}}
}
