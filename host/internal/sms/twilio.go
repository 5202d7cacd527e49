package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/smsplus/smsplus/sdk/phone"
)

// ErrUnavailable: the provider could not take the message for a reason that is
// not about this message or recipient: credentials, configuration, rate limits,
// an outage, the network, or the caller's deadline. Another attempt later, or
// after fixing the settings, may succeed. Compare ErrRejected.
var ErrUnavailable = errors.New("sms: provider unavailable")

// ErrInvalidNumber: the destination is not in E.164 form; nothing was sent.
var ErrInvalidNumber = fmt.Errorf("%w: destination is not an E.164 number", ErrRejected)

// TwilioConfig holds the Twilio sender's settings. The environment names are in
// brackets; see docs/sms.md.
type TwilioConfig struct {
	AccountSID string // AC… [TWILIO_ACCOUNT_SID], required
	// Authentication: an API key [TWILIO_API_KEY] (SK…) and its secret
	// [TWILIO_API_SECRET], or the account's auth token [TWILIO_AUTH_TOKEN].
	// With an API key, the auth token may be set too: it then only verifies
	// status callbacks, which Twilio signs with the auth token whatever the
	// credentials of the request that sent the message.
	APIKey    string
	APISecret string
	AuthToken string
	// Sender: a number, short code or alphanumeric sender ID
	// [TWILIO_FROM_NUMBER], or a Messaging Service [TWILIO_MESSAGING_SERVICE_SID]
	// (MG…), or both (the number must then be in the service's sender pool).
	FromNumber          string
	MessagingServiceSID string
	// StatusCallback is the URL Twilio posts delivery updates to
	// [TWILIO_STATUS_CALLBACK]: SMS+'s receipts route as the Internet sees it;
	// optional. A message's Reference is added to its query (ReferenceParam),
	// so the signed callback names it. It requires TWILIO_AUTH_TOKEN, the key
	// Twilio signs callbacks with.
	StatusCallback string
	// Timeout bounds one send when the caller's context allows longer (or has
	// no deadline) [TWILIO_TIMEOUT_MS]; 0 means 10 s, twilio-go's own default.
	Timeout time.Duration
	// Edge and Region pick a Twilio edge location and processing region
	// [TWILIO_EDGE, TWILIO_REGION]; empty: Twilio's default (us1). They replace
	// twilio-go's own reading of those environment variables.
	Edge, Region string
	// BaseURL replaces https://api.twilio.com [TWILIO_API_BASE_URL]: for a fake
	// in tests or a relay. Plain http is accepted only for loopback hosts.
	BaseURL string
	// Log receives a debug line per message sent, with the number masked. nil:
	// no logging.
	Log *slog.Logger
}

// DefaultTwilioTimeout is the ceiling of one send when TwilioConfig.Timeout is 0.
const DefaultTwilioTimeout = 10 * time.Second

// Twilio sends messages with Twilio's Programmable Messaging API through
// twilio-go. It is safe for concurrent use.
type Twilio struct {
	cfg       TwilioConfig
	user      string // Basic auth: API key SID or account SID
	pass      string
	base      *url.URL // nil: Twilio itself
	transport http.RoundTripper
	timeout   time.Duration
	log       *slog.Logger
	replays   *replayGuard
}

var (
	_ Sender        = (*Twilio)(nil)
	_ ReceiptReader = (*Twilio)(nil)
)

var (
	accountSID    = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	apiKeySID     = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	serviceSID    = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alnum         = regexp.MustCompile(`^[A-Za-z0-9]+$`) // twilio-go refuses other credential characters
	shortCode     = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphaSenderID = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter     = regexp.MustCompile(`[A-Za-z]`)
	edgeOrRegion  = regexp.MustCompile(`^[a-z0-9-]{0,32}$`)
)

