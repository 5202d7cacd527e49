package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Answer is an HTTP answer as a client saw it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Sent is when the request was sent, Received when the whole answer was
	// read; Took is the time between.
	Sent, Received time.Time
	Took           time.Duration
}

// JSON decodes the body as a JSON object (nil if it is not one).
func (a Answer) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(a.Body, &m) != nil {
		return nil
	}
	return m
}

// String shows the answer for a failure message (the body cut at 400 bytes).
func (a Answer) String() string {
	body := a.Body
	if len(body) > 400 {
		body = append(body[:400:400], "..."...)
	}
	return fmt.Sprintf("HTTP %d %s", a.Status, bytes.TrimSpace(body))
}

// Code is the page API's numeric error code (0 if none).
func (a Answer) Code() int {
	if f, ok := a.JSON()["code"].(float64); ok {
		return int(f)
	}
	return 0
}

// OktaStatus is the delivery status an Okta answer reports
// (commands[0].value[0].status: SUCCESSFUL, PENDING...), or "" if it reports none.
func (a Answer) OktaStatus() string {
	var v struct {
		Commands []struct {
			Type  string `json:"type"`
			Value []struct {
				Status string `json:"status"`
			} `json:"value"`
		} `json:"commands"`
	}
	if json.Unmarshal(a.Body, &v) != nil || len(v.Commands) == 0 || len(v.Commands[0].Value) == 0 {
		return ""
	}
	return v.Commands[0].Value[0].Status
}

// OktaReason is the first error cause's reason of an Okta error answer, or "".
func (a Answer) OktaReason() string {
	var v struct {
		Error struct {
			ErrorCauses []struct {
				Reason string `json:"reason"`
			} `json:"errorCauses"`
		} `json:"error"`
	}
	if json.Unmarshal(a.Body, &v) != nil || len(v.Error.ErrorCauses) == 0 {
		return ""
	}
	return v.Error.ErrorCauses[0].Reason
}

// Delivered reports whether the answer tells the vendor the code was sent: Okta's
// SUCCESSFUL (or PENDING, which Okta also takes as sent); for the other bridges
// a 200 with status "delivered" or "pending".
func (a Answer) Delivered(bridge string) bool {
	if bridge == "okta" {
		st := a.OktaStatus()
		return a.Status == http.StatusOK && (st == "SUCCESSFUL" || st == "PENDING")
	}
	st, _ := a.JSON()["status"].(string)
	return a.Status == http.StatusOK && (st == "delivered" || st == "pending")
}

// HookRequest builds a POST to /hooks/<bridge>. Content-Type is application/json
// unless headers set one.
func (s *Server) HookRequest(bridge string, headers map[string]string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, s.Base+"/hooks/"+bridge, bytes.NewReader(body))
	if err != nil {
		panic(err) // Base is a valid URL
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// Do sends req with client (http.DefaultClient when nil) and reads the answer.
func Do(client *http.Client, req *http.Request) (Answer, error) {
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, err
	}
	end := time.Now()
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body, Sent: start, Received: end, Took: end.Sub(start)}, nil
}

func must(t testing.TB, a Answer, err error) Answer {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// PostHook posts body to /hooks/<bridge> with headers (see HookRequest).
func (s *Server) PostHook(t testing.TB, bridge string, headers map[string]string, body []byte) Answer {
	t.Helper()
	a, err := Do(nil, s.HookRequest(bridge, headers, body))
	return must(t, a, err)
}

// Hook posts the vendor's call for phone and otp, as the bridge's plugin renders
// it with the server's settings (see Example), and reads the answer.
func (s *Server) Hook(t testing.TB, bridge, phone, otp string) Answer {
	t.Helper()
	a, err := Do(nil, s.Example(t, bridge, phone, otp))
	return must(t, a, err)
}

// HookErr is Hook for goroutines.
func (s *Server) HookErr(bridge, phone, otp string) (Answer, error) {
	req, err := s.ExampleErr(bridge, phone, otp)
	if err != nil {
		return Answer{}, err
	}
	return Do(nil, req)
}

// PostJSON posts v as JSON to path.
func (s *Server) PostJSON(t testing.TB, path string, v any) Answer {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.PostRaw(t, path, "application/json", body)
}

// PostRaw posts body with a Content-Type to path.
func (s *Server) PostRaw(t testing.TB, path, ctype string, body []byte) Answer {
	t.Helper()
	a, err := s.PostRawErr(path, ctype, body)
	return must(t, a, err)
}

// PostRawErr is PostRaw for goroutines. It is sent from the server's Phone
// (its cookies go with it).
func (s *Server) PostRawErr(path, ctype string, body []byte) (Answer, error) {
	req, err := http.NewRequest(http.MethodPost, s.Base+path, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", ctype)
	return Do(s.Phone().Client, req)
}

// Get fetches path (or an absolute URL) with extra headers.
func (s *Server) Get(t testing.TB, path string, headers map[string]string) Answer {
	t.Helper()
	url := path
	if len(path) > 0 && path[0] == '/' {
		url = s.Base + path
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	a, err := Do(s.Phone().Client, req)
	return must(t, a, err)
}

var (
	textIDRE = regexp.MustCompile(`data-text-id="(\d+)"`)
	lengthRE = regexp.MustCompile(`data-length="(\d+)"`)
)

// Page opens a challenge link and reads what the page's recorder reads: the
// phrase's text id and length (the phrase itself is an image).
func (s *Server) Page(t testing.TB, link string) (textID string, length int) {
	t.Helper()
	a := s.Get(t, link, nil)
	id, n := textIDRE.FindSubmatch(a.Body), lengthRE.FindSubmatch(a.Body)
	if a.Status != http.StatusOK || id == nil || n == nil {
		t.Fatalf("page: HTTP %d without the recorder's data attributes", a.Status)
	}
	length, _ = strconv.Atoi(string(n[1]))
	return string(id[1]), length
}

// Verify posts a typing pattern for a challenge to /verify-otp from the
// server's Phone, as its page would: with the proof that the phrase was typed
// right and the browser's signature (see Device).
func (s *Server) Verify(t testing.TB, cid, textID, pattern string) Answer {
	t.Helper()
	a, err := s.VerifyErr(cid, textID, pattern)
	return must(t, a, err)
}

// VerifyErr is Verify for goroutines.
func (s *Server) VerifyErr(cid, textID, pattern string) (Answer, error) {
	return s.VerifyFromErr(s.Phone(), cid, textID, pattern, "")
}
