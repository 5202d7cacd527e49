// Package vonagefake is a fake of Vonage's SMS API for tests: a real HTTP
// server (net/http/httptest) answering
//
//	POST /sms/json
//
// as Vonage documents it: a form (or JSON object) with api_key, api_secret,
// from, to (digits, no "+"), text, and optional type (text or unicode),
// client-ref, callback and status-report-req; always HTTP 200 with
// {"message-count":"1","messages":[{...,"status":"0","message-id":...}]}, a
// non-zero status and error-text on failure (2 missing parameter, 3 invalid
// parameter, 4 invalid credentials, 1 throttled, ...).
//
// Like Vonage with signed webhooks enabled, it posts delivery receipts
// (PostReceipt) to the message's callback, or to DeliveryURL, signed with the
// account's signature secret: as a GET query, a POST form or a POST JSON
// object, as the dashboard would be set.
package vonagefake

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms/fakebook"
)

// Outcome is how the fake answers a valid, authenticated request.
type Outcome struct {
	Delay time.Duration
	// Status, when not "" or "0", is answered as Vonage's status code with
	// HTTP 200, instead of sending the message.
	Status string
	// HTTP, when not 0, answers that HTTP status with an HTML page, as a proxy
	// in front of Vonage does.
	HTTP int
}

// Fail answers Vonage status code status, e.g. Fail("1") (throttled).
func Fail(status string) Outcome { return Outcome{Status: status} }

// Page answers an HTTP status with a non-JSON page.
func Page(status int) Outcome { return Outcome{HTTP: status} }

// Slow sends the message after d.
func Slow(d time.Duration) Outcome { return Outcome{Delay: d} }

// Message is a message the fake accepted.
type Message struct {
	ID        string // message-id
	To        string // digits, as sent
	From      string
	Text      string
	Type      string // text or unicode
	ClientRef string
	Callback  string
}

// Server is the fake. Its credentials are random per server.
type Server struct {
	URL             string // use instead of https://rest.nexmo.com
	APIKey          string
	APISecret       string
	SignatureSecret string
	// SignatureMethod is the algorithm receipts are signed with: md5hash
	// (Vonage's default), md5, sha1, sha256 or sha512. Set before use.
	SignatureMethod string
	// ReceiptMethod is how receipts are posted: GET, POST or POST-JSON. Set
	// before use.
	ReceiptMethod string
	// DeliveryURL is the dashboard's delivery receipt URL, used when a message
	// has no callback.
	DeliveryURL string
	// Now is the clock receipts are signed with; set before use.
	Now func() time.Time

	srv  *httptest.Server
	stop chan struct{}
	once sync.Once

	fakebook.Book[Message, Outcome]
}

// New starts a fake that closes when tb's test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		APIKey:          randomHex(4),
		APISecret:       randomHex(8),
		SignatureSecret: randomHex(16),
		SignatureMethod: "md5hash",
		ReceiptMethod:   "POST",
		Now:             time.Now,
		stop:            make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.stop)
		s.srv.Close()
	})
}

