// Package snsfake is a fake of Amazon SNS's Publish action for SMS, for tests:
// a real HTTP server (net/http/httptest) speaking the SNS Query API as AWS
// documents it:
//
//	POST /   Content-Type: application/x-www-form-urlencoded
//	Action=Publish&Version=2010-03-31&PhoneNumber=+15005550006&Message=...
//	&MessageAttributes.entry.1.Name=AWS.SNS.SMS.SMSType
//	&MessageAttributes.entry.1.Value.DataType=String
//	&MessageAttributes.entry.1.Value.StringValue=Transactional
//
// signed with AWS Signature Version 4 (Authorization: AWS4-HMAC-SHA256
// Credential=<key id>/<date>/<region>/sns/aws4_request, SignedHeaders=...,
// Signature=...), which the fake verifies with its secret key. It answers a
// PublishResponse XML with a MessageId, or an ErrorResponse XML (Sender
// InvalidParameter for an invalid number, Throttled, AuthorizationError,
// InternalError ...).
//
// Point the AWS SDK for Go v2 (or the sms.SNS sender, through its Endpoint) at
// Server.URL.
package snsfake

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms/fakebook"
)

// Outcome is how the fake answers a valid, authenticated Publish.
type Outcome struct {
	Delay time.Duration
	// Code, when set, is answered as an SNS error with Status (default 400).
	Code   string
	Status int
	// Page answers Status with an HTML page, as a proxy would.
	Page bool
}

// Fail answers an SNS error, e.g. Fail("Throttled", 429).
func Fail(code string, status int) Outcome { return Outcome{Code: code, Status: status} }

// Page answers an HTTP status with a non-XML page.
func Page(status int) Outcome { return Outcome{Status: status, Page: true} }

// Slow publishes after d.
func Slow(d time.Duration) Outcome { return Outcome{Delay: d} }

// Message is a message the fake published.
type Message struct {
	ID          string
	PhoneNumber string
	Text        string
	// Attributes are the message attributes: name → "DataType:StringValue".
	Attributes  map[string]string
	AccessKeyID string
	Region      string
}

// Server is the fake. Its credentials are random per server.
type Server struct {
	URL             string
	AccessKeyID     string
	SecretAccessKey string

	srv  *httptest.Server
	stop chan struct{}
	once sync.Once

	fakebook.Book[Message, Outcome]
}

// New starts a fake that closes when tb's test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		AccessKeyID:     "AKIA" + strings.ToUpper(randomHex(8)),
		SecretAccessKey: randomHex(20),
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

var (
	authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/([0-9]{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$`)
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	entry      = regexp.MustCompile(`^MessageAttributes\.entry\.([0-9]+)\.(Name|Value\.DataType|Value\.StringValue)$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.CountRequest()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil || r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, http.StatusBadRequest, "Sender", "InvalidAction", "The action or operation requested is invalid.")
		return
	}
	region, code, msg := s.verify(r, body)
	if code != "" {
		writeError(w, http.StatusForbidden, "Sender", code, msg)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Sender", "MalformedQueryString", "The query string is malformed.")
		return
	}
	if form.Get("Action") != "Publish" || form.Get("Version") != "2010-03-31" {
		writeError(w, http.StatusBadRequest, "Sender", "InvalidAction", "The fake answers Publish of 2010-03-31 only.")
		return
	}
	to, text := form.Get("PhoneNumber"), form.Get("Message")
	switch {
	case text == "":
		writeError(w, http.StatusBadRequest, "Sender", "InvalidParameter", "Invalid parameter: Empty message")
		return
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, "Sender", "InvalidParameter",
			fmt.Sprintf("Invalid parameter: PhoneNumber Reason: %s is not valid to publish to", to))
		return
	}
	attrs := map[string]string{}
	parts := map[string]map[string]string{}
	for k, v := range form {
		if m := entry.FindStringSubmatch(k); m != nil {
			if parts[m[1]] == nil {
				parts[m[1]] = map[string]string{}
			}
			parts[m[1]][m[2]] = v[0]
		}
	}
	for _, p := range parts {
		if p["Name"] == "" || (p["Value.DataType"] != "String" && p["Value.DataType"] != "Number") {
			writeError(w, http.StatusBadRequest, "Sender", "ParameterValueInvalid", "The message attribute has an invalid data type.")
			return
		}
		attrs[p["Name"]] = p["Value.DataType"] + ":" + p["Value.StringValue"]
	}
	if t := attrs["AWS.SNS.SMS.SMSType"]; t != "" && t != "String:Transactional" && t != "String:Promotional" {
		writeError(w, http.StatusBadRequest, "Sender", "InvalidParameter", "Invalid parameter: SMSType")
		return
	}

	o := s.OutcomeFor(to)
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
	case o.Page:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(o.Status)
		fmt.Fprintf(w, "<html><body>%d</body></html>", o.Status)
		return
	case o.Code != "":
		status := o.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		writeError(w, status, kind, o.Code, "Error "+o.Code+" for "+to)
		return
	}
	m := Message{ID: uuid(), PhoneNumber: to, Text: text, Attributes: attrs, AccessKeyID: s.AccessKeyID, Region: region}
	s.Accept(m)
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult>
    <MessageId>%s</MessageId>
  </PublishResult>
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</PublishResponse>
`, m.ID, uuid())
}

// verify checks the request's SigV4 signature, computed here from AWS's
// description (canonical request, string to sign, derived key), apart from the
// SDK's signer. It returns the region, or an SNS error code and message.
func (s *Server) verify(r *http.Request, body []byte) (region, code, msg string) {
	m := authHeader.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", "MissingAuthenticationToken", "Request is missing Authentication Token"
	}
	keyID, date, region, service, signedHeaders, signature := m[1], m[2], m[3], m[4], m[5], m[6]
	if keyID != s.AccessKeyID {
		return "", "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	if service != "sns" {
		return "", "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sns'."
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, date) {
		return "", "IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope."
	}
	if d := time.Since(at); d > 15*time.Minute || d < -15*time.Minute {
		return "", "SignatureDoesNotMatch", "Signature expired."
	}
	names := strings.Split(signedHeaders, ";")
	if !sort.StringsAreSorted(names) || !contains(names, "host") || !contains(names, "x-amz-date") {
		return "", "SignatureDoesNotMatch", "SignedHeaders must be sorted and include host and x-amz-date."
	}
	var canon strings.Builder
	for _, n := range names {
		var v string
		switch n {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(r.Header.Values(n), ",")
		}
		canon.WriteString(n + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := sha256.Sum256(body)
	request := strings.Join([]string{
		r.Method, "/", r.URL.RawQuery, canon.String(), signedHeaders, hex.EncodeToString(payload[:]),
	}, "\n")
	reqHash := sha256.Sum256([]byte(request))
	scope := date + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(reqHash[:])
	key := []byte("AWS4" + s.SecretAccessKey)
	for _, part := range []string{date, region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if subtle.ConstantTimeCompare([]byte(signature), []byte(want)) != 1 {
		return "", "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	return region, "", ""
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, status int, kind, code, message string) {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(message))
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <Error>
    <Type>%s</Type>
    <Code>%s</Code>
    <Message>%s</Message>
  </Error>
  <RequestId>%s</RequestId>
</ErrorResponse>
`, kind, code, b.String(), uuid())
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
