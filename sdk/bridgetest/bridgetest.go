// Package bridgetest is the conformance kit for SMS+ bridges. A bridge author runs
// it from the bridge's own tests, in-process and against the built binary:
//
//	func TestConformance(t *testing.T) {
//		s := bridgetest.Suite{Settings: settings, Requests: []*bridge.Request{signed(body)}}
//		bridgetest.Run(t, newBridge(), s)
//		bridgetest.RunBinary(t, bridgetest.Build(t, "."), s)
//	}
//
// Run talks to the bridge over go-plugin's in-memory gRPC connection, the same
// wire the host uses; RunBinary launches the executable as the host does (gRPC
// with automatic mutual TLS). Both check that:
//   - Info is sane, the same before and after Configure, and declares every setting
//     the suite passes;
//   - Configure refuses missing secrets and required settings, names each problem
//     without revealing a secret, and a refused Configure fails closed (Parse
//     refuses every call, Example renders none);
//   - every authentic request parses to an OTP event (E.164 phone, 4 to 10 digit
//     code or a voice request without one, a channel), a notice (E.164 phone,
//     a message, a kind) or a test ping;
//   - if the bridge renders examples (bridge.Exampler), an example parses back to
//     the phone and code asked for, and is checked like the authentic requests;
//   - the same requests without credentials, or checked against other secrets, are
//     rejected with a known reason and an answer that is not a success;
//   - the same requests with their first JSON key given twice (same value), or
//     again in another letter case, or with their first form key given twice,
//     are rejected: encoding/json keeps the last of two equal keys and fills a
//     field from a key in any case, so such a body means whatever the decoder
//     picks (decode with sdk/payload, which refuses them);
//   - Parse never fails or panics on arbitrary bodies (mutations of the requests and
//     of Suite.Bodies, plus classic junk), and its rejections are well-formed
//     4xx/5xx answers;
//   - Respond gives a well-formed answer for every outcome kind and reason: the
//     vendor's success (Suite.Success; 2xx by default) for successes, withheld
//     included, never a success for a failure, never 2xx for the host's
//     refusals of a call;
//   - no answer, rejection or Respond, holds the code or the phone number of a
//     request the bridge has seen;
//   - concurrent Parse and Respond calls are safe (run your tests with -race).
package bridgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/smsplus/smsplus/sdk/auth"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/phone"
)

// Suite describes the bridge under test.
type Suite struct {
	// Settings is a complete configuration that Configure accepts. Every key must
	// be declared in Info.Settings, or the host would never pass it.
	Settings map[string]string
	// Requests are authentic webhook calls that the bridge, configured with
	// Settings, accepts: each must parse to an OTP event or a test ping. At least
	// one is needed, unless the bridge renders examples (bridge.Exampler): the
	// kit then adds one.
	Requests []*bridge.Request
	// Bodies are more seeds for the robustness check, e.g. the files in testdata/.
	Bodies [][]byte
	// Iterations of the robustness check; 0 means 400.
	Iterations int
	// Success tells how the vendor reads an answer: true when it means "sent"
	// (or "test answered"). Nil means any 2xx, as for vendors that read only
	// the status. A vendor that reads the body (Okta: HTTP 200 with an error
	// object is a failure) gives its own, and its refusals may then be 2xx.
	Success func(*bridge.Response) bool
	// HostFeatures are the features the kit announces to Configure as the host
	// (bridge.WithHostFeatures), e.g. bridge.FeatureNotices when Settings
	// enable a bridge's notices.
	HostFeatures []string
}

// success applies Suite.Success.
func (k *kit) success(resp *bridge.Response) bool {
	if k.s.Success != nil {
		return k.s.Success(resp)
	}
	return resp.Status >= 200 && resp.Status <= 299
}

// ctx is the context the kit calls Configure with: the suite's host features.
func (k *kit) configureCtx(ctx context.Context) context.Context {
	return bridge.WithHostFeatures(ctx, k.s.HostFeatures...)
}

