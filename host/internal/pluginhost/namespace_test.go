package pluginhost

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/sdk/bridge"
)

func declare(names ...string) []bridge.Setting {
	var out []bridge.Setting
	for _, n := range names {
		out = append(out, bridge.Setting{Name: n})
	}
	return out
}

func TestSettingsPrefix(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{"okta": "OKTA_", "okta-preview": "OKTA_PREVIEW_", "acme-2": "ACME_2_"} {
		if got := SettingsPrefix(id); got != want {
			t.Errorf("SettingsPrefix(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestSettingsRule(t *testing.T) {
	t.Parallel()
	rule := newSettingsRule([]string{"okta", "okta-preview", "pingone", "ping", "acme", "twilio-extra", "aws", "backup", "Bad"},
		map[string]string{"BACKUP_": "SMS provider backup"})
	for _, tc := range []struct {
		id       string
		declared []string
		refused  []string // "" = allowed
	}{
		// The names the shipped bridges declare, and the Node SMS+ names they keep.
		{"okta", []string{"OKTA_SHARED_SECRET", "OKTA_AUTH_HEADER", "DEFAULT_PHONE_REGION"}, nil},
		{"pingone", []string{"PING_SHARED_SECRET", "PINGONE_SHARED_SECRET", "PING_USERNAME", "PING_AUTH_HEADER"}, nil},
		{"okta-preview", []string{"OKTA_PREVIEW_SHARED_SECRET"}, nil},
		// A longer namespace belongs to its own bridge.
		{"okta", []string{"OKTA_PREVIEW_SHARED_SECRET"}, []string{"OKTA_PREVIEW_SHARED_SECRET (bridge okta-preview's)"}},
		{"okta-preview", []string{"OKTA_SHARED_SECRET"}, []string{"OKTA_SHARED_SECRET (bridge okta's)"}},
		// The legacy prefix is PingOne's, even for a bridge named ping.
		{"ping", []string{"PING_SHARED_SECRET"}, []string{"PING_SHARED_SECRET (bridge pingone's)"}},
		{"acme", []string{"PING_SHARED_SECRET", "ACME_KEY"}, []string{"PING_SHARED_SECRET (bridge pingone's)"}},
		// Host settings, even under a bridge's own prefix.
		{"acme", []string{"HASH_SALT", "DATA_ENCRYPTION_KEY", "TWILIO_API_SECRET", "PLUGIN_SHA256_OKTA", "PORT", "DEFAULT_LANGUAGE"},
			[]string{"HASH_SALT (a host setting)", "DATA_ENCRYPTION_KEY (a host setting)", "TWILIO_API_SECRET (a host setting)",
				"PLUGIN_SHA256_OKTA (a host setting)", "PORT (a host setting)", "DEFAULT_LANGUAGE (a host setting)"}},
		{"twilio-extra", []string{"TWILIO_EXTRA_TOKEN"}, []string{"TWILIO_EXTRA_TOKEN (a host setting)"}},
		// The AWS SDK's own variables: the SNS provider's credentials when the
		// default chain reads them from the environment. A bridge named aws is
		// no owner of them.
		{"aws", []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
			[]string{"AWS_SECRET_ACCESS_KEY (a host setting)", "AWS_SESSION_TOKEN (a host setting)"}},
		// A reserved prefix (an SMS provider's settings) is no bridge's, even
		// one of that name.
		{"backup", []string{"BACKUP_AUTH_TOKEN", "BACKUP_EU_KEY"},
			[]string{"BACKUP_AUTH_TOKEN (SMS provider backup's)", "BACKUP_EU_KEY (SMS provider backup's)"}},
		// Anything else, and names the configuration would answer in another case.
		{"acme", []string{"AWS_SECRET_ACCESS_KEY", "HOME", "acme_key", "hash_salt", "ACME-KEY", ""},
			[]string{"AWS_SECRET_ACCESS_KEY (a host setting)", "HOME", `"acme_key" (not an upper-case setting name)`,
				`"hash_salt" (not an upper-case setting name)`, `"ACME-KEY" (not an upper-case setting name)`, `"" (not an upper-case setting name)`}},
		// A bridge the rule was not told of still gets its own namespace.
		{"newcomer", []string{"NEWCOMER_KEY", "DEFAULT_PHONE_REGION"}, nil},
		// Invalid ids are never enabled; nothing is theirs.
		{"Bad", []string{"BAD_KEY"}, []string{"BAD_KEY"}},
	} {
		err := rule.check(tc.id, declare(tc.declared...))
		if tc.refused == nil {
			if err != nil {
				t.Errorf("%s %v: %v", tc.id, tc.declared, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %v: allowed, want %v refused", tc.id, tc.declared, tc.refused)
			continue
		}
		msg := err.Error()
		lead, _, _ := strings.Cut(strings.TrimPrefix(msg, "declares settings outside its namespace: "), ". A bridge")
		if lead != strings.Join(tc.refused, ", ") {
			t.Errorf("%s %v: refused %q, want %q", tc.id, tc.declared, lead, strings.Join(tc.refused, ", "))
		}
		for _, p := range namespace(tc.id) {
			if !strings.Contains(msg, p+"*") || !strings.Contains(msg, "DEFAULT_PHONE_REGION") {
				t.Errorf("%s: the message does not state the rule: %s", tc.id, msg)
			}
		}
	}
}

// TestHostWordsCoverTheConfig keeps hostWords in step with the settings the host
// reads: a new host setting under a new word would otherwise fall into the
// namespace of a bridge of that name.
func TestHostWordsCoverTheConfig(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "config", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("config sources: %v %v", files, err)
	}
	// The keys the reader reads (r.str("hash_salt")) and the defaults' keys.
	read := regexp.MustCompile(`r\.\w+\("([a-z][a-z0-9_]*)"`)
	defaultKey := regexp.MustCompile(`(?m)^\s*"([a-z][a-z0-9_]*)":`)
	var keys []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		matches := read.FindAllStringSubmatch(string(src), -1)
		if _, block, ok := strings.Cut(string(src), "var defaults = map[string]any{"); ok {
			block, _, _ = strings.Cut(block, "\n}")
			matches = append(matches, defaultKey.FindAllStringSubmatch(block, -1)...)
		}
		for _, m := range matches {
			keys = append(keys, strings.ToUpper(m[1]))
		}
	}
	if !slices.Contains(keys, "HASH_SALT") || !slices.Contains(keys, "TWILIO_API_SECRET") || !slices.Contains(keys, "PORT") {
		t.Fatalf("the config keys were not found (%d found): update this test", len(keys))
	}
	for _, k := range keys {
		if word, _, _ := strings.Cut(k, "_"); !slices.Contains(hostWords, word) {
			t.Errorf("host setting %s: add %q to hostWords", k, word)
		}
	}
	for _, allowed := range AllowedHostSettings {
		word, _, _ := strings.Cut(allowed, "_")
		if !slices.Contains(hostWords, word) {
			t.Errorf("allowed host setting %s is not a host setting", allowed)
		}
	}
}
