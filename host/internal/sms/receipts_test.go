package sms_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/telnyxfake"
	"github.com/smsplus/smsplus/host/internal/sms/vonagefake"
)

// fixed is the tests' clock: the fakes sign at it, the readers check at it.
var fixed = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// vonageReceiving is a Vonage provider whose receipts, sent by fake to the
// message's callback, reach a receiver.
func vonageReceiving(t *testing.T, fake *vonagefake.Server, mod func(*sms.HTTPConfig)) (*sms.HTTP, *receiver) {
	t.Helper()
	var h *sms.HTTP
	rc := newReceiver(t, readerFunc(func(r *http.Request, b []byte, u string) ([]sms.Delivery, error) { return h.ReadReceipt(r, b, u) }))
	h = vonage(t, fake, func(c *sms.HTTPConfig) {
		c.Callback = rc.URL + "/sms/receipts/vonage"
		c.Receipts.Now = at(fixed)
		if mod != nil {
			mod(c)
		}
	})
	return h, rc
}

func TestVonageReceipts(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, sigMethod string
		status, errCode   string
		want              sms.DeliveryState
		wantCode          string
	}{
		"delivered, POST form, md5hash": {"POST", "md5hash", "delivered", "0", sms.StateDelivered, ""},
		"failed, GET, sha256":           {"GET", "sha256", "failed", "6", sms.StateUndelivered, "6"},
		"expired, POST-JSON, sha512":    {"POST-JSON", "sha512", "expired", "5", sms.StateUndelivered, "5"},
		"rejected, POST, md5 hmac":      {"POST", "md5", "rejected", "9", sms.StateUndelivered, "9"},
		"accepted, POST, sha1":          {"POST", "sha1", "accepted", "0", sms.StateSent, ""},
		"unknown status":                {"POST", "md5hash", "unknown", "99", sms.StateUnknown, "99"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := vonagefake.New(t)
			fake.SignatureMethod, fake.ReceiptMethod, fake.Now = tt.sigMethod, tt.method, at(fixed)
			h, rc := vonageReceiving(t, fake, nil)
			r, err := h.Send(context.Background(), sms.Message{To: "+447700900123", Body: body, Reference: "ch_v"})
			if err != nil {
				t.Fatal(err)
			}
			status, err := fake.PostReceipt(context.Background(), r.ID, tt.status, tt.errCode)
			if err != nil || status != http.StatusNoContent {
				t.Fatalf("receipt answered %d %v; refused: %v", status, err, rc.lastRefusal())
			}
			want := []sms.Delivery{{MessageID: r.ID, Reference: "ch_v", State: tt.want, ErrorCode: tt.wantCode, At: fixed}}
			if got := rc.deliveries(); !reflect.DeepEqual(got, want) {
				t.Errorf("deliveries\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestVonageRefusesForgedReceipts(t *testing.T) {
	t.Parallel()
	fake := vonagefake.New(t)
	fake.Now = at(fixed)
	h := vonage(t, fake, nil)
	r, err := h.Send(context.Background(), sms.Message{To: "+447700900123", Body: body, Reference: "ch_1"})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := fake.Receipt(r.ID, "failed", "6")
	if err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) map[string]string {
		p := map[string]string{}
		for kk, vv := range signed {
			p[kk] = vv
		}
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
		return p
	}
	resigned := func(p map[string]string, secret string) map[string]string {
		p["sig"] = vonagefake.Sign("md5hash", secret, p)
		return p
	}
	tests := map[string]struct {
		params map[string]string
		now    time.Time
		reason string
	}{
		"unsigned":                  {with("sig", ""), fixed, "signature"},
		"signed with another key":   {resigned(with("x", ""), "another-signature-secret"), fixed, "signature"},
		"status altered":            {with("status", "delivered"), fixed, "signature"},
		"reference altered":         {with("client-ref", "ch_2"), fixed, "signature"},
		"message id altered":        {with("messageId", "0A0000000000ABCD"), fixed, "signature"},
		"parameter added":           {with("extra", "1"), fixed, "signature"},
		"timestamp altered":         {with("timestamp", "1893456000"), fixed, "signature"},
		"stale":                     {signed, fixed.Add(sms.DefaultReceiptMaxAge + time.Second), "stale"},
		"from the future":           {signed, fixed.Add(-sms.DefaultReceiptMaxAge - time.Second), "stale"},
		"signed without timestamp":  {resigned(with("timestamp", ""), fake.SignatureSecret), fixed, "unreadable"},
		"signed without message id": {resigned(with("messageId", ""), fake.SignatureSecret), fixed, "unreadable"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, rc := vonageReceiving(t, fake, func(c *sms.HTTPConfig) { c.Receipts.Now = at(tt.now) })
			status, err := vonagefake.Deliver(context.Background(), "POST", rc.URL+"/sms/receipts/vonage", tt.params)
			if err != nil {
				t.Fatal(err)
			}
			wantRefused(t, rc, status, tt.reason)
			if d := rc.deliveries(); len(d) != 0 {
				t.Errorf("accepted %+v", d)
			}
		})
	}
}

func TestVonageRefusesReplayedReceipt(t *testing.T) {
	t.Parallel()
	fake := vonagefake.New(t)
	fake.Now = at(fixed)
	h, rc := vonageReceiving(t, fake, nil)
	r, err := h.Send(context.Background(), sms.Message{To: "+447700900123", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := fake.Receipt(r.ID, "delivered", "0")
	target := rc.URL + "/sms/receipts/vonage"
	if status, err := vonagefake.Deliver(context.Background(), "POST", target, p); err != nil || status != http.StatusNoContent {
		t.Fatalf("first: %d %v %v", status, err, rc.lastRefusal())
	}
	// The same receipt again, and as a GET: the signature is the same.
	for _, method := range []string{"POST", "GET"} {
		status, err := vonagefake.Deliver(context.Background(), method, target, p)
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, rc, status, "replayed")
	}
	// The signature in other letter case is the same signature.
	p["sig"] = strings.ToUpper(p["sig"])
	status, _ := vonagefake.Deliver(context.Background(), "POST", target, p)
	wantRefused(t, rc, status, "replayed")
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

func TestVonageRefusesRepeatedParameter(t *testing.T) {
	t.Parallel()
	fake := vonagefake.New(t)
	fake.Now = at(fixed)
	h, rc := vonageReceiving(t, fake, nil)
	r, _ := h.Send(context.Background(), sms.Message{To: "+447700900123", Body: body})
	p, _ := fake.Receipt(r.ID, "failed", "6")
	form := url.Values{}
	for k, v := range p {
		form.Set(k, v)
	}
	form.Add("status", "delivered") // which one did Vonage sign?
	status := rc.post(t, http.MethodPost, "/sms/receipts/vonage", "application/x-www-form-urlencoded", form.Encode(), nil)
	wantRefused(t, rc, status, "unreadable")
}

// telnyxReceiving is a Telnyx provider whose webhooks reach a receiver.
func telnyxReceiving(t *testing.T, fake *telnyxfake.Server, now time.Time) (*sms.HTTP, *receiver) {
	t.Helper()
	var h *sms.HTTP
	rc := newReceiver(t, readerFunc(func(r *http.Request, b []byte, u string) ([]sms.Delivery, error) { return h.ReadReceipt(r, b, u) }))
	h = telnyx(t, fake, func(c *sms.HTTPConfig) {
		c.Callback = rc.URL + "/sms/receipts/telnyx"
		c.Receipts.Now = at(now)
	})
	return h, rc
}

func TestTelnyxReceipts(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		event, status, errCode string
		want                   []sms.DeliveryState // nil: no delivery
		wantCode               string
	}{
		"sent":                 {"message.sent", "sent", "", []sms.DeliveryState{sms.StateSent}, ""},
		"delivered":            {"message.finalized", "delivered", "", []sms.DeliveryState{sms.StateDelivered}, ""},
		"delivery failed":      {"message.finalized", "delivery_failed", "40008", []sms.DeliveryState{sms.StateUndelivered}, "40008"},
		"sending failed":       {"message.finalized", "sending_failed", "40001", []sms.DeliveryState{sms.StateUndelivered}, "40001"},
		"delivery unconfirmed": {"message.finalized", "delivery_unconfirmed", "", []sms.DeliveryState{sms.StateUnknown}, ""},
		"inbound message":      {"message.received", "delivered", "", nil, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := telnyxfake.New(t)
			fake.Now = at(fixed)
			h, rc := telnyxReceiving(t, fake, fixed)
			r, err := h.Send(context.Background(), sms.Message{To: "+15005550006", Body: body, Reference: "ch_t"})
			if err != nil {
				t.Fatal(err)
			}
			status, err := fake.PostEvent(context.Background(), r.ID, tt.event, tt.status, tt.errCode)
			if err != nil || status != http.StatusNoContent {
				t.Fatalf("webhook answered %d %v; refused %v", status, err, rc.lastRefusal())
			}
			var want []sms.Delivery
			for _, s := range tt.want {
				want = append(want, sms.Delivery{MessageID: r.ID, Reference: "ch_t", State: s, ErrorCode: tt.wantCode, At: fixed})
			}
			if got := rc.deliveries(); !reflect.DeepEqual(got, want) {
				t.Errorf("deliveries\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestTelnyxRefusesForgedWebhooks(t *testing.T) {
	t.Parallel()
	fake := telnyxfake.New(t)
	fake.Now = at(fixed)
	h := telnyx(t, fake, nil)
	r, err := h.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	body, ts, sig, err := fake.Event(r.ID, "message.finalized", "delivery_failed", "40008")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	altered := strings.Replace(string(body), "delivery_failed", "delivered", 1)
	older := "1765094400"
	tests := map[string]struct {
		body, ts, sig string
		now           time.Time
		reason        string
	}{
		"unsigned":                {string(body), ts, "", fixed, "signature"},
		"no timestamp":            {string(body), "", sig, fixed, "signature"},
		"signed with another key": {string(body), ts, base64.StdEncoding.EncodeToString(ed25519.Sign(otherKey, []byte(ts+"|"+string(body)))), fixed, "signature"},
		"body altered":            {altered, ts, sig, fixed, "signature"},
		"timestamp altered":       {string(body), older, sig, fixed, "signature"},
		"signature not base64":    {string(body), ts, "!!", fixed, "signature"},
		"signature truncated":     {string(body), ts, sig[:40], fixed, "signature"},
		"stale":                   {string(body), ts, sig, fixed.Add(sms.DefaultReceiptMaxAge + time.Second), "stale"},
		"from the future":         {string(body), ts, sig, fixed.Add(-sms.DefaultReceiptMaxAge - time.Second), "stale"},
		"old event re-signed by the fake, still stale": {string(body), older, fake.Sign(older, body), fixed, "stale"},
		"signed but not JSON":                          {"not json", ts, fake.Sign(ts, []byte("not json")), fixed, "unreadable"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, rc := telnyxReceiving(t, fake, tt.now)
			status, err := telnyxfake.Deliver(context.Background(), rc.URL+"/sms/receipts/telnyx", []byte(tt.body), tt.ts, tt.sig)
			if err != nil {
				t.Fatal(err)
			}
			wantRefused(t, rc, status, tt.reason)
			if d := rc.deliveries(); len(d) != 0 {
				t.Errorf("accepted %+v", d)
			}
		})
	}
}

func TestTelnyxRefusesReplayedWebhook(t *testing.T) {
	t.Parallel()
	fake := telnyxfake.New(t)
	fake.Now = at(fixed)
	h, rc := telnyxReceiving(t, fake, fixed)
	r, err := h.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	body, ts, sig, _ := fake.Event(r.ID, "message.finalized", "delivered", "")
	target := rc.URL + "/sms/receipts/telnyx"
	if status, err := telnyxfake.Deliver(context.Background(), target, body, ts, sig); err != nil || status != http.StatusNoContent {
		t.Fatalf("first: %d %v %v", status, err, rc.lastRefusal())
	}
	status, err := telnyxfake.Deliver(context.Background(), target, body, ts, sig)
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, rc, status, "replayed")
	// The same signature written differently: the last base64 digit of a
	// 64-byte signature carries 4 unused bits, which a lenient decoder ignores.
	last := strings.IndexByte(b64, sig[85])
	for _, alt := range []byte{b64[last^1], b64[last^2], b64[last^15]} {
		status, err := telnyxfake.Deliver(context.Background(), target, body, ts, sig[:85]+string(alt)+"==")
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusForbidden {
			t.Errorf("signature %s…%c accepted", sig[:4], alt)
		}
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

// TestTelnyxReferenceIsSigned: the reference is read from the signed body's
// webhook_url, never from the URL the request came to.
func TestTelnyxReferenceIsSigned(t *testing.T) {
	t.Parallel()
	fake := telnyxfake.New(t)
	fake.Now = at(fixed)
	h, rc := telnyxReceiving(t, fake, fixed)
	r, _ := h.Send(context.Background(), sms.Message{To: "+15005550006", Body: body, Reference: "ch_real"})
	body, ts, sig, _ := fake.Event(r.ID, "message.finalized", "delivered", "")
	status, err := telnyxfake.Deliver(context.Background(), rc.URL+"/sms/receipts/telnyx?"+sms.ReferenceParam+"=ch_forged", body, ts, sig)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("%d %v", status, err)
	}
	if d := rc.deliveries(); len(d) != 1 || d[0].Reference != "ch_real" {
		t.Errorf("deliveries %+v, want the signed reference ch_real", d)
	}
}

func TestHTTPWithoutReceiptsRefusesThem(t *testing.T) {
	t.Parallel()
	fake := telnyxfake.New(t)
	fake.Now = at(fixed)
	h := telnyx(t, fake, func(c *sms.HTTPConfig) { c.Receipts = sms.HTTPReceipts{} })
	if h.ReadsReceipts() {
		t.Error("ReadsReceipts with none configured")
	}
	rc := newReceiver(t, h)
	r, _ := h.Send(context.Background(), sms.Message{To: "+15005550006", Body: body})
	b, ts, sig, _ := fake.Event(r.ID, "message.finalized", "delivered", "")
	status, _ := telnyxfake.Deliver(context.Background(), rc.URL, b, ts, sig)
	wantRefused(t, rc, status, "signature")
}
