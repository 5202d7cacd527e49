package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/sdk/phone"
)

// HTTPConfig describes an SMS API that SMS+ calls with one HTTP request per
// message, built from a template. docs/sms-providers.md has tested settings
// for Vonage and Telnyx.
//
// Placeholders, written {{name}}, may appear in URL, in Headers' values and in
// Body's string values:
//
//	{{to}}          the destination, E.164 (+447700900123)
//	{{to_digits}}   the destination without its "+" (447700900123)
//	{{text}}        the message
//	{{text_type}}   TextTypeGSM7 or TextTypeUnicode, by the text's alphabet
//	{{from}}        the message's sender, else From
//	{{reference}}   Message.Reference
//	{{callback}}    Callback with the reference in its query (ReferenceParam),
//	                or empty
//	{{receipt_url}} Callback as it is (for an API that echoes the reference
//	                itself in its receipts), or empty
//	{{secret.NAME}} Secrets["NAME"]
//	{{param.NAME}}  Params["NAME"]
//
// Values are escaped for where they land: JSON string escaping in a JSON body
// (the template is parsed as JSON, filled, and encoded again), form encoding in
// a form body, path or query escaping in the URL. In a header only secrets
// and params may appear. A body member (JSON) or field (form) whose whole value is one
// placeholder that is empty is left out, so that an optional sender or
// reference is not sent empty.
type HTTPConfig struct {
	// Name names the provider in errors and logs (the operator's name for it).
	Name string
	// Method is the HTTP method; empty: POST.
	Method string
	// URL is the API endpoint. https, or plain http for a loopback host only
	// (a fake in tests): the credentials travel in every request.
	URL string
	// Headers are sent with each request, e.g. "Authorization":
	// "Bearer {{secret.api_key}}". Content-Type is set from BodyFormat.
	Headers map[string]string
	// Secrets are the values {{secret.NAME}} stands for (API keys, tokens).
	// They are never logged nor put in an error.
	Secrets map[string]string
	// Params are the values {{param.NAME}} stands for: settings that are not
	// secret (an account id, a messaging profile id).
	Params map[string]string
	// BodyFormat is "json", "form" or "" (no body).
	BodyFormat string
	// Body is the template: a JSON document for "json", a form
	// (name=value&name=value) for "form".
	Body string
	// From is the default sender ({{from}}); empty: none.
	From string
	// Callback is the URL of SMS+'s receipts route for this provider, as the
	// Internet sees it ({{callback}}); empty: none.
	Callback string
	// TextTypeGSM7 and TextTypeUnicode are what {{text_type}} becomes for a
	// text in the GSM 7-bit alphabet and for any other (Vonage: "text" and
	// "unicode").
	TextTypeGSM7, TextTypeUnicode string

	// SuccessStatus lists the HTTP statuses of an accepted message; empty:
	// any 2xx.
	SuccessStatus []int
	// SuccessPath and SuccessValue: when SuccessPath is set, the answer must
	// also hold SuccessValue at that JSON path (e.g. "messages.0.status" = "0").
	// Paths are dot-separated member names and array indexes.
	SuccessPath, SuccessValue string
	// PermanentValues are the values at SuccessPath that mean the message
	// itself was refused (ErrRejected); any other failed value is taken as
	// transient (ErrUnavailable).
	PermanentValues []string
	// IDPath is the JSON path of the message id in an accepted answer
	// (required), e.g. "messages.0.message-id" or "data.id".
	IDPath string
	// ErrorPath is the JSON path of the provider's error code in a refusal,
	// quoted in the error for the operator (e.g. "errors.0.code"); optional.
	// With SuccessPath, the value there is quoted too.
	ErrorPath string
	// PermanentCodes are the codes at ErrorPath that mean the message itself
	// was refused even when the HTTP status says otherwise.
	PermanentCodes []string

	// Timeout bounds one request; 0: DefaultHTTPTimeout.
	Timeout time.Duration
	// Receipts says how this provider's delivery receipts are authenticated
	// and read; zero: it reads none.
	Receipts HTTPReceipts
	// Log receives a debug line per message sent, number masked; nil: none.
	Log *slog.Logger
}