// The example the kit asks of a bridge that renders examples.
var example = bridge.ExampleRequest{Phone: "+14155550142", OTP: "604913", Locale: "en-US"}

// plantedTxn is the transaction id the kit hands Respond (hex without digits,
// so that it cannot be mistaken for a code).
const plantedTxn = "sp_abcdefabcdefabcdef"

// Run checks b in-process, over go-plugin's in-memory gRPC connection.
func Run(t *testing.T, b bridge.Bridge, s Suite) {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		bridge.PluginName: &bridge.Plugin{Impl: bridge.Served(b)},
	})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(bridge.PluginName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	check(t, raw.(bridge.Bridge), s, "")
}

// RunBinary launches the plugin executable at path the way the host does and
// checks it. The binary must be named smsplus-bridge-<id> for the id it reports
// (Build names it so).
func RunBinary(t *testing.T, path string, s Suite) {
	t.Helper()
	b, stop, err := launch(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	id, _ := strings.CutPrefix(filepath.Base(path), binaryPrefix)
	check(t, b, s, id)
}

// binaryPrefix is the file name prefix the host looks for.
const binaryPrefix = "smsplus-bridge-"

// launch starts the executable at path as the host does and returns its bridge.
func launch(path string) (bridge.Bridge, func(), error) {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  bridge.Handshake,
		VersionedPlugins: bridge.PluginSets(nil),
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
		StartTimeout:     30 * time.Second,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("launch %s: %w", path, err)
	}
	raw, err := rpc.Dispense(bridge.PluginName)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("dispense: %w", err)
	}
	b, ok := raw.(bridge.Bridge)
	if !ok {
		client.Kill()
		return nil, nil, fmt.Errorf("%s does not serve the bridge contract", path)
	}
	return b, client.Kill, nil
}

