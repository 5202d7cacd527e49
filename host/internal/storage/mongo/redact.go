package mongo

import (
	"net/url"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Redact returns the scheme and hosts of a connection string, without user
// information, database or options, for logs and errors: the password must never
// appear there, and options may carry tokens (authMechanismProperties).
func Redact(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "(MONGO_URI without a scheme)"
	}
	hosts := rest
	if end := strings.IndexAny(rest, "/?"); end >= 0 {
		hosts = rest[:end]
	}
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		hosts = "***@" + hosts[at+1:]
	}
	return scheme + "://" + hosts
}

// scrubbed is an error whose message had the password removed; it still wraps
// the original error for errors.Is.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub removes the connection string's password from err's message, in case the
// driver quoted it (a URI parse error can).
func scrub(err error, co *options.ClientOptions) error {
	if err == nil || co == nil || co.Auth == nil || co.Auth.Password == "" {
		return err
	}
	pw := co.Auth.Password
	msg := err.Error()
	for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]} {
		if form != "" {
			msg = strings.ReplaceAll(msg, form, "***")
		}
	}
	return &scrubbed{msg: msg, err: err}
}
