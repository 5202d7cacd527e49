package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLaptopDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=pepper-pepper-pepper"}})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"port 8080":           c.Port == 8080,
		"base url follows":    c.BaseURL == "http://localhost:8080",
		"embedded store":      c.DataStore == "embedded" && c.EmbeddedPath() == filepath.Join("data", "smsplus.db"),
		"console sms":         c.SMSProvider == "console",
		"local engine":        c.BiometricsEngine == "local" && c.LocalEnrollSamples == 3,
		"seed lockout values": c.MaxFailedAttempts == 5 && c.LockoutDuration == 15*time.Minute && c.PerChallengeMaxFailedAttempts == 3,
		"challenge ttl 15m":   c.ChallengeTTL == 15*time.Minute,
		"no bridges":          len(c.EnabledBridges) == 0,
		"64 KiB body":         c.MaxBodyBytes == 64<<10,
		"typingdna server":    c.TypingDNA.Server == "https://api.typingdna.com" && c.TypingDNA.Timeout == 20*time.Second,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: config = %+v", name, c)
		}
	}
}

func TestBaseURLFollowsPort(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s", "PORT=9090"}})
	if err != nil || c.BaseURL != "http://localhost:9090" {
		t.Fatalf("base url = %q, err = %v", c.BaseURL, err)
	}
}

func TestLayersEnvBeatsDotEnvBeatsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "smsplus.yaml")
	envPath := filepath.Join(dir, ".env")
	write(t, yamlPath, "port: 7000\nhash_salt: from-yaml\nmax_failed_attempts: 9\nbase_url: https://yaml.example\n")
	write(t, envPath, "# comment\nPORT=7001\nHASH_SALT=from-dotenv\nENABLED_BRIDGES=okta, Okta ,\nOKTA_SHARED_SECRET=dotenv-secret\n")
	c, err := Load(Sources{ConfigFile: yamlPath, EnvFile: envPath, Environ: []string{"PORT=7002", "NOT_EQUALS"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7002 || c.HashSalt != "from-dotenv" || c.MaxFailedAttempts != 9 || c.BaseURL != "https://yaml.example" {
		t.Fatalf("layering wrong: %+v", c)
	}
	if len(c.EnabledBridges) != 1 || c.EnabledBridges[0] != "okta" {
		t.Fatalf("bridges = %q", c.EnabledBridges)
	}
	if c.Setting("OKTA_SHARED_SECRET") != "dotenv-secret" {
		t.Fatalf("bridge setting not reachable")
	}
}

func TestMissingEnvFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.env")
	if _, err := Load(Sources{EnvFile: missing, Environ: []string{"HASH_SALT=s"}}); err != nil {
		t.Fatalf("an absent default .env must be fine: %v", err)
	}
	if _, err := Load(Sources{EnvFile: missing, EnvFileRequired: true, Environ: []string{"HASH_SALT=s"}}); err == nil {
		t.Fatal("an explicitly named, missing env file must be an error")
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, err := Load(Sources{Environ: []string{
		"PORT=abc", "BASE_URL=ftp://x", "DATA_STORE=cassandra", "LOG_LEVEL=loud", "LOG_REQUESTS=maybe",
		"ENABLED_BRIDGES=okta,Bad_Id", "DATA_ENCRYPTION_KEY=short", "MAX_FAILED_ATTEMPTS=0",
	}})
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *Error", err)
	}
	for _, want := range []string{"PORT", "BASE_URL", "HASH_SALT", "DATA_STORE", "LOG_LEVEL", "LOG_REQUESTS", "bad_id", "DATA_ENCRYPTION_KEY", "MAX_FAILED_ATTEMPTS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems do not mention %s:\n%v", want, err)
		}
	}
	if len(ce.Problems) < 9 {
		t.Errorf("got %d problems, want at least 9:\n%v", len(ce.Problems), err)
	}
}

func TestEngineFollowsTypingDNAKey(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s", "TYPINGDNA_API_KEY=k", "TYPINGDNA_API_SECRET=s"}})
	if err != nil || c.BiometricsEngine != "typingdna" {
		t.Fatalf("engine = %q, err = %v", c.BiometricsEngine, err)
	}
	_, err = Load(Sources{Environ: []string{"HASH_SALT=s", "TYPINGDNA_API_KEY=k"}})
	if err == nil || !strings.Contains(err.Error(), "TYPINGDNA_API_SECRET") {
		t.Fatalf("a key without a secret: %v", err)
	}
}

func TestDataKey(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s", "DATA_ENCRYPTION_KEY=" + strings.Repeat("ab", 32)}})
	if err != nil || len(c.DataKey) != 32 || c.DataKey[0] != 0xab {
		t.Fatalf("key = %x, err = %v", c.DataKey, err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTrustedProxiesAndPageRate(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s", "TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.7,2001:db8::1"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.PageRatePerMinute != 120 || len(c.TrustedProxies) != 3 || c.TrustedProxies[1].String() != "192.0.2.7/32" ||
		c.TrustedProxies[2].String() != "2001:db8::1/128" {
		t.Fatalf("rate %d, proxies %v", c.PageRatePerMinute, c.TrustedProxies)
	}
	if _, err := Load(Sources{Environ: []string{"HASH_SALT=s", "TRUSTED_PROXIES=lb.internal"}}); err == nil ||
		!strings.Contains(err.Error(), "TRUSTED_PROXIES") {
		t.Fatalf("a host name must be refused: %v", err)
	}
	// Nothing is trusted by default; keywords name the usual proxy ranges.
	if c, err := Load(Sources{Environ: []string{"HASH_SALT=s"}}); err != nil || len(c.TrustedProxies) != 0 {
		t.Fatalf("default trusted proxies: %v %v", c.TrustedProxies, err)
	}
	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "TRUSTED_PROXIES=private, loopback"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range c.TrustedProxies {
		got = append(got, n.String())
	}
	if want := "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7 127.0.0.0/8 ::1/128"; strings.Join(got, " ") != want {
		t.Fatalf("keywords: %v, want %s", got, want)
	}
}

func TestIssue11Settings(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{Environ: []string{"HASH_SALT=s"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.HookBodyTimeout != time.Second || c.HookMaxPerClient != 16 || c.ResetDelay != 24*time.Hour ||
		c.ResetDelayNewUser != time.Hour || c.ResetEstablishedPatterns != 7 || c.MaxSMSPerRangePerHour != 30 ||
		c.MaxSMSPerHour != 2000 || c.PluginAllowInsecurePermissions {
		t.Fatalf("defaults: %+v", c)
	}
	if want := "invalid,premium_rate,shared_cost,uan,satellite,international_network,personal_number"; strings.Join(c.RefusedNumberTypes, ",") != want {
		t.Fatalf("refused types %v", c.RefusedNumberTypes)
	}
	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "REFUSED_NUMBER_TYPES=none"}})
	if err != nil || len(c.RefusedNumberTypes) != 0 {
		t.Fatalf("none: %v %v", c.RefusedNumberTypes, err)
	}
	_, err = Load(Sources{Environ: []string{"HASH_SALT=s", "REFUSED_NUMBER_TYPES=premium,voip", "HOOK_BODY_TIMEOUT_MS=3000",
		"HOOK_MAX_PER_CLIENT=0"}})
	for _, want := range []string{`REFUSED_NUMBER_TYPES: "premium"`, "HOOK_BODY_TIMEOUT_MS", "HOOK_MAX_PER_CLIENT"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want a problem with %s, got %v", want, err)
		}
	}
}
