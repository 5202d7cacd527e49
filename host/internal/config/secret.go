package config

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Secrets: a well-known placeholder (replace-me, changeme, xxx, <...>, the
// examples of the docs and of the Node SMS+ README) is refused as the value of a
// secret: copied from an example, it is a secret every attacker knows. Problems
// never quote a secret; they name the placeholder word they matched.

// secret reads a secret setting, refusing a placeholder.
func (r *reader) secret(key string) string {
	v, _ := r.checkedSecret(key)
	return v
}

// checkedSecret reads a secret setting and says whether it may be used: false
// for a placeholder, which is then a problem, so that the caller adds no other.
func (r *reader) checkedSecret(key string) (string, bool) {
	v := r.str(key)
	return v, r.checkSecret(key, "", v)
}

// checkSecret refuses a placeholder as the value of key (what: which part of
// it, "" for all of it), and warns about the public development values.
func (r *reader) checkSecret(key, what, value string) bool {
	if why := placeholder(value); why != "" {
		r.problem("%s", placeholderProblem(envName(key), what, why))
		return false
	}
	if strings.HasPrefix(value, devPrefix) {
		r.warn("%s: is a public development value (configs/dev.env): never use it outside development", envName(key))
	}
	return true
}

func placeholderProblem(setting, what, why string) string {
	if what == "" {
		what = "the value"
	}
	return setting + ": " + what + " is a well-known placeholder (" + why + "), not a secret: " +
		"set the real one (for a secret of your choosing, a random one: openssl rand -hex 32)"
}

// devPrefix starts the secrets of configs/dev.env, published for `make run`.
const devPrefix = "dev-only-"

// uriPassword refuses a placeholder as the password of a connection URI
// (mongodb+srv://user:pass@cluster/db is the Node SMS+ README's example).
func (r *reader) uriPassword(key, uri string) {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return
	}
	if pw, ok := u.User.Password(); ok {
		r.checkSecret(key, "the password in it", pw)
	}
}

// bridgeSecrets refuses placeholders in the settings of the enabled bridges that
// name a secret (OKTA_SHARED_SECRET, CYBERARK_PASS, ...), before any bridge is
// launched. The host checks the rest of what bridges declare secret once it
// knows it (BridgeProblems).
func (r *reader) bridgeSecrets(ids []string) {
	var keys []string
	for key := range r.raw {
		if secretName.MatchString(key) && slices.ContainsFunc(ids, func(id string) bool {
			return strings.HasPrefix(key, strings.ReplaceAll(id, "-", "_")+"_")
		}) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		r.checkSecret(key, "", r.raw[key])
	}
}

// secretName matches setting names that say they hold a secret.
var secretName = regexp.MustCompile(`_(secret|pass|password|passwd|token|api_key|private_key)$`)

// BridgeSetting is a setting a bridge declares, by its environment name.
type BridgeSetting struct {
	Name   string
	Secret bool
}

// BridgeProblems checks the settings the enabled bridges declare as the section
// readers check the host's: X and X_FILE both set, an X_FILE that cannot be
// read, a placeholder as a secret. One problem per setting, worded as the
// readers word it (the host drops those reported twice).
func (c *Config) BridgeProblems(settings ...BridgeSetting) []string {
	var out []string
	for _, s := range settings {
		if _, _, problem := fromFile(c.raw, c.from, strings.ToLower(s.Name)); problem != "" {
			out = append(out, problem)
		} else if why := placeholder(c.Setting(s.Name)); s.Secret && why != "" {
			out = append(out, placeholderProblem(s.Name, "", why))
		}
	}
	return out
}

// placeholderValues are placeholders when they are the whole value (letters and
// digits only, lower case).
var placeholderValues = []string{
	"secret", "secrets", "mysecret", "supersecret", "topsecret", "sharedsecret", "password", "passwd", "pass",
	"mypassword", "token", "mytoken", "apikey", "apisecret", "key", "salt", "hashsalt", "example", "sample", "dummy",
	"test", "todo", "tbd", "fixme", "none", "null", "nil", "undefined", "default", "foo", "bar", "foobar", "admin",
	"letmein", "qwerty", "abc123", "123456", "12345678", "123456789",
}

// placeholderWords are placeholders anywhere in the value.
var placeholderWords = []string{
	"replaceme", "changeme", "changethis", "changeit", "placeholder", "insertyour", "enteryour", "putyour",
}

var (
	// <openssl rand -hex 32>, <your secret>
	templateValue = regexp.MustCompile(`^<.*>$`)
	// ${OKTA_SHARED_SECRET}, $HASH_SALT, $(openssl rand -hex 32), {{ .Values.salt }}: not expanded
	unexpanded = regexp.MustCompile(`^(\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$\(.*\)|\{\{.*\}\})$`)
	// your_key, YOUR-SECRET-HERE, your_api_token (letters and digits only, lower case)
	yourSecret = regexp.MustCompile(`^(your|my)[a-z]*(key|secret|password|pass|passwd|token|salt|value)(here)?$`)
	// xxx, ACxxxxxxxx (a Twilio SID), SKxxx
	xes = regexp.MustCompile(`^(?i:[a-z]{0,2}x{3,})$`)
)

// placeholderRules are the shapes of placeholders: v is the value, norm its
// letters and digits in lower case.
var placeholderRules = []struct {
	why   string
	match func(v, norm string) bool
}{
	{"a <...> template", func(v, _ string) bool { return templateValue.MatchString(v) }},
	{"a variable or command that was not expanded", func(v, _ string) bool { return unexpanded.MatchString(v) }},
	{"xxx", func(v, _ string) bool { return xes.MatchString(v) }},
	{`"..."`, func(_, norm string) bool { return norm == "" }},
	{"one character repeated", func(v, _ string) bool { return len(v) >= 3 && strings.Count(v, v[:1]) == len(v) }},
	{`"your..."`, func(_, norm string) bool { return yourSecret.MatchString(norm) }},
}

// placeholder says why v is a well-known placeholder, or "" when it is not.
func placeholder(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	norm := strings.Map(func(c rune) rune {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return unicode.ToLower(c)
		}
		return -1
	}, v)
	for _, rule := range placeholderRules {
		if rule.match(v, norm) {
			return rule.why
		}
	}
	if slices.Contains(placeholderValues, norm) {
		return `"` + norm + `"`
	}
	for _, w := range placeholderWords {
		if strings.Contains(norm, w) {
			return `"` + w + `"`
		}
	}
	return ""
}
