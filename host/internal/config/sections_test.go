package config

import (
	"maps"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sectionReader runs one section reader on the defaults plus env ("KEY=value")
// and returns its section and its problems.
func sectionReader[S any](read func(*reader) S, env ...string) (S, []string) {
	raw := map[string]string{}
	for k, v := range defaults {
		raw[k] = v.(string)
	}
	maps.Copy(raw, stringMap(environ(env)))
	r := newReader(raw, nil)
	return read(r), r.problems
}

func stringMap(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v.(string)
	}
	return out
}

// sectionCase is one case of a section reader's table: the settings, the
// section wanted (nil: not compared), and a part of each problem wanted.
type sectionCase[S any] struct {
	env      []string
	want     *S
	problems []string
}

func runSection[S any](t *testing.T, read func(*reader) S, tests map[string]sectionCase[S]) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, problems := sectionReader(read, tc.env...)
			if tc.want != nil && !reflect.DeepEqual(got, *tc.want) {
				t.Errorf("section = %+v\nwant      %+v", got, *tc.want)
			}
			if len(problems) != len(tc.problems) {
				t.Errorf("problems = %q, want %d like %q", problems, len(tc.problems), tc.problems)
				return
			}
			for i, want := range tc.problems {
				if !strings.Contains(problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], want)
				}
			}
		})
	}
}

func TestCoreReader(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).core, map[string]sectionCase[Core]{
		"defaults need a salt": {problems: []string{"HASH_SALT: is required"}},
		"base url follows the port": {env: []string{"PORT=9090", "HASH_SALT=pepper"},
			want: &Core{Port: 9090, BaseURL: "http://localhost:9090", HashSalt: "pepper"}},
		"trailing slash dropped": {env: []string{"BASE_URL=https://sms.example.org/", "HASH_SALT=pepper"},
			want: &Core{Port: 8080, BaseURL: "https://sms.example.org", HashSalt: "pepper"}},
		"bad port and url": {env: []string{"PORT=http", "BASE_URL=ftp://x", "HASH_SALT=pepper"},
			problems: []string{"PORT: must be a whole number", "BASE_URL: must be an absolute http(s) URL"}},
		"kubernetes service link": {env: []string{"PORT=tcp://10.0.0.7:8080", "HASH_SALT=pepper"},
			problems: []string{"enableServiceLinks: false"}},
	})
}

func TestPageReader(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).page, map[string]sectionCase[Page]{
		"defaults": {want: &Page{DefaultLanguage: "en", PageRatePerMinute: 120}},
		"languages": {env: []string{"DEFAULT_LANGUAGE=PT", "SUPPORTED_LANGUAGES=pt_BR, en,en", "PAGE_RATE_LIMIT_PER_MINUTE=0"},
			want: &Page{DefaultLanguage: "pt", SupportedLanguages: []string{"pt-br", "en"}}},
		"proxies": {env: []string{"TRUSTED_PROXIES=192.0.2.1, linklocal"},
			want: &Page{DefaultLanguage: "en", PageRatePerMinute: 120, TrustedProxies: []*net.IPNet{
				cidr(t, "192.0.2.1/32"), cidr(t, "169.254.0.0/16"), cidr(t, "fe80::/10")}}},
		"problems": {env: []string{"SUPPORTED_LANGUAGES=en,<b>", "PAGE_RATE_LIMIT_PER_MINUTE=-1", "TRUSTED_PROXIES=lb.local"},
			problems: []string{"SUPPORTED_LANGUAGES", "PAGE_RATE_LIMIT_PER_MINUTE", "TRUSTED_PROXIES"}},
	})
}

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStorageReader(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("ab", 32)
	runSection(t, (*reader).storage, map[string]sectionCase[Storage]{
		"embedded": {want: &Storage{DataStore: "embedded", DataDir: "./data"}},
		"key":      {env: []string{"DATA_ENCRYPTION_KEY=" + key}, want: &Storage{DataStore: "embedded", DataDir: "./data", DataKey: hexKey(key)}},
		"mongo": {env: []string{"DATA_STORE=Mongo", "MONGO_URI=mongodb://db"},
			want: &Storage{DataStore: "mongo", DataDir: "./data", Mongo: &Mongo{URI: "mongodb://db", Database: "smsplus"}}},
		"problems": {env: []string{"DATA_STORE=cassandra", "DATA_ENCRYPTION_KEY=short"},
			problems: []string{"DATA_STORE: must be one of", "DATA_ENCRYPTION_KEY: must be 32 random bytes"}},
		"embedded without dir": {env: []string{"DATA_DIR="}, problems: []string{"DATA_DIR"}},
	})
}

