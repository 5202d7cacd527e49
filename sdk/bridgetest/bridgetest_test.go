package bridgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
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
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, "no"), nil
	}
	var h struct{ Phone, Code string }
	if err := payload.JSON(r.Body, &h); err != nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, "bad body"), nil
	}
	p, err := phone.Normalize(h.Phone, "US")
	if err != nil || !otp.Valid(h.Code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonMissingField, "bad fields"), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{Phone: p, OTP: h.Code, Channel: bridge.ChannelSMS}}, nil
}

func (b *tiny) Respond(_ context.Context, out *bridge.Outcome) (*bridge.Response, error) {
	return answer.ByStatus(out)
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

// lax is tiny decoding with plain encoding/json, which keeps the last of two
// equal keys and matches field names in any case: the kit must fail it.
type lax struct{ tiny }

func (b *lax) Parse(_ context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
	s := b.secret.Load()
	if s == nil || !auth.Bearer(r.Header("Authorization"), *s) {
		return answer.Reject(http.StatusUnauthorized, bridge.ReasonUnauthorized, "no"), nil
	}
	var h struct{ Phone, Code string }
	if err := json.Unmarshal(r.Body, &h); err != nil {
		return answer.Reject(http.StatusBadRequest, bridge.ReasonMalformed, "bad body"), nil
	}
	p, err := phone.Normalize(h.Phone, "US")
	if err != nil || !otp.Valid(h.Code) {
		return answer.Reject(http.StatusUnprocessableEntity, bridge.ReasonMissingField, "bad fields"), nil
	}
	return &bridge.ParseResult{OTP: &bridge.OTPEvent{Phone: p, OTP: h.Code, Channel: bridge.ChannelSMS}}, nil
}

// TestRunFailsALaxBridge runs the kit on lax in a child process (a failing kit
// fails its test) and expects exactly the duplicate-key checks to fail.
func TestRunFailsALaxBridge(t *testing.T) {
	const secret = "tiny-secret-0123456789"
	suite := Suite{
		Settings: map[string]string{"TINY_SHARED_SECRET": secret},
		Requests: []*bridge.Request{Post("/hooks/tiny", []byte(` {"phone":"4155550142","code":"0042"}`), "Authorization", "Bearer "+secret)},
	}
	if os.Getenv("BRIDGETEST_LAX_CHILD") == "1" {
		Run(t, &lax{}, suite)
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunFailsALaxBridge$", "-test.v")
	cmd.Env = append(os.Environ(), "BRIDGETEST_LAX_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the kit passed a bridge that accepts duplicate keys:\n%s", out)
	}
	var failed []string
	for _, line := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "--- FAIL: "); ok {
			failed = append(failed, strings.Fields(f)[0])
		}
	}
	slices.Sort(failed)
	want := []string{"TestRunFailsALaxBridge", "TestRunFailsALaxBridge/duplicate_keys"}
	if !slices.Equal(failed, want) {
		t.Fatalf("failed %v, want %v:\n%s", failed, want, out)
	}
	for _, what := range []string{"key given twice", "key in another case"} {
		if !strings.Contains(string(out), what) {
			t.Errorf("the failures do not mention %q:\n%s", what, out)
		}
	}
}

func TestDuplicateKeyBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ctype, body string
		want        map[string]string
	}{
		{"application/json", ` {"phone":"+1 415","code":"0042"}`, map[string]string{
			"key given twice":     ` {"phone":"+1 415","phone":"+1 415","code":"0042"}`,
			"key in another case": ` {"PHONE":"+1 415","phone":"+1 415","code":"0042"}`}},
		{"", `{"a_1":{"x":[1]},"b":2}`, map[string]string{
			"key given twice":     `{"a_1":{"x":[1]},"a_1":{"x":[1]},"b":2}`,
			"key in another case": `{"A_1":{"x":[1]},"a_1":{"x":[1]},"b":2}`}},
		{"application/json", `{"1":2}`, map[string]string{"key given twice": `{"1":2,"1":2}`}},
		{"application/json", `{}`, map[string]string{}},
		{"application/json", `[{"a":1}]`, map[string]string{}},
		{"application/json", `{"a":"x` + "\n" + `y"}`, map[string]string{}},
		{"application/x-www-form-urlencoded; charset=utf-8", "phoneNumber=%2B1&smsMessage=Code+1234", map[string]string{
			"form key given twice": "phoneNumber=%2B1&phoneNumber=%2B1&smsMessage=Code+1234"}},
		{"application/x-www-form-urlencoded", "", map[string]string{}},
	} {
		r := Post("/", []byte(tc.body))
		if tc.ctype != "" {
			r = Post("/", []byte(tc.body), "Content-Type", tc.ctype)
		}
		got := map[string]string{}
		for what, b := range duplicateKeyBodies(r) {
			got[what] = string(b)
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("duplicateKeyBodies(%q):\n got %q\nwant %q", tc.body, got, tc.want)
		}
	}
}

