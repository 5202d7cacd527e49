package sms_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
)

// twilioWithReceipts is a Twilio sender (API key) whose status callbacks go to
// a receiver reading them with the sender itself.
func twilioWithReceipts(t *testing.T, fake *twiliofake.Server) (*sms.Twilio, *receiver) {
	t.Helper()
	var s *sms.Twilio
	rc := newReceiver(t, readerFunc(func(r *http.Request, body []byte, u string) ([]sms.Delivery, error) {
		return s.ReadReceipt(r, body, u)
	}))
	s = sender(t, fake, func(c *sms.TwilioConfig) {
		c.AuthToken = fake.AuthToken
		c.StatusCallback = rc.URL + "/sms/receipts/twilio"
	})
	return s, rc
}

type readerFunc func(r *http.Request, body []byte, publicURL string) ([]sms.Delivery, error)

func (f readerFunc) ReadReceipt(r *http.Request, body []byte, publicURL string) ([]sms.Delivery, error) {
	return f(r, body, publicURL)
}

func TestTwilioPerMessageSenderAndReference(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s, _ := twilioWithReceipts(t, fake)
	tests := map[string]struct {
		from, ref         string
		wantFrom, wantSvc string
	}{
		"default sender":       {wantFrom: fromNumber},
		"number for a country": {from: "+33700000001", ref: "ch_1", wantFrom: "+33700000001"},
		"messaging service":    {from: serviceSID, ref: "ch_2", wantSvc: serviceSID},
		"alphanumeric":         {from: "SMSPlus", wantFrom: "SMSPlus"},
	}
	i := 0
	for name, tt := range tests {
		i++
		to := "+1500555100" + string(rune('0'+i))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := s.Send(context.Background(), sms.Message{To: to, Body: body, From: tt.from, Reference: tt.ref})
			if err != nil {
				t.Fatal(err)
			}
			var got twiliofake.Message
			for _, m := range fake.Messages() {
				if m.SID == r.ID {
					got = m
				}
			}
			if got.From != tt.wantFrom || got.MessagingServiceSID != tt.wantSvc {
				t.Errorf("from %q service %q, want %q %q", got.From, got.MessagingServiceSID, tt.wantFrom, tt.wantSvc)
			}
			cb, err := url.Parse(got.StatusCallback)
			if err != nil || cb.Path != "/sms/receipts/twilio" || cb.Query().Get(sms.ReferenceParam) != tt.ref {
				t.Errorf("status callback %q, want the route with reference %q", got.StatusCallback, tt.ref)
			}
		})
	}
}

func TestTwilioRefusesBadPerMessageSender(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, nil)
	for _, from := range []string{"555-0100", "bad!sender", "Too long sender id", "+1 500 555"} {
		_, err := s.Send(context.Background(), sms.Message{To: "+15005550006", Body: body, From: from})
		if err == nil || !strings.Contains(err.Error(), "sender") {
			t.Errorf("From %q: err %v, want a sender error", from, err)
		}
	}
	if fake.Requests() != 0 {
		t.Errorf("Twilio was called %d times", fake.Requests())
	}
}

