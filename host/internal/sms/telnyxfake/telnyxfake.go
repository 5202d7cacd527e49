// Package telnyxfake is a fake of Telnyx's Messaging API v2 for tests: a real
// HTTP server (net/http/httptest) answering
//
//	POST /v2/messages
//
// as Telnyx documents it: "Authorization: Bearer <API key>", a JSON body with
// to (+E.164), text, from and/or messaging_profile_id, optional webhook_url;
// 200 with {"data":{"id":..., "to":[{"status":"queued",...}], ...}}; errors as
// an HTTP status with {"errors":[{"code":"...","title":"...","detail":"..."}]}
// (401 code 10009, 400 code 40310 for an invalid 'to', 429 code 10011).
//
// Like Telnyx, it posts webhooks (PostEvent: message.sent, message.finalized)
// to the message's webhook_url, or to WebhookURL, signed with Ed25519:
// telnyx-signature-ed25519 is the base64 signature of telnyx-timestamp, "|"
// and the body; PublicKey is what Mission Control shows.
package telnyxfake

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms/fakebook"
)

// Outcome is how the fake answers a valid, authenticated request.
type Outcome struct {
	Delay time.Duration
	// Status and Code, when Status is not 0, answer a Telnyx error.
	Status int
	Code   string
	// Page answers Status with an HTML page instead of Telnyx JSON.
	Page bool
}

// Fail answers a Telnyx error, e.g. Fail(429, "10011").
func Fail(status int, code string) Outcome { return Outcome{Status: status, Code: code} }

// Page answers an HTTP status with a non-JSON page.
func Page(status int) Outcome { return Outcome{Status: status, Page: true} }

// Slow sends the message after d.
func Slow(d time.Duration) Outcome { return Outcome{Delay: d} }

// Message is a message the fake accepted.
type Message struct {
	ID                 string
	To, From, Text     string
	MessagingProfileID string
	WebhookURL         string
	Encoding           string
	Received           time.Time
}

// Server is the fake.
type Server struct {
	URL       string // use instead of https://api.telnyx.com
	APIKey    string
	PublicKey string // base64, as Mission Control shows it
	// WebhookURL is the messaging profile's webhook URL, used when a message
	// has none.
	WebhookURL string
	// Now is the clock webhooks are signed with; set before use.
	Now func() time.Time

	priv ed25519.PrivateKey
	srv  *httptest.Server
	stop chan struct{}
	once sync.Once

	fakebook.Book[Message, Outcome]
}

// New starts a fake that closes when tb's test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{
		APIKey:    "KEY" + strings.ToUpper(randomHex(16)) + "_" + randomHex(8),
		PublicKey: base64.StdEncoding.EncodeToString(pub),
		Now:       time.Now,
		priv:      priv,
		stop:      make(chan struct{}),
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

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/messages" {
		fail(w, http.StatusNotFound, "10005", "Resource not found")
		return
	}
	s.CountRequest()
	if r.Method != http.MethodPost {
		fail(w, http.StatusMethodNotAllowed, "10015", "Bad Request")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.APIKey)) != 1 {
		fail(w, http.StatusUnauthorized, "10009", "Authentication failed")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(w, http.StatusUnsupportedMediaType, "10014", "Unsupported Media Type")
		return
	}
	var in struct {
		From, To, Text     string
		MessagingProfileID string `json:"messaging_profile_id"`
		WebhookURL         string `json:"webhook_url"`
	}
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := d.Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "10015", "Bad Request")
		return
	}
	switch {
	case !e164.MatchString(in.To):
		fail(w, http.StatusBadRequest, "40310", "Invalid 'to' address")
		return
	case in.From == "" && in.MessagingProfileID == "":
		fail(w, http.StatusUnprocessableEntity, "10004", "Missing required parameter: from or messaging_profile_id")
		return
	case in.Text == "":
		fail(w, http.StatusUnprocessableEntity, "10004", "Missing required parameter: text")
		return
	}
	o := s.OutcomeFor(in.To)
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
	if o.Status != 0 {
		if o.Page {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(o.Status)
			fmt.Fprintf(w, "<html><body>%d</body></html>", o.Status)
			return
		}
		fail(w, o.Status, o.Code, "Error "+o.Code)
		return
	}
	m := Message{
		ID: uuid(), To: in.To, From: in.From, Text: in.Text, MessagingProfileID: in.MessagingProfileID,
		WebhookURL: in.WebhookURL, Encoding: "GSM-7", Received: s.Now().UTC(),
	}
	for _, c := range in.Text {
		if c > 0x7e { // good enough for a fake
			m.Encoding = "UCS-2"
		}
	}
	s.Accept(m)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": record(m, "queued", "")})
}