// leaky answers a refused call with what it was sent, as a careless bridge might
// when it explains an error.
type leaky struct{ tiny }

func (b *leaky) Parse(ctx context.Context, r *bridge.Request) (*bridge.ParseResult, error) {
	res, err := b.tiny.Parse(ctx, r)
	if res != nil && res.Rejection != nil {
		res = answer.Reject(http.StatusUnauthorized, res.Rejection.Reason, "refused: "+string(r.Body))
	}
	return res, err
}

// badExample renders an example its own Parse does not take as asked.
type badExample struct{ tiny }

func (b *badExample) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	s := b.secret.Load()
	if s == nil {
		return nil, bridge.ErrNotConfigured
	}
	return Post("/hooks/tiny", []byte(`{"phone":"`+want.Phone+`","code":"9999"}`), "Authorization", "Bearer "+*s), nil
}

// goodExample renders a correct example, and so needs no Suite.Requests.
type goodExample struct{ tiny }

func (b *goodExample) Example(_ context.Context, want bridge.ExampleRequest) (*bridge.Request, error) {
	s := b.secret.Load()
	if s == nil {
		return nil, bridge.ErrNotConfigured
	}
	return Post("/hooks/tiny", []byte(`{"phone":"`+want.Phone+`","code":"`+want.OTP+`"}`), "Authorization", "Bearer "+*s), nil
}

func TestRunWithAnExampleOnly(t *testing.T) {
	Run(t, &goodExample{}, Suite{Settings: map[string]string{"TINY_SHARED_SECRET": "tiny-secret-0123456789"}})
}

// TestRunFailsBrokenBridges runs the kit on bridges that break one rule each,
// in child processes (a failing kit fails its test), and expects exactly that
// rule's checks to fail.
func TestRunFailsBrokenBridges(t *testing.T) {
	const secret = "tiny-secret-0123456789"
	suite := Suite{
		Settings: map[string]string{"TINY_SHARED_SECRET": secret},
		Requests: []*bridge.Request{Post("/hooks/tiny", []byte(`{"phone":"4155550142","code":"0042"}`), "Authorization", "Bearer "+secret)},
	}
	bridges := map[string]bridge.Bridge{"leaky": &leaky{}, "bad_example": &badExample{}}
	if name := os.Getenv("BRIDGETEST_BROKEN_CHILD"); name != "" {
		Run(t, bridges[name], suite)
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	for name, want := range map[string]struct {
		failed []string
		says   string
	}{
		// Every check that looks at a rejection catches the echo.
		"leaky": {[]string{"arbitrary_bodies", "bad_credentials", "bad_credentials/no_credentials", "bad_credentials/other_secrets", "duplicate_keys"},
			"a code or phone number of a request the bridge was sent"},
		"bad_example": {[]string{"example"}, `the example parses to phone "+14155550142", code "9999"`},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunFailsBrokenBridges$", "-test.v")
		cmd.Env = append(os.Environ(), "BRIDGETEST_BROKEN_CHILD="+name)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: the kit passed it:\n%s", name, out)
			continue
		}
		var failed []string
		for _, line := range strings.Split(string(out), "\n") {
			if f, ok := strings.CutPrefix(strings.TrimSpace(line), "--- FAIL: TestRunFailsBrokenBridges/"); ok {
				failed = append(failed, strings.Fields(f)[0])
			}
		}
		slices.Sort(failed)
		if !slices.Equal(failed, want.failed) || !strings.Contains(string(out), want.says) {
			t.Errorf("%s: failed %v, want %v saying %q:\n%s", name, failed, want.failed, want.says, out)
		}
	}
}