// DefaultHTTPTimeout is the ceiling of one request when HTTPConfig.Timeout is 0.
const DefaultHTTPTimeout = 10 * time.Second

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 10

// HTTP is the generic HTTP provider. It is safe for concurrent use.
type HTTP struct {
	cfg      HTTPConfig
	method   string
	url      string
	json     any        // parsed JSON template
	form     url.Values // parsed form template
	client   *http.Client
	timeout  time.Duration
	log      *slog.Logger
	receipts receiptVerifier // nil: reads none
	success  map[int]bool
}

var (
	_ Sender        = (*HTTP)(nil)
	_ ReceiptReader = (*HTTP)(nil)
)

var (
	placeholder = regexp.MustCompile(`\{\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}\}`)
	pathSegment = regexp.MustCompile(`^[^.\s]+$`)
	headerName  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	plainCode   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
)

var placeholders = map[string]bool{
	"to": true, "to_digits": true, "text": true, "text_type": true, "from": true, "reference": true, "callback": true, "receipt_url": true,
}

// NewHTTP checks cfg and returns the provider. Every problem is reported, each
// prefixed with the field's name; no secret is repeated.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("sms provider %s: "+format, append([]any{cfg.Name}, args...)...))
	}
	h := &HTTP{cfg: cfg, method: cfg.Method, timeout: cfg.Timeout, log: cfg.Log, success: map[int]bool{}}
	if cfg.Name == "" {
		bad("name: is required")
	}
	if h.method == "" {
		h.method = http.MethodPost
	}
	switch h.method {
	case http.MethodPost, http.MethodPut:
	case http.MethodGet:
		if cfg.BodyFormat != "" {
			bad("body_format: a GET has no body: put the values in the URL's query")
		}
	default:
		bad("method: must be POST, PUT or GET, got %q", cfg.Method)
	}
	// checkPlaceholders reports unknown placeholders and missing secrets in s.
	checkPlaceholders := func(field, s string, onlySecrets bool) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			name := m[1]
			if secret, ok := strings.CutPrefix(name, "secret."); ok {
				if cfg.Secrets[secret] == "" {
					bad("%s: {{secret.%s}} names no secret (secrets: %s)", field, secret, strings.Join(sortedKeys(cfg.Secrets), ", "))
				}
				continue
			}
			if param, ok := strings.CutPrefix(name, "param."); ok {
				if _, set := cfg.Params[param]; !set {
					bad("%s: {{param.%s}} names no param (params: %s)", field, param, strings.Join(sortedKeys(cfg.Params), ", "))
				}
				continue
			}
			if onlySecrets {
				bad("%s: only {{secret.NAME}} and {{param.NAME}} may appear here, got {{%s}}", field, name)
			} else if !placeholders[name] {
				bad("%s: unknown placeholder {{%s}}", field, name)
			}
		}
		if rest := placeholder.ReplaceAllString(s, ""); strings.Contains(rest, "{{") {
			bad("%s: a {{ opens no known placeholder", field)
		}
	}

	ux, errx := url.Parse(placeholder.ReplaceAllString(cfg.URL, "x"))
	uy, erry := url.Parse(placeholder.ReplaceAllString(cfg.URL, "y"))
	switch {
	case errx != nil || erry != nil || ux.Host == "" || ux.User != nil || ux.Fragment != "":
		bad("url: must be an absolute URL without credentials or fragment")
	case ux.Host != uy.Host || ux.Scheme != uy.Scheme:
		bad("url: the scheme and host cannot hold a placeholder")
	case ux.Scheme != "https" && (ux.Scheme != "http" || !isLoopback(ux.Hostname())):
		bad("url: must be https (plain http only for a loopback host: the credentials travel in every request)")
	}
	checkPlaceholders("url", cfg.URL, false)
	h.url = cfg.URL

	for k, v := range cfg.Headers {
		if !headerName.MatchString(k) {
			bad("headers: %q is not a header name", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			bad("headers: %s: a value cannot span lines", k)
		}
		checkPlaceholders("headers: "+k, v, true)
	}
	for k, v := range cfg.Secrets {
		if strings.ContainsAny(v, "\r\n") {
			bad("secrets: %s: a secret cannot hold a line break (a file's trailing newline?)", k)
		}
	}

	switch cfg.BodyFormat {
	case "json":
		if err := decodeJSON([]byte(cfg.Body), &h.json); err != nil {
			bad("body: not a JSON document: %v", err)
		}
		checkPlaceholders("body", cfg.Body, false)
	case "form":
		f, err := url.ParseQuery(cfg.Body)
		if err != nil || len(f) == 0 {
			bad("body: not a form (name={{placeholder}}&name=value)")
		}
		h.form = f
		checkPlaceholders("body", cfg.Body, false)
	case "":
		if cfg.Body != "" {
			bad("body_format: must be json or form when a body is set")
		}
	default:
		bad("body_format: must be json, form or empty, got %q", cfg.BodyFormat)
	}
	if strings.Contains(cfg.Body+cfg.URL, "{{text_type}}") && (cfg.TextTypeGSM7 == "" || cfg.TextTypeUnicode == "") {
		bad("text_type_gsm7, text_type_unicode: both are required when {{text_type}} is used")
	}
	if cfg.Callback != "" {
		if u, err := url.Parse(cfg.Callback); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			bad("callback: must be an absolute http(s) URL without a fragment")
		}
	}
	if cfg.From != "" && !validSender(cfg.From) {
		bad("from: must be an E.164 number, a short code or an alphanumeric sender ID, got %q", cfg.From)
	}

	for _, s := range cfg.SuccessStatus {
		if s < 100 || s > 599 {
			bad("success_status: %d is not an HTTP status", s)
		}
		h.success[s] = true
	}
	for field, p := range map[string]string{"success_path": cfg.SuccessPath, "id_path": cfg.IDPath, "error_path": cfg.ErrorPath} {
		if p != "" && !validPath(p) {
			bad("%s: must be dot-separated names and indexes, got %q", field, p)
		}
	}
	if cfg.IDPath == "" {
		bad("id_path: is required: the message id ties delivery receipts to the message")
	}
	if cfg.SuccessPath == "" && (cfg.SuccessValue != "" || len(cfg.PermanentValues) > 0) {
		bad("success_path: is required with success_value and permanent_values")
	}
	if h.timeout == 0 {
		h.timeout = DefaultHTTPTimeout
	}
	if h.timeout < 0 {
		bad("timeout: must be positive, got %v", cfg.Timeout)
	}
	rv, err := newReceiptVerifier(cfg.Name, cfg.Receipts)
	if err != nil {
		problems = append(problems, err)
	}
	h.receipts = rv
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	h.client = &http.Client{
		Transport: tr,
		// An API answer is never a redirect to follow: following one would
		// send the credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func validPath(p string) bool {
	for _, seg := range strings.Split(p, ".") {
		if !pathSegment.MatchString(seg) {
			return false
		}
	}
	return true
}