func TestTwilioReceipts(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	tests := map[string]struct {
		status    string
		errorCode int
		want      sms.DeliveryState
		wantCode  string
	}{
		"queued":      {"queued", 0, sms.StateUnknown, ""},
		"sent":        {"sent", 0, sms.StateSent, ""},
		"delivered":   {"delivered", 0, sms.StateDelivered, ""},
		"undelivered": {"undelivered", 30003, sms.StateUndelivered, "30003"},
		"failed":      {"failed", 30008, sms.StateUndelivered, "30008"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, rc := twilioWithReceipts(t, fake)
			r, err := s.Send(context.Background(), sms.Message{To: "+15005550006", Body: body, Reference: "ch_" + name})
			if err != nil {
				t.Fatal(err)
			}
			status, err := fake.PostStatus(context.Background(), r.ID, tt.status, tt.errorCode)
			if err != nil || status != http.StatusNoContent {
				t.Fatalf("callback answered %d, %v; refused: %v", status, err, rc.lastRefusal())
			}
			want := []sms.Delivery{{MessageID: r.ID, Reference: "ch_" + name, State: tt.want, ErrorCode: tt.wantCode}}
			if got := rc.deliveries(); !reflect.DeepEqual(got, want) {
				t.Errorf("deliveries\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestTwilioRefusesForgedReceipts(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	const path = "/sms/receipts/twilio?" + sms.ReferenceParam + "=ch_1"
	msg := twiliofake.Message{SID: "SM" + strings.Repeat("ab", 16), AccountSID: fake.AccountSID, To: "+15005550006", From: fromNumber}
	form := fake.StatusForm(msg, "undelivered", 30003)
	tests := map[string]struct {
		path   string
		body   func(u string) (string, string) // body, signature
		reason string
	}{
		"unsigned": {path, func(u string) (string, string) { return form.Encode(), "" }, "signature"},
		"signed with another token": {path, func(u string) (string, string) {
			return form.Encode(), twiliofake.Sign(strings.Repeat("0", 32), u, form)
		}, "signature"},
		"status altered after signing": {path, func(u string) (string, string) {
			sig := twiliofake.Sign(fake.AuthToken, u, form)
			f := cloneForm(form)
			f.Set("MessageStatus", "delivered")
			return f.Encode(), sig
		}, "signature"},
		"parameter added after signing": {path, func(u string) (string, string) {
			sig := twiliofake.Sign(fake.AuthToken, u, form)
			f := cloneForm(form)
			f.Set("ErrorCode", "0")
			return f.Encode(), sig
		}, "signature"},
		"reference altered after signing": {path, func(u string) (string, string) {
			return form.Encode(), twiliofake.Sign(fake.AuthToken, strings.Replace(u, "ch_1", "ch_2", 1), form)
		}, "signature"},
		"signed for another URL": {path, func(u string) (string, string) {
			return form.Encode(), twiliofake.Sign(fake.AuthToken, "https://attacker.example.com"+path, form)
		}, "signature"},
		"not base64": {path, func(u string) (string, string) { return form.Encode(), "%%%" }, "signature"},
		"another account": {path, func(u string) (string, string) {
			f := cloneForm(form)
			f.Set("AccountSid", "AC"+strings.Repeat("1", 32))
			return f.Encode(), twiliofake.Sign(fake.AuthToken, u, f)
		}, "unreadable"},
		"no message sid": {path, func(u string) (string, string) {
			f := cloneForm(form)
			f.Del("MessageSid")
			f.Del("SmsSid")
			return f.Encode(), twiliofake.Sign(fake.AuthToken, u, f)
		}, "unreadable"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, rc := twilioWithReceipts(t, fake)
			b, sig := tt.body(rc.URL + tt.path)
			h := map[string]string{}
			if sig != "" {
				h["X-Twilio-Signature"] = sig
			}
			status := rc.post(t, http.MethodPost, tt.path, "application/x-www-form-urlencoded", b, h)
			wantRefused(t, rc, status, tt.reason)
			if d := rc.deliveries(); len(d) != 0 {
				t.Errorf("accepted %v", d)
			}
		})
	}
}

func TestTwilioRefusesReplayedReceipt(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s, rc := twilioWithReceipts(t, fake)
	r, err := s.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := fake.PostStatus(context.Background(), r.ID, "delivered", 0); err != nil || status != http.StatusNoContent {
		t.Fatalf("first callback: %d %v", status, err)
	}
	status, err := fake.PostStatus(context.Background(), r.ID, "delivered", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, rc, status, "replayed")
	// The same signature written differently: the last base64 digit of a
	// 20-byte MAC carries 2 unused bits, which a lenient decoder ignores.
	msg := fake.Messages()[0]
	form := fake.StatusForm(msg, "delivered", 0)
	sig := twiliofake.Sign(fake.AuthToken, msg.StatusCallback, form)
	last := strings.IndexByte(b64, sig[26])
	for _, alt := range []byte{b64[last^1], b64[last^2], b64[last^3]} {
		u, _ := url.Parse(msg.StatusCallback)
		status = rc.post(t, http.MethodPost, u.RequestURI(), "application/x-www-form-urlencoded", form.Encode(),
			map[string]string{"X-Twilio-Signature": sig[:26] + string(alt) + "="})
		if status != http.StatusForbidden {
			t.Errorf("signature %s…%c accepted", sig[:4], alt)
		}
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

func TestTwilioReceiptsNeedTheAuthToken(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, nil) // API key only
	rc := newReceiver(t, s)
	msg := twiliofake.Message{SID: "SM" + strings.Repeat("ab", 16), AccountSID: fake.AccountSID, To: "+15005550006"}
	form := fake.StatusForm(msg, "delivered", 0)
	status := rc.post(t, http.MethodPost, "/r", "application/x-www-form-urlencoded", form.Encode(),
		map[string]string{"X-Twilio-Signature": twiliofake.Sign(fake.AuthToken, rc.URL+"/r", form)})
	wantRefused(t, rc, status, "signature")
	if !strings.Contains(rc.lastRefusal().Error(), "TWILIO_AUTH_TOKEN") {
		t.Errorf("the refusal does not name the missing setting: %v", rc.lastRefusal())
	}
}

func TestTwilioSignatureWithDefaultPort(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(t)
	s := sender(t, fake, func(c *sms.TwilioConfig) { c.AuthToken = fake.AuthToken })
	msg := twiliofake.Message{SID: "SM" + strings.Repeat("cd", 16), AccountSID: fake.AccountSID, To: "+15005550006"}
	form := fake.StatusForm(msg, "delivered", 0)
	req := httptestRequest(form.Encode(), twiliofake.Sign(fake.AuthToken, "https://smsplus.example.com:443/sms/receipts/twilio", form))
	ds, err := s.ReadReceipt(req, []byte(form.Encode()), "https://smsplus.example.com/sms/receipts/twilio")
	if err != nil || len(ds) != 1 || ds[0].State != sms.StateDelivered {
		t.Errorf("signed with :443, read without: %v %v", ds, err)
	}
}

func httptestRequest(body, sig string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, "https://smsplus.example.com/sms/receipts/twilio", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	return req
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func cloneForm(f url.Values) url.Values {
	c := url.Values{}
	for k, v := range f {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// TestTwilioSignatureVector: the example of Twilio's request validation docs
// passes the signature check (and is then refused only for naming no account
// of ours).
func TestTwilioSignatureVector(t *testing.T) {
	t.Parallel()
	s, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: "AC" + strings.Repeat("0", 32), AuthToken: "12345", FromNumber: fromNumber})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	for sig, reason := range map[string]string{"RSOYDt4T1cUTdK1PDd93/VVr8B8=": "unreadable", "SSOYDt4T1cUTdK1PDd93/VVr8B8=": "signature"} {
		_, err := s.ReadReceipt(httptestRequest(form.Encode(), sig), []byte(form.Encode()), u)
		if got := sms.ReceiptRefusal(err); got != reason {
			t.Errorf("signature %s: refusal %q (%v), want %q", sig, got, err, reason)
		}
	}
}
