package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reader turns raw strings into typed values for the section readers
// (core.go, storage.go, ...), collecting every problem and warning instead of
// stopping at the first. Each problem starts with the name of the setting it is
// about, as the operator writes it (HASH_SALT: ...), and never quotes a secret.
//
// A section reader is a method returning its typed section:
//
//	func (r *reader) device() Device
//
// and Config.read gives it one line (c.Device = r.device()): its settings are
// then known (no unknown-name warning) and may come from files (X_FILE). Keys
// are the lower-case setting names.
type reader struct {
	raw map[string]string
	// from says where each setting that did not come from the defaults was set:
	// "environment", "env file .env", "config file smsplus.yaml".
	from     map[string]string
	read     map[string]bool // every key a section reader asked for
	problems []string
	warnings []string
}

func newReader(raw, from map[string]string) *reader {
	return &reader{raw: raw, from: from, read: map[string]bool{}}
}

func (r *reader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (r *reader) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

// str is the raw value of key, "" when unset.
func (r *reader) str(key string) string {
	r.read[key] = true
	return r.raw[key]
}

// int reads a whole number from lo to hi; a bad value is a problem and reads as lo.
func (r *reader) int(key string, lo, hi int) int {
	s := r.str(key)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		r.problem("%s: must be a whole number from %d to %d, got %q%s", envName(key), lo, hi, s, serviceLinkHint(s))
		return lo
	}
	return n
}

// millis reads a whole number of milliseconds from lo to hi.
func (r *reader) millis(key string, lo, hi int) time.Duration {
	return time.Duration(r.int(key, lo, hi)) * time.Millisecond
}

func (r *reader) bool(key string) bool {
	s := r.str(key)
	switch strings.ToLower(s) {
	case "", "false", "0", "no", "off":
		return false
	case "true", "1", "yes", "on":
		return true
	}
	r.problem("%s: must be true or false, got %q", envName(key), s)
	return false
}

// oneOf reads one of allowed, in any case; the result is lower case.
func (r *reader) oneOf(key string, allowed ...string) string {
	s := strings.ToLower(r.str(key))
	if !slices.Contains(allowed, s) {
		r.problem("%s: must be one of %s, got %q", envName(key), strings.Join(allowed, ", "), r.raw[key])
	}
	return s
}

// list reads a comma-separated list: items trimmed, empty ones dropped.
func (r *reader) list(key string) []string {
	var out []string
	for _, item := range strings.Split(r.str(key), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// envName is the setting's name as operators write it: HASH_SALT for hash_salt.
func envName(key string) string { return strings.ToUpper(strings.ReplaceAll(key, delim, ".")) }

// serviceLinkHint explains a value Kubernetes sets by itself: a Service named
// redis gives every pod REDIS_PORT=tcp://10.0.0.7:6379.
func serviceLinkHint(v string) string {
	for _, scheme := range []string{"tcp://", "udp://", "sctp://"} {
		if strings.HasPrefix(v, scheme) {
			return " (Kubernetes sets this for a Service of that name: set enableServiceLinks: false in the pod spec)"
		}
	}
	return ""
}
