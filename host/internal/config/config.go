// Package config loads SMS+ settings from defaults, an optional YAML file, a .env
// file and the process environment (later layers win), and checks them.
//
// Settings keep the flat environment names of the Node SMS+ (PORT, DATA_STORE,
// OKTA_SHARED_SECRET, ...), so an existing .env starts this service unchanged. In a
// YAML file the same names are written in lower case (port: 8080).
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/dotenv"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Config is the checked, typed configuration of the host.
type Config struct {
	Port            int
	BaseURL         string
	HashSalt        string
	DefaultLanguage string
	// SupportedLanguages (SUPPORTED_LANGUAGES, comma-separated) limits the
	// languages of the page and the texts; empty = every language SMS+ has texts for.
	SupportedLanguages []string

	DataStore string // embedded | redis | mongo | firestore
	DataDir   string // embedded store directory
	DataKey   []byte // optional AES-256 key sealing at rest; nil = derived from HashSalt
	// The selected server store's settings (storage.go); nil unless DataStore names it.
	Redis     *Redis
	Mongo     *Mongo
	Firestore *Firestore

	BiometricsEngine   string // local | typingdna
	LocalEnrollSamples int
	TypingDNA          TypingDNA

	SMSProvider string // console | twilio
	Twilio      Twilio

	EnabledBridges []string
	PluginDir      string // empty: next to the smsplus binary, then ./bin/plugins
	HookBudget     time.Duration
	MaxBodyBytes   int64
	// HookBodyTimeout bounds reading a hook's body, which happens before the hook
	// takes an admission slot: a client that trickles its body never holds one.
	HookBodyTimeout time.Duration
	// HookMaxPerClient caps the hook bodies one client address may be sending at
	// once, so that one client with many sockets cannot tie up the server.
	HookMaxPerClient int
	// PluginAllowInsecurePermissions accepts plugin files and folders that group
	// or others may write (PLUGIN_ALLOW_INSECURE_PERMISSIONS; off by default).
	PluginAllowInsecurePermissions bool

	ChallengeTTL            time.Duration
	BiometricsFailurePolicy string   // fallback | fail_closed
	MaxSMSPerPhonePerHour   int      // 0 = no cap
	AllowedCountries        []string // ISO 3166 regions; empty = all
	// RefusedNumberTypes are the destination types never texted (premium rate,
	// satellite, unassigned numbers...): the currency of SMS pumping.
	RefusedNumberTypes []string
	// MaxSMSPerRangePerHour caps texts to one destination range (the number
	// without its last 3 digits); MaxSMSPerHour caps all texts. 0 = no cap.
	MaxSMSPerRangePerHour int
	MaxSMSPerHour         int
	// A scheduled profile reset waits ResetDelayNewUser while the user has fewer
	// than ResetEstablishedPatterns accepted patterns, else ResetDelay.
	ResetDelay                    time.Duration
	ResetDelayNewUser             time.Duration
	ResetEstablishedPatterns      int
	MaxFailedAttempts             int
	LockoutDuration               time.Duration
	PerChallengeMaxFailedAttempts int

	LogLevel    string
	LogFormat   string // json | text
	LogRequests bool

	// ShutdownDrain is how long /readyz answers 503 before the listener closes on
	// SIGTERM, so load balancers stop sending work first.
	ShutdownDrain time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string

	// PageRatePerMinute limits the page and its API per client IP (0 = off).
	PageRatePerMinute int
	// TrustedProxies are the load balancers whose X-Forwarded-For is believed;
	// none by default, so a client cannot pick the address it is limited by.
	TrustedProxies []*net.IPNet

	// Device: device binding and the unknown-device policy (device.go).
	Device Device

	// raw holds every loaded key (lower case), so bridges can be handed the settings
	// they declare, whatever their names.
	raw map[string]string
}

// TypingDNA holds the TypingDNA engine settings.
type TypingDNA struct {
	Server      string
	APIKey      string
	APISecret   string
	TextDefault string
	Timeout     time.Duration
	// RecorderURL (TYPINGDNA_RECORDER_URL) is the TypingDNA recorder script the
	// page loads in TypingDNA mode; the page's CSP allows exactly this script.
	RecorderURL string
}