var digits = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sms/json" {
		http.NotFound(w, r)
		return
	}
	s.CountRequest()
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	p, err := params(r)
	if err != nil {
		answer(w, "2", "Missing params: unreadable request")
		return
	}
	for _, k := range []string{"api_key", "api_secret", "from", "to", "text"} {
		if p[k] == "" {
			answer(w, "2", "Missing "+k)
			return
		}
	}
	if p["api_key"] != s.APIKey || subtle.ConstantTimeCompare([]byte(p["api_secret"]), []byte(s.APISecret)) != 1 {
		answer(w, "4", "Bad Credentials")
		return
	}
	switch {
	case !digits.MatchString(p["to"]):
		answer(w, "3", "Invalid to address")
		return
	case p["type"] != "" && p["type"] != "text" && p["type"] != "unicode":
		answer(w, "3", "Invalid type")
		return
	case len(p["client-ref"]) > 100:
		answer(w, "3", "Invalid client-ref")
		return
	}
	if cb := p["callback"]; cb != "" {
		if u, err := url.Parse(cb); err != nil || u.Host == "" {
			answer(w, "23", "Invalid callback url")
			return
		}
	}

	o := s.OutcomeFor(p["to"])
	if o.Delay > 0 {
		t := time.NewTimer(o.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
	switch {
	case o.HTTP != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(o.HTTP)
		fmt.Fprintf(w, "<html><body>%d</body></html>", o.HTTP)
		return
	case o.Status != "" && o.Status != "0":
		answer(w, o.Status, "Error "+o.Status)
		return
	}
	m := Message{
		ID: strings.ToUpper(randomHex(9)), To: p["to"], From: p["from"], Text: p["text"], Type: p["type"],
		ClientRef: p["client-ref"], Callback: p["callback"],
	}
	s.Accept(m)
	msg := map[string]string{
		"to": m.To, "message-id": m.ID, "status": "0", "remaining-balance": "3.14159265",
		"message-price": "0.03330000", "network": "23410",
	}
	if m.ClientRef != "" {
		msg["client-ref"] = m.ClientRef
	}
	writeJSON(w, map[string]any{"message-count": "1", "messages": []any{msg}})
}

func answer(w http.ResponseWriter, status, text string) {
	writeJSON(w, map[string]any{"message-count": "1", "messages": []any{map[string]string{"status": status, "error-text": text}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK) // Vonage's SMS API answers 200 even on errors
	_ = json.NewEncoder(w).Encode(v)
}

// params reads a form, a query or a JSON object.
func params(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var obj map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10)).Decode(&obj); err != nil {
			return nil, err
		}
		for k, v := range obj {
			out[k] = fmt.Sprint(v)
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, v := range r.Form {
		out[k] = v[0]
	}
	return out, nil
}

// Receipt is the parameters of a delivery receipt for the message id, with
// status (delivered, expired, failed, rejected, accepted, buffered, unknown)
// and errCode, signed.
func (s *Server) Receipt(id, status, errCode string) (map[string]string, error) {
	m, ok := s.Find(func(m Message) bool { return m.ID == id })
	if !ok {
		return nil, fmt.Errorf("vonagefake: no message %s", id)
	}
	now := s.Now().UTC()
	p := map[string]string{
		"msisdn":            m.To,
		"to":                m.From,
		"network-code":      "23410",
		"messageId":         m.ID,
		"price":             "0.03330000",
		"status":            status,
		"scts":              now.Format("0601021504"),
		"err-code":          errCode,
		"api-key":           s.APIKey,
		"message-timestamp": now.Format("2006-01-02 15:04:05"),
		"timestamp":         fmt.Sprint(now.Unix()),
		"nonce":             randomHex(16),
	}
	if m.ClientRef != "" {
		p["client-ref"] = m.ClientRef
	}
	p["sig"] = Sign(s.SignatureMethod, s.SignatureSecret, p)
	return p, nil
}

// PostReceipt sends the receipt of Receipt to the message's callback (or
// DeliveryURL) and returns the receiver's HTTP status.
func (s *Server) PostReceipt(ctx context.Context, id, status, errCode string) (int, error) {
	p, err := s.Receipt(id, status, errCode)
	if err != nil {
		return 0, err
	}
	target := s.DeliveryURL
	for _, m := range s.Messages() {
		if m.ID == id && m.Callback != "" {
			target = m.Callback
		}
	}
	return Deliver(ctx, s.ReceiptMethod, target, p)
}

// Deliver sends receipt parameters p to target as method (GET, POST or
// POST-JSON) says.
func Deliver(ctx context.Context, method, target string, p map[string]string) (int, error) {
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	var req *http.Request
	var err error
	switch method {
	case "GET":
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target+sep+form.Encode(), nil)
	case "POST":
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case "POST-JSON":
		b, _ := json.Marshal(p)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(string(b)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	default:
		return 0, fmt.Errorf("vonagefake: receipt method %q", method)
	}
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign computes sig as Vonage's signing guide describes it: the parameters
// but sig, sorted by name, each as "&name=value" with "&" and "=" in the value
// replaced by "_"; md5hash appends the secret and takes the MD5 (lower-case
// hex), the others are HMACs keyed with the secret (upper-case hex). It is
// written apart from the sms package so that a mistake on either side shows.
func Sign(method, secret string, p map[string]string) string {
	names := make([]string, 0, len(p))
	for k := range p {
		if k != "sig" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		v := strings.ReplaceAll(strings.ReplaceAll(p[k], "&", "_"), "=", "_")
		fmt.Fprintf(&b, "&%s=%s", k, v)
	}
	if method == "md5hash" {
		sum := md5.Sum([]byte(b.String() + secret))
		return hex.EncodeToString(sum[:])
	}
	var h func() hash.Hash
	switch method {
	case "md5":
		h = md5.New
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	default:
		return ""
	}
	mac := hmac.New(h, []byte(secret))
	mac.Write([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