// Build compiles the Go main package pkg (a path or import path, e.g. ".") into a
// temporary executable named smsplus-bridge-<id> for the id its Info reports,
// whatever the folder is called, and returns its path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	dir := t.TempDir()
	built := filepath.Join(dir, "bridge.bin")
	cmd := exec.Command("go", "build", "-o", built, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	b, stop, err := launch(built)
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.Info(context.Background())
	stop()
	if err != nil {
		t.Fatalf("Info of %s: %v", pkg, err)
	}
	if !idShape.MatchString(info.ID) {
		t.Fatalf("Info.ID %q of %s: want lower case letters, digits and '-', starting with a letter", info.ID, pkg)
	}
	out := filepath.Join(dir, binaryPrefix+info.ID)
	if err := os.Rename(built, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func check(t *testing.T, b bridge.Bridge, s Suite, binaryID string) {
	t.Helper()
	ctx := context.Background()
	k := &kit{b: b, s: s}
	k.s.Requests = slices.Clone(s.Requests)
	t.Run("info", func(t *testing.T) { k.checkInfo(ctx, t, binaryID) })
	k.mustConfigure(ctx, t)
	t.Run("example", func(t *testing.T) { k.example(ctx, t) })
	if len(k.s.Requests) == 0 {
		t.Fatal("bridgetest: Suite.Requests is empty and the bridge renders no example: give at least one authentic request")
	}
	t.Run("configure", func(t *testing.T) { k.configure(ctx, t) })
	k.mustConfigure(ctx, t)
	t.Run("authentic requests", func(t *testing.T) { k.authentic(ctx, t) })
	t.Run("bad credentials", func(t *testing.T) { k.badAuth(ctx, t) })
	k.mustConfigure(ctx, t)
	t.Run("duplicate keys", func(t *testing.T) { k.duplicateKeys(ctx, t) })
	t.Run("arbitrary bodies", func(t *testing.T) { k.robust(ctx, t) })
	t.Run("respond", func(t *testing.T) { k.respond(ctx, t) })
	t.Run("concurrency", func(t *testing.T) { k.concurrent(ctx, t) })
}

type kit struct {
	b    bridge.Bridge
	s    Suite
	info bridge.Info
	// seen are the codes and phone numbers (E.164, and without its +) of the
	// requests the bridge accepted: no answer may hold one.
	mu   sync.Mutex
	seen []string
}

var (
	idShape      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	semver       = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$`)
	settingShape = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

func (k *kit) checkInfo(ctx context.Context, t *testing.T, binaryID string) {
	before, err := k.b.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	k.info = before
	if !idShape.MatchString(before.ID) {
		t.Errorf("Info.ID %q: want lower case letters, digits and '-', starting with a letter", before.ID)
	}
	if binaryID != "" && before.ID != binaryID {
		t.Errorf("Info.ID %q, but the binary is named for %q: the host refuses that", before.ID, binaryID)
	}
	if strings.TrimSpace(before.DisplayName) == "" {
		t.Error("Info.DisplayName is empty")
	}
	if !semver.MatchString(before.Version) {
		t.Errorf("Info.Version %q is not a semantic version", before.Version)
	}
	if before.SDKVersion != bridge.SDKVersion || before.Protocol != bridge.ProtocolVersion {
		t.Errorf("Info SDK %q protocol %d, want %q and %d (filled in by bridge.Serve)",
			before.SDKVersion, before.Protocol, bridge.SDKVersion, bridge.ProtocolVersion)
	}
	if before.Deadline < 0 || before.Deadline > time.Minute {
		t.Errorf("Info.Deadline %s: want 0 (host default) up to a minute", before.Deadline)
	}
	seen := map[string]bool{}
	for _, st := range before.Settings {
		if !settingShape.MatchString(st.Name) {
			t.Errorf("setting %q: want an upper-case environment variable name", st.Name)
		}
		if seen[st.Name] {
			t.Errorf("setting %s is declared twice", st.Name)
		}
		seen[st.Name] = true
		if strings.TrimSpace(st.Description) == "" {
			t.Errorf("setting %s has no description: operators read it in `smsplus plugins`", st.Name)
		}
	}
	for name := range k.s.Settings {
		if !seen[name] {
			t.Errorf("Suite.Settings has %s, which Info does not declare: the host would never pass it", name)
		}
	}
	if !slices.ContainsFunc(before.Settings, func(st bridge.Setting) bool { return st.Secret }) {
		t.Error("Info declares no secret setting: a bridge must authenticate its vendor")
	}
	if err := k.b.Configure(k.configureCtx(ctx), k.s.Settings); err != nil {
		t.Fatalf("Configure(Suite.Settings): %v", err)
	}
	after, err := k.b.Info(ctx)
	if err != nil {
		t.Fatalf("Info after Configure: %v", err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("Info changed after Configure:\nbefore %+v\n after %+v", before, after)
	}
}

func (k *kit) secrets() []string {
	var out []string
	for _, st := range k.info.Settings {
		if v := k.s.Settings[st.Name]; st.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (k *kit) mustConfigure(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := k.b.Configure(k.configureCtx(ctx), k.s.Settings); err != nil {
		t.Fatalf("Configure(Suite.Settings): %v", err)
	}
}

// example checks the optional Example capability and adds the example to the
// authentic requests. A bridge without it passes (the host's client always has
// the method; ErrUnsupported says the capability is absent).
func (k *kit) example(ctx context.Context, t *testing.T) {
	ex, ok := k.b.(bridge.Exampler)
	if !ok {
		t.Skip("the bridge renders no example")
	}
	req, err := ex.Example(ctx, example)
	if errors.Is(err, bridge.ErrUnsupported) {
		t.Skip("the bridge renders no example (bridge.Exampler)")
	}
	if err != nil {
		t.Fatalf("Example: %v", err)
	}
	if req.Method == "" || req.Body == nil && req.RawQuery == "" {
		t.Fatalf("Example = %+v: want a method and a body or a query", req)
	}
	res, err := k.b.Parse(ctx, req)
	if err != nil {
		t.Fatalf("Parse(example): %v", err)
	}
	switch e := res.OTP; {
	case e == nil:
		t.Fatalf("the example does not parse to an OTP event: %+v", res)
	case e.Phone != example.Phone || e.OTP != example.OTP || e.Channel != bridge.ChannelSMS:
		t.Errorf("the example parses to phone %q, code %q, channel %s; want %q, %q, sms", e.Phone, e.OTP, e.Channel, example.Phone, example.OTP)
	}
	k.s.Requests = append(k.s.Requests, req)
}

func (k *kit) configure(ctx context.Context, t *testing.T) {
	type variant struct {
		name     string
		settings map[string]string
		mention  string // a name the problems must mention, if any
	}
	variants := []variant{{name: "no settings", settings: map[string]string{}}}
	noSecrets := maps.Clone(k.s.Settings)
	for _, st := range k.info.Settings {
		if st.Secret {
			delete(noSecrets, st.Name)
		}
		if _, ok := k.s.Settings[st.Name]; st.Required && ok {
			without := maps.Clone(k.s.Settings)
			delete(without, st.Name)
			variants = append(variants, variant{name: "without " + st.Name, settings: without, mention: st.Name})
		}
	}
	variants = append(variants, variant{name: "without secrets", settings: noSecrets})
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			err := k.b.Configure(k.configureCtx(ctx), v.settings)
			if err == nil {
				t.Fatalf("Configure accepted settings %s", v.name)
			}
			msg := err.Error()
			if v.mention != "" && !strings.Contains(msg, v.mention) {
				t.Errorf("the problems do not name %s: %v", v.mention, err)
			}
			for _, sec := range k.secrets() {
				if strings.Contains(msg, sec) {
					t.Errorf("Configure's problems reveal a secret: %v", err)
				}
			}
			// A refused Configure must leave the bridge refusing every call.
			for i, req := range k.s.Requests {
				res, err := k.b.Parse(ctx, req)
				if err != nil {
					t.Fatalf("request %d: Parse: %v", i, err)
				}
				if res.Rejection == nil {
					t.Errorf("request %d accepted after a refused Configure: the bridge must fail closed", i)
				}
			}
			if ex, ok := k.b.(bridge.Exampler); ok {
				if _, err := ex.Example(ctx, example); err == nil {
					t.Error("Example rendered a request after a refused Configure: it must fail closed")
				}
			}
		})
	}
}

func (k *kit) authentic(ctx context.Context, t *testing.T) {
	for i, req := range k.s.Requests {
		res, err := k.b.Parse(ctx, req)
		if err != nil {
			t.Fatalf("request %d: Parse: %v", i, err)
		}
		switch {
		case res.OTP != nil:
			checkEvent(t, fmt.Sprintf("request %d", i), res.OTP)
			k.remember(res.OTP)
			k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: plantedTxn})
		case res.TestPing != nil:
			k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeTestOK})
		case res.Notice != nil:
			checkNotice(t, fmt.Sprintf("request %d", i), res.Notice)
			k.rememberPhone(res.Notice.Phone)
			k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: plantedTxn})
		default:
			t.Errorf("request %d rejected (%s): Suite.Requests must be accepted", i, res.Rejection.Reason)
		}
	}
}

// remember notes what an accepted request carried, which no answer may hold.
func (k *kit) remember(e *bridge.OTPEvent) { k.note(e.OTP, e.Phone, strings.TrimPrefix(e.Phone, "+")) }

func (k *kit) rememberPhone(p string) { k.note(p, strings.TrimPrefix(p, "+")) }

func (k *kit) note(vals ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, v := range vals {
		if len(v) >= 4 && !slices.Contains(k.seen, v) {
			k.seen = append(k.seen, v)
		}
	}
}

func (k *kit) leaks() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.seen)
}

func checkEvent(t *testing.T, what string, e *bridge.OTPEvent) {
	t.Helper()
	// A voice request may come without a code (bridge.FeatureVoiceWithoutCode).
	if !otp.Valid(e.OTP) && (e.OTP != "" || e.Channel != bridge.ChannelVoice) {
		t.Errorf("%s: OTP %q is not 4 to 10 digits", what, e.OTP)
	}
	if !phone.IsE164(e.Phone) {
		t.Errorf("%s: phone is not E.164 (normalize it with sdk/phone)", what)
	}
	if e.Channel != bridge.ChannelSMS && e.Channel != bridge.ChannelVoice {
		t.Errorf("%s: channel %s, want sms or voice", what, e.Channel)
	}
}

var noticeKind = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

func checkNotice(t *testing.T, what string, n *bridge.Notice) {
	t.Helper()
	if !phone.IsE164(n.Phone) {
		t.Errorf("%s: notice phone is not E.164 (normalize it with sdk/phone)", what)
	}
	if strings.TrimSpace(n.Message) == "" {
		t.Errorf("%s: a notice without a message", what)
	}
	if !noticeKind.MatchString(n.Kind) {
		t.Errorf("%s: notice kind %q: want lower case letters, digits and '_'", what, n.Kind)
	}
}

// rejected checks that res is a rejection with a known reason and an answer
// that is well formed, not a success and holds nothing the bridge was sent.
func (k *kit) rejected(t *testing.T, what string, res *bridge.ParseResult) {
	t.Helper()
	if res.Rejection == nil {
		t.Errorf("%s was accepted: %+v", what, res)
		return
	}
	k.checkRejection(t, what, res.Rejection)
}

func (k *kit) checkRejection(t *testing.T, what string, rj *bridge.Rejection) {
	t.Helper()
	if !rj.Reason.Known() {
		t.Errorf("%s: rejection reason %d is not a known bridge.Reason", what, rj.Reason)
	}
	resp := rj.Response
	if resp == nil {
		t.Errorf("%s: a rejection without an answer", what)
		return
	}
	if k.s.Success == nil && (resp.Status < 400 || resp.Status > 599) {
		t.Errorf("%s: rejection answered %d: a refused call is answered 4xx or 5xx", what, resp.Status)
	}
	if resp.Status >= 200 && resp.Status <= 599 && k.success(resp) {
		t.Errorf("%s: rejection answered %d, which the vendor reads as a success: %.200s", what, resp.Status, resp.Body)
	}
	k.checkAnswer(t, fmt.Sprintf("%s (rejection %s)", what, rj.Reason), resp)
}

func (k *kit) badAuth(ctx context.Context, t *testing.T) {
	t.Run("no credentials", func(t *testing.T) {
		for i, req := range k.s.Requests {
			bare := *req
			bare.RawQuery = ""
			bare.Headers = nil
			for _, h := range req.Headers {
				if strings.EqualFold(h.Name, "Content-Type") {
					bare.Headers = append(bare.Headers, h)
				}
			}
			res, err := k.b.Parse(ctx, &bare)
			if err != nil {
				t.Fatalf("request %d: Parse: %v", i, err)
			}
			k.rejected(t, fmt.Sprintf("request %d without headers", i), res)
		}
	})
	t.Run("other secrets", func(t *testing.T) {
		other := maps.Clone(k.s.Settings)
		for _, st := range k.info.Settings {
			if v := other[st.Name]; st.Secret && v != "" {
				other[st.Name] = alter(v)
			}
		}
		if err := k.b.Configure(k.configureCtx(ctx), other); err != nil {
			t.Fatalf("Configure with other secrets of the same shape: %v", err)
		}
		defer k.mustConfigure(ctx, t)
		for i, req := range k.s.Requests {
			res, err := k.b.Parse(ctx, req)
			if err != nil {
				t.Fatalf("request %d: Parse: %v", i, err)
			}
			k.rejected(t, fmt.Sprintf("request %d checked against other secrets", i), res)
		}
	})
}

func (k *kit) duplicateKeys(ctx context.Context, t *testing.T) {
	for i, req := range k.s.Requests {
		for what, body := range duplicateKeyBodies(req) {
			dup := *req
			dup.Body = body
			res, err := k.b.Parse(ctx, &dup)
			if err != nil {
				t.Fatalf("request %d, %s: Parse: %v", i, what, err)
			}
			k.rejected(t, fmt.Sprintf("request %d with its first %s (%.80q)", i, what, body), res)
		}
	}
}

// duplicateKeyBodies derives, from req's body, bodies that name its first key
// twice: for a JSON object, the first member repeated in front of itself, as is
// ("key given twice") and with the ASCII letters of its key in the other case
// ("key in another case"); for a form, the first pair repeated. Both copies hold
// the same value, so only a bridge that refuses the shape itself rejects them.
// A body that is neither, or whose first member cannot be read, gives none.
func duplicateKeyBodies(req *bridge.Request) map[string][]byte {
	out := map[string][]byte{}
	body := req.Body
	ctype, _, _ := strings.Cut(strings.ToLower(req.Header("Content-Type")), ";")
	if strings.TrimSpace(ctype) == "application/x-www-form-urlencoded" {
		first, _, _ := bytes.Cut(body, []byte("&"))
		if len(first) > 0 {
			out["form key given twice"] = slices.Concat(first, []byte("&"), body)
		}
		return out
	}
	open := bytes.IndexByte(body, '{')
	if open < 0 || len(bytes.TrimSpace(body[:open])) > 0 {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(body[open:]))
	var value json.RawMessage
	if _, err := dec.Token(); err != nil {
		return out
	}
	tok, err := dec.Token()
	key, ok := tok.(string)
	if err != nil || !ok || dec.Decode(&value) != nil {
		return out
	}
	member := func(k string) []byte {
		name, _ := json.Marshal(k)
		return slices.Concat(name, []byte(":"), value, []byte(","))
	}
	rest := body[open+1:]
	out["key given twice"] = slices.Concat(body[:open+1], member(key), rest)
	if other := swapCase(key); other != key {
		out["key in another case"] = slices.Concat(body[:open+1], member(other), rest)
	}
	return out
}

// swapCase turns ASCII upper-case letters to lower case and back.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

// alter changes the last character of a secret, keeping its length and alphabet.
func alter(s string) string {
	b := []byte(s)
	c := b[len(b)-1]
	switch {
	case c >= '0' && c < '9', c >= 'a' && c < 'z', c >= 'A' && c < 'Z':
		b[len(b)-1] = c + 1
	case c == '9':
		b[len(b)-1] = '0'
	case c == 'z':
		b[len(b)-1] = 'a'
	case c == 'Z':
		b[len(b)-1] = 'A'
	default:
		b[len(b)-1] = 'x'
	}
	return string(b)
}

var junk = [][]byte{
	nil, []byte(" "), []byte("null"), []byte("[]"), []byte(`"x"`), []byte("{"), []byte("}"), []byte("{}"),
	[]byte(`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`),
	[]byte("\xff\xfe\xfd"), []byte("{\"x\":\"\xc3\x28\"}"), []byte(`{"x":1e999999}`),
	[]byte("a=1&a=2&b=%zz"), []byte(strings.Repeat("A", 200<<10)),
	[]byte(`{"x":"\u0000"}`), []byte("\x00\x00\x00\x00"),
}

func (k *kit) robust(ctx context.Context, t *testing.T) {
	rng := rand.New(rand.NewPCG(0x5eed, 0xb41d9e))
	seeds := slices.Clone(k.s.Bodies)
	for _, r := range k.s.Requests {
		seeds = append(seeds, r.Body)
	}
	n := k.s.Iterations
	if n <= 0 {
		n = 400
	}
	try := func(i int, body []byte) {
		base := k.s.Requests[rng.IntN(len(k.s.Requests))]
		req := *base
		req.Body = body
		if rng.IntN(4) == 0 {
			req.Headers = nil
		}
		res, err := k.b.Parse(ctx, &req)
		if err != nil {
			t.Fatalf("body %d (%.80q): Parse: %v", i, body, err)
		}
		switch {
		case res.Rejection != nil:
			k.checkRejection(t, fmt.Sprintf("body %d (%.80q)", i, body), res.Rejection)
		case res.OTP != nil:
			checkEvent(t, fmt.Sprintf("body %d (%.80q)", i, body), res.OTP)
		}
	}
	for i, body := range junk {
		try(i, body)
	}
	for i := range n {
		try(len(junk)+i, mutate(rng, seeds))
	}
}

// mutate returns a damaged copy of a random seed.
func mutate(rng *rand.Rand, seeds [][]byte) []byte {
	b := slices.Clone(seeds[rng.IntN(len(seeds))])
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			b = append(b, byte(rng.IntN(256)))
			continue
		}
		i := rng.IntN(len(b))
		switch rng.IntN(8) {
		case 0: // flip a byte
			b[i] = byte(rng.IntN(256))
		case 1: // truncate
			b = b[:i]
		case 2: // insert a troublesome byte
			b = slices.Insert(b, i, []byte(`"{}[],:\0`)[rng.IntN(9)])
		case 3: // insert invalid UTF-8
			b = slices.Insert(b, i, 0xff, 0xc3)
		case 4: // remove a byte
			b = slices.Delete(b, i, i+1)
		case 5: // change a digit
			if b[i] >= '0' && b[i] <= '9' {
				b[i] = byte('0' + rng.IntN(10))
			}
		case 6: // splice with another seed
			o := seeds[rng.IntN(len(seeds))]
			b = append(b[:i], o[rng.IntN(len(o)+1):]...)
		case 7: // swap a string value for another type
			if j := bytes.Index(b, []byte(`":"`)); j >= 0 {
				b = slices.Concat(b[:j+2], []byte(`[1,{"a":null},true]`), b[j+2:])
			}
		}
	}
	return b
}

