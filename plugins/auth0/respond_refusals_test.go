package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// Auth0 (Action and legacy gateway) reads only the status: a refused destination must
// be a 4xx (no retry, it would be refused again), a cap a 429 (retry later).
func TestRespondDestinationRefusals(t *testing.T) {
	t.Parallel()
	b := newAuth0()
	for code, want := range map[bridge.Reason]struct {
		status int
		retry  bool
	}{
		bridge.ReasonDestinationRefused: {422, false},
		bridge.ReasonCountryNotAllowed:  {422, false},
		bridge.ReasonRateLimited:        {429, true},
	} {
		resp, err := b.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: code})
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
		if resp.Status != want.status || a.Error != code.String() || a.Retryable == nil || *a.Retryable != want.retry {
			t.Errorf("%s: %d %s; want %d, retryable %v", code, resp.Status, resp.Body, want.status, want.retry)
		}
	}
}
