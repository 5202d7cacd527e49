package host

import (
	"errors"
	"testing"
)

// The exit code of simulate follows the server's outcome headers, and only the
// HTTP status when a server sends none.
func TestHookVerdict(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		status          int
		outcome, reason string
		want            int
	}{
		"delivered":                  {200, "delivered", "", ExitOK},
		"pending":                    {200, "pending", "", ExitOK},
		"fallback":                   {200, "fallback_delivered", "", ExitOK},
		"okta failure, HTTP 200":     {200, "failed", "destination_refused", ExitHookFailed},
		"failed with 5xx":            {500, "failed", "sms_failed", ExitHookFailed},
		"bridge down":                {200, "unavailable", "bridge_unavailable", ExitHookFailed},
		"withheld: nothing texted":   {200, "withheld", "unsupported_channel", ExitHookFailed},
		"an outcome newer than this": {200, "queued_by_pigeon", "", ExitHookFailed},
		"refused":                    {401, "rejected", "unauthorized", ExitHookRefused},
		"refused with 200":           {200, "rejected", "not_an_otp", ExitHookRefused},
		"no headers, 2xx":            {204, "", "", ExitOK},
		"no headers, unknown bridge": {404, "", "", ExitHookRefused},
		"no headers, 4xx":            {403, "", "", ExitHookRefused},
		"no headers, 5xx":            {502, "", "", ExitHookFailed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := hookVerdict("okta", tc.status, tc.outcome, tc.reason)
			got := ExitOK
			var ee exitError
			switch {
			case errors.As(err, &ee):
				got = ee.code
			case err != nil:
				got = ExitFailed
			}
			if got != tc.want {
				t.Errorf("exit %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}
