package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const healthcheckHelp = `smsplus healthcheck [--ready] [--url URL] [--timeout DURATION]

Ask a running server whether it is healthy (GET /healthz) or, with --ready,
ready to take traffic (GET /readyz). Exit 0 on 200, 1 otherwise (not ready,
shutting down, unreachable or too slow). Made for container health checks:
needs no shell and no other tool.`

// runHealthcheck asks a running server whether it is healthy (GET /healthz) or
// ready (GET /readyz): exit 0 on 200, 1 otherwise. Container images without a
// shell use it as their HEALTHCHECK, so it needs nothing but the binary.
func runHealthcheck(ctx context.Context, args []string, p proc) error {
	var src sourceFlags
	var target string
	var ready bool
	var timeout time.Duration
	fs := newFlagSet("healthcheck", healthcheckHelp, p.stdout)
	src.register(fs)
	fs.StringVar(&target, "url", "", "base `URL` of the server (default http://127.0.0.1:PORT)")
	fs.BoolVar(&ready, "ready", false, "check /readyz (store reachable, bridges running, not shutting down) instead of /healthz")
	fs.DurationVar(&timeout, "timeout", 2*time.Second, "give up after this `duration`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if timeout <= 0 {
		return usageError{errors.New("--timeout must be positive")}
	}
	if target == "" {
		// The server's PORT, read as serve reads it: from the same environment,
		// .env and YAML file, with the same checks. A configuration serve would
		// refuse runs no server to ask.
		cfg, err := src.load(p.environ)
		if err != nil {
			return fmt.Errorf("no server runs with this configuration (smsplus check-config lists every problem): %w", err)
		}
		target = fmt.Sprintf("http://127.0.0.1:%d", cfg.Port)
	}
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	url := strings.TrimRight(target, "/") + path

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usageError{fmt.Errorf("--url: %w", err)}
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A redirect is not a health answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	fmt.Fprintf(p.stdout, "ok: GET %s: %s\n", url, resp.Status)
	return nil
}