// Send makes one request. Errors wrap ErrRejected (the message or recipient
// was refused: a 4xx other than 401, 403, 408 and 429, a PermanentValues
// value, a PermanentCodes code) or ErrUnavailable (anything else); they never
// carry the number, the text or a secret.
func (h *HTTP) Send(ctx context.Context, m Message) (Receipt, error) {
	if !phone.IsE164(m.To) {
		return Receipt{}, ErrInvalidNumber
	}
	if m.Body == "" || utf8.RuneCountInString(m.Body) > maxBody {
		return Receipt{}, fmt.Errorf("%w: the body must have 1 to %d characters", ErrRejected, maxBody)
	}
	if m.From != "" && !validSender(m.From) {
		return Receipt{}, fmt.Errorf("%s: %w: the message's sender %q is not an E.164 number, short code or alphanumeric sender ID (check the route's sender setting)", h.cfg.Name, ErrUnavailable, m.From)
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("%s: %w: %w", h.cfg.Name, ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()

	vals := h.values(m)
	req, err := h.request(ctx, vals)
	if err != nil {
		return Receipt{}, fmt.Errorf("%s: %w: build the request: %w", h.cfg.Name, ErrUnavailable, err)
	}
	// No retry: a send is not idempotent, a second attempt could text twice.
	resp, err := h.client.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Receipt{}, fmt.Errorf("%s: %w: %w (the message may have been accepted)", h.cfg.Name, ErrUnavailable, cerr)
		}
		// *url.Error quotes the URL, which may hold secrets or the number.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Receipt{}, fmt.Errorf("%s: %w: %s", h.cfg.Name, ErrUnavailable, h.scrub(err.Error(), m))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Receipt{}, fmt.Errorf("%s: %w: read the answer: %w", h.cfg.Name, ErrUnavailable, ctxOr(ctx, err))
	}
	var doc any
	_ = decodeJSON(raw, &doc) // not JSON: the paths find nothing

	ok := h.success[resp.StatusCode] || (len(h.success) == 0 && resp.StatusCode/100 == 2)
	if !ok {
		return Receipt{}, h.refusal(false, resp.StatusCode, doc, m, "")
	}
	if h.cfg.SuccessPath != "" {
		if got, _ := lookup(doc, h.cfg.SuccessPath); got != h.cfg.SuccessValue {
			return Receipt{}, h.refusal(true, resp.StatusCode, doc, m, got)
		}
	}
	id, _ := lookup(doc, h.cfg.IDPath)
	if id == "" {
		return Receipt{}, fmt.Errorf("%s: %w: the answer (HTTP %d) has no message id at %s", h.cfg.Name, ErrUnavailable, resp.StatusCode, h.cfg.IDPath)
	}
	h.log.Debug("sms sent", "provider", h.cfg.Name, "to", phone.Mask(m.To), "id", id)
	return Receipt{ID: id}, nil
}

func ctxOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// HTTPError is a refusal by a generic HTTP provider.
type HTTPError struct {
	Provider  string
	Status    int    // HTTP status
	Code      string // the value at SuccessPath or ErrorPath, when plain
	permanent bool
}

func (e *HTTPError) Error() string {
	kind := "unavailable"
	if e.permanent {
		kind = "rejected the message"
	}
	s := fmt.Sprintf("%s: %s (HTTP %d", e.Provider, kind, e.Status)
	if e.Code != "" {
		s += ", code " + e.Code
	}
	return s + ")"
}

func (e *HTTPError) Unwrap() error {
	if e.permanent {
		return ErrRejected
	}
	return ErrUnavailable
}

// refusal classifies a failed answer. statusOK: the status was a success
// one, and value, what SuccessPath held, was not SuccessValue.
func (h *HTTP) refusal(statusOK bool, status int, doc any, m Message, value string) error {
	e := &HTTPError{Provider: h.cfg.Name, Status: status}
	code, _ := lookup(doc, h.cfg.ErrorPath)
	if statusOK {
		e.permanent = contains(h.cfg.PermanentValues, value)
		if code == "" {
			code = value
		}
	} else {
		switch {
		case status == http.StatusUnauthorized, status == http.StatusForbidden,
			status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
			// Credentials, account or rate: not this message's fault.
		case status >= 400 && status < 500:
			e.permanent = true
		}
	}
	if code != "" && contains(h.cfg.PermanentCodes, code) {
		e.permanent = true
	}
	// Only a short plain code is quoted, and never one that holds the number.
	if plainCode.MatchString(code) && !strings.Contains(code, strings.TrimPrefix(m.To, "+")) {
		e.Code = code
	}
	return e
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scrub removes the secrets and the number from a transport error's text.
func (h *HTTP) scrub(s string, m Message) string {
	for _, v := range h.cfg.Secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "•••")
		}
	}
	s = strings.ReplaceAll(s, m.To, phone.Mask(m.To))
	return strings.ReplaceAll(s, strings.TrimPrefix(m.To, "+"), "•••")
}

