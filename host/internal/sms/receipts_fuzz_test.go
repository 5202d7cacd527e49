package sms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/sms/telnyxfake"
	"github.com/smsplus/smsplus/host/internal/sms/twiliofake"
	"github.com/smsplus/smsplus/host/internal/sms/vonagefake"
)

// FuzzReadReceipt feeds each provider's ReadReceipt arbitrary bodies, signed
// with the provider's real key where the format allows (so the fuzzer gets past
// the signature to the parsing), and checks what the receipts route relies on:
// no panic; a refusal wraps ErrBadReceipt with a reason; an accepted callback
// names a message and is refused when posted again.
func FuzzReadReceipt(f *testing.F) {
	const publicURL = "https://smsplus.example.com/sms/receipts/p?ref=ch_1"
	tw := twiliofake.New(f)
	twilio, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: tw.AccountSID, APIKey: tw.APIKey, APISecret: tw.APISecret,
		AuthToken: tw.AuthToken, FromNumber: fromNumber, BaseURL: tw.URL})
	if err != nil {
		f.Fatal(err)
	}
	vf := vonagefake.New(f)
	vcfg, _ := sms.HTTPPreset("vonage")
	vcfg.URL, vcfg.Secrets = vf.URL+"/sms/json", map[string]string{"api_key": vf.APIKey, "api_secret": vf.APISecret}
	vcfg.Receipts.SignatureSecret, vcfg.Receipts.SignatureMethod, vcfg.Receipts.Now = vf.SignatureSecret, vf.SignatureMethod, at(fixed)
	vonage, err := sms.NewHTTP(vcfg)
	if err != nil {
		f.Fatal(err)
	}
	tf := telnyxfake.New(f)
	tcfg, _ := sms.HTTPPreset("telnyx")
	tcfg.URL, tcfg.Secrets = tf.URL+"/v2/messages", map[string]string{"api_key": tf.APIKey}
	tcfg.Params = map[string]string{"messaging_profile_id": "40017f8e-49bd-4f16-9e3d-ef103f916228"}
	tcfg.Receipts.PublicKey, tcfg.Receipts.Now = tf.PublicKey, at(fixed)
	telnyx, err := sms.NewHTTP(tcfg)
	if err != nil {
		f.Fatal(err)
	}

	twilioForm := tw.StatusForm(twiliofake.Message{SID: "SM" + string(bytes.Repeat([]byte("ab"), 16)), AccountSID: tw.AccountSID,
		To: "+15005550006"}, "undelivered", 30003)
	f.Add(uint8(0), []byte(twilioForm.Encode()), false)
	vp, _ := vf.Receipt("0B00000012345678", "failed", "6")
	vform := url.Values{}
	for k, v := range vp {
		if k != "sig" && k != "timestamp" {
			vform.Set(k, v)
		}
	}
	f.Add(uint8(1), []byte(vform.Encode()), false)
	f.Add(uint8(1), []byte(`{"messageId":"0B00000012345678","status":"delivered","timestamp":1,"sig":"00"}`), true)
	tbody, _, _, _ := tf.Event("40317f8e-49bd-4f16-9e3d-ef103f916228", "message.finalized", "delivery_failed", "40300")
	f.Add(uint8(2), tbody, false)
	f.Add(uint8(2), []byte(`{"data":{"event_type":"message.sent","payload":{"id":"x","to":null,"errors":[{"code":{}}]}}}`), false)

	f.Fuzz(func(t *testing.T, which uint8, body []byte, asJSON bool) {
		var read func() ([]sms.Delivery, error)
		switch which % 3 {
		case 0:
			form, err := url.ParseQuery(string(body))
			if err != nil {
				form = url.Values{}
			}
			sig := twiliofake.Sign(tw.AuthToken, publicURL, form)
			read = func() ([]sms.Delivery, error) {
				req, _ := http.NewRequest(http.MethodPost, publicURL, bytes.NewReader(body))
				req.Header.Set("X-Twilio-Signature", sig)
				return twilio.ReadReceipt(req, body, publicURL)
			}
		case 1:
			req, _ := http.NewRequest(http.MethodPost, publicURL, bytes.NewReader(body))
			if asJSON {
				req.Header.Set("Content-Type", "application/json")
			} else if form, err := url.ParseQuery(string(body)); err == nil {
				// Signed as Vonage would, at the reader's clock.
				p := map[string]string{"timestamp": strconv.FormatInt(fixed.Unix(), 10)}
				for k, v := range form {
					if len(v) > 0 && k != "sig" {
						p[k] = v[0]
					}
				}
				signed := url.Values{}
				for k, v := range p {
					signed.Set(k, v)
				}
				signed.Set("sig", vonagefake.Sign(vf.SignatureMethod, vf.SignatureSecret, p))
				body = []byte(signed.Encode())
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			read = func() ([]sms.Delivery, error) { return vonage.ReadReceipt(req, body, publicURL) }
		case 2:
			ts := strconv.FormatInt(fixed.Unix(), 10)
			sig := tf.Sign(ts, body)
			read = func() ([]sms.Delivery, error) {
				req, _ := http.NewRequest(http.MethodPost, publicURL, bytes.NewReader(body))
				req.Header.Set("telnyx-signature-ed25519", sig)
				req.Header.Set("telnyx-timestamp", ts)
				return telnyx.ReadReceipt(req, body, publicURL)
			}
		}
		ds, err := read()
		if err != nil {
			if !errors.Is(err, sms.ErrBadReceipt) || sms.ReceiptRefusal(err) == "" {
				t.Fatalf("refusal %v is not a receipt refusal with a reason", err)
			}
			return
		}
		for _, d := range ds {
			if d.MessageID == "" {
				t.Fatalf("accepted a receipt that names no message: %+v", d)
			}
		}
		if _, err := read(); sms.ReceiptRefusal(err) != "replayed" {
			t.Fatalf("the same callback again: %v, want refused as replayed", err)
		}
	})
}