// Twilio holds the Twilio sender settings.
type Twilio struct {
	AccountSID          string
	APIKey              string
	APISecret           string
	AuthToken           string
	FromNumber          string
	MessagingServiceSID string
	StatusCallback      string
	Timeout             time.Duration
	Edge, Region        string
	BaseURL             string // a relay or a test fake instead of https://api.twilio.com
}

// Sources says where to read settings from. Environ is os.Environ() in production.
type Sources struct {
	ConfigFile string   // optional YAML file; "" = none
	EnvFile    string   // optional .env file; a missing file is fine unless EnvFileRequired
	Environ    []string // "KEY=value" pairs, highest priority
	// EnvFileRequired makes a missing EnvFile an error (it was named explicitly).
	EnvFileRequired bool
}

// defaults are the laptop defaults: no accounts, no servers.
var defaults = map[string]any{
	"port":                              "8080",
	"default_language":                  "en",
	"data_store":                        "embedded",
	"data_dir":                          "./data",
	"redis_host":                        "localhost",
	"redis_port":                        "6379",
	"redis_db":                          "0",
	"redis_key_prefix":                  "smsplus:",
	"mongo_db_name":                     "smsplus",
	"typingdna_server":                  "https://api.typingdna.com",
	"typingdna_timeout_ms":              "20000",
	"typingdna_recorder_url":            "https://www.typingdna.com/scripts/typingdna.js",
	"twilio_timeout_ms":                 "10000",
	"local_enroll_samples":              "3",
	"hook_budget_ms":                    "2000",
	"max_body_bytes":                    "65536",
	"hook_body_timeout_ms":              "1000",
	"hook_max_per_client":               "16",
	"refused_number_types":              "invalid,premium_rate,shared_cost,uan,satellite,international_network,personal_number",
	"max_sms_per_range_per_hour":        "30",
	"max_sms_per_hour":                  "2000",
	"reset_delay_hours":                 "24",
	"reset_delay_new_user_minutes":      "60",
	"reset_established_patterns":        "7",
	"challenge_ttl_minutes":             "15",
	"biometrics_failure_policy":         "fallback",
	"max_sms_per_phone_per_hour":        "10",
	"max_failed_attempts":               "5",
	"lockout_duration_minutes":          "15",
	"per_challenge_max_failed_attempts": "3",
	"log_level":                         "info",
	"log_format":                        "json",
	"log_requests":                      "false",
	"shutdown_drain_ms":                 "3000",
	"page_rate_limit_per_minute":        "120",
}

// Load reads the sources and returns the config, or an error listing every problem.
func Load(src Sources) (*Config, error) {
	k := koanf.New("\x00") // keys are flat; no nesting delimiter is wanted
	if err := k.Load(confmap.Provider(defaults, ""), nil); err != nil {
		return nil, fmt.Errorf("load defaults: %w", err)
	}
	if src.ConfigFile != "" {
		if err := k.Load(file.Provider(src.ConfigFile), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("read config file %s: %w", src.ConfigFile, err)
		}
	}
	if src.EnvFile != "" {
		_, statErr := os.Stat(src.EnvFile)
		switch {
		case statErr == nil:
			if err := k.Load(file.Provider(src.EnvFile), dotenv.ParserEnv("", "\x00", strings.ToLower)); err != nil {
				return nil, fmt.Errorf("read env file %s: %w", src.EnvFile, err)
			}
		case src.EnvFileRequired || !errors.Is(statErr, os.ErrNotExist):
			return nil, fmt.Errorf("read env file: %w", statErr)
		}
	}
	env := map[string]any{}
	for _, kv := range src.Environ {
		if key, v, ok := strings.Cut(kv, "="); ok && key != "" {
			env[strings.ToLower(key)] = v
		}
	}
	if err := k.Load(confmap.Provider(env, ""), nil); err != nil {
		return nil, fmt.Errorf("load environment: %w", err)
	}

	raw := make(map[string]string, len(k.Keys()))
	for _, key := range k.Keys() {
		raw[strings.ToLower(key)] = strings.TrimSpace(k.String(key))
	}
	return parse(raw)
}

// reader turns raw strings into typed values, collecting every problem.
type reader struct {
	raw      map[string]string
	problems []string
}