func hexKey(s string) []byte {
	k, _ := decodeKey(s)
	return k
}

func TestBiometricsReader(t *testing.T) {
	t.Parallel()
	td := TypingDNA{Server: "https://api.typingdna.com", Timeout: 20 * time.Second,
		RecorderURL: "https://www.typingdna.com/scripts/typingdna.js"}
	withKey := td
	withKey.APIKey, withKey.APISecret = "k-123", "s-456"
	runSection(t, (*reader).biometrics, map[string]sectionCase[Biometrics]{
		"local by default": {want: &Biometrics{BiometricsEngine: "local", LocalEnrollSamples: 3, TypingDNA: td}},
		"typingdna follows its key": {env: []string{"TYPINGDNA_API_KEY=k-123", "TYPINGDNA_API_SECRET=s-456"},
			want: &Biometrics{BiometricsEngine: "typingdna", LocalEnrollSamples: 3, TypingDNA: withKey}},
		"key without secret": {env: []string{"TYPINGDNA_API_KEY=k-123"}, problems: []string{"TYPINGDNA_API_SECRET"}},
		"problems": {env: []string{"BIOMETRICS_ENGINE=magic", "LOCAL_ENROLL_SAMPLES=1", "TYPINGDNA_TIMEOUT_MS=5s",
			"TYPINGDNA_RECORDER_URL=http://cdn.example.org/x.js"},
			problems: []string{"LOCAL_ENROLL_SAMPLES", "TYPINGDNA_TIMEOUT_MS", "TYPINGDNA_RECORDER_URL", "BIOMETRICS_ENGINE"}},
	})
}

func TestSMSReader(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).sms, map[string]sectionCase[SMS]{
		"console by default": {want: &SMS{SMSProvider: "console", Twilio: Twilio{Timeout: 10 * time.Second}}},
		"twilio follows its account": {env: []string{"TWILIO_ACCOUNT_SID=AC1", "TWILIO_AUTH_TOKEN=tok-1", "TWILIO_EDGE=dublin"},
			want: &SMS{SMSProvider: "twilio", Twilio: Twilio{AccountSID: "AC1", AuthToken: "tok-1", Edge: "dublin", Timeout: 10 * time.Second}}},
		"problems": {env: []string{"SMS_PROVIDER=carrier-pigeon", "TWILIO_TIMEOUT_MS=0"},
			problems: []string{"TWILIO_TIMEOUT_MS", "SMS_PROVIDER"}},
	})
}

func TestBridgesReader(t *testing.T) {
	t.Parallel()
	base := Bridges{HookBudget: 2 * time.Second, MaxBodyBytes: 64 << 10, HookBodyTimeout: time.Second,
		HookMaxPerClient: 16, PluginRestartBackoff: 200 * time.Millisecond}
	custom := base
	custom.EnabledBridges, custom.PluginDir, custom.PluginRestartBackoff = []string{"okta", "acme-iam"}, "/plugins", 1500*time.Millisecond
	runSection(t, (*reader).bridges, map[string]sectionCase[Bridges]{
		"defaults": {want: &base},
		"custom": {env: []string{"ENABLED_BRIDGES=Okta, acme-iam,okta", "PLUGIN_DIR=/plugins", "PLUGIN_RESTART_BACKOFF_MS=1500"},
			want: &custom},
		"problems": {env: []string{"ENABLED_BRIDGES=okta,Bad_Id", "HOOK_BUDGET_MS=500", "HOOK_BODY_TIMEOUT_MS=600",
			"PLUGIN_ALLOW_INSECURE_PERMISSIONS=perhaps"},
			problems: []string{`ENABLED_BRIDGES: "bad_id"`, "PLUGIN_ALLOW_INSECURE_PERMISSIONS", "HOOK_BODY_TIMEOUT_MS: must be less than HOOK_BUDGET_MS"}},
		// Read with strconv.Atoi and dropped on error before: now a problem.
		"bad restart backoff": {env: []string{"PLUGIN_RESTART_BACKOFF_MS=2s"}, problems: []string{"PLUGIN_RESTART_BACKOFF_MS: must be a whole number"}},
		"bad plugin threads":  {env: []string{"PLUGIN_GOMAXPROCS=0"}, problems: []string{"PLUGIN_GOMAXPROCS: must be a whole number"}},
		"named instances": {env: []string{"ENABLED_BRIDGES=okta, Okta-Preview = OKTA,okta-eu=okta,okta-preview=okta,auth0=auth0"},
			want: ptr(withBridges(base, []string{"okta", "okta-preview", "okta-eu", "auth0"},
				map[string]string{"okta-preview": "okta", "okta-eu": "okta"}))},
		// Every problem of the list at once, each naming the entry.
		"instance problems": {env: []string{"ENABLED_BRIDGES=okta,okta=auth0,preview=,=okta,okta_eu=okta,a=b,b=okta,x=" + strings.Repeat("o", 33),
			"PLUGIN_SHA256_B=" + strings.Repeat("ab", 32)},
			problems: []string{
				"the bridge id okta is listed twice, running plugin okta and plugin auth0",
				`ENABLED_BRIDGES: "" is not a valid bridge id`,
				`ENABLED_BRIDGES: "" is not a valid bridge id`,
				`ENABLED_BRIDGES: "okta_eu" is not a valid bridge id`,
				`"` + strings.Repeat("o", 33) + `" is not a valid bridge id`,
				"b is a named instance of plugin okta, and a names it as its plugin",
				"PLUGIN_SHA256_B: b is a named instance of plugin okta and runs its binary, which PLUGIN_SHA256_OKTA pins",
			}},
	})
}

