package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/telnyxfake"
	"github.com/smsplus/smsplus/host/internal/sms/vonagefake"
)

// vonage returns the documented Vonage provider pointed at fake, adjusted by mod.
func vonage(t *testing.T, fake *vonagefake.Server, mod func(*sms.HTTPConfig)) *sms.HTTP {
	t.Helper()
	cfg, ok := sms.HTTPPreset("vonage")
	if !ok {
		t.Fatal("no vonage preset")
	}
	cfg.URL = fake.URL + "/sms/json"
	cfg.Secrets = map[string]string{"api_key": fake.APIKey, "api_secret": fake.APISecret}
	cfg.From = "SMSPlus"
	cfg.Receipts.SignatureSecret = fake.SignatureSecret
	cfg.Receipts.SignatureMethod = fake.SignatureMethod
	if mod != nil {
		mod(&cfg)
	}
	h, err := sms.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// telnyx returns the documented Telnyx provider pointed at fake.
func telnyx(t *testing.T, fake *telnyxfake.Server, mod func(*sms.HTTPConfig)) *sms.HTTP {
	t.Helper()
	cfg, ok := sms.HTTPPreset("telnyx")
	if !ok {
		t.Fatal("no telnyx preset")
	}
	cfg.URL = fake.URL + "/v2/messages"
	cfg.Secrets = map[string]string{"api_key": fake.APIKey}
	cfg.Params = map[string]string{"messaging_profile_id": "40017f8e-49bd-4f16-9e3d-ef103f916228"}
	cfg.From = "+15550001111"
	cfg.Receipts.PublicKey = fake.PublicKey
	if mod != nil {
		mod(&cfg)
	}
	h, err := sms.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVonageSends(t *testing.T) {
	t.Parallel()
	fake := vonagefake.New(t)
	tests := map[string]struct {
		mod  func(*sms.HTTPConfig)
		msg  sms.Message
		want vonagefake.Message
	}{
		"default sender, GSM text": {
			msg:  sms.Message{To: "+447700900123", Body: body},
			want: vonagefake.Message{To: "447700900123", From: "SMSPlus", Text: body, Type: "text"},
		},
		"per-message sender, reference, callback, unicode": {
			mod: func(c *sms.HTTPConfig) { c.Callback = "https://smsplus.example.com/sms/receipts/vonage" },
			msg: sms.Message{To: "+33612345678", Body: "Code : 1234 ✓", From: "+33700000001", Reference: "ch_1"},
			want: vonagefake.Message{To: "33612345678", From: "+33700000001", Text: "Code : 1234 ✓", Type: "unicode",
				ClientRef: "ch_1", Callback: "https://smsplus.example.com/sms/receipts/vonage"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := vonage(t, fake, tt.mod).Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := findVonage(fake, r.ID)
			tt.want.ID = r.ID
			if got != tt.want {
				t.Errorf("sent\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func findVonage(fake *vonagefake.Server, id string) vonagefake.Message {
	for _, m := range fake.Messages() {
		if m.ID == id {
			return m
		}
	}
	return vonagefake.Message{}
}

func findTelnyx(fake *telnyxfake.Server, id string) telnyxfake.Message {
	for _, m := range fake.Messages() {
		if m.ID == id {
			return m
		}
	}
	return telnyxfake.Message{}
}

func TestTelnyxSends(t *testing.T) {
	t.Parallel()
	fake := telnyxfake.New(t)
	tests := map[string]struct {
		mod              func(*sms.HTTPConfig)
		msg              sms.Message
		from, profile    string
		webhook          string
		wantProfileEmpty bool
	}{
		"default sender and profile": {
			msg: sms.Message{To: "+15005550006", Body: body}, from: "+15550001111", profile: "40017f8e-49bd-4f16-9e3d-ef103f916228",
		},
		"profile only, no sender sent": {
			mod: func(c *sms.HTTPConfig) { c.From = "" },
			msg: sms.Message{To: "+15005550006", Body: body}, profile: "40017f8e-49bd-4f16-9e3d-ef103f916228",
		},
		"per-message sender and reference": {
			mod: func(c *sms.HTTPConfig) {
				c.Params["messaging_profile_id"] = ""
				c.Callback = "https://smsplus.example.com/sms/receipts/telnyx"
			},
			msg:  sms.Message{To: "+447700900123", Body: body, From: "SMSPlus", Reference: "ch_9"},
			from: "SMSPlus", webhook: "https://smsplus.example.com/sms/receipts/telnyx?" + sms.ReferenceParam + "=ch_9",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := telnyx(t, fake, tt.mod).Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := findTelnyx(fake, r.ID)
			if got.To != tt.msg.To || got.Text != tt.msg.Body || got.From != tt.from || got.MessagingProfileID != tt.profile || got.WebhookURL != tt.webhook {
				t.Errorf("sent %+v, want to %s from %q profile %q webhook %q", got, tt.msg.To, tt.from, tt.profile, tt.webhook)
			}
		})
	}
}

// TestHTTPTemplateEscapes sends texts that would break out of a naively
// filled template: a quote ending the JSON string, a newline, a backslash, an
// "&" adding a form field, a placeholder naming a secret. Each must arrive as
// it was written, and nothing else may change.
func TestHTTPTemplateEscapes(t *testing.T) {
	t.Parallel()
	vf := vonagefake.New(t)
	tf := telnyxfake.New(t)
	v := vonage(t, vf, nil)
	tx := telnyx(t, tf, nil)
	texts := map[string]string{
		"quote":              `Code 1234", "to": "+19990000000`,
		"newline and quotes": "line 1\nline 2\r\n\"quoted\" 'single'",
		"backslash":          `C:\path\"x\u0041`,
		"form injection":     "hi&to=19990000000&api_key=x&text=evil",
		"percent":            "100% %0A%26 + plus",
		"placeholder":        "{{secret.api_key}} {{to}} {{secret.api_secret}}",
		"control and json":   "tab\there \x00nul } ] {\"a\":1}",
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := v.Send(context.Background(), sms.Message{To: "+447700900123", Body: text})
			if err != nil {
				t.Fatalf("vonage: %v", err)
			}
			if got := findVonage(vf, r.ID); got.Text != text || got.To != "447700900123" || got.From != "SMSPlus" {
				t.Errorf("vonage received %+v, want the text as written", got)
			}
			r, err = tx.Send(context.Background(), sms.Message{To: "+15005550006", Body: text})
			if err != nil {
				t.Fatalf("telnyx: %v", err)
			}
			if got := findTelnyx(tf, r.ID); got.Text != text || got.To != "+15005550006" || got.From != "+15550001111" {
				t.Errorf("telnyx received %+v, want the text as written", got)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	vf := vonagefake.New(t)
	tf := telnyxfake.New(t)
	v := vonage(t, vf, nil)
	tx := telnyx(t, tf, nil)
	tests := map[string]struct {
		vonage   vonagefake.Outcome
		telnyx   telnyxfake.Outcome
		rejected bool
		code     string
	}{
		"vonage throttled":      {vonage: vonagefake.Fail("1"), code: "1"},
		"vonage internal error": {vonage: vonagefake.Fail("5"), code: "5"},
		"vonage unroutable":     {vonage: vonagefake.Fail("6"), rejected: true, code: "6"},
		"vonage number barred":  {vonage: vonagefake.Fail("7"), rejected: true, code: "7"},
		"vonage proxy 502":      {vonage: vonagefake.Page(502)},
		"telnyx invalid to":     {telnyx: telnyxfake.Fail(400, "40310"), rejected: true, code: "40310"},
		"telnyx unprocessable":  {telnyx: telnyxfake.Fail(422, "40001"), rejected: true, code: "40001"},
		"telnyx unauthorized":   {telnyx: telnyxfake.Fail(401, "10009"), code: "10009"},
		"telnyx forbidden":      {telnyx: telnyxfake.Fail(403, "10010"), code: "10010"},
		"telnyx rate limited":   {telnyx: telnyxfake.Fail(429, "10011"), code: "10011"},
		"telnyx 500":            {telnyx: telnyxfake.Fail(500, "10007"), code: "10007"},
		"telnyx proxy 503":      {telnyx: telnyxfake.Page(503)},
	}
	i := 0
	for name, tt := range tests {
		i++
		to := fmt.Sprintf("+4477009%05d", i)
		s := v
		if strings.HasPrefix(name, "vonage") {
			vf.SetOutcomeFor(to[1:], tt.vonage)
		} else {
			s = tx
			tf.SetOutcomeFor(to, tt.telnyx)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Send(context.Background(), sms.Message{To: to, Body: body})
			if err == nil {
				t.Fatal("sent")
			}
			if errors.Is(err, sms.ErrRejected) != tt.rejected || errors.Is(err, sms.ErrUnavailable) == tt.rejected {
				t.Errorf("err %v: rejected %v, want %v", err, errors.Is(err, sms.ErrRejected), tt.rejected)
			}
			var he *sms.HTTPError
			if !errors.As(err, &he) || he.Code != tt.code {
				t.Errorf("err %#v, want an HTTPError with code %q", err, tt.code)
			}
			checkNoSecrets(t, err.Error(), to, vf.APISecret, vf.APIKey, tf.APIKey)
		})
	}
}

func TestHTTPWrongCredentials(t *testing.T) {
	t.Parallel()
	vf := vonagefake.New(t)
	tf := telnyxfake.New(t)
	for name, s := range map[string]*sms.HTTP{
		"vonage": vonage(t, vf, func(c *sms.HTTPConfig) { c.Secrets["api_secret"] = "wrong-secret-123" }),
		"telnyx": telnyx(t, tf, func(c *sms.HTTPConfig) { c.Secrets["api_key"] = "KEYwrong" }),
	} {
		_, err := s.Send(context.Background(), sms.Message{To: "+447700900123", Body: body})
		if !errors.Is(err, sms.ErrUnavailable) || errors.Is(err, sms.ErrRejected) {
			t.Errorf("%s: err %v, want unavailable", name, err)
		}
		checkNoSecrets(t, err.Error(), "+447700900123", "wrong-secret-123", "KEYwrong")
	}
	if len(vf.Messages())+len(tf.Messages()) != 0 {
		t.Error("a message was sent with wrong credentials")
	}
}

func checkNoSecrets(t *testing.T, text, to string, secrets ...string) {
	t.Helper()
	if strings.Contains(text, to[1:]) {
		t.Errorf("text carries the number: %q", text)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("text carries a secret: %q", text)
		}
	}
	if strings.Contains(text, "sms.example.com") {
		t.Errorf("text carries the message: %q", text)
	}
}

func TestHTTPServerDownAndLogs(t *testing.T) {
	t.Parallel()
	tf := telnyxfake.New(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The API key also rides in the URL's query here, as some APIs want it: a
	// transport error must not quote the URL.
	s := telnyx(t, tf, func(c *sms.HTTPConfig) {
		c.Log = log
		c.URL = tf.URL + "/v2/messages?key={{secret.api_key}}&to={{to}}"
	})
	r, err := s.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, r.ID) || !strings.Contains(out, "+15•••06") {
		t.Errorf("log lacks the id or the masked number: %s", out)
	}
	tf.Close()
	_, err = s.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if !errors.Is(err, sms.ErrUnavailable) {
		t.Fatalf("server down: err %v", err)
	}
	checkNoSecrets(t, err.Error(), "+15005550006", tf.APIKey)
	checkNoSecrets(t, buf.String(), "+15005550006", tf.APIKey)
}

func TestHTTPHonoursDeadline(t *testing.T) {
	t.Parallel()
	vf := vonagefake.New(t)
	vf.SetOutcome(vonagefake.Slow(providerDelay))
	checkGivesUpInTime(t, func(t *testing.T, ownTimeout bool) sms.Sender {
		return vonage(t, vf, func(c *sms.HTTPConfig) {
			if ownTimeout {
				c.Timeout = 200 * time.Millisecond
			}
		})
	})
}

func TestHTTPRefusesBeforeCalling(t *testing.T) {
	t.Parallel()
	vf := vonagefake.New(t)
	s := vonage(t, vf, nil)
	for name, m := range map[string]sms.Message{
		"national number": {To: "07700900123", Body: body},
		"empty body":      {To: "+447700900123"},
		"bad sender":      {To: "+447700900123", Body: body, From: "bad!sender"},
	} {
		if _, err := s.Send(context.Background(), m); err == nil {
			t.Errorf("%s: sent", name)
		}
	}
	if vf.Requests() != 0 {
		t.Errorf("%d requests", vf.Requests())
	}
}

func TestNewHTTPValidates(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-42"
	valid := func() sms.HTTPConfig {
		c, _ := sms.HTTPPreset("telnyx")
		c.Secrets = map[string]string{"api_key": secret}
		c.Receipts.PublicKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
		return c
	}
	tests := map[string]struct {
		mod  func(*sms.HTTPConfig)
		want []string
	}{
		"telnyx preset": {},
		"vonage preset": {mod: func(c *sms.HTTPConfig) {
			*c, _ = sms.HTTPPreset("vonage")
			c.Secrets = map[string]string{"api_key": "k", "api_secret": secret}
			c.Receipts.SignatureSecret = secret
		}},
		"no receipts": {mod: func(c *sms.HTTPConfig) { c.Receipts = sms.HTTPReceipts{} }},
		"missing secret": {mod: func(c *sms.HTTPConfig) { c.Secrets = nil },
			want: []string{"headers: Authorization: {{secret.api_key}} names no secret"}},
		"unknown placeholder": {mod: func(c *sms.HTTPConfig) { c.Body = `{"to":"{{phone}}"}` },
			want: []string{"body: unknown placeholder {{phone}}"}},
		"text in a header": {mod: func(c *sms.HTTPConfig) { c.Headers["X-Text"] = "{{text}}" },
			want: []string{"only {{secret.NAME}} and {{param.NAME}} may appear here"}},
		"body not json":   {mod: func(c *sms.HTTPConfig) { c.Body = `{"to":"{{to}}"` }, want: []string{"body: not a JSON document"}},
		"plain http":      {mod: func(c *sms.HTTPConfig) { c.URL = "http://api.telnyx.com/v2/messages" }, want: []string{"url: must be https"}},
		"host from value": {mod: func(c *sms.HTTPConfig) { c.URL = "https://{{param.host}}/x"; c.Params["host"] = "a" }, want: []string{"url: the scheme and host"}},
		"no id path":      {mod: func(c *sms.HTTPConfig) { c.IDPath = "" }, want: []string{"id_path: is required"}},
		"bad public key":  {mod: func(c *sms.HTTPConfig) { c.Receipts.PublicKey = "abc" }, want: []string{"public_key: must be Telnyx's Ed25519 public key"}},
		"secret with newline": {mod: func(c *sms.HTTPConfig) { c.Secrets["api_key"] = secret + "\n" },
			want: []string{"secrets: api_key: a secret cannot hold a line break"}},
		"vonage receipts without secret": {mod: func(c *sms.HTTPConfig) {
			c.Receipts = sms.HTTPReceipts{Kind: "vonage", SignatureMethod: "sha256"}
		}, want: []string{"signature_secret: Vonage's signature secret is required"}},
		"every problem at once": {mod: func(c *sms.HTTPConfig) {
			c.Name, c.Method, c.BodyFormat, c.IDPath = "", "DELETE", "xml", ""
			c.Receipts = sms.HTTPReceipts{Kind: "vonage", SignatureSecret: secret, SignatureMethod: "crc32"}
		}, want: []string{"name: is required", "method: must be", "body_format: must be", "id_path: is required", "signature_method: must be"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			if tt.mod != nil {
				tt.mod(&cfg)
			}
			_, err := sms.NewHTTP(cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error repeats a secret: %v", err)
			}
		})
	}
}

// TestHTTPQueryTemplate: an API called by GET with everything in the query
// (older SMS gateways): the values are query-escaped, the path values
// path-escaped, and a code listed in PermanentCodes is a rejection whatever
// the status.
func TestHTTPQueryTemplate(t *testing.T) {
	t.Parallel()
	type call struct {
		path  string
		query url.Values
	}
	calls := make(chan call, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- call{r.URL.EscapedPath(), r.URL.Query()}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("to") == "15005550099" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":"BLOCKED"}}`)
			return
		}
		fmt.Fprint(w, `{"result":{"ok":true,"id":12345678901234567890}}`)
	}))
	t.Cleanup(srv.Close)
	s, err := sms.NewHTTP(sms.HTTPConfig{
		Name: "gateway", Method: "GET",
		URL:         srv.URL + "/send/{{param.account}}?user={{secret.user}}&to={{to_digits}}&msg={{text}}&ref={{reference}}",
		Secrets:     map[string]string{"user": "u&s=r"},
		Params:      map[string]string{"account": "a/b c"},
		SuccessPath: "result.ok", SuccessValue: "true", IDPath: "result.id",
		ErrorPath: "error.code", PermanentCodes: []string{"BLOCKED"},
	})
	if err != nil {
		t.Fatal(err)
	}
	text := "a&to=1&msg=x #frag 100% +"
	r, err := s.Send(context.Background(), sms.Message{To: "+15005550006", Body: text, Reference: "r 1"})
	if err != nil {
		t.Fatal(err)
	}
	c := <-calls
	if r.ID != "12345678901234567890" {
		t.Errorf("id %q: a long numeric id must keep its digits", r.ID)
	}
	if c.path != "/send/a%2Fb%20c" || c.query.Get("msg") != text || c.query.Get("to") != "15005550006" ||
		c.query.Get("user") != "u&s=r" || c.query.Get("ref") != "r 1" || len(c.query) != 4 {
		t.Errorf("called %s ? %v", c.path, c.query)
	}
	_, err = s.Send(context.Background(), sms.Message{To: "+15005550099", Body: "x"})
	var he *sms.HTTPError
	if !errors.Is(err, sms.ErrRejected) || !errors.As(err, &he) || he.Code != "BLOCKED" || he.Status != 503 {
		t.Errorf("err %v, want rejected BLOCKED (HTTP 503)", err)
	}
}
