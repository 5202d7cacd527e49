package config

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Names that look like SMS+ settings but are none draw a warning; the rest of the
// environment does not.
func TestUnknownSettingWarnings(t *testing.T) {
	t.Parallel()
	okta := Namespace{ID: "okta", Prefixes: []string{"OKTA_"}, Settings: []string{"OKTA_SHARED_SECRET", "OKTA_AUTH_HEADER"}, Declared: true}
	pingone := Namespace{ID: "pingone", Prefixes: []string{"PINGONE_", "PING_"},
		Settings: []string{"PINGONE_SHARED_SECRET", "PING_SHARED_SECRET", "PING_USERNAME"}, Declared: true}
	acme := Namespace{ID: "acme-iam", Prefixes: []string{"ACME_IAM_"}} // found, not launched: its settings are not known
	tests := map[string]struct {
		env     []string
		bridges []Namespace
		want    []string // each warning starts with one of these, in order
	}{
		"typo of a host setting": {
			env:  []string{"HASH_SALTT=x"},
			want: []string{"HASH_SALTT (environment): not a setting SMS+ knows; did you mean HASH_SALT?"},
		},
		"typo of a seed setting": {
			env:  []string{"TWILIO_ACOUNT_SID=AC1", "MAX_FAILED_ATEMPTS=3", "LOG_LEVLE=debug"},
			want: []string{"LOG_LEVLE (environment): not a setting SMS+ knows; did you mean LOG_LEVEL?", "MAX_FAILED_ATEMPTS (environment): not a setting SMS+ knows; did you mean MAX_FAILED_ATTEMPTS?", "TWILIO_ACOUNT_SID (environment): not a setting SMS+ knows; did you mean TWILIO_ACCOUNT_SID?"},
		},
		"known prefix, unknown suffix": {
			env:  []string{"TWILIO_SENDER=+1", "SMSPLUS_SALT=x", "REDIS_SENTINELS=a:1"},
			want: []string{"REDIS_SENTINELS (environment): not a setting SMS+ knows", "SMSPLUS_SALT (environment): not a setting SMS+ knows", "TWILIO_SENDER (environment): not a setting SMS+ knows"},
		},
		"typo of a bridge's declared setting": {
			env:     []string{"OKTA_SHARED_SECRT=x", "OKTA_AUTH_HEADER=X-Okta", "OTKA_SHARED_SECRET=y"},
			bridges: []Namespace{okta},
			want:    []string{"OKTA_SHARED_SECRT (environment): bridge okta does not read this setting; did you mean OKTA_SHARED_SECRET?", "OTKA_SHARED_SECRET (environment): not a setting SMS+ knows; did you mean OKTA_SHARED_SECRET?"},
		},
		"legacy namespace": {
			env:     []string{"PING_SHARED_SECRET=x", "PING_USER=u", "PINGONE_SHARED_SECRET_FILE=/run/secrets/p"},
			bridges: []Namespace{pingone},
			want:    []string{"PING_USER (environment): bridge pingone does not read this setting"},
		},
		"a bridge's settings are its own until it is asked": {
			env:     []string{"ACME_IAM_TENANT=t", "ACME_IAM_SECRET=s", "OKTA_ANYTHING=1"},
			bridges: []Namespace{acme},
		},
		"an enabled bridge's namespace is its own": {
			env: []string{"ENABLED_BRIDGES=fusionauth", "FUSIONAUTH_TENANT=t"},
		},
		// A named instance's settings are under its own prefix (OKTA_PREVIEW_ for
		// okta-preview=okta), which the longest prefix gives it, not okta.
		"named instance": {
			env: []string{"ENABLED_BRIDGES=okta,okta-preview=okta", "OKTA_PREVIEW_SHARED_SECRET=x", "OKTA_PREVIEW_SHARED_SECRT=x",
				"OKTA_PREVEIW_SHARED_SECRET=y", "OKTA_PREVIEW_AUTH_HEADER_FILE=/run/h"},
			bridges: []Namespace{okta, {ID: "okta-preview", Prefixes: []string{"OKTA_PREVIEW_"},
				Settings: []string{"OKTA_PREVIEW_SHARED_SECRET", "OKTA_PREVIEW_AUTH_HEADER"}, Declared: true}},
			want: []string{
				"OKTA_PREVEIW_SHARED_SECRET (environment): bridge okta does not read this setting; did you mean OKTA_PREVIEW_SHARED_SECRET?",
				"OKTA_PREVIEW_SHARED_SECRT (environment): bridge okta-preview does not read this setting; did you mean OKTA_PREVIEW_SHARED_SECRET?",
			},
		},
		"named instance, not launched": {
			env: []string{"ENABLED_BRIDGES=okta-preview=okta", "OKTA_PREVIEW_ANYTHING=x"},
		},
		"checksum pins": {
			env:     []string{"PLUGIN_SHA256_OKTA=ab", "PLUGIN_SHA256_ACME_IAM=cd", "PLUGIN_SHA256_OTKA=ef"},
			bridges: []Namespace{okta, acme},
			want:    []string{"PLUGIN_SHA256_OTKA (environment): pins bridge otka, which is neither found nor enabled"},
		},
		"file variants": {
			env:  []string{"HASH_SALT_FILE=/run/secrets/salt", "HASH_SALTT_FILE=/run/secrets/salt"},
			want: []string{"HASH_SALTT_FILE (environment): not a setting SMS+ knows; did you mean HASH_SALT_FILE?"},
		},
		"the rest of the environment": {
			env: []string{"PATH=/usr/bin", "HOME=/root", "HOSTNAME=smsplus-7d9", "LANG=C.UTF-8", "TZ=UTC", "TERM=xterm",
				"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_PORT=tcp://10.0.0.1:443", "KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1",
				"REDIS_SERVICE_HOST=10.0.0.7", "REDIS_SERVICE_PORT=6379", "REDIS_PORT_6379_TCP=tcp://10.0.0.7:6379",
				"SMSPLUS_PORT_8080_TCP_PROTO=tcp", "SMSPLUS_SERVICE_PORT_HTTP=8080", "MONGO_PORT=tcp://10.0.0.8:27017",
				"GOOGLE_APPLICATION_CREDENTIALS=/k.json", "GOOGLE_CLOUD_PROJECT=p", "K_SERVICE=smsplus", "K_REVISION=smsplus-1",
				"SMSPLUS_TEST_REDIS_URL=redis://x", "SMSPLUS_IMAGE=smsplus:local", "SMSPLUS_HTTP_PORT=8080", "GOMAXPROCS=2",
				"GODEBUG=x=1", "SSL_CERT_FILE=/etc/ssl/cert.pem", "HTTPS_PROXY=http://proxy:3128", "FIREBASE_CONFIG={}",
				"PORT=8080", "LOG_LEVEL=info", "DEFAULT_PHONE_REGION=US", "PLUGIN_GOMAXPROCS=2", "PLUGIN_RESTART_BACKOFF_MS=100"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _ := Load(Sources{Environ: append([]string{"HASH_SALT=pepper"}, tc.env...)})
			got := c.Warnings(tc.bridges...)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings:\n%s\nwant %d:\n%s", strings.Join(got, "\n"), len(tc.want), strings.Join(tc.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("warning %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// A YAML file holds only SMS+ settings: every unknown key in it is reported, and
// warnings never quote a value.
func TestUnknownKeysInConfigFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smsplus.yaml")
	write(t, path, "hash_salt: pepper\nhome: hunter2-value\nredis:\n  host: cache\n")
	c, err := Load(Sources{ConfigFile: path})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Warnings()
	want := []string{"HOME (config file " + path + "): not a setting SMS+ knows", "REDIS.HOST (config file " + path + "): not a setting SMS+ knows"}
	if len(got) != 2 || !strings.HasPrefix(got[0], want[0]) || !strings.HasPrefix(got[1], want[1]) {
		t.Errorf("warnings = %q, want %q", got, want)
	}
	if strings.Contains(strings.Join(got, " "), "hunter2") {
		t.Errorf("a warning quotes a value: %q", got)
	}
}

// Every setting configs/.env.example documents is known, and every setting the
// host reads is documented there.
func TestExampleEnvDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	documented := exampleSettings(t)
	// The providers the example documents, so that their settings are read.
	c, err := Load(Sources{Environ: append([]string{"HASH_SALT=pepper"}, exampleProviders(t)...)})
	if err != nil {
		t.Fatal(err)
	}
	known := c.known()
	// The bridges SMS+ ships and their namespaces (pluginhost.namespace).
	shipped := []Namespace{
		{ID: "okta", Prefixes: []string{"OKTA_"}}, {ID: "auth0", Prefixes: []string{"AUTH0_"}},
		{ID: "pingone", Prefixes: []string{"PINGONE_", "PING_"}}, {ID: "cyberark", Prefixes: []string{"CYBERARK_"}},
		{ID: "fusionauth", Prefixes: []string{"FUSIONAUTH_"}},
	}
	for _, name := range documented {
		bridge := strings.HasPrefix(name, "PLUGIN_SHA256_") || slices.ContainsFunc(shipped, func(n Namespace) bool {
			return slices.ContainsFunc(n.Prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
		})
		if !known[strings.ToLower(name)] && !bridge {
			t.Errorf("configs/.env.example documents %s, which SMS+ does not read", name)
		}
	}
	if len(known) < 70 {
		t.Errorf("only %d known settings: the catalogue is broken", len(known))
	}
	for key := range known {
		if !slices.Contains(documented, envName(key)) {
			t.Errorf("%s is read but not documented in configs/.env.example", envName(key))
		}
	}
	if w := warningsFor(t, documented, shipped); len(w) > 0 {
		t.Errorf("the example .env draws warnings:\n%s", strings.Join(w, "\n"))
	}
}

// exampleSettings are the names configs/.env.example sets or shows commented out.
func exampleSettings(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "configs", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	setting := regexp.MustCompile(`^#? ?([A-Z][A-Z0-9_]*)=`)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := setting.FindStringSubmatch(sc.Text()); m != nil && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	if len(out) < 50 {
		t.Fatalf("found %d settings in configs/.env.example: the scan is broken", len(out))
	}
	return out
}

// exampleProviders is SMS_PROVIDERS naming every provider type configs/.env.example
// documents the settings of, with its http provider's template from there.
func exampleProviders(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "configs", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	// Telnyx needs a sender or a messaging profile (telnyxSenders).
	env := []string{"SMS_PROVIDERS=sns,vonage,telnyx,myapi:http", "TELNYX_FROM=+15005550006"}
	for _, line := range strings.Split(string(b), "\n") {
		for _, key := range []string{"MYAPI_URL=", "MYAPI_HEADERS=", "MYAPI_BODY="} {
			if v, ok := strings.CutPrefix(line, "# "+key); ok {
				env = append(env, key+v)
			}
		}
	}
	if len(env) != 5 {
		t.Fatalf("configs/.env.example: no MYAPI_URL, MYAPI_HEADERS and MYAPI_BODY example (%q)", env)
	}
	return env
}

func warningsFor(t *testing.T, names []string, bridges []Namespace) []string {
	t.Helper()
	env := []string{"HASH_SALT=pepper"}
	for _, n := range names {
		env = append(env, n+"=")
	}
	c, _ := Load(Sources{Environ: env})
	return c.Warnings(bridges...)
}
