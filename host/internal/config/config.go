// Package config loads SMS+ settings from defaults, an optional YAML file, a .env
// file and the process environment (later layers win), and checks them.
//
// Settings keep the flat environment names of the Node SMS+ (PORT, DATA_STORE,
// OKTA_SHARED_SECRET, ...), so an existing .env starts this service unchanged. In a
// YAML file the same names are written in lower case (port: 8080).
//
// Each section of the settings (core, storage, biometrics, sms, bridges,
// policies, ops, page) has its own small reader that returns the typed section
// and adds its problems, each prefixed by the setting's name, in the style of
// Authelia's validators; parse calls them all, so every problem is reported at
// once. Any setting X may be read from the file X_FILE names (files.go); a
// well-known placeholder is refused as a secret (secret.go); names that look
// like settings but are none draw warnings (names.go).
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/knadh/koanf/parsers/dotenv"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Config is the checked, typed configuration of the host: one embedded struct
// per section, so that cfg.Port and cfg.Core.Port are the same field.
type Config struct {
	Core
	Page
	Storage
	Biometrics
	SMS
	Bridges
	Policies
	Ops
	Admission
	PageCache
	Profiling
	// SMSRouting is the providers, routes, breakers and receipts (smsroutes.go).
	SMSRouting SMSRouting
	// Device is device binding and the unknown-device policy (device.go): a
	// named field, not embedded, so its short field names stay its own.
	Device Device
	// Voice is VOICE_POLICY, and Notices the senders of code-free notices
	// (voice.go).
	Voice   Voice
	Notices Notices

	// raw holds every loaded key (lower case), so bridges can be handed the settings
	// they declare, whatever their names.
	raw map[string]string
	// from says where each setting that is not a default was set.
	from map[string]string
	// warnings found while reading (problems that do not stop SMS+).
	warnings []string
	// knownKeys are the host's settings (names.go).
	knownKeys map[string]bool
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
	"sms_breaker_failures":              "5",
	"sms_breaker_cooldown_ms":           "30000",
	"sms_receipts":                      "true",
	"sms_resend_undelivered":            "false",
	"sms_resend_within_seconds":         "300",
	"local_enroll_samples":              "3",
	"hook_budget_ms":                    "2000",
	"max_body_bytes":                    "65536",
	"hook_body_timeout_ms":              "1000",
	"hook_max_per_client":               "16",
	"hook_admission":                    "adaptive",
	"hook_max_in_flight":                "256",
	"hook_min_in_flight":                "4",
	"plugin_restart_backoff_ms":         "200",
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
	"page_image_cache":                  "1000",
}

// delim separates nested keys; settings are flat, so no real key contains it.
const delim = "\x00"

// Load reads the sources and returns the config, or an error listing every problem.
// With problems, the config is returned too (as far as it could be read), so that
// check-config can go on to check the rest.
func Load(src Sources) (*Config, error) {
	raw, from, err := merge(src)
	if err != nil {
		return nil, err
	}
	return parse(newReader(raw, from))
}

// parse reads X_FILE settings, then each section.
func parse(r *reader) (*Config, error) {
	known := knownSettings()
	r.files(known)
	c := &Config{raw: r.raw, from: r.from, knownKeys: known}
	c.read(r)
	// Settings whose names depend on others (a provider's BACKUP_ACCOUNT_SID,
	// SMS_ROUTE_GB) are known too, so their typos draw warnings.
	c.knownKeys = maps.Clone(known)
	maps.Copy(c.knownKeys, r.read)
	c.warnings = r.warnings
	if len(r.problems) > 0 {
		return c, &Error{Problems: r.problems}
	}
	return c, nil
}

// read reads each section. A new section is one more line here.
func (c *Config) read(r *reader) {
	c.Core = r.core()
	c.Page = r.page()
	c.Storage = r.storage()
	c.Biometrics = r.biometrics()
	c.SMS = r.sms()
	c.SMSRouting = r.smsRouting(c.SMS)
	c.Bridges = r.bridges()
	c.Policies = r.policies()
	c.Ops = r.ops()
	c.Admission = r.admission()
	c.PageCache = r.pageCache()
	c.Profiling = r.profiling()
	c.Device = r.device()
	c.Voice = r.voice()
	c.Notices = r.notices()
}

// merge merges the layers (defaults, YAML file, .env file, environment) into one
// map of lower-case keys, and says where each key that is not a default was set.
func merge(src Sources) (raw, from map[string]string, err error) {
	k := koanf.New(delim)
	if err := k.Load(confmap.Provider(defaults, ""), nil); err != nil {
		return nil, nil, fmt.Errorf("load defaults: %w", err)
	}
	from = map[string]string{}
	layer := func(where string, p koanf.Provider, pa koanf.Parser) error {
		l := koanf.New(delim)
		if err := l.Load(p, pa); err != nil {
			return err
		}
		for _, key := range l.Keys() {
			from[strings.ToLower(key)] = where
		}
		return k.Merge(l)
	}
	if src.ConfigFile != "" {
		if err := layer("config file "+src.ConfigFile, file.Provider(src.ConfigFile), yaml.Parser()); err != nil {
			return nil, nil, fmt.Errorf("read config file %s: %w", src.ConfigFile, err)
		}
	}
	if present, err := envFile(src); err != nil {
		return nil, nil, err
	} else if present {
		if err := layer("env file "+src.EnvFile, file.Provider(src.EnvFile), dotenv.ParserEnv("", delim, strings.ToLower)); err != nil {
			return nil, nil, fmt.Errorf("read env file %s: %w", src.EnvFile, err)
		}
	}
	if err := layer("environment", confmap.Provider(environ(src.Environ), ""), nil); err != nil {
		return nil, nil, fmt.Errorf("load environment: %w", err)
	}

	raw = make(map[string]string, len(k.Keys()))
	for _, key := range k.Keys() {
		raw[strings.ToLower(key)] = strings.TrimSpace(k.String(key))
	}
	return raw, from, nil
}

// environ turns "KEY=value" pairs into a map of lower-case keys.
func environ(pairs []string) map[string]any {
	env := map[string]any{}
	for _, kv := range pairs {
		if key, v, ok := strings.Cut(kv, "="); ok && key != "" {
			env[strings.ToLower(key)] = v
		}
	}
	return env
}

// envFile says whether the .env file is to be read: a missing one is fine unless
// it was named explicitly.
func envFile(src Sources) (bool, error) {
	if src.EnvFile == "" {
		return false, nil
	}
	_, err := os.Stat(src.EnvFile)
	switch {
	case err == nil:
		return true, nil
	case src.EnvFileRequired || !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("read env file: %w", err)
	}
	return false, nil
}

// Error lists every configuration problem, one per line.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "configuration problems:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Setting returns the value of a setting by its environment name (any case),
// read from X_FILE when X is unset (files.go). It is safe for concurrent use.
func (c *Config) Setting(name string) string {
	key := strings.ToLower(name)
	if v := c.raw[key]; v != "" || c.raw[key+fileSuffix] == "" {
		return v
	}
	v, _, _ := fromFile(c.raw, c.from, key) // a problem is reported by BridgeProblems
	return v
}

// EmbeddedPath is the file of the embedded store.
func (c *Config) EmbeddedPath() string { return filepath.Join(c.DataDir, "smsplus.db") }