var hopByHop = map[string]bool{"connection": true, "content-length": true, "transfer-encoding": true, "keep-alive": true, "upgrade": true}

// answer asks Respond for out and checks the answer's form.
func (k *kit) answer(ctx context.Context, t *testing.T, out *bridge.Outcome) *bridge.Response {
	t.Helper()
	resp, err := k.b.Respond(ctx, out)
	what := fmt.Sprintf("Respond(%s)", out.Kind)
	if out.Reason != bridge.ReasonUnspecified {
		what = fmt.Sprintf("Respond(%s %s)", out.Kind, out.Reason)
	}
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return nil
	}
	k.checkAnswer(t, what, resp)
	return resp
}

// checkAnswer checks an answer's form, and that it holds no code or phone
// number of a request the bridge accepted.
func (k *kit) checkAnswer(t *testing.T, what string, resp *bridge.Response) {
	t.Helper()
	if resp.Status < 200 || resp.Status > 599 {
		t.Errorf("%s: status %d", what, resp.Status)
	}
	if len(resp.Body) > 256<<10 {
		t.Errorf("%s: body of %d bytes", what, len(resp.Body))
	}
	var ctype string
	for _, h := range resp.Headers {
		if !settingShape.MatchString(strings.ToUpper(strings.ReplaceAll(h.Name, "-", "_"))) || len(h.Values) == 0 {
			t.Errorf("%s: malformed header %+v", what, h)
		}
		if hopByHop[strings.ToLower(h.Name)] {
			t.Errorf("%s: sets %s, which belongs to the host's HTTP server", what, h.Name)
		}
		if strings.EqualFold(h.Name, "Content-Type") && len(h.Values) > 0 {
			ctype = h.Values[0]
		}
	}
	if len(resp.Body) > 0 && ctype == "" {
		t.Errorf("%s: a body without a Content-Type", what)
	}
	if strings.Contains(ctype, "json") && !json.Valid(resp.Body) {
		t.Errorf("%s: Content-Type %s but the body is not JSON: %q", what, ctype, resp.Body)
	}
	for _, leak := range k.leaks() {
		if bytes.Contains(resp.Body, []byte(leak)) || slices.ContainsFunc(resp.Headers, func(h bridge.Header) bool {
			return slices.ContainsFunc(h.Values, func(v string) bool { return strings.Contains(v, leak) })
		}) {
			t.Errorf("%s: the answer holds %q, a code or phone number of a request the bridge was sent", what, leak)
		}
	}
}

