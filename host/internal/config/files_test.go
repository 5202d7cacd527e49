package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// <NAME>_FILE reads any setting from a file (Docker and Kubernetes secrets).
func TestSettingFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		write(t, p, content)
		return p
	}
	salt := file("salt", "pepper-from-file\n")
	crlf := file("crlf", "okta-secret-from-file\r\n")
	key := file("key", strings.Repeat("cd", 32)+"\n")
	redisURL := file("redis-url", "redis://app:hunter2-file@cache:6390/2\n")
	cred := file("cred.json", `{"type":"service_account","project_id":"p"}`+"\n")
	twoLines := file("two-lines", "line-one\nline-two\n\n")

	c, err := Load(Sources{Environ: []string{
		"HASH_SALT_FILE=" + salt, "DATA_ENCRYPTION_KEY_FILE=" + key, "ENABLED_BRIDGES=okta",
		"OKTA_SHARED_SECRET_FILE=" + crlf, "TYPINGDNA_TEXT_DEFAULT_FILE=" + twoLines,
		"DATA_STORE=redis", "REDIS_URL_FILE=" + redisURL,
		// A default (REDIS_KEY_PREFIX) may be replaced from a file too.
		"REDIS_KEY_PREFIX_FILE=" + file("prefix", "sms:\n"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"HASH_SALT, trailing newline trimmed":        c.HashSalt == "pepper-from-file",
		"DATA_ENCRYPTION_KEY":                        len(c.DataKey) == 32 && c.DataKey[0] == 0xcd,
		"a bridge's secret, CRLF trimmed":            c.Setting("OKTA_SHARED_SECRET") == "okta-secret-from-file",
		"only the trailing newlines are trimmed":     c.TypingDNA.TextDefault == "line-one\nline-two",
		"REDIS_URL (it may hold a password)":         c.Redis.Password == "hunter2-file" && c.Redis.Addrs[0] == "cache:6390",
		"a setting with a default":                   c.Redis.KeyPrefix == "sms:",
		"the _FILE setting itself is still readable": c.Setting("HASH_SALT_FILE") == salt,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: not read from its file", name)
		}
	}

	// Other names are read when asked for (a bridge declares them); a name ending
	// in _FILE that is nobody's setting is not read at all.
	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "PING_SHARED_SECRET_FILE=" + crlf,
		"SSL_CERT_FILE=" + filepath.Join(dir, "missing"), "AWS_WEB_IDENTITY_TOKEN_FILE=" + filepath.Join(dir, "missing")}})
	if err != nil || c.Setting("PING_SHARED_SECRET") != "okta-secret-from-file" {
		t.Errorf("a setting of a bridge that is not enabled: %q, %v", c.Setting("PING_SHARED_SECRET"), err)
	}

	c, err = Load(Sources{Environ: []string{"HASH_SALT=s", "DATA_STORE=firestore", "FIREBASE_PROJECT_ID=p",
		"FIREBASE_CREDENTIAL_FILE=" + cred}})
	if err != nil || !strings.Contains(string(c.Firestore.Credential), "service_account") {
		t.Errorf("FIREBASE_CREDENTIAL_FILE: %v", err)
	}
}

func TestSettingFromFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const content = "hunter2-file"
	secret := filepath.Join(dir, "secret")
	write(t, secret, content+"\n")
	unreadable := filepath.Join(dir, "unreadable")
	write(t, unreadable, content)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	write(t, big, strings.Repeat(content, 1<<17))
	missing := filepath.Join(dir, "missing")

	tests := map[string]struct {
		env  []string
		want []string
	}{
		"both set": {
			env:  []string{"HASH_SALT=pepper", "HASH_SALT_FILE=" + secret},
			want: []string{"HASH_SALT and HASH_SALT_FILE: set only one"},
		},
		"both set for a bridge": {
			env:  []string{"HASH_SALT=pepper", "ENABLED_BRIDGES=okta", "OKTA_SHARED_SECRET=abc", "OKTA_SHARED_SECRET_FILE=" + secret},
			want: []string{"OKTA_SHARED_SECRET and OKTA_SHARED_SECRET_FILE"},
		},
		"missing file": {
			env:  []string{"HASH_SALT_FILE=" + missing},
			want: []string{"HASH_SALT_FILE: cannot read " + missing, "HASH_SALT: is required"},
		},
		"a directory": {
			env:  []string{"HASH_SALT=pepper", "METRICS_TOKEN_FILE=" + dir},
			want: []string{"METRICS_TOKEN_FILE: cannot read " + dir},
		},
		"too big": {
			env:  []string{"HASH_SALT=pepper", "TWILIO_API_SECRET_FILE=" + big},
			want: []string{"TWILIO_API_SECRET_FILE: " + big + " is larger than"},
		},
		// The file was read; what is wrong with its value is said without quoting it.
		"bad value from a file": {
			env:  []string{"HASH_SALT=pepper", "DATA_ENCRYPTION_KEY_FILE=" + secret, "METRICS_TOKEN_FILE=" + secret},
			want: []string{"DATA_ENCRYPTION_KEY: must be 32 random bytes", "METRICS_TOKEN: must be at least 16"},
		},
	}
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		tests["unreadable"] = struct {
			env  []string
			want []string
		}{
			env:  []string{"HASH_SALT=pepper", "REDIS_PASSWORD_FILE=" + unreadable},
			want: []string{"REDIS_PASSWORD_FILE: cannot read " + unreadable + ": permission denied"},
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(Sources{Environ: tc.env})
			if err == nil {
				t.Fatalf("no problem, want %q", tc.want)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("problems do not mention %q:\n%v", want, err)
				}
			}
			if got := len(err.(*Error).Problems); got != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", got, len(tc.want), err)
			}
			if strings.Contains(err.Error(), content) {
				t.Errorf("a problem quotes the file's content:\n%v", err)
			}
		})
	}
}