func (r *reader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (r *reader) str(key string) string { return r.raw[key] }

func (r *reader) int(key string, lo, hi int) int {
	s := r.raw[key]
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		r.problem("%s: must be a whole number from %d to %d, got %q", strings.ToUpper(key), lo, hi, s)
		return lo
	}
	return n
}

func (r *reader) bool(key string) bool {
	s := strings.ToLower(r.raw[key])
	switch s {
	case "", "false", "0", "no", "off":
		return false
	case "true", "1", "yes", "on":
		return true
	}
	r.problem("%s: must be true or false, got %q", strings.ToUpper(key), r.raw[key])
	return false
}

func (r *reader) oneOf(key string, allowed ...string) string {
	s := strings.ToLower(r.raw[key])
	if !slices.Contains(allowed, s) {
		r.problem("%s: must be one of %s, got %q", strings.ToUpper(key), strings.Join(allowed, ", "), r.raw[key])
	}
	return s
}

func parse(raw map[string]string) (*Config, error) {
	r := &reader{raw: raw}
	c := &Config{raw: raw}

	c.Port = r.int("port", 1, 65535)
	c.BaseURL = strings.TrimRight(r.str("base_url"), "/")
	if c.BaseURL == "" {
		c.BaseURL = fmt.Sprintf("http://localhost:%d", c.Port)
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.problem("BASE_URL: must be an absolute http(s) URL without query, e.g. https://sms.example.com, got %q", c.BaseURL)
	}
	c.HashSalt = r.str("hash_salt")
	if c.HashSalt == "" {
		r.problem("HASH_SALT: is required: user ids are SHA-256(phone + HASH_SALT); without a salt they could be reversed by hashing every phone number (keep the Node SMS+ value to keep existing profiles)")
	}
	c.DefaultLanguage = strings.ToLower(r.str("default_language"))
	for _, tag := range strings.Split(r.str("supported_languages"), ",") {
		tag = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
		if tag == "" || slices.Contains(c.SupportedLanguages, tag) {
			continue
		}
		if !languageTag.MatchString(tag) {
			r.problem("SUPPORTED_LANGUAGES: %q is not a language tag (e.g. en,es,fr,pt)", tag)
			continue
		}
		c.SupportedLanguages = append(c.SupportedLanguages, tag)
	}

	c.DataStore = r.oneOf("data_store", "embedded", "redis", "mongo", "firestore")
	switch c.DataStore {
	case "redis":
		c.Redis = r.redis()
	case "mongo":
		c.Mongo = r.mongo()
	case "firestore":
		c.Firestore = r.firestore()
	}
	c.DataDir = r.str("data_dir")
	if c.DataStore == "embedded" && c.DataDir == "" {
		r.problem("DATA_DIR: must name a directory for the embedded store")
	}
	if s := r.str("data_encryption_key"); s != "" {
		key, err := decodeKey(s)
		if err != nil {
			r.problem("DATA_ENCRYPTION_KEY: %v", err)
		}
		c.DataKey = key
	}

	c.TypingDNA = TypingDNA{
		Server:      strings.TrimRight(r.str("typingdna_server"), "/"),
		APIKey:      r.str("typingdna_api_key"),
		APISecret:   r.str("typingdna_api_secret"),
		TextDefault: r.str("typingdna_text_default"),
		Timeout:     time.Duration(r.int("typingdna_timeout_ms", 100, 120000)) * time.Millisecond,
		RecorderURL: r.str("typingdna_recorder_url"),
	}
	if !scriptURL(c.TypingDNA.RecorderURL) {
		r.problem("TYPINGDNA_RECORDER_URL: must be an https URL of a script (http only for localhost), got %q", c.TypingDNA.RecorderURL)
	}
	c.BiometricsEngine = strings.ToLower(r.str("biometrics_engine"))
	if c.BiometricsEngine == "" {
		c.BiometricsEngine = "local"
		if c.TypingDNA.APIKey != "" {
			c.BiometricsEngine = "typingdna"
		}
	}
	switch c.BiometricsEngine {
	case "local":
	case "typingdna":
		if c.TypingDNA.APIKey == "" || c.TypingDNA.APISecret == "" {
			r.problem("TYPINGDNA_API_KEY and TYPINGDNA_API_SECRET: both are required by the TypingDNA engine (or set BIOMETRICS_ENGINE=local)")
		}
	default:
		r.problem("BIOMETRICS_ENGINE: must be local or typingdna, got %q", c.BiometricsEngine)
	}
	c.LocalEnrollSamples = r.int("local_enroll_samples", 2, 20)

	c.Twilio = Twilio{
		AccountSID:          r.str("twilio_account_sid"),
		APIKey:              r.str("twilio_api_key"),
		APISecret:           r.str("twilio_api_secret"),
		AuthToken:           r.str("twilio_auth_token"),
		FromNumber:          r.str("twilio_from_number"),
		MessagingServiceSID: r.str("twilio_messaging_service_sid"),
		StatusCallback:      r.str("twilio_status_callback"),
		Timeout:             time.Duration(r.int("twilio_timeout_ms", 100, 120000)) * time.Millisecond,
		Edge:                r.str("twilio_edge"),
		Region:              r.str("twilio_region"),
		BaseURL:             r.str("twilio_api_base_url"),
	}
	c.SMSProvider = strings.ToLower(r.str("sms_provider"))
	if c.SMSProvider == "" {
		c.SMSProvider = "console"
		if c.Twilio.AccountSID != "" {
			c.SMSProvider = "twilio"
		}
	}
	switch c.SMSProvider {
	case "console":
	case "twilio": // the sender checks its own settings (every TWILIO_* problem at once)
	default:
		r.problem("SMS_PROVIDER: must be twilio or console, got %q", c.SMSProvider)
	}

	for _, id := range strings.Split(r.str("enabled_bridges"), ",") {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" || slices.Contains(c.EnabledBridges, id) {
			continue
		}
		if !validBridgeID(id) {
			r.problem("ENABLED_BRIDGES: %q is not a valid bridge id (lower-case letters, digits and '-')", id)
			continue
		}
		c.EnabledBridges = append(c.EnabledBridges, id)
	}
	c.PluginDir = r.str("plugin_dir")
	c.HookBudget = time.Duration(r.int("hook_budget_ms", 100, 60000)) * time.Millisecond
	c.MaxBodyBytes = int64(r.int("max_body_bytes", 1024, 1<<20))
	c.HookBodyTimeout = time.Duration(r.int("hook_body_timeout_ms", 50, 10000)) * time.Millisecond
	if c.HookBodyTimeout >= c.HookBudget {
		r.problem("HOOK_BODY_TIMEOUT_MS: must be less than HOOK_BUDGET_MS (%d), or no time is left for the hook itself", c.HookBudget.Milliseconds())
	}
	c.HookMaxPerClient = r.int("hook_max_per_client", 1, 100000)
	c.PluginAllowInsecurePermissions = r.bool("plugin_allow_insecure_permissions")

	c.ChallengeTTL = time.Duration(r.int("challenge_ttl_minutes", 1, 60)) * time.Minute
	c.BiometricsFailurePolicy = r.oneOf("biometrics_failure_policy", "fallback", "fail_closed")
	c.MaxSMSPerPhonePerHour = r.int("max_sms_per_phone_per_hour", 0, 1000)
	for _, cc := range strings.Split(r.str("allowed_countries"), ",") {
		cc = strings.ToUpper(strings.TrimSpace(cc))
		if cc == "" {
			continue
		}
		if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
			r.problem("ALLOWED_COUNTRIES: %q is not an ISO 3166 two-letter region code (e.g. US,CA,GB)", cc)
			continue
		}
		c.AllowedCountries = append(c.AllowedCountries, cc)
	}
	c.RefusedNumberTypes = r.numberTypes("refused_number_types")
	c.MaxSMSPerRangePerHour = r.int("max_sms_per_range_per_hour", 0, 1000000)
	c.MaxSMSPerHour = r.int("max_sms_per_hour", 0, 100000000)
	c.ResetDelay = time.Duration(r.int("reset_delay_hours", 1, 24*30)) * time.Hour
	c.ResetDelayNewUser = time.Duration(r.int("reset_delay_new_user_minutes", 1, 24*60*30)) * time.Minute
	c.ResetEstablishedPatterns = r.int("reset_established_patterns", 1, 1000)
	c.MaxFailedAttempts = r.int("max_failed_attempts", 1, 100)
	c.LockoutDuration = time.Duration(r.int("lockout_duration_minutes", 1, 24*60)) * time.Minute
	c.PerChallengeMaxFailedAttempts = r.int("per_challenge_max_failed_attempts", 1, 20)

	c.LogLevel = r.oneOf("log_level", "debug", "info", "warn", "error")
	c.LogFormat = r.oneOf("log_format", "json", "text")
	c.LogRequests = r.bool("log_requests")
	c.ShutdownDrain = time.Duration(r.int("shutdown_drain_ms", 0, 60000)) * time.Millisecond
	c.MetricsToken = r.str("metrics_token")
	c.PageRatePerMinute = r.int("page_rate_limit_per_minute", 0, 100000)
	c.TrustedProxies = r.trustedProxies("trusted_proxies")
	c.Device = r.device()
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		r.problem("METRICS_TOKEN: must be at least 16 characters (e.g. openssl rand -hex 16), or unset for an open /metrics")
	}

	if len(r.problems) > 0 {
		return c, &Error{Problems: r.problems}
	}
	return c, nil
}

