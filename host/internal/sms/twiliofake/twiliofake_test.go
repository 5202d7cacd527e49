package twiliofake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
)

// post sends a create request the way Twilio's docs show it (curl -u, -d).
func post(t *testing.T, s *Server, account, user, pass string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+account+"/Messages.json", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, raw)
		}
	}
	return resp, body
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestErrorsFollowTwilioContract(t *testing.T) {
	t.Parallel()
	s := New(t)
	ok := form("To", "+15005550006", "From", "+15005550001", "Body", "hi")
	tests := map[string]struct {
		account, user, pass string
		form                url.Values
		status, code        int
	}{
		"no credentials":       {s.AccountSID, "", "", ok, 401, 20003},
		"wrong secret":         {s.AccountSID, s.APIKey, "nope", ok, 401, 20003},
		"secret of other user": {s.AccountSID, s.AccountSID, s.APISecret, ok, 401, 20003},
		"other account":        {"AC" + strings.Repeat("0", 32), s.APIKey, s.APISecret, ok, 404, 20404},
		"no To":                {s.AccountSID, s.APIKey, s.APISecret, form("From", "+15005550001", "Body", "hi"), 400, 21604},
		"no sender":            {s.AccountSID, s.APIKey, s.APISecret, form("To", "+15005550006", "Body", "hi"), 400, 21603},
		"no Body":              {s.AccountSID, s.APIKey, s.APISecret, form("To", "+15005550006", "From", "+15005550001"), 400, 21602},
		"bad To":               {s.AccountSID, s.APIKey, s.APISecret, form("To", "5550006", "From", "+15005550001", "Body", "hi"), 400, 21211},
		"bad service":          {s.AccountSID, s.APIKey, s.APISecret, form("To", "+15005550006", "MessagingServiceSid", "MG1", "Body", "hi"), 400, 21705},
		"body over 1600": {s.AccountSID, s.APIKey, s.APISecret,
			form("To", "+15005550006", "From", "+15005550001", "Body", strings.Repeat("é", 1601)), 400, 21617},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := post(t, s, tt.account, tt.user, tt.pass, tt.form)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if body["code"] != float64(tt.code) || body["status"] != float64(tt.status) ||
				body["more_info"] != "https://www.twilio.com/docs/errors/"+itoa(tt.code) || body["message"] == "" {
				t.Errorf("body %v, want code %d, status %d, more_info, message", body, tt.code, tt.status)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages created by refused requests", n)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRouting(t *testing.T) {
	t.Parallel()
	s := New(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json", nil)
	req.SetBasicAuth(s.APIKey, s.APISecret)
	if resp, body := do(t, req); resp.StatusCode != 405 || body["code"] != float64(20004) {
		t.Errorf("GET: %d %v", resp.StatusCode, body)
	}
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Calls.json", nil)
	if resp, body := do(t, req); resp.StatusCode != 404 || body["code"] != float64(20404) {
		t.Errorf("other resource: %d %v", resp.StatusCode, body)
	}
	if s.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1 (only the Messages endpoint counts)", s.Requests())
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	s := New(t)
	svc := "MG" + strings.Repeat("ab", 16)
	tests := map[string]struct {
		user, pass           string
		form                 url.Values
		status, segments     string
		from, service        any
		wantUser, wantSender string
	}{
		"from number, api key": {
			user: s.APIKey, pass: s.APISecret,
			form:   form("To", "+15005550006", "From", "+15005550001", "Body", "Votre code : 1234 – é"),
			status: "queued", segments: "1", from: "+15005550001", service: nil, wantUser: s.APIKey,
		},
		"messaging service, auth token": {
			user: s.AccountSID, pass: s.AuthToken,
			form:   form("To", "+447700900123", "MessagingServiceSid", svc, "Body", strings.Repeat("a", 200), "StatusCallback", "https://cb.example/s"),
			status: "accepted", segments: "0", from: nil, service: svc, wantUser: s.AccountSID,
		},
		"two segments": {
			user: s.APIKey, pass: s.APISecret,
			form:   form("To", "+33612345678", "From", "SMSPLUS", "Body", strings.Repeat("a", 161)),
			status: "queued", segments: "2", from: "SMSPLUS", service: nil, wantUser: s.APIKey,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := post(t, s, s.AccountSID, tt.user, tt.pass, tt.form)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d: %v", resp.StatusCode, body)
			}
			sid, _ := body["sid"].(string)
			if !strings.HasPrefix(sid, "SM") || len(sid) != 34 {
				t.Errorf("sid %q", sid)
			}
			for k, want := range map[string]any{
				"status": tt.status, "num_segments": tt.segments, "from": tt.from, "messaging_service_sid": tt.service,
				"to": tt.form.Get("To"), "body": tt.form.Get("Body"), "account_sid": s.AccountSID, "direction": "outbound-api",
				"api_version": "2010-04-01", "error_code": nil, "price": nil,
				"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + sid + ".json",
			} {
				if body[k] != want {
					t.Errorf("%s = %#v, want %#v", k, body[k], want)
				}
			}
			if _, err := time.Parse(time.RFC1123Z, body["date_created"].(string)); err != nil {
				t.Errorf("date_created: %v", err)
			}
			var got *Message
			for _, m := range s.Messages() {
				if m.SID == sid {
					got = &m
				}
			}
			if got == nil {
				t.Fatalf("message %s not recorded", sid)
			}
			if got.To != tt.form.Get("To") || got.Body != tt.form.Get("Body") || got.AuthUser != tt.wantUser ||
				got.StatusCallback != tt.form.Get("StatusCallback") || got.Status != tt.status {
				t.Errorf("recorded %+v", *got)
			}
		})
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.SetOutcome(Fail(20429))
	s.SetOutcomeFor("+15005550100", Accept())
	s.SetOutcomeFor("+15005550101", Fail(21610))
	s.SetOutcomeFor("+15005550102", Page(http.StatusBadGateway))
	s.SetOutcomeFor("+15005550103", Fail(20500).After(50*time.Millisecond))
	s.SetOutcomeFor("+15005550104", Outcome{Code: 21614, Status: 422})
	tests := map[string]struct {
		to     string
		status int
		code   any
	}{
		"per number accept":   {"+15005550100", 201, nil},
		"per number code":     {"+15005550101", 400, float64(21610)},
		"html page":           {"+15005550102", 502, nil},
		"slow code":           {"+15005550103", 500, float64(20500)},
		"status overridden":   {"+15005550104", 422, float64(21614)},
		"global for the rest": {"+15005550199", 429, float64(20429)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			resp, body := post(t, s, s.AccountSID, s.APIKey, s.APISecret, form("To", tt.to, "From", "+15005550001", "Body", "x"))
			if resp.StatusCode != tt.status || body["code"] != tt.code {
				t.Errorf("got %d %v, want %d code %v", resp.StatusCode, body, tt.status, tt.code)
			}
			if tt.status == 502 && resp.Header.Get("Content-Type") != "text/html" {
				t.Errorf("502 content type %q", resp.Header.Get("Content-Type"))
			}
			if tt.to == "+15005550103" && time.Since(start) < 50*time.Millisecond {
				t.Errorf("answered after %v, before the delay", time.Since(start))
			}
		})
	}
}

func TestSlowAnswerAbandoned(t *testing.T) {
	t.Parallel()
	s := Start()
	s.SetOutcome(Slow(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json",
		strings.NewReader(form("To", "+15005550006", "From", "+15005550001", "Body", "x").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.APIKey, s.APISecret)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline", err)
	}
	// A second request still waiting when the server closes must not hold Close.
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json",
			strings.NewReader(form("To", "+15005550007", "From", "+15005550001", "Body", "x").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.APIKey, s.APISecret)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for s.Requests() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages created for abandoned requests", n)
	}
}

// TestSignTwilioVector checks Sign against the example of Twilio's request
// validation docs and libraries (auth token 12345).
func TestSignTwilioVector(t *testing.T) {
	t.Parallel()
	f := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"},
	}
	if got := Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", f); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("signature %q", got)
	}
}

// TestSignAgreesWithTwilioGo: twilio-go's own request validator accepts the
// fake's signed status callbacks.
func TestSignAgreesWithTwilioGo(t *testing.T) {
	t.Parallel()
	s := New(t)
	msg := Message{SID: "SM" + strings.Repeat("ab", 16), AccountSID: s.AccountSID, To: "+15005550006", From: "+15005550001"}
	form := s.StatusForm(msg, "undelivered", 30003)
	u := "https://smsplus.example.com/sms/receipts/twilio?smsplus_ref=ch_1"
	params := map[string]string{}
	for k := range form {
		params[k] = form.Get(k)
	}
	v := client.NewRequestValidator(s.AuthToken)
	if !v.Validate(u, params, Sign(s.AuthToken, u, form)) {
		t.Error("twilio-go refuses the fake's signature")
	}
	if v.Validate(u, params, Sign(s.AuthToken, u+"x", form)) {
		t.Error("twilio-go accepts a signature for another URL: the check is void")
	}
}
