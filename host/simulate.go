package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smsplus/smsplus/host/internal/httpapi"
	"github.com/smsplus/smsplus/sdk/bridge"
	"github.com/smsplus/smsplus/sdk/otp"
	"github.com/smsplus/smsplus/sdk/phone"
)

const simulateHelp = `smsplus simulate BRIDGE --phone E164 [flags]

Post a realistic example hook of BRIDGE (okta, auth0, pingone, cyberark,
fusionauth, or any bridge plugin that renders examples) to a running server.
The bridge's plugin renders it, authenticated with the configured settings,
so every bridge enabled in the configuration read can be simulated.`

const simulateExitCodes = `
Exit codes: 0 texted (or sending), 1 failed before posting (configuration,
plugin), 2 usage, 3 the server refused the hook (authentication, payload),
4 the server took it but texted nothing (destination refused, SMS provider
failed, bridge down...), 5 no answer (server not reachable, answer cut).
`

// runSimulate posts an example hook of any bridge to a running server. The host
// knows no vendor: it launches the bridge's plugin with its configured settings
// and asks it (the optional Example call) for an authentic call of its vendor.
func runSimulate(ctx context.Context, args []string, p proc) error {
	stdout := p.stdout
	if len(args) > 0 && isHelpArg(args[0]) {
		// The bridge comes before the flags; show them all the same.
		args = []string{"BRIDGE", "--help"}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("name the bridge, e.g. okta: smsplus simulate okta --phone +12015550123")}
	}
	id, args := strings.ToLower(args[0]), args[1:]
	var src sourceFlags
	var to, code, locale, target string
	fs := newFlagSet("simulate", simulateHelp, stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n", simulateHelp)
		fs.PrintDefaults()
		fmt.Fprint(stdout, simulateExitCodes)
	}
	src.register(fs)
	fs.StringVar(&to, "phone", "", "destination phone `number` in E.164, e.g. +12015550123 (required)")
	fs.StringVar(&code, "otp", "", "the one-time `code` to send, 4 to 10 digits (default: random 6 digits)")
	fs.StringVar(&locale, "locale", "", "the `locale` the vendor would send, e.g. en-US (default: the bridge's choice)")
	fs.StringVar(&target, "url", "", "hook `URL` (default: http://localhost:PORT/hooks/BRIDGE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case to == "":
		return usageError{errors.New("--phone is required")}
	case !phone.IsE164(to):
		return usageError{fmt.Errorf("--phone %q is not in E.164 form (+ and 7 to 15 digits)", to)}
	case code != "" && !otp.Valid(code):
		return usageError{fmt.Errorf("--otp %q is not 4 to 10 digits", code)}
	}
	cfg, err := src.load(p.environ)
	if cfg == nil {
		return err // only a missing or unreadable file gives no config at all
	}
	if code == "" {
		n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
		code = fmt.Sprintf("%06d", n.Int64())
	}
	if target == "" {
		target = fmt.Sprintf("http://localhost:%d/hooks/%s", cfg.Port, id)
	}

	// The bridge runs as `smsplus serve` runs it: the same checks, the same
	// settings. It is stopped as soon as it has rendered its example.
	m, err := startBridges(ctx, cfg, []string{id}, io.Discard)
	if err != nil {
		return err
	}
	plugin, _ := m.Get(id)
	example, err := plugin.Example(ctx, bridge.ExampleRequest{Phone: to, OTP: code, Locale: locale})
	m.Stop()
	switch {
	case errors.Is(err, bridge.ErrUnsupported):
		return fmt.Errorf("bridge %s renders no example: its plugin does not implement the optional Example call", id)
	case err != nil:
		return fmt.Errorf("bridge %s: %w", id, err)
	}
	req, err := simulatedRequest(ctx, target, example)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s (%s hook, phone %s, one-time code %s)\n", req.Method, req.URL.Redacted(), id, to, code)
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return exitError{ExitNoAnswer, fmt.Errorf("post hook: %w (is `smsplus serve` running?)", err)}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return exitError{ExitNoAnswer, fmt.Errorf("read answer: %w", err)}
	}
	fmt.Fprintf(stdout, "HTTP %d in %s\n", resp.StatusCode, time.Since(start).Round(time.Millisecond))
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintf(stdout, "%s\n", out)
	outcome, reason := resp.Header.Get(httpapi.HeaderOutcome), resp.Header.Get(httpapi.HeaderReason)
	if outcome != "" {
		fmt.Fprintf(stdout, "SMS+ outcome: %s\n", strings.TrimSpace(outcome+" "+reason))
	}
	return hookVerdict(id, resp.StatusCode, outcome, reason)
}

// hookVerdict tells from the server's answer whether the example was texted.
// The vendor's answer format alone cannot say (Okta answers most failures with
// HTTP 200 and an error object), so the server's outcome headers decide, the
// same for every bridge; a server that sends none (an older SMS+, or a proxy
// that drops them) is judged by its HTTP status.
func hookVerdict(id string, status int, outcome, reason string) error {
	why := outcome
	if reason != "" {
		why += ": " + reason
	}
	switch outcome {
	case bridge.OutcomeDelivered.String(), bridge.OutcomePending.String(),
		bridge.OutcomeFallbackDelivered.String(), bridge.OutcomeTestOK.String():
		return nil
	case bridge.OutcomeRejected.String():
		return exitError{ExitHookRefused, fmt.Errorf("the server refused the %s hook (HTTP %d, %s)", id, status, why)}
	case "":
		switch {
		case status == http.StatusNotFound:
			return exitError{ExitHookRefused, fmt.Errorf("HTTP 404: the server has no enabled bridge %s", id)}
		case status/100 == 2:
			return nil
		case status/100 == 4:
			return exitError{ExitHookRefused, fmt.Errorf("the server refused the %s hook with HTTP %d", id, status)}
		default:
			return exitError{ExitHookFailed, fmt.Errorf("the server failed the %s hook with HTTP %d", id, status)}
		}
	default: // failed, unavailable, withheld, or an outcome newer than this smsplus
		return exitError{ExitHookFailed, fmt.Errorf("the server took the %s hook but texted nothing (HTTP %d, %s)", id, status, why)}
	}
}

// simulatedRequest is the bridge's example sent to target: its method, headers
// and body, and its query added to target's.
func simulatedRequest(ctx context.Context, target string, ex *bridge.Request) (*http.Request, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, usageError{fmt.Errorf("bad --url %q: want e.g. http://localhost:8080/hooks/okta", target)}
	}
	if ex.RawQuery != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += ex.RawQuery
	}
	method := ex.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(ex.Body))
	if err != nil {
		return nil, fmt.Errorf("example request: %w", err)
	}
	for _, h := range ex.Headers {
		for _, v := range h.Values {
			req.Header.Add(h.Name, v)
		}
	}
	return req, nil
}
