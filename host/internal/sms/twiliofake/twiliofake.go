// Package twiliofake is a fake of Twilio's Messages API for tests: a real HTTP
// server (net/http/httptest) answering
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json
//
// the way Twilio documents it: HTTP Basic authentication with an API key SID and
// secret or the account SID and auth token; a form with To, From and/or
// MessagingServiceSid, Body and optional StatusCallback; 201 with the Message
// resource as JSON; errors as Twilio's JSON {code, message, more_info, status}.
//
// Point twilio-go (or the sms.Twilio sender, through TWILIO_API_BASE_URL) at
// Server.URL. A test chooses the outcome, for all numbers or per destination:
// create the message, answer a Twilio error code, answer a bare 5xx page, and
// wait first. Created messages are recorded for assertions.
//
// Like Twilio, it posts status callbacks (PostStatus) to a message's
// StatusCallback URL: a form signed in X-Twilio-Signature with the account's
// auth token, whatever the credentials the message was created with.
package twiliofake

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/sms/fakebook"

	"github.com/smsplus/smsplus/host/internal/i18n"
	"github.com/smsplus/smsplus/sdk/phone"
)

// Outcome is how the fake answers a valid, authenticated create request.
type Outcome struct {
	// Delay is waited before answering; a client that gives up first gets
	// nothing, and no message is created.
	Delay time.Duration
	// Code, when not 0, is answered as a Twilio error instead of creating the
	// message, with Twilio's HTTP status for it (Status overrides).
	Code int
	// Status without Code answers that HTTP status with an HTML page instead of
	// Twilio JSON, as a proxy or load balancer in front of Twilio does.
	Status int
}

// Accept creates the message (the default outcome).
func Accept() Outcome { return Outcome{} }

// Fail answers Twilio error code, e.g. Fail(21610) for an unsubscribed recipient.
func Fail(code int) Outcome { return Outcome{Code: code} }

// Page answers an HTTP status with a non-JSON body, e.g. Page(502).
func Page(status int) Outcome { return Outcome{Status: status} }

// Slow creates the message after d.
func Slow(d time.Duration) Outcome { return Outcome{Delay: d} }

// After returns o, answered after d.
func (o Outcome) After(d time.Duration) Outcome { o.Delay = d; return o }

// Message is a message the fake created.
type Message struct {
	SID                 string // SM + 32 hex digits
	AccountSID          string
	To                  string
	From                string // "" when only a Messaging Service was given
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	Status              string // "queued" (From) or "accepted" (Messaging Service)
	AuthUser            string // the Basic auth user: the API key SID or the account SID
	UserAgent           string // twilio-go's, when the client is twilio-go
	Created             time.Time
}

// Server is the fake. Its credentials are random per server.
type Server struct {
	URL        string // use instead of https://api.twilio.com
	AccountSID string // AC…
	APIKey     string // SK…, an API key of the account
	APISecret  string
	AuthToken  string // the account's auth token

	srv  *httptest.Server
	stop chan struct{}
	once sync.Once

	fakebook.Book[Message, Outcome]
}

// New starts a fake that closes when tb's test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := Start()
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake; Close stops it.
func Start() *Server {
	s := &Server{
		AccountSID: "AC" + randomHex(16),
		APIKey:     "SK" + randomHex(16),
		APISecret:  randomHex(16),
		AuthToken:  randomHex(16),
		stop:       make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server; slow answers in progress end at once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.stop)
		s.srv.Close()
	})
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	serviceSID   = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := messagesPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(w, http.StatusNotFound, 20404, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
		return
	}
	s.CountRequest()

	if r.Method != http.MethodPost {
		// The real resource also lists messages (GET); the fake only creates.
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || !s.authentic(user, pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if m[1] != s.AccountSID {
		writeError(w, http.StatusNotFound, 20404, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		// The code is the fake's choice; twilio-go always sends a small valid form.
		writeError(w, http.StatusBadRequest, 20001, "Unable to parse the request body")
		return
	}
	f := r.PostForm
	to, from, service, body := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body")
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "" && service == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case service != "" && !serviceSID.MatchString(service):
		writeError(w, http.StatusBadRequest, 21705, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service))
		return
	case !phone.IsE164(to): // the one E.164 rule of SMS+ (sdk/phone)
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case utf8.RuneCountInString(body) > 1600:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}

	o := s.OutcomeFor(to)
	if o.Delay > 0 {
		timer := time.NewTimer(o.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return // the client gave up
		case <-s.stop:
			return
		}
	}
	switch {
	case o.Code != 0:
		status := o.Status
		if status == 0 {
			status = statusFor(o.Code)
		}
		writeError(w, status, o.Code, messageFor(o.Code, to))
		return
	case o.Status != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(o.Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", o.Status, http.StatusText(o.Status))
		return
	}

	msg := Message{
		SID:                 "SM" + randomHex(16),
		AccountSID:          s.AccountSID,
		To:                  to,
		From:                from,
		MessagingServiceSID: service,
		Body:                body,
		StatusCallback:      f.Get("StatusCallback"),
		Status:              "queued",
		AuthUser:            user,
		UserAgent:           r.UserAgent(),
		Created:             time.Now().UTC(),
	}
	segments := fmt.Sprint(i18n.MeasureSMS(body).Segments)
	if service != "" {
		// Twilio answers a Messaging Service request before choosing the sender:
		// status accepted, no segment count yet.
		msg.Status, segments = "accepted", "0"
	}
	s.Accept(msg)

	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s", s.AccountSID, msg.SID)
	date := msg.Created.Format(time.RFC1123Z)
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid":                   msg.SID,
		"account_sid":           msg.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  msg.Body,
		"date_created":          date,
		"date_updated":          date,
		"date_sent":             nil,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(msg.From),
		"messaging_service_sid": nullable(msg.MessagingServiceSID),
		"num_media":             "0",
		"num_segments":          segments,
		"price":                 nil,
		"price_unit":            "USD",
		"status":                msg.Status,
		"to":                    msg.To,
		"uri":                   uri + ".json",
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
	})
}

