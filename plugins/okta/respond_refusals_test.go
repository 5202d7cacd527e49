package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// Business refusals of a destination reach Okta as HTTP 200 with Okta's error
// object (never SUCCESSFUL, never a 4xx/5xx), each with its own fixed text, so
// Okta's admins can read why a number was not texted.
func TestRespondDestinationRefusals(t *testing.T) {
	t.Parallel()
	o := configured(t, nil)
	for code, want := range map[bridge.Reason]string{
		bridge.ReasonDestinationRefused: "DESTINATION_REFUSED",
		bridge.ReasonCountryNotAllowed:  "COUNTRY_NOT_ALLOWED",
		bridge.ReasonRateLimited:        "RATE_LIMITED",
	} {
		resp, err := o.Respond(context.Background(), &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: code})
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if resp.Status != 200 {
			t.Errorf("%s: status %d, want 200 with Okta's error object", code, resp.Status)
		}
		if bytes.Contains(resp.Body, []byte("SUCCESSFUL")) {
			t.Errorf("%s: body %s", code, resp.Body)
		}
		var a struct {
			Commands json.RawMessage `json:"commands"`
			Error    struct {
				ErrorCauses []struct {
					ErrorSummary string `json:"errorSummary"`
					Reason       string `json:"reason"`
				} `json:"errorCauses"`
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Body, &a); err != nil || a.Commands != nil || len(a.Error.ErrorCauses) != 1 {
			t.Fatalf("%s: not an Okta error answer (%v): %s", code, err, resp.Body)
		}
		cause := a.Error.ErrorCauses[0]
		if cause.Reason != want {
			t.Errorf("%s: reason %q, want %q", code, cause.Reason, want)
		}
		if cause.ErrorSummary == causeUnknown || cause.ErrorSummary == "" {
			t.Errorf("%s: generic cause text %q", code, cause.ErrorSummary)
		}
	}
}