// FuzzHTTPTemplate fills the generic provider's templates (a JSON body, a form
// body, a URL query) with arbitrary texts and references, and checks that the
// API receives each value exactly as given, in its own member, field or
// parameter, and nothing else: no value can end its string, add a member or a
// parameter, or expand a placeholder.
func FuzzHTTPTemplate(f *testing.F) {
	type got struct {
		query url.Values
		form  url.Values
		json  map[string]any
	}
	calls := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var g got
		g.query = r.URL.Query()
		b, _ := io.ReadAll(r.Body)
		switch r.Header.Get("Content-Type") {
		case "application/json":
			if err := json.Unmarshal(b, &g.json); err != nil {
				g.json = map[string]any{"unreadable": err.Error()}
			}
		case "application/x-www-form-urlencoded":
			g.form, _ = url.ParseQuery(string(b))
		}
		calls <- g
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"m1"}`)
	}))
	f.Cleanup(srv.Close)
	newHTTP := func(format, body string) *sms.HTTP {
		h, err := sms.NewHTTP(sms.HTTPConfig{Name: "gw", URL: srv.URL + "/send?ref={{reference}}&key={{secret.k}}",
			Secrets: map[string]string{"k": "s3cr3t-key"}, BodyFormat: format, Body: body, IDPath: "id"})
		if err != nil {
			f.Fatal(err)
		}
		return h
	}
	jsonAPI := newHTTP("json", `{"to":"{{to}}","text":"{{text}}","ref":"{{reference}}"}`)
	formAPI := newHTTP("form", `to={{to}}&text={{text}}&ref={{reference}}`)
	for _, s := range []string{`Code 1234", "to": "+1999`, "a&to=1&text=x", "{{secret.k}}", "%0A\r\n\x00", "#frag?x=1"} {
		f.Add(s, s, false)
		f.Add(s, "", true)
	}
	f.Fuzz(func(t *testing.T, text, ref string, form bool) {
		if !utf8.ValidString(text) || !utf8.ValidString(ref) || text == "" || utf8.RuneCountInString(text) > 1600 {
			return // refused before sending (empty, too long) or not text
		}
		api := jsonAPI
		if form {
			api = formAPI
		}
		if _, err := api.Send(context.Background(), sms.Message{To: "+15005550006", Body: text, Reference: ref}); err != nil {
			t.Fatalf("send: %v", err)
		}
		g := <-calls
		wantQuery := url.Values{"key": {"s3cr3t-key"}, "ref": {ref}}
		if !reflect.DeepEqual(g.query, wantQuery) {
			t.Fatalf("query %v, want %v", g.query, wantQuery)
		}
		want := map[string]string{"to": "+15005550006", "text": text, "ref": ref}
		if ref == "" {
			delete(want, "ref") // an empty optional value is left out
		}
		if form {
			flat := map[string]string{}
			for k, v := range g.form {
				if len(v) != 1 {
					t.Fatalf("form field %s given %d times", k, len(v))
				}
				flat[k] = v[0]
			}
			if !reflect.DeepEqual(flat, want) {
				t.Fatalf("form %q, want %q", flat, want)
			}
			return
		}
		flat := map[string]string{}
		for k, v := range g.json {
			s, _ := v.(string)
			flat[k] = s
		}
		if !reflect.DeepEqual(flat, want) {
			t.Fatalf("JSON %q, want %q", flat, want)
		}
	})
}