// proxyKeywords name the address ranges a proxy usually sits in, so that an
// operator can write TRUSTED_PROXIES=private behind a Kubernetes ingress.
var proxyKeywords = map[string][]string{
	"loopback":  {"127.0.0.0/8", "::1/128"},
	"private":   {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"},
	"linklocal": {"169.254.0.0/16", "fe80::/10"},
}

// trustedProxies reads comma-separated IPs, CIDR ranges and proxyKeywords.
func (r *reader) trustedProxies(key string) []*net.IPNet {
	var out []*net.IPNet
	for _, p := range strings.Split(r.str(key), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		ranges, ok := proxyKeywords[strings.ToLower(p)]
		if !ok {
			ranges = []string{p}
			if !strings.Contains(p, "/") {
				if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
					ranges[0] += "/32"
				} else {
					ranges[0] += "/128"
				}
			}
		}
		for _, cidr := range ranges {
			_, n, err := net.ParseCIDR(cidr)
			if err != nil {
				r.problem("%s: %q is not an IP address, a CIDR range (e.g. 10.0.0.0/8) or one of loopback, private, linklocal", strings.ToUpper(key), p)
				break
			}
			out = append(out, n)
		}
	}
	return out
}

// NumberTypes are the destination types REFUSED_NUMBER_TYPES may name.
var NumberTypes = []string{"invalid", "premium_rate", "shared_cost", "uan", "satellite", "international_network",
	"personal_number", "voip", "pager", "voicemail", "toll_free", "fixed_line", "unknown"}

