package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smsplus/smsplus/configs"
	"github.com/smsplus/smsplus/host/internal/config"
)

// simulateAuth sets the credentials a vendor would send, from the configured
// secret, under the same setting names the bridges read.
var simulateAuth = map[string]func(cfg *config.Config, h http.Header) error{
	"okta": func(cfg *config.Config, h http.Header) error {
		secret, err := simulateSecret(cfg, "Okta", "OKTA_SHARED_SECRET")
		if err != nil {
			return err
		}
		name := cfg.Setting("OKTA_AUTH_HEADER")
		if name == "" {
			name = "Authorization"
		}
		h.Set(name, "Bearer "+secret)
		return nil
	},
	"auth0": func(cfg *config.Config, h http.Header) error {
		secret, err := simulateSecret(cfg, "your Auth0 Action", "AUTH0_SECRET", "AUTH0_SHARED_SECRET")
		if err != nil {
			return err
		}
		h.Set("Authorization", "Bearer "+secret)
		return nil
	},
	"pingone":    basicAuth("PingOne", "PING_USERNAME", "pingone", "PING_SHARED_SECRET", "PINGONE_SHARED_SECRET"),
	"cyberark":   basicAuth("CyberArk", "CYBERARK_USER", "cyberark", "CYBERARK_PASS", "CYBERARK_SHARED_SECRET"),
	"fusionauth": basicAuth("FusionAuth", "FUSIONAUTH_USER", "fusionauth", "FUSIONAUTH_PASS", "FUSIONAUTH_SHARED_SECRET"),
}

// simulateSecret returns the first of the named settings that is set.
func simulateSecret(cfg *config.Config, vendor string, names ...string) (string, error) {
	for _, n := range names {
		if v := strings.TrimSpace(cfg.Setting(n)); v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s is not set: simulate sends the same secret %s would", names[0], vendor)
}

// basicAuth sends HTTP Basic credentials, as PingOne, CyberArk and FusionAuth do.
func basicAuth(vendor, userSetting, defaultUser string, secretSettings ...string) func(*config.Config, http.Header) error {
	return func(cfg *config.Config, h http.Header) error {
		secret, err := simulateSecret(cfg, vendor, secretSettings...)
		if err != nil {
			return err
		}
		user := strings.TrimSpace(cfg.Setting(userSetting))
		if user == "" {
			user = defaultUser
		}
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+secret)))
		return nil
	}
}

func runSimulate(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("name the vendor (okta, auth0, pingone, cyberark, fusionauth): smsplus simulate okta --phone +12015550123")}
	}
	vendor, args := strings.ToLower(args[0]), args[1:]
	var src sourceFlags
	var phone, otp, target string
	fs := newFlagSet("simulate", stdout)
	src.register(fs)
	fs.StringVar(&phone, "phone", "", "destination phone `number`, e.g. +12015550123 (required)")
	fs.StringVar(&otp, "otp", "", "the one-time `code` to send (default: random 6 digits)")
	fs.StringVar(&target, "url", "", "hook `URL` (default: http://localhost:PORT/hooks/VENDOR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if phone == "" {
		return usageError{errors.New("--phone is required")}
	}
	setAuth, ok := simulateAuth[vendor]
	if !ok {
		return usageError{fmt.Errorf("no simulation for vendor %q (have: %s)", vendor, strings.Join(slices.Sorted(maps.Keys(simulateAuth)), ", "))}
	}
	cfg, err := src.load(environ)
	if cfg == nil {
		return err // only a missing or unreadable file gives no config at all
	}
	if target == "" {
		target = fmt.Sprintf("http://localhost:%d/hooks/%s", cfg.Port, vendor)
	}
	if otp == "" {
		n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
		otp = fmt.Sprintf("%06d", n.Int64())
	}
	tmpl, err := configs.Sample(vendor)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	body := fillPlaceholders(tmpl, map[string]string{
		"PHONE": phone, "OTP": otp, "EVENT_ID": "sim-" + now.Format("150405.000000"),
		"NOW": now.Format(time.RFC3339Nano), "EXPIRES": now.Add(5 * time.Minute).Format(time.RFC3339Nano),
	})

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return usageError{fmt.Errorf("bad --url: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if err := setAuth(cfg, req.Header); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "POST %s (%s hook, phone %s, one-time code %s)\n", target, vendor, phone, otp)
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post hook: %w (is `smsplus serve` running?)", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	fmt.Fprintf(stdout, "HTTP %d in %s\n", resp.StatusCode, time.Since(start).Round(time.Millisecond))
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintf(stdout, "%s\n", out)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the hook was refused with HTTP %d", resp.StatusCode)
	}
	return nil
}

// fillPlaceholders replaces {{NAME}} with the JSON-string-escaped value, so that
// any input yields valid JSON.
func fillPlaceholders(tmpl []byte, values map[string]string) []byte {
	out := tmpl
	for k, v := range values {
		esc, _ := json.Marshal(v)
		out = bytes.ReplaceAll(out, []byte("{{"+k+"}}"), esc[1:len(esc)-1])
	}
	return out
}
