package httpapi

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/challenge"
	"github.com/smsplus/smsplus/host/internal/hookflow"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/sdk/bridge"
)

// Destination refusals and caps reach the bridge with their own stable codes, so
// each bridge can tell "never retry" (destination) from "retry later" (cap).
func TestHookDestinationCodes(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		phones []string // the last one is checked
		code   bridge.Reason
		sms    int
	}{
		"premium rate":        {phones: []string{"+19002345678"}, code: bridge.ReasonDestinationRefused},
		"unassigned":          {phones: []string{"+19995550100"}, code: bridge.ReasonDestinationRefused},
		"country not allowed": {phones: []string{"+447911123456"}, code: bridge.ReasonCountryNotAllowed},
		"hourly budget":       {phones: []string{"+12015550123", "+14155550142"}, code: bridge.ReasonRateLimited, sms: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var phone string
			hook := &fakeHook{parse: func(ctx context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
				return otpEvent(phone)(ctx, r)
			}}
			var out *outbox
			obs := &observer{}
			s, _ := newTestServer(t, map[string]*fakeHook{"acme": hook}, func(o *Options) {
				st, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				sealer, _ := seal.New(nil)
				out = &outbox{}
				o.Service = challenge.New(challenge.Settings{
					BaseURL: "https://sms.example", HashSalt: "s", DefaultLanguage: "en", ChallengeTTL: time.Minute,
					PerChallengeMaxFailedAttempts: 3, MaxFailedAttempts: 5, LockoutDuration: time.Minute,
					AllowedCountries: []string{"US"}, RefusedNumberTypes: []string{"invalid", "premium_rate"}, MaxSMSPerHour: 1,
				}, challenge.Deps{Store: st, Sender: out, Verifier: nullVerifier{}, Sealer: sealer,
					NewPhrase: func(string) (challenge.Phrase, error) { return challenge.Phrase{Text: "blue river", TextID: "1"}, nil }})
				o.Flow = hookflow.New(o.Service, hookflow.Options{Observer: obs})
			})
			var m map[string]any
			var rec int
			for _, phone = range tc.phones {
				r := do(s, http.MethodPost, "/hooks/acme", "application/json", "{}")
				rec, m = r.Code, decode(t, r)
			}
			if rec != 200 || m["kind"] != "failed" || m["code"] != tc.code.String() {
				t.Fatalf("got %d %v, want failed %s", rec, m, tc.code)
			}
			// The metrics name the reason, not "other".
			obs.mu.Lock()
			last := obs.got[len(obs.got)-1]
			obs.mu.Unlock()
			if last.reason != tc.code.String() {
				t.Errorf("observed reason %q, want %q", last.reason, tc.code)
			}
			if out.count() != tc.sms {
				t.Fatalf("%d SMS sent, want %d", out.count(), tc.sms)
			}
		})
	}
}
