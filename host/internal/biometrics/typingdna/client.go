package typingdna

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults.
const (
	DefaultServer      = "https://api.typingdna.com"
	DefaultTimeout     = 20 * time.Second // TYPINGDNA_TIMEOUT_MS default
	DefaultMaxAttempts = 3                // GET and DELETE only
	DefaultBackoff     = 100 * time.Millisecond
)

const (
	maxBackoff   = 2 * time.Second
	minAttempt   = 50 * time.Millisecond // no retry when less is left before the deadline
	maxBodyBytes = 64 << 10
)

// Options configure a Client and an Engine. The zero value of every field but
// the credentials is a sane default.
type Options struct {
	Server    string        // TYPINGDNA_SERVER; "" = DefaultServer
	APIKey    string        // TYPINGDNA_API_KEY
	APISecret string        // TYPINGDNA_API_SECRET
	Timeout   time.Duration // TYPINGDNA_TIMEOUT_MS: bounds one call, retries included; 0 = 20 s

	// MaxAttempts bounds the tries of an idempotent call (GET and DELETE
	// /user) on transient failures; 0 = 3, 1 = no retry. Verify, save and auto
	// are never retried.
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled for each next one
	// (with jitter, at most 2 s); 0 = 100 ms.
	Backoff time.Duration

	HTTPClient *http.Client // nil = a client that does not follow redirects
	Logger     *slog.Logger // nil = no logs

	// Engine settings; the Client ignores them.

	// Device selects the patterns the engine counts and accepts: "mobile"
	// (default; the challenge page runs on phones), "desktop", or "all".
	Device string
	// Mode is the endpoint Submit uses: "verify" (default; POST /verify with the
	// account's auto-enroll, as the Node SMS+ does) or "auto" (POST /auto, which
	// enrolls until there are 3 patterns).
	Mode string
	// Quality is sent with /verify (1-3); 0 = not sent (TypingDNA uses 2).
	Quality int
	// StrictMinScore is the lowest score a strict verification (SubmitStrict)
	// accepts, besides result 1 and high_confidence 1; 0 =
	// DefaultStrictMinScore.
	StrictMinScore float64
	// PatternType is sent as `type` with GET /user ("0", "1", "2" or "all");
	// "" = not sent, as the Node SMS+ does.
	PatternType string
}

// Client calls the TypingDNA Authentication API: HTTP Basic auth,
// form-encoded bodies, JSON answers judged by message_code and HTTP status.
// It is safe for concurrent use.
type Client struct {
	base        string // no trailing slash
	key, secret string
	http        *http.Client
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	log         *slog.Logger
}