func (k *kit) respond(ctx context.Context, t *testing.T) {
	for _, kind := range []bridge.OutcomeKind{bridge.OutcomeDelivered, bridge.OutcomePending, bridge.OutcomeTestOK, bridge.OutcomeFallbackDelivered,
		bridge.OutcomeWithheld} {
		for _, out := range []*bridge.Outcome{
			{Kind: kind, TransactionID: plantedTxn, Duration: 42 * time.Millisecond},
			{Kind: kind}, // no transaction id: a repeat still in progress
		} {
			if kind == bridge.OutcomeWithheld {
				out.Reason = bridge.ReasonUnsupportedChannel
			}
			resp := k.answer(ctx, t, out)
			if resp != nil && (resp.Status < 200 || resp.Status > 299 || !k.success(resp)) {
				t.Errorf("Respond(%s): status %d %.200s, want the vendor's success", kind, resp.Status, resp.Body)
			}
		}
	}
	// Every reason, and ones this SDK does not know (a newer host may send them).
	reasons := append(bridge.Reasons(), bridge.ReasonUnspecified, bridge.Reason(99))
	for _, r := range reasons {
		if resp := k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeFailed, Reason: r}); resp != nil && k.success(resp) {
			t.Errorf("Respond(failed %s): answered %d %.200s, which the vendor reads as a success", r, resp.Status, resp.Body)
		}
		resp := k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeRejected, Reason: r})
		if resp != nil && (resp.Status >= 200 && resp.Status < 300 || k.success(resp)) {
			t.Errorf("Respond(rejected %s): answered %d: the host refused the call", r, resp.Status)
		}
	}
	k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeUnspecified})
	k.answer(ctx, t, &bridge.Outcome{Kind: bridge.OutcomeKind(99), Reason: bridge.ReasonSMSFailed})
}

