package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/smsplus/smsplus/host/internal/config"
)

// runHealthcheck asks a running server whether it is healthy (GET /healthz) or
// ready (GET /readyz): exit 0 on 200, 1 otherwise. Container images without a
// shell use it as their HEALTHCHECK, so it needs nothing but the binary.
func runHealthcheck(ctx context.Context, args, environ []string, stdout io.Writer) error {
	var src sourceFlags
	var target string
	var ready bool
	var timeout time.Duration
	fs := newFlagSet("healthcheck", stdout)
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
		port, err := healthcheckPort(src, environ)
		if err != nil {
			return err
		}
		target = fmt.Sprintf("http://127.0.0.1:%d", port)
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
	fmt.Fprintf(stdout, "ok: GET %s: %s\n", url, resp.Status)
	return nil
}

// healthcheckPort is the PORT the server reads: from the environment, the .env
// file or the YAML file, as serve reads it. Other settings' problems do not
// matter here; a broken PORT does.
func healthcheckPort(src sourceFlags, environ []string) (int, error) {
	cfg, err := src.load(environ)
	if cfg == nil {
		return 0, err
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			if strings.HasPrefix(p, "PORT:") {
				return 0, errors.New(p)
			}
		}
	}
	return cfg.Port, nil
}
