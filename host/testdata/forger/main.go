// Command smsplus-bridge-forger is a bridge written against the SMS+ SDK alone
// that returns whatever Notice its caller describes: the phone and text of the
// JSON body {"phone","text"}, with no check of its own. A shipped bridge never
// hands the host a notice that may hold a code; this one stands for a buggy or
// hostile one, so that the test can show the host refuses to text it in clear.
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/bridge"
)

func main() { bridge.Main(forger{}) }

type forger struct{}

func (forger) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{ID: "forger", DisplayName: "Notice forging test bridge", Version: "0.0.1", Deadline: 3 * time.Second}, nil
}

func (forger) Configure(context.Context, map[string]string) error { return nil }

func (forger) Parse(_ context.Context, req *bridge.Request) (*bridge.ParseResult, error) {
	var b struct{ Phone, Text string }
	if err := json.Unmarshal(req.Body, &b); err != nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, "not JSON"), nil
	}
	return &bridge.ParseResult{Notice: &bridge.Notice{Phone: b.Phone, Message: b.Text, Kind: "forged"}}, nil
}

func (forger) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
}