// values are what the placeholders stand for in one message.
func (h *HTTP) values(m Message) map[string]string {
	v := map[string]string{
		"to":        m.To,
		"to_digits": strings.TrimPrefix(m.To, "+"),
		"text":      m.Body,
		"from":      h.cfg.From,
		"reference": m.Reference,
		"text_type": h.cfg.TextTypeUnicode,
	}
	if m.From != "" {
		v["from"] = m.From
	}
	if i18n.MeasureSMS(m.Body).Encoding == i18n.GSM7 {
		v["text_type"] = h.cfg.TextTypeGSM7
	}
	if h.cfg.Callback != "" {
		v["callback"] = withReference(h.cfg.Callback, m.Reference)
		v["receipt_url"] = h.cfg.Callback
	}
	for k, s := range h.cfg.Secrets {
		v["secret."+k] = s
	}
	for k, s := range h.cfg.Params {
		v["param."+k] = s
	}
	return v
}

// fill replaces the placeholders of s with their values, each passed through
// escape.
func fill(s string, vals map[string]string, escape func(string) string) string {
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		return escape(vals[p[2:len(p)-2]])
	})
}

// wholeEmpty reports whether s is exactly one placeholder whose value is empty.
func wholeEmpty(s string, vals map[string]string) bool {
	m := placeholder.FindStringSubmatch(s)
	return m != nil && m[0] == s && vals[m[1]] == ""
}

func (h *HTTP) request(ctx context.Context, vals map[string]string) (*http.Request, error) {
	var body io.Reader
	contentType := ""
	switch h.cfg.BodyFormat {
	case "json":
		// Filling the parsed document and encoding it again escapes every value
		// as a JSON string: a quote or a newline in the text cannot end the
		// string or add a member.
		b, err := json.Marshal(fillJSON(h.json, vals))
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case "form":
		f := url.Values{}
		for k, vs := range h.form {
			for _, v := range vs {
				if wholeEmpty(v, vals) {
					continue
				}
				f.Add(k, fill(v, vals, func(s string) string { return s }))
			}
		}
		body, contentType = strings.NewReader(f.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, h.method, fillURL(h.url, vals), body)
	if err != nil {
		return nil, errors.New("the URL template gives no valid URL")
	}
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, fill(v, vals, func(s string) string { return s }))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "smsplus")
	return req, nil
}

// fillURL escapes values as a path segment before the "?" and as a query value
// after it.
func fillURL(tmpl string, vals map[string]string) string {
	path, query, hasQuery := strings.Cut(tmpl, "?")
	out := fill(path, vals, url.PathEscape)
	if hasQuery {
		out += "?" + fill(query, vals, url.QueryEscape)
	}
	return out
}

// fillJSON returns a copy of the JSON document v with the placeholders of its
// strings filled (member names are left alone). Members whose whole value is
// one empty placeholder are dropped.
func fillJSON(v any, vals map[string]string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if s, ok := e.(string); ok && wholeEmpty(s, vals) {
				continue
			}
			out[k] = fillJSON(e, vals)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = fillJSON(e, vals)
		}
		return out
	case string:
		return fill(t, vals, func(s string) string { return s })
	}
	return v
}

// decodeJSON decodes one JSON document, numbers kept as written (a long
// numeric id must not lose digits through float64).
func decodeJSON(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON document")
	}
	return nil
}

// lookup follows a dot path through a decoded JSON document and returns the
// value there as a string (numbers and booleans in their JSON form).
func lookup(doc any, path string) (string, bool) {
	if path == "" {
		return "", false
	}
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch t := cur.(type) {
		case map[string]any:
			cur = t[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return "", false
			}
			cur = t[i]
		default:
			return "", false
		}
	}
	switch t := cur.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// ReadReceipt authenticates and reads a delivery receipt as HTTPConfig.Receipts
// says; with no receipts configured, every callback is refused.
func (h *HTTP) ReadReceipt(r *http.Request, body []byte, publicURL string) ([]Delivery, error) {
	if h.receipts == nil {
		return nil, refuse("signature", "%s: no receipts are configured for this provider", h.cfg.Name)
	}
	return h.receipts.read(r, body, publicURL)
}

// ReadsReceipts reports whether the provider was configured to read receipts.
func (h *HTTP) ReadsReceipts() bool { return h.receipts != nil }
