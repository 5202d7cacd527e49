package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// twilioReplayMemory is how long an accepted status callback's signature is
// remembered. Twilio's signature covers no timestamp, so a replay cannot be
// told stale; it can only be recognized as seen.
const twilioReplayMemory = 24 * time.Hour

var messageSID = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)

// ReadReceipt reads one Twilio status callback: a form POST to the
// StatusCallback URL, signed in X-Twilio-Signature. The signature is the
// base64 HMAC-SHA1, keyed with the account's auth token, of publicURL (the
// callback URL Twilio was given, query included) followed by every POST
// parameter's name and value in name order. It is checked in constant time,
// before anything in the body is trusted; a callback accepted once is refused
// afterwards (replayed).
//
// MessageStatus maps to the delivery state (queued, accepted, sending:
// unknown; sent: sent; delivered, read: delivered; undelivered, failed,
// canceled: undelivered) and ErrorCode is kept as the delivery's error code.
// The reference is read from publicURL's query (ReferenceParam), which the
// signature covers.
func (t *Twilio) ReadReceipt(r *http.Request, body []byte, publicURL string) ([]Delivery, error) {
	if t.cfg.AuthToken == "" {
		return nil, refuse("signature", "twilio: TWILIO_AUTH_TOKEN is not set, so status callbacks cannot be verified")
	}
	if r.Method != http.MethodPost {
		return nil, refuse("unreadable", "twilio: status callbacks are POSTs, got %s", r.Method)
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return nil, refuse("signature", "twilio: no X-Twilio-Signature header")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, refuse("unreadable", "twilio: the body is not a form")
	}
	mac, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || !twilioSignatureValid(t.cfg.AuthToken, publicURL, form, mac) {
		return nil, refuse("signature", "twilio: X-Twilio-Signature does not match the URL and the form")
	}
	if form.Get("AccountSid") != t.cfg.AccountSID {
		return nil, refuse("unreadable", "twilio: the callback is for another account")
	}
	// Keyed on the MAC's bytes, not its text: one MAC has several spellings
	// (see Strict above).
	if !t.replays.first(string(mac), time.Now()) {
		return nil, refuse("replayed", "twilio: this status callback was already received")
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	if !messageSID.MatchString(sid) {
		return nil, refuse("unreadable", "twilio: the callback names no message SID")
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	d := Delivery{MessageID: sid, State: twilioState(status), ErrorCode: form.Get("ErrorCode")}
	if d.ErrorCode == "0" {
		d.ErrorCode = ""
	}
	if u, err := url.Parse(publicURL); err == nil {
		d.Reference = u.Query().Get(ReferenceParam)
	}
	return []Delivery{d}, nil
}

func twilioState(status string) DeliveryState {
	switch status {
	case "sent":
		return StateSent
	case "delivered", "read":
		return StateDelivered
	case "undelivered", "failed", "canceled":
		return StateUndelivered
	}
	return StateUnknown
}

// twilioSignatureValid checks the MAC got against publicURL and form, and
// against the same URL with the scheme's default port added or removed: Twilio
// signs the URL as it was configured, and a proxy may show it the other way.
func twilioSignatureValid(token, publicURL string, form url.Values, got []byte) bool {
	ok := 0
	for _, u := range urlPortVariants(publicURL) {
		ok |= subtle.ConstantTimeCompare(got, twilioSignature(token, u, form))
	}
	return ok == 1
}

// twilioSignature is the HMAC-SHA1 Twilio computes for a form POST.
func twilioSignature(token, publicURL string, form url.Values) []byte {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(publicURL))
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return mac.Sum(nil)
}

func urlPortVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw}
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return []string{raw}
	}
	alt := *u
	switch u.Port() {
	case "":
		alt.Host = net.JoinHostPort(u.Hostname(), def)
	case def:
		alt.Host = strings.TrimSuffix(u.Host, ":"+def)
	default:
		return []string{raw}
	}
	return []string{raw, alt.String()}
}
