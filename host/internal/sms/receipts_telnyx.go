package sms

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// telnyxReceipts reads Telnyx messaging webhooks (message.sent,
// message.finalized), signed with Ed25519: telnyx-signature-ed25519 holds the
// base64 signature of telnyx-timestamp, "|" and the raw body, made with
// Telnyx's key; telnyx-timestamp is in Unix seconds.
type telnyxReceipts struct {
	provider string
	key      ed25519.PublicKey
	maxAge   time.Duration
	now      func() time.Time
	replays  *replayGuard
}

// telnyxEvent is the part of a webhook SMS+ reads.
type telnyxEvent struct {
	Data struct {
		EventType  string    `json:"event_type"`
		OccurredAt time.Time `json:"occurred_at"`
		Payload    struct {
			ID         string `json:"id"`
			WebhookURL string `json:"webhook_url"`
			To         []struct {
				Status string `json:"status"`
			} `json:"to"`
			Errors []struct {
				Code json.RawMessage `json:"code"`
			} `json:"errors"`
		} `json:"payload"`
	} `json:"data"`
}

func (t *telnyxReceipts) read(r *http.Request, body []byte, _ string) ([]Delivery, error) {
	sigText, tsText := r.Header.Get("telnyx-signature-ed25519"), r.Header.Get("telnyx-timestamp")
	if sigText == "" || tsText == "" {
		return nil, refuse("signature", "%s: the webhook is not signed (no telnyx-signature-ed25519 or telnyx-timestamp)", t.provider)
	}
	// Strict: a lenient decoder ignores the unused bits of the last digit, so
	// one signature would have 16 spellings, each a "new" webhook to the
	// replay check.
	sig, err := base64.StdEncoding.Strict().DecodeString(sigText)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, refuse("signature", "%s: telnyx-signature-ed25519 is not a base64 Ed25519 signature", t.provider)
	}
	signed := make([]byte, 0, len(tsText)+1+len(body))
	signed = append(append(append(signed, tsText...), '|'), body...)
	if !ed25519.Verify(t.key, signed, sig) {
		return nil, refuse("signature", "%s: telnyx-signature-ed25519 does not match the timestamp and body", t.provider)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return nil, refuse("unreadable", "%s: telnyx-timestamp is not Unix seconds", t.provider)
	}
	now := t.now()
	if !fresh(time.Unix(ts, 0), now, t.maxAge) {
		return nil, refuse("stale", "%s: the webhook was signed %v from now, more than %v", t.provider, now.Sub(time.Unix(ts, 0)).Round(time.Second), t.maxAge)
	}
	if !t.replays.first(string(sig), now) {
		return nil, refuse("replayed", "%s: this webhook was already received", t.provider)
	}

	var ev telnyxEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, refuse("unreadable", "%s: the body is not a Telnyx event", t.provider)
	}
	switch ev.Data.EventType {
	case "message.sent", "message.finalized":
	default:
		return nil, nil // inbound messages and others: not a receipt
	}
	p := ev.Data.Payload
	if !providerMessageID.MatchString(p.ID) {
		return nil, refuse("unreadable", "%s: the event names no message id", t.provider)
	}
	d := Delivery{MessageID: p.ID, At: ev.Data.OccurredAt.UTC()}
	if len(p.To) > 0 {
		d.State = telnyxState(p.To[0].Status)
	}
	if len(p.Errors) > 0 {
		var code any
		if json.Unmarshal(p.Errors[0].Code, &code) == nil {
			if s, ok := code.(string); ok {
				d.ErrorCode = s
			} else if f, ok := code.(float64); ok {
				d.ErrorCode = strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
	}
	// The reference rides in the message's webhook URL, which the signed body
	// repeats; the URL the request came to is not signed.
	if u, err := url.Parse(p.WebhookURL); err == nil && p.WebhookURL != "" {
		d.Reference = u.Query().Get(ReferenceParam)
	}
	return []Delivery{d}, nil
}

func telnyxState(status string) DeliveryState {
	switch status {
	case "sent":
		return StateSent
	case "delivered":
		return StateDelivered
	case "sending_failed", "delivery_failed":
		return StateUndelivered
	}
	return StateUnknown // queued, sending, delivery_unconfirmed
}