// authentic accepts the API key with its secret, or the account SID with the
// auth token.
func (s *Server) authentic(user, pass string) bool {
	var want string
	switch user {
	case s.APIKey:
		want = s.APISecret
	case s.AccountSID:
		want = s.AuthToken
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1
}

// statusFor is the HTTP status Twilio answers with a code.
func statusFor(code int) int {
	switch code {
	case 20003:
		return http.StatusUnauthorized
	case 20404:
		return http.StatusNotFound
	case 20429:
		return http.StatusTooManyRequests
	case 20500:
		return http.StatusInternalServerError
	case 20503:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// messageFor gives an error text in Twilio's style. Like Twilio's, some quote
// the number, which the sender under test must not pass on.
func messageFor(code int, to string) string {
	switch code {
	case 20003:
		return "Authenticate"
	case 20429:
		return "Too Many Requests"
	case 20500:
		return "Internal Server Error"
	case 21211:
		return fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case 21408:
		return fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.", to)
	case 21610:
		return "Attempt to send to unsubscribed recipient"
	case 21612:
		return fmt.Sprintf("The 'To' phone number: %s, is not currently reachable using the 'From' phone number via SMS.", to)
	case 21614:
		return fmt.Sprintf("'To' number %s is not a valid mobile number", to)
	case 21606:
		return "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination."
	case 14107:
		return "SMS send rate limit exceeded"
	}
	return fmt.Sprintf("Error %d", code)
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) // lower case, as in Twilio SIDs
}

// PostStatus posts a status callback for the message sid to its
// StatusCallback URL, as Twilio does when the message's status changes:
// MessageStatus status (queued, sent, delivered, undelivered, failed) and, when
// not 0, ErrorCode. It returns the receiver's HTTP status.
func (s *Server) PostStatus(ctx context.Context, sid, status string, errorCode int) (int, error) {
	msg, ok := s.Find(func(m Message) bool { return m.SID == sid })
	if !ok || msg.StatusCallback == "" {
		return 0, fmt.Errorf("twiliofake: no message %s with a status callback", sid)
	}
	form := s.StatusForm(msg, status, errorCode)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, msg.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, msg.StatusCallback, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// StatusForm is the form of a status callback for msg, as Twilio posts it.
func (s *Server) StatusForm(msg Message, status string, errorCode int) url.Values {
	f := url.Values{
		"AccountSid":    {msg.AccountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {msg.SID},
		"SmsSid":        {msg.SID},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"To":            {msg.To},
		"From":          {msg.From},
	}
	if msg.MessagingServiceSID != "" {
		f.Set("MessagingServiceSid", msg.MessagingServiceSID)
	}
	if errorCode != 0 {
		f.Set("ErrorCode", fmt.Sprint(errorCode))
	}
	return f
}

// Sign computes X-Twilio-Signature the way Twilio documents it: the URL, then
// each POST parameter's name and value in alphabetical order, HMAC-SHA1 with
// the auth token, base64. It is written here independently of the sms package
// so that a mistake on either side shows.
func Sign(authToken, callbackURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(callbackURL)
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