// NewTwilio checks cfg and returns a sender. Every problem is reported, each
// prefixed with its setting's name; no secret is repeated in a message.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if !accountSID.MatchString(cfg.AccountSID) {
		bad("TWILIO_ACCOUNT_SID: must be the account SID shown in the Twilio console: AC and 32 hex digits")
	}
	t := &Twilio{cfg: cfg, timeout: cfg.Timeout, log: cfg.Log, replays: newReplayGuard(twilioReplayMemory)}
	keyAuth := cfg.APIKey != "" || cfg.APISecret != ""
	if cfg.AuthToken != "" && !alnum.MatchString(cfg.AuthToken) {
		bad("TWILIO_AUTH_TOKEN: must be letters and digits only, as Twilio issues it")
	}
	switch {
	case keyAuth:
		if !apiKeySID.MatchString(cfg.APIKey) {
			bad("TWILIO_API_KEY: must be an API key SID: SK and 32 hex digits")
		}
		if !alnum.MatchString(cfg.APISecret) {
			bad("TWILIO_API_SECRET: is required with TWILIO_API_KEY and must be letters and digits only, as Twilio issues it")
		}
		t.user, t.pass = cfg.APIKey, cfg.APISecret
	case cfg.AuthToken != "":
		t.user, t.pass = cfg.AccountSID, cfg.AuthToken
	default:
		bad("TWILIO_API_KEY: credentials are required: TWILIO_API_KEY and TWILIO_API_SECRET (recommended) or TWILIO_AUTH_TOKEN")
	}

	if cfg.FromNumber == "" && cfg.MessagingServiceSID == "" {
		bad("TWILIO_FROM_NUMBER: a sender is required: TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
	}
	if f := cfg.FromNumber; f != "" && !validSender(f) {
		bad("TWILIO_FROM_NUMBER: must be an E.164 number such as +15551234567, a short code, or an alphanumeric sender ID (up to 11 letters, digits and spaces), got %q", f)
	}
	if s := cfg.MessagingServiceSID; s != "" && !serviceSID.MatchString(s) {
		bad("TWILIO_MESSAGING_SERVICE_SID: must be MG and 32 hex digits, got %q", s)
	}
	if cb := cfg.StatusCallback; cb != "" {
		if u, err := url.Parse(cb); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			bad("TWILIO_STATUS_CALLBACK: must be an absolute http(s) URL without a fragment, got %q", cb)
		}
		if cfg.AuthToken == "" {
			bad("TWILIO_AUTH_TOKEN: is required with TWILIO_STATUS_CALLBACK: Twilio signs its status callbacks with the account's auth token, even when SMS+ sends with an API key")
		}
	}
	if t.timeout == 0 {
		t.timeout = DefaultTwilioTimeout
	}
	if t.timeout < 0 {
		bad("TWILIO_TIMEOUT_MS: must be positive, got %v", cfg.Timeout)
	}
	if !edgeOrRegion.MatchString(cfg.Edge) {
		bad("TWILIO_EDGE: must be an edge name such as dublin or sydney, got %q", cfg.Edge)
	}
	if !edgeOrRegion.MatchString(cfg.Region) {
		bad("TWILIO_REGION: must be a region name such as ie1 or au1, got %q", cfg.Region)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		switch {
		case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			bad("TWILIO_API_BASE_URL: must be an absolute URL without credentials, query or fragment, got %q", cfg.BaseURL)
		case u.Scheme == "https", u.Scheme == "http" && isLoopback(u.Hostname()):
			t.base = u
		default:
			bad("TWILIO_API_BASE_URL: must be https (plain http only for a loopback host: the credentials travel in every request), got %q", cfg.BaseURL)
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	t.transport = tr
	if t.log == nil {
		t.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return t, nil
}

// validSender reports whether f is a sender SMS APIs take: an E.164 number, a
// short code or an alphanumeric sender ID (up to 11 characters, a letter at
// least).
func validSender(f string) bool {
	return phone.IsE164(f) || shortCode.MatchString(f) || (alphaSenderID.MatchString(f) && hasLetter.MatchString(f))
}

// ReferenceParam is the query parameter that carries Message.Reference in a
// status callback URL (Twilio) or a webhook URL (generic providers).
const ReferenceParam = "smsplus_ref"

// withReference returns callback with ref added to its query; callback itself
// when ref is empty.
func withReference(callback, ref string) string {
	if ref == "" {
		return callback
	}
	u, err := url.Parse(callback)
	if err != nil {
		return callback // checked by the constructor
	}
	q := u.Query()
	q.Set(ReferenceParam, ref)
	u.RawQuery = q.Encode()
	return u.String()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxBody is Twilio's limit for a message body, in characters.
const maxBody = 1600

// Send creates one message. It returns by ctx's deadline (or the sender's
// Timeout, whichever comes first): twilio-go takes no context, so the deadline is
// applied to the HTTP request through the transport.
//
// The error is a *TwilioError when Twilio answered with an error code: it wraps
// ErrRejected for a permanent problem with the recipient, the sender or the
// message, ErrUnavailable otherwise. Network failures, server errors without a
// code and the deadline wrap ErrUnavailable (and, for the deadline, the
// context's error). Errors never contain the number or the body.
func (t *Twilio) Send(ctx context.Context, m Message) (Receipt, error) {
	if !phone.IsE164(m.To) {
		return Receipt{}, ErrInvalidNumber
	}
	if m.Body == "" || utf8.RuneCountInString(m.Body) > maxBody {
		return Receipt{}, fmt.Errorf("%w: the body must have 1 to %d characters", ErrRejected, maxBody)
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("twilio: %w: %w", ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()

	params := &twilioapi.CreateMessageParams{}
	params.SetTo(m.To).SetBody(m.Body)
	from, service := t.cfg.FromNumber, t.cfg.MessagingServiceSID
	if m.From != "" {
		// A per-message sender replaces the configured one whole: a number
		// chosen for a country need not be in the default service's pool.
		from, service = m.From, ""
		if serviceSID.MatchString(m.From) {
			from, service = "", m.From
		} else if !validSender(m.From) {
			return Receipt{}, fmt.Errorf("twilio: %w: the message's sender %q is not an E.164 number, short code, alphanumeric sender ID or Messaging Service SID (check the route's sender setting)", ErrUnavailable, m.From)
		}
	}
	if from != "" {
		params.SetFrom(from)
	}
	if service != "" {
		params.SetMessagingServiceSid(service)
	}
	if t.cfg.StatusCallback != "" {
		params.SetStatusCallback(withReference(t.cfg.StatusCallback, m.Reference))
	}

	// No retry, here or below: creating a message is not idempotent (Twilio has no
	// idempotency key for it), so a second attempt after a timeout or a 5xx could
	// text the user twice. net/http does not replay a POST either. The caller owns
	// the failure policy.
	msg, err := t.api(ctx).CreateMessage(params)
	if err != nil {
		return Receipt{}, classify(ctx, err)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return Receipt{}, fmt.Errorf("twilio: %w: the answer carries no message SID", ErrUnavailable)
	}
	t.log.Debug("sms sent", "provider", "twilio", "to", maskNumber(m.To), "sid", *msg.Sid, "status", deref(msg.Status))
	return Receipt{ID: *msg.Sid}, nil
}

// api returns a twilio-go service whose HTTP requests carry ctx. A client per
// send is cheap (a few small structs); the connection pool is shared.
func (t *Twilio) api(ctx context.Context) *twilioapi.ApiService {
	c := &client.Client{
		Credentials: client.NewCredentials(t.user, t.pass),
		HTTPClient: &http.Client{
			Transport: ctxTransport{ctx: ctx, base: t.transport, to: t.base},
			// twilio-go's default: an API answer is never a redirect to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		UserAgentExtensions: []string{"smsplus"},
	}
	c.SetAccountSid(t.cfg.AccountSID)
	api := twilioapi.NewApiServiceWithClient(c)
	// NewRequestHandler read TWILIO_EDGE and TWILIO_REGION from the process
	// environment; the configuration is the one source instead.
	api.RequestHandler().Edge = t.cfg.Edge
	api.RequestHandler().Region = t.cfg.Region
	return api
}

// ctxTransport gives each request the send's context (twilio-go builds requests
// with context.Background) and, with a base URL, sends it there instead of
// api.twilio.com. Cancelling the context aborts the dial, the wait for headers
// and the read of the body alike.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
	to   *url.URL
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	if t.to != nil {
		r.URL.Scheme = t.to.Scheme
		r.URL.Host = t.to.Host
		r.URL.Path = strings.TrimSuffix(t.to.Path, "/") + req.URL.Path
		r.URL.RawPath = ""
		r.Host = t.to.Host
	}
	return t.base.RoundTrip(r)
}

// TwilioError is an error answer from Twilio. It wraps ErrRejected when the
// problem is permanent for this message (recipient, sender, content) and
// ErrUnavailable otherwise (credentials, account, rate limits, Twilio itself).
type TwilioError struct {
	Code   int    // Twilio error code: https://www.twilio.com/docs/api/errors/<Code>
	Status int    // HTTP status of the answer
	Cause  string // what it means, for an operator; names no number and no text

	permanent bool
}

func (e *TwilioError) Error() string {
	return fmt.Sprintf("twilio: error %d (HTTP %d): %s", e.Code, e.Status, e.Cause)
}

func (e *TwilioError) Unwrap() error {
	if e.permanent {
		return ErrRejected
	}
	return ErrUnavailable
}

// twilioCause is what SMS+ knows of a Twilio error code.
type twilioCause struct {
	cause     string
	permanent bool
}

// twilioCauses maps the codes a message create (or, for 300xx, a delivery status
// callback) can carry. Twilio's own message is not kept: it often quotes the
// number.
var twilioCauses = map[int]twilioCause{
	// The recipient.
	21211: {"the 'To' number is not a valid phone number", true},
	21265: {"the 'To' number is a short code, which cannot receive messages", true},
	21266: {"the 'To' number is the sender's own number", true},
	21408: {"sending to the 'To' number's country is not enabled for the account (Messaging Geo Permissions)", true},
	21608: {"trial account: the 'To' number is not a verified number of the account", true},
	21610: {"the recipient unsubscribed by replying STOP; they must reply START to receive messages again", true},
	21612: {"the 'To' number cannot be reached from this sender (unsupported 'To'/'From' combination)", true},
	21614: {"the 'To' number is not a mobile number", true},
	21635: {"the 'To' number is a landline", true},
	// The sender.
	21212: {"the 'From' value is not a valid phone number, short code or alphanumeric sender ID", true},
	21603: {"no sender: neither 'From' nor a Messaging Service was given", true},
	21606: {"the 'From' number is not an SMS-capable number of this account for this destination", true},
	21659: {"the 'From' number is not a Twilio number", true},
	21660: {"the 'From' number does not belong to this account", true},
	21705: {"the Messaging Service SID is not valid", true},
	// The message.
	21602: {"the message body is empty", true},
	21604: {"no 'To' number was given", true},
	21617: {"the message body is longer than 1600 characters", true},
	// Delivery, reported after the create (status callback or message fetch).
	30003: {"delivery: the handset is unreachable (switched off or out of coverage)", true},
	30004: {"delivery: the message was blocked by the recipient or their carrier", true},
	30005: {"delivery: the 'To' number is unknown to its carrier or no longer exists", true},
	30006: {"delivery: the 'To' number is a landline or its carrier cannot receive SMS", true},
	30007: {"delivery: the carrier filtered the message as unwanted", true},
	30008: {"delivery: failed for an unknown reason", false},
	// The account and the credentials.
	20003: {"authentication failed: check TWILIO_ACCOUNT_SID and TWILIO_API_KEY/TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN)", false},
	20404: {"not found: check TWILIO_ACCOUNT_SID (and TWILIO_API_BASE_URL if set)", false},
	21222: {"the credentials contain characters Twilio does not issue", false},
	21224: {"the credentials contain characters Twilio does not issue", false},
	// Rate limits.
	20429: {"rate limited: too many concurrent requests to Twilio", false},
	14107: {"rate limited: too many messages between this sender and recipient in a short time", false},
	63017: {"rate limited: the account's message rate is exceeded", false},
	// Twilio itself.
	20500: {"Twilio internal error", false},
	20503: {"Twilio service unavailable", false},
}

// newTwilioError explains a code; an unknown code is judged by the HTTP status.
func newTwilioError(code, status int) *TwilioError {
	if c, ok := twilioCauses[code]; ok {
		return &TwilioError{Code: code, Status: status, Cause: c.cause, permanent: c.permanent}
	}
	e := &TwilioError{Code: code, Status: status}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Cause = "Twilio refused the credentials"
	case status == http.StatusNotFound:
		e.Cause = "not found: check TWILIO_ACCOUNT_SID"
	case status == http.StatusTooManyRequests:
		e.Cause = "rate limited"
	case status >= 500 || status < 400:
		e.Cause = "Twilio server error"
	default:
		e.Cause, e.permanent = "Twilio refused the message", true
	}
	return e
}

// classify turns what twilio-go returned into the package's errors.
func classify(ctx context.Context, err error) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		return newTwilioError(rest.Code, rest.Status)
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		return newTwilioError(v1.Code, v1.HttpStatusCode)
	}
	if cerr := ctx.Err(); cerr != nil {
		// Twilio may or may not have accepted the message.
		return fmt.Errorf("twilio: %w: %w (the message may have been accepted)", ErrUnavailable, cerr)
	}
	// Network errors, and answers with an error status but no Twilio JSON (a
	// proxy's or load balancer's page). twilio-go's text names the URL and the
	// status, never the form.
	return fmt.Errorf("twilio: %w: %w", ErrUnavailable, err)
}

// maskNumber keeps the country prefix and the last two digits: "+14•••42".
func maskNumber(p string) string {
	if len(p) < 6 {
		return "•••"
	}
	return p[:3] + "•••" + p[len(p)-2:]
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