// numberTypes reads a comma-separated list of NumberTypes; "none" refuses none.
func (r *reader) numberTypes(key string) []string {
	var out []string
	for _, t := range strings.Split(r.str(key), ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || t == "none" || slices.Contains(out, t) {
			continue
		}
		if !slices.Contains(NumberTypes, t) {
			r.problem("%s: %q is not a number type; use none or some of %s", strings.ToUpper(key), t, strings.Join(NumberTypes, ", "))
			continue
		}
		out = append(out, t)
	}
	return out
}

// Error lists every configuration problem, one per line.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "configuration problems:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Setting returns the raw value of a setting by its environment name (any case).
func (c *Config) Setting(name string) string { return c.raw[strings.ToLower(name)] }

// EmbeddedPath is the file of the embedded store.
func (c *Config) EmbeddedPath() string { return filepath.Join(c.DataDir, "smsplus.db") }

func validBridgeID(id string) bool {
	if len(id) > 32 {
		return false
	}
	for i, ch := range id {
		ok := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' && i > 0
		if !ok {
			return false
		}
	}
	return true
}

// decodeKey accepts a 32-byte key as base64 (standard or URL) or hex.
func decodeKey(s string) ([]byte, error) {
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("must be 32 random bytes, base64 or hex encoded (e.g. openssl rand -base64 32)")
}

var languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)

// scriptURL accepts an absolute https URL without fragment or credentials, or an
// http one on a loopback host (tests, local mirrors).
func scriptURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || u.Path == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}
