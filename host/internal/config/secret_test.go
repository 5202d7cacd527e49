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

func TestPlaceholder(t *testing.T) {
	t.Parallel()
	placeholders := []string{
		"replace-me", "REPLACE_ME", "changeme", "change_me", "Change-This", "secret", "Password", "supersecret",
		"your_key", "your_secret", "YOUR-TOKEN-HERE", "xxx", "XXXXXXXX", "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "SKxxx",
		"<openssl rand -hex 32>", "<your secret>", "...", "…", "${OKTA_SHARED_SECRET}", "$HASH_SALT", "{{ .Values.salt }}",
		"0000000000", "todo", "example", "placeholder", "my-changeme-salt", "insert-your-secret-here",
	}
	for _, v := range placeholders {
		if placeholder(v) == "" {
			t.Errorf("%q is not seen as a placeholder", v)
		}
	}
	// What tests, the development .env and real secrets look like.
	real := []string{
		"pepper", "s", "k", "x", "pw", "fake-secret", "s3cret", "hunter2-secret", "dev-only-salt-not-for-production",
		"0c9f1e7a4b2d8c6e5f3a1b0d9e8c7f6a", "q8Zt+Jx2v9Lr0wYb3N5mKc7Pd1Hs4Gf6Ea8Ti0Uo2=", "ops-salt-5b1e7c", "e2e-salt",
		"yours-truly-8d1f", "xylophone-2931", "пароль-секрет-42",
	}
	for _, v := range real {
		if why := placeholder(v); why != "" {
			t.Errorf("%q is taken for a placeholder (%s)", v, why)
		}
	}
}

// Each secret setting refuses a placeholder, with one problem naming it.
func TestPlaceholderSecretsRefused(t *testing.T) {
	t.Parallel()
	salt := filepath.Join(t.TempDir(), "salt")
	write(t, salt, "changeme\n")
	tests := map[string][]string{
		"HASH_SALT":               {"HASH_SALT=replace-me"},
		"HASH_SALT from a file":   {"HASH_SALT_FILE=" + salt},
		"DATA_ENCRYPTION_KEY":     {"DATA_ENCRYPTION_KEY=replace-me"},
		"REDIS_PASSWORD":          {"DATA_STORE=redis", "REDIS_PASSWORD=password"},
		"REDIS_SENTINEL_PASSWORD": {"DATA_STORE=redis", "REDIS_ADDRS=s1:26379", "REDIS_SENTINEL_MASTER=m", "REDIS_SENTINEL_PASSWORD=changeme"},
		"REDIS_URL":               {"DATA_STORE=redis", "REDIS_URL=redis://:changeme@cache:6379/0"},
		"MONGO_URI":               {"DATA_STORE=mongo", "MONGO_URI=mongodb+srv://user:pass@cluster/db"},
		"FIREBASE_CREDENTIAL":     {"DATA_STORE=firestore", "FIREBASE_PROJECT_ID=p", "FIREBASE_CREDENTIAL=replace-me"},
		"TYPINGDNA_API_KEY":       {"TYPINGDNA_API_KEY=your_key", "TYPINGDNA_API_SECRET=8d1f0c9e7a6b"},
		"TYPINGDNA_API_SECRET":    {"TYPINGDNA_API_KEY=8d1f0c9e7a6b", "TYPINGDNA_API_SECRET=your_secret"},
		"TWILIO_API_SECRET":       {"TWILIO_API_SECRET=secret"},
		"TWILIO_AUTH_TOKEN":       {"TWILIO_AUTH_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		"METRICS_TOKEN":           {"METRICS_TOKEN=<openssl rand -hex 16>"},
		"OKTA_SHARED_SECRET":      {"ENABLED_BRIDGES=okta", "OKTA_SHARED_SECRET=supersecret"},
		"ACME_IAM_PASSWORD":       {"ENABLED_BRIDGES=acme-iam", "ACME_IAM_PASSWORD=change-me"},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !strings.HasPrefix(env[0], "HASH_SALT") {
				env = append([]string{"HASH_SALT=pepper"}, env...)
			}
			_, err := Load(Sources{Environ: env})
			if err == nil {
				t.Fatal("accepted")
			}
			problems := err.(*Error).Problems
			setting, _, _ := strings.Cut(name, " ")
			if len(problems) != 1 || !strings.HasPrefix(problems[0], setting+": ") || !strings.Contains(problems[0], "placeholder") {
				t.Errorf("problems = %q, want one: %s: ... placeholder", problems, setting)
			}
		})
	}
	// A placeholder in a setting that is not a secret, or in a bridge that is not
	// enabled, is not this rule's business.
	if _, err := Load(Sources{Environ: []string{"HASH_SALT=pepper", "TYPINGDNA_TEXT_DEFAULT=example", "OKTA_SHARED_SECRET=changeme",
		"ENABLED_BRIDGES=auth0", "AUTH0_GATEWAY_AUDIENCE=example"}}); err != nil {
		t.Errorf("refused: %v", err)
	}
}

