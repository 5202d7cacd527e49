package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// CyberArk reads only the status: a refused destination must
// be a 4xx (no retry, it would be refused again), a cap a 429 (retry later), and
// neither may echo the number.
func TestRespondDestinationRefusals(t *testing.T) {
	t.Parallel()
	b := newCyberArk()
	for code, want := range map[string]struct {
		status int
		retry  bool
	}{
		bridge.CodeDestinationRefused: {422, false},
		bridge.CodeCountryNotAllowed:  {422, false},
		bridge.CodeRateLimited:        {429, true},
	} {
		resp, err := b.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeFailed, Code: code,
			Message: "refused +19002345678", Metadata: map[string]string{"phone": "+19002345678"}})
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		var a struct {
			Error     string `json:"error"`
			Retryable *bool  `json:"retryable"`
		}
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			t.Fatalf("%s: body %s: %v", code, resp.Body, err)
		}
		if resp.Status != want.status || a.Error != code || a.Retryable == nil || *a.Retryable != want.retry {
			t.Errorf("%s: %d %s; want %d, retryable %v", code, resp.Status, resp.Body, want.status, want.retry)
		}
		if strings.Contains(string(resp.Body), "2345678") {
			t.Errorf("%s: the answer echoes the number: %s", code, resp.Body)
		}
	}
}