func (k *kit) concurrent(ctx context.Context, t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				req := k.s.Requests[(g+i)%len(k.s.Requests)]
				res, err := k.b.Parse(ctx, req)
				if err != nil || res.Rejection != nil {
					t.Errorf("concurrent Parse: %+v, %v", res, err)
					return
				}
				if _, err := k.b.Respond(ctx, &bridge.Outcome{Kind: bridge.OutcomeDelivered, TransactionID: plantedTxn}); err != nil {
					t.Errorf("concurrent Respond: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Post builds a POST request for tests: headers are name, value pairs.
func Post(path string, body []byte, headers ...string) *bridge.Request {
	r := &bridge.Request{Method: "POST", Path: path, Body: body, RemoteAddr: "192.0.2.1:40000"}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Headers = append(r.Headers, bridge.Header{Name: headers[i], Values: []string{headers[i+1]}})
	}
	return r
}

// BasicAuth returns an Authorization header value for HTTP Basic credentials.
func BasicAuth(user, pass string) string { return auth.BasicHeader(user, pass) }

// Problems checks what Configure returned: nil when want is empty, else a
// *bridge.ConfigError listing exactly len(want) problems, the i-th containing
// want[i], and none quoting any of secrets.
func Problems(t testing.TB, err error, want []string, secrets ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("Configure: %v", err)
		}
		return
	}
	var ce *bridge.ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != len(want) {
		t.Fatalf("Configure = %v, want a ConfigError with %d problems", err, len(want))
	}
	for i, w := range want {
		if !strings.Contains(ce.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to contain %q", i, ce.Problems[i], w)
		}
		for _, s := range secrets {
			if s = strings.TrimSpace(s); s != "" && strings.Contains(ce.Problems[i], s) {
				t.Errorf("problem %d quotes a secret: %q", i, ce.Problems[i])
			}
		}
	}
}

// Fixture returns the contents of testdata/name.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
