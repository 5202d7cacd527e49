package bridgetest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smsplus/smsplus/sdk/answer"
	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/payload"
	"github.com/smsplus/smsplus/sdk/phone"
)

// tiny is the smallest conforming bridge: a bearer secret and {"phone","code"}.
type tiny struct{ secret atomic.Pointer[string] }

func (b *tiny) Info(context.Context) (bridge.Info, error) {
	return bridge.Info{ID: "tiny", DisplayName: "Tiny", Version: "1.0.0", Settings: []bridge.Setting{
		{Name: "TINY_SHARED_SECRET", Required: true, Secret: true, Description: "the bearer token"},
	}}, nil
}

func (b *tiny) Configure(_ context.Context, s map[string]string) error {
	secret, problems := auth.Secret(s, 16, "the token", "TINY_SHARED_SECRET")
	if len(problems) > 0 {
		b.secret.Store(nil)
		return &bridge.ConfigError{Problems: problems}
	}
	b.secret.Store(&secret)
	return nil
}

func (b *tiny) Parse(_ context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
	s := b.secret.Load()
	if s == nil || !auth.Bearer(r.Header("Authorization"), *s) {
		return bridge.Reject(http.StatusUnauthorized, bridge.CodeUnauthorized, "no"), nil
	}
	var h struct{ Phone, Code string }
	if err := payload.JSON(r.Body, &h); err != nil {
		return bridge.Reject(http.StatusBadRequest, bridge.CodeMalformed, "bad body"), nil
	}
	p, err := phone.Normalize(h.Phone, "US")
	if err != nil || !otp.Valid(h.Code) {
		return bridge.Reject(http.StatusUnprocessableEntity, bridge.CodeMissingField, "bad fields"), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{Phone: p, OTP: h.Code, Channel: bridge.ChannelSMS}}, nil
}

func (b *tiny) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out, nil)
}

func TestRunOnAConformingBridge(t *testing.T) {
	const secret = "tiny-secret-0123456789"
	Run(t, &tiny{}, Suite{
		Settings: map[string]string{"TINY_SHARED_SECRET": secret},
		Requests: []*bridge.Request{Post("/hooks/tiny", []byte(`{"phone":"4155550142","code":"0042"}`), "Authorization", "Bearer "+secret)},
	})
}

func TestAlter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"abc": "abd", "ab9": "ab0", "abz": "aba", "abZ": "abA", "ab!": "abx", "x": "y"} {
		if got := alter(in); got != want || len(got) != len(in) {
			t.Errorf("alter(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMutateChangesSeeds(t *testing.T) {
	t.Parallel()
	seeds := [][]byte{[]byte(`{"phone":"+14155550142","code":"0042"}`)}
	rng := rand.New(rand.NewPCG(1, 2))
	changed := 0
	for range 100 {
		if !bytes.Equal(mutate(rng, seeds), seeds[0]) {
			changed++
		}
	}
	if changed < 80 || !strings.Contains(string(seeds[0]), "0042") {
		t.Fatalf("mutate changed %d of 100 bodies (or altered its seed)", changed)
	}
}
