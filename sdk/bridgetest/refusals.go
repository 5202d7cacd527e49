package bridgetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// StatusOnlyRefusals checks the answers of a bridge whose vendor reads only the
// HTTP status (answer.ByStatus): a refused destination or country is a 422 that
// says not to retry (it would be refused again), a rate cap a 429 that says a
// retry may help later. Each answer names its reason and nothing else.
func StatusOnlyRefusals(t *testing.T, b bridge.Bridge) {
	t.Helper()
	for reason, want := range map[bridge.Reason]struct {
		status int
		retry  bool
	}{
		bridge.ReasonDestinationRefused: {422, false},
		bridge.ReasonCountryNotAllowed:  {422, false},
		bridge.ReasonRateLimited:        {429, true},
	} {
		resp, err := b.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: reason})
		if err != nil {
			t.Fatalf("%s: %v", reason, err)
		}
		var a struct {
			Error     string `json:"error"`
			Retryable *bool  `json:"retryable"`
		}
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			t.Fatalf("%s: body %s: %v", reason, resp.Body, err)
		}
		if resp.Status != want.status || a.Error != reason.String() || a.Retryable == nil || *a.Retryable != want.retry {
			t.Errorf("%s: %d %s; want %d, retryable %v", reason, resp.Status, resp.Body, want.status, want.retry)
		}
	}
}