// NewClient checks opts and returns a client.
func NewClient(opts Options) (*Client, error) {
	var problems []error
	server := strings.TrimRight(strings.TrimSpace(opts.Server), "/")
	if server == "" {
		server = DefaultServer
	}
	if u, err := url.Parse(server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Errorf("typingdna: server %q is not an http(s) URL", server))
	} else if u.RawQuery != "" || u.Fragment != "" {
		problems = append(problems, fmt.Errorf("typingdna: server %q must not have a query or fragment", server))
	}
	if opts.APIKey == "" {
		problems = append(problems, errors.New("typingdna: API key is required"))
	}
	if opts.APISecret == "" {
		problems = append(problems, errors.New("typingdna: API secret is required"))
	}
	if opts.Timeout < 0 || opts.MaxAttempts < 0 || opts.Backoff < 0 {
		problems = append(problems, errors.New("typingdna: timeout, attempts and backoff must not be negative"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	c := &Client{
		base: server, key: opts.APIKey, secret: opts.APISecret,
		http: opts.HTTPClient, timeout: opts.Timeout, maxAttempts: opts.MaxAttempts,
		backoff: opts.Backoff, log: opts.Logger,
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.backoff == 0 {
		c.backoff = DefaultBackoff
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// defaultHTTPClient has no overall timeout (each call's context bounds it) and
// does not follow redirects: TypingDNA does not redirect, and following one
// would send the pattern somewhere else.
func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// UserQuery filters GET /user/{id}. Empty fields are not sent.
type UserQuery struct {
	Type   string // "0", "1", "2" or "all" (TypingDNA's default)
	TextID string // the phrase's text id (biometrics.TextID)
	Device string // "all", "desktop" or "mobile"
}

func (q UserQuery) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("type", q.Type)
	set("textid", q.TextID)
	set("device", q.Device)
	return v
}

// UserCounts is the answer of GET /user/{id}.
type UserCounts struct {
	Count       int    // desktop patterns
	MobileCount int    // mobile patterns
	Type        string // the pattern type counted
}

// GetUser counts the user's enrolled patterns. Retried on transient failures.
func (c *Client) GetUser(ctx context.Context, userID string, q UserQuery) (UserCounts, error) {
	env, err := c.call(ctx, "get user", userID, http.MethodGet, "/user/", q.values(), nil)
	if err != nil {
		return UserCounts{}, err
	}
	return UserCounts{Count: env.Count.int(), MobileCount: env.MobileCount.int(), Type: env.Type.s}, nil
}

// DeleteUser deletes the user's patterns (all of them with an empty query) and
// returns how many went. Retried on transient failures: deleting twice is
// harmless. A 404/38 answer counts as nothing to delete.
func (c *Client) DeleteUser(ctx context.Context, userID string, q UserQuery) (int, error) {
	env, err := c.call(ctx, "delete user", userID, http.MethodDelete, "/user/", q.values(), nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == 38 {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return env.Deleted.int(), nil
}

// VerifyRequest is the body of POST /verify/{id}.
type VerifyRequest struct {
	Pattern string // tp; several patterns joined by ";" for a dual pass
	Quality int    // 1-3; 0 = not sent
}

// Outcome is the answer of /verify and /auto.
type Outcome struct {
	Action         string  // "enroll", "verify" or "verify;enroll", as sent
	Result         int     // 1 = the typist matches
	Score          float64 // 0-100
	NetScore       float64
	HighConfidence bool
	Enrolled       bool // "enrollment": the pattern was stored
}

// Verified reports whether a comparison took place (action contains "verify").
func (o Outcome) Verified() bool { return hasAction(o.Action, "verify") }

// Enrolls reports whether the pattern was stored as an enrollment (action
// contains "enroll", or "enrollment" is 1).
func (o Outcome) Enrolls() bool { return hasAction(o.Action, "enroll") || o.Enrolled }

func hasAction(action, want string) bool {
	for _, a := range strings.FieldsFunc(action, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if strings.EqualFold(a, want) {
			return true
		}
	}
	return false
}

// Verify compares the pattern with the user's profile; with auto-enroll on (the
// TypingDNA dashboard) it also enrolls. Never retried: TypingDNA keeps
// every submitted pattern for replay protection, so a second try of the same
// pattern would be refused (code 2).
func (c *Client) Verify(ctx context.Context, userID string, r VerifyRequest) (Outcome, error) {
	form := url.Values{"tp": {r.Pattern}}
	if r.Quality != 0 {
		form.Set("quality", strconv.Itoa(r.Quality))
	}
	env, err := c.call(ctx, "verify", userID, http.MethodPost, "/verify/", nil, form)
	if err != nil {
		return Outcome{}, err
	}
	return outcome(env, "verify")
}

// Auto enrolls or verifies in one call (POST /auto/{id}): it enrolls while the
// user has fewer than 3 patterns. Never retried.
func (c *Client) Auto(ctx context.Context, userID, pattern string) (Outcome, error) {
	env, err := c.call(ctx, "auto", userID, http.MethodPost, "/auto/", nil, url.Values{"tp": {pattern}})
	if err != nil {
		return Outcome{}, err
	}
	return outcome(env, "auto")
}

func outcome(env envelope, op string) (Outcome, error) {
	o := Outcome{
		Action: env.Action.s, Result: env.Result.int(), Score: env.Score.v, NetScore: env.NetScore.v,
		HighConfidence: env.HighConfidence.int() == 1, Enrolled: env.Enrollment.int() == 1,
	}
	if o.Action == "" && env.Result.ok {
		o.Action = "verify" // a comparison result without an action
	}
	if !o.Verified() && !o.Enrolls() {
		return Outcome{}, &APIError{Op: op, Kind: KindUnexpected, Status: env.httpStatus, Code: env.MessageCode.int(),
			Message: "answer says neither enroll nor verify"}
	}
	return o, nil
}

// Save enrolls the pattern (POST /save/{id}; Pro and Enterprise plans). Never
// retried.
func (c *Client) Save(ctx context.Context, userID, pattern string) error {
	_, err := c.call(ctx, "save", userID, http.MethodPost, "/save/", nil, url.Values{"tp": {pattern}})
	return err
}

// Positions asks only for the typing positions of a mobile pattern (POST
// /verify/{id} with position_only): nothing is compared or stored. Both
// spellings of the flag are sent: position_only is the documented one,
// positionOnly is what the Node SMS+ sends (TypingDNA ignores unknown fields).
// Never retried.
func (c *Client) Positions(ctx context.Context, userID, pattern string) ([]int, error) {
	form := url.Values{"tp": {pattern}, "position_only": {"true"}, "positionOnly": {"true"}}
	env, err := c.call(ctx, "position", userID, http.MethodPost, "/verify/", nil, form)
	if err != nil {
		return nil, err
	}
	if env.Positions == nil {
		// A full verify answer here would mean the flag was ignored and the
		// pattern compared and perhaps enrolled.
		return nil, &APIError{Op: "position", Kind: KindUnexpected, Status: env.httpStatus,
			Code: env.MessageCode.int(), Message: "answer has no positions"}
	}
	out := make([]int, 0, len(env.Positions))
	for _, p := range env.Positions {
		out = append(out, p.int())
	}
	return out, nil
}

// call runs one API call: at most c.timeout and never past ctx's deadline,
// with retries for idempotent methods on transient failures.
func (c *Client) call(ctx context.Context, op, userID, method, route string, query, form url.Values) (envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	attempts := 1
	if method == http.MethodGet || method == http.MethodDelete {
		attempts = c.maxAttempts
	}
	endpoint := c.base + route + url.PathEscape(userID)
	if len(query) > 0 {
		endpoint += "?" + query.Encode()
	}
	var lastErr error
	for i := 1; ; i++ {
		env, retryAfter, err := c.once(ctx, op, method, endpoint, form)
		if err == nil {
			return env, nil
		}
		lastErr = err
		var ae *APIError
		if i >= attempts || !errors.As(err, &ae) || !ae.Transient() || ctx.Err() != nil {
			return envelope{}, lastErr
		}
		wait := c.wait(i, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+minAttempt {
			return envelope{}, lastErr
		}
		c.log.Debug("typingdna retry", "op", op, "user", maskID(userID), "attempt", i+1,
			"status", ae.Status, "code", ae.Code, "wait_ms", wait.Milliseconds())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return envelope{}, lastErr
		case <-t.C:
		}
	}
}

// wait is the pause before try i+1: exponential with jitter in [d/2, d), or the
// server's Retry-After when longer (both capped).
func (c *Client) wait(i int, retryAfter time.Duration) time.Duration {
	d := c.backoff << (i - 1)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, maxBackoff)
	}
	return d
}

// once sends one request and judges the answer.
func (c *Client) once(ctx context.Context, op, method, endpoint string, form url.Values) (envelope, time.Duration, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return envelope{}, 0, &APIError{Op: op, Kind: KindConfig, Err: errors.New("cannot build the request URL")}
	}
	req.SetBasicAuth(c.key, c.secret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "smsplus-typingdna")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return envelope{}, 0, &APIError{Op: op, Kind: KindTransient, Err: transportCause(ctx, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return envelope{}, 0, &APIError{Op: op, Kind: KindTransient, Status: resp.StatusCode, Err: transportCause(ctx, err)}
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))

	var env envelope
	if jerr := json.Unmarshal(bytes.TrimSpace(raw), &env); jerr != nil {
		// Not TypingDNA's JSON: a proxy, a load balancer or a wrong server.
		kind := classify(resp.StatusCode, 0)
		if resp.StatusCode < 400 {
			kind = KindUnexpected
		}
		return envelope{}, retryAfter, &APIError{Op: op, Kind: kind, Status: resp.StatusCode, Message: "answer is not TypingDNA JSON"}
	}
	env.httpStatus = resp.StatusCode
	status := resp.StatusCode
	if s := env.Status.int(); status < 300 && s >= 300 {
		status = s // the envelope's status mirrors HTTP; trust the worse one
	}
	code := env.MessageCode.int()
	failed := status >= 300 ||
		(env.Success.ok && env.Success.int() != 1) ||
		(!env.Success.ok && env.MessageCode.ok && code != 1)
	if !failed {
		return env, 0, nil
	}
	return envelope{}, retryAfter, &APIError{Op: op, Kind: classify(status, code), Status: resp.StatusCode,
		Code: code, Message: shorten(env.Message.s)}
}

// transportCause keeps the reason of a failed exchange without the URL, which
// holds the user id.
func transportCause(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return cerr
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func parseRetryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// envelope is every answer's JSON: the common fields and those of each call.
// Numbers are read leniently (TypingDNA's own clients type message_code as a
// string and type as "2").
type envelope struct {
	Status      number `json:"status"`
	Name        text   `json:"name"`
	Message     text   `json:"message"`
	MessageCode number `json:"message_code"`
	Success     number `json:"success"`

	Count       number `json:"count"`
	MobileCount number `json:"mobilecount"`
	Type        text   `json:"type"`
	Deleted     number `json:"deleted"`

	Action         text     `json:"action"`
	Result         number   `json:"result"`
	Score          number   `json:"score"`
	NetScore       number   `json:"net_score"`
	HighConfidence number   `json:"high_confidence"`
	Enrollment     number   `json:"enrollment"`
	Positions      []number `json:"positions"`

	httpStatus int
}

// number reads a JSON number, a numeric string or a boolean; ok reports that
// the field was present and readable.
type number struct {
	v  float64
	ok bool
}

func (n *number) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch s {
	case "null", `""`:
		return nil
	case "true":
		*n = number{1, true}
		return nil
	case "false":
		*n = number{0, true}
		return nil
	}
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return nil // an unreadable field is treated as absent
	}
	*n = number{v, true}
	return nil
}

func (n number) int() int { return int(n.v) }

// text reads a JSON string or number as text.
type text struct{ s string }

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		t.s = s
		return nil
	}
	if v := strings.TrimSpace(string(b)); v != "null" {
		t.s = v
	}
	return nil
}