// A bridge's declared settings are checked once the host knows them: X_FILE,
// and placeholders in the secret ones.
func TestBridgeProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	write(t, secret, "3f9a0c7e5d1b\n")
	c, err := Load(Sources{Environ: []string{"HASH_SALT=pepper", "PING_SHARED_SECRET=replace-me", "ACME_KEY=3f9a0c7e",
		"ACME_MODE=example", "ACME_TOKEN_FILE=" + filepath.Join(dir, "missing"), "ACME_USER=u", "ACME_USER_FILE=" + secret,
		"ACME_PASS_FILE=" + secret, "OTHER=changeme"}})
	if err != nil {
		t.Fatal(err)
	}
	got := c.BridgeProblems(BridgeSetting{"PING_SHARED_SECRET", true}, BridgeSetting{"ACME_KEY", true},
		BridgeSetting{"ACME_MODE", false}, BridgeSetting{"ACME_TOKEN", true}, BridgeSetting{"ACME_USER", false},
		BridgeSetting{"ACME_PASS", true}, BridgeSetting{"UNSET_SECRET", true})
	want := []string{
		"PING_SHARED_SECRET: the value is a well-known placeholder",
		"ACME_TOKEN_FILE: cannot read " + filepath.Join(dir, "missing"),
		"ACME_USER and ACME_USER_FILE: set only one of them",
	}
	if len(got) != len(want) {
		t.Fatalf("problems = %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want %q", i, got[i], want[i])
		}
	}
	if v := c.Setting("ACME_PASS"); v != "3f9a0c7e5d1b" {
		t.Errorf("ACME_PASS from its file = %q", v)
	}
}

// The public development values of configs/dev.env start SMS+, with a warning.
func TestDevelopmentSecretsWarn(t *testing.T) {
	t.Parallel()
	c, err := Load(Sources{EnvFile: filepath.Join("..", "..", "..", "configs", "dev.env"), EnvFileRequired: true})
	if err != nil {
		t.Fatal(err)
	}
	w := c.Warnings()
	for _, want := range []string{"HASH_SALT", "OKTA_SHARED_SECRET"} {
		if !slices.ContainsFunc(w, func(s string) bool { return strings.HasPrefix(s, want+": ") && strings.Contains(s, "configs/dev.env") }) {
			t.Errorf("no warning about %s: %q", want, w)
		}
	}
}

// Every example value of a secret in the docs, the deployment examples, the
// example .env and the seed is refused: an operator who copies one gets a
// problem, not a guessable secret.
func TestDocumentedExamplesAreRefused(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..")
	var files []string
	for _, pattern := range []string{"*.md", "docs/*.md", "configs/.env.example", "deploy/*/*.yaml", "docker-compose.yml"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		files = append(files, m...)
	}
	if seed := "/work/shared/seeds/000_e89b937b6161916b.txt"; fileExists(seed) {
		files = append(files, seed)
	}
	// NAME=value or NAME: value at the start of a line, the value up to a comment.
	line := regexp.MustCompile(`^\s*#?\s*([A-Z][A-Z0-9_]*)\s*[=:]\s*(.*?)\s*(?:\s#.*)?$`)
	secretName := regexp.MustCompile(`(SALT|SECRET|PASS|PASSWORD|TOKEN|API_KEY|ENCRYPTION_KEY|CREDENTIAL)$`)
	found := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			m := line.FindStringSubmatch(sc.Text())
			if m == nil || !secretName.MatchString(m[1]) {
				continue
			}
			v := strings.Trim(m[2], `"'`)
			if v == "" || strings.HasPrefix(v, "${") && strings.Contains(v, ":-") {
				continue // unset, or compose's own variable
			}
			found++
			if placeholder(v) == "" {
				t.Errorf("%s: %s=%s is accepted as a secret", f, m[1], v)
			}
		}
		fh.Close()
	}
	if found < 10 {
		t.Errorf("found %d example secrets; the scan is broken", found)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