func withBridges(b Bridges, ids []string, plugins map[string]string) Bridges {
	b.EnabledBridges, b.BridgePlugins = ids, plugins
	return b
}

func ptr[T any](v T) *T { return &v }

func TestBridgePlugin(t *testing.T) {
	t.Parallel()
	b := Bridges{EnabledBridges: []string{"okta", "okta-preview"}, BridgePlugins: map[string]string{"okta-preview": "okta"}}
	for id, want := range map[string]string{"okta": "okta", "okta-preview": "okta", "acme": "acme"} {
		if got := b.Plugin(id); got != want {
			t.Errorf("Plugin(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestPoliciesReader(t *testing.T) {
	t.Parallel()
	base := Policies{ChallengeTTL: 15 * time.Minute, BiometricsFailurePolicy: "fallback", MaxSMSPerPhonePerHour: 10,
		RefusedNumberTypes:    []string{"invalid", "premium_rate", "shared_cost", "uan", "satellite", "international_network", "personal_number"},
		MaxSMSPerRangePerHour: 30, MaxSMSPerHour: 2000, ResetDelay: 24 * time.Hour, ResetDelayNewUser: time.Hour,
		ResetEstablishedPatterns: 7, MaxFailedAttempts: 5, LockoutDuration: 15 * time.Minute, PerChallengeMaxFailedAttempts: 3}
	custom := base
	custom.AllowedCountries, custom.RefusedNumberTypes, custom.BiometricsFailurePolicy = []string{"US", "CA"}, nil, "fail_closed"
	runSection(t, (*reader).policies, map[string]sectionCase[Policies]{
		"seed defaults": {want: &base},
		"custom": {env: []string{"ALLOWED_COUNTRIES=us, CA", "REFUSED_NUMBER_TYPES=none", "BIOMETRICS_FAILURE_POLICY=FAIL_CLOSED"},
			want: &custom},
		"problems": {env: []string{"CHALLENGE_TTL_MINUTES=0", "BIOMETRICS_FAILURE_POLICY=shrug", "ALLOWED_COUNTRIES=USA",
			"REFUSED_NUMBER_TYPES=premium", "MAX_FAILED_ATTEMPTS=many"},
			problems: []string{"CHALLENGE_TTL_MINUTES", "BIOMETRICS_FAILURE_POLICY", "ALLOWED_COUNTRIES", "REFUSED_NUMBER_TYPES", "MAX_FAILED_ATTEMPTS"}},
	})
}

func TestOpsReader(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).ops, map[string]sectionCase[Ops]{
		"defaults": {want: &Ops{LogLevel: "info", LogFormat: "json", ShutdownDrain: 3 * time.Second}},
		"custom": {env: []string{"LOG_LEVEL=DEBUG", "LOG_FORMAT=text", "LOG_REQUESTS=yes", "SHUTDOWN_DRAIN_MS=0",
			"METRICS_TOKEN=0123456789abcdef0123"},
			want: &Ops{LogLevel: "debug", LogFormat: "text", LogRequests: true, MetricsToken: "0123456789abcdef0123"}},
		"problems": {env: []string{"LOG_LEVEL=loud", "LOG_FORMAT=xml", "LOG_REQUESTS=maybe", "SHUTDOWN_DRAIN_MS=-1", "METRICS_TOKEN=short"},
			problems: []string{"LOG_LEVEL", "LOG_FORMAT", "LOG_REQUESTS", "SHUTDOWN_DRAIN_MS", "METRICS_TOKEN"}},
	})
}