// record is the message object of answers and webhook payloads.
func record(m Message, status, errCode string) map[string]any {
	errs := []any{}
	if errCode != "" {
		errs = append(errs, map[string]string{"code": errCode, "title": "Delivery failed", "detail": "The carrier did not accept the message"})
	}
	from := any(nil)
	if m.From != "" {
		from = map[string]string{"phone_number": m.From, "carrier": "Telnyx", "line_type": "Wireless"}
	}
	return map[string]any{
		"record_type": "message", "direction": "outbound", "id": m.ID, "type": "SMS",
		"messaging_profile_id": m.MessagingProfileID, "from": from,
		"to":   []any{map[string]string{"phone_number": m.To, "status": status, "carrier": "T-Mobile USA", "line_type": "Wireless"}},
		"text": m.Text, "encoding": m.Encoding, "parts": 1, "tags": []any{},
		"webhook_url": m.WebhookURL, "webhook_failover_url": "", "errors": errs,
		"received_at": m.Received.Format(time.RFC3339Nano),
	}
}

func fail(w http.ResponseWriter, status int, code, title string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"code": code, "title": title, "detail": title, "meta": map[string]string{"url": "https://developers.telnyx.com/docs/overview/errors/" + code},
	}}})
}

// Event returns a signed webhook for the message id: its body, timestamp and
// signature. eventType is message.sent or message.finalized; status is the
// recipient's (sent, delivered, delivery_failed, sending_failed,
// delivery_unconfirmed); errCode, when set, is reported in errors.
func (s *Server) Event(id, eventType, status, errCode string) (body []byte, timestamp, signature string, err error) {
	var m *Message
	for _, msg := range s.Messages() {
		if msg.ID == id {
			m = &msg
		}
	}
	if m == nil {
		return nil, "", "", fmt.Errorf("telnyxfake: no message %s", id)
	}
	now := s.Now().UTC()
	body, _ = json.Marshal(map[string]any{
		"data": map[string]any{
			"event_type": eventType, "id": uuid(), "occurred_at": now.Format(time.RFC3339Nano),
			"payload": record(*m, status, errCode), "record_type": "event",
		},
		"meta": map[string]any{"attempt": 1, "delivered_to": m.WebhookURL},
	})
	timestamp = strconv.FormatInt(now.Unix(), 10)
	return body, timestamp, s.Sign(timestamp, body), nil
}

// Sign signs timestamp|body with the fake's key, base64.
func (s *Server) Sign(timestamp string, body []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, append([]byte(timestamp+"|"), body...)))
}

// PostEvent posts the webhook of Event to the message's webhook_url (or
// WebhookURL) and returns the receiver's HTTP status.
func (s *Server) PostEvent(ctx context.Context, id, eventType, status, errCode string) (int, error) {
	body, ts, sig, err := s.Event(id, eventType, status, errCode)
	if err != nil {
		return 0, err
	}
	target := s.WebhookURL
	for _, m := range s.Messages() {
		if m.ID == id && m.WebhookURL != "" {
			target = m.WebhookURL
		}
	}
	return Deliver(ctx, target, body, ts, sig)
}

// Deliver posts a webhook body with its timestamp and signature headers.
func Deliver(ctx context.Context, target string, body []byte, timestamp, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("telnyx-timestamp", timestamp)
	req.Header.Set("telnyx-signature-ed25519", signature)
	req.Header.Set("User-Agent", "telnyx-webhooks")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
