// Package sms sends the challenge text messages.
//
// A provider (Twilio, Amazon SNS, a generic HTTP API) is a Sender. Providers
// whose API posts delivery receipts also implement ReceiptReader; the router
// (several providers per destination country, failover, circuit breaker) is a
// Sender made of Senders.
package sms

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Message is one text message.
type Message struct {
	To   string // E.164
	Body string
	// From overrides the provider's default sender for this message (a number,
	// a messaging service or an alphanumeric sender id, per destination
	// country); empty: the provider's default.
	From string
	// Reference is an opaque token the provider should echo in its delivery
	// receipts, where its API allows (a callback URL's query, a client
	// reference); empty: none. It is never a phone number or a code.
	Reference string
	// Challenge is the id of the challenge the text links to (the link's
	// secret). It is never sent to a provider: the receipt tracker keeps it,
	// sealed, to skip a re-send once the link was used.
	Challenge string
}

// Receipt identifies an accepted message at the provider.
type Receipt struct {
	ID string
	// Provider is the name of the provider that accepted the message (set by
	// the router; a single provider may leave it empty).
	Provider string
	// Country is the destination's region as the router routed it (set by
	// the router): whoever records the send need not look it up again.
	Country string
}

// ErrRejected: the provider refused the message (bad number, blocked, ...).
// Permanent for this message: another provider would be refused too, or the
// number is wrong.
var ErrRejected = errors.New("sms: rejected by provider")

// DeliveryState is what a provider reports of a message after accepting it.
type DeliveryState int

const (
	// StateUnknown: a report SMS+ does not act on.
	StateUnknown DeliveryState = iota
	// StateSent: handed to the carrier, not yet confirmed.
	StateSent
	// StateDelivered: the handset received it (final).
	StateDelivered
	// StateUndelivered: it will not arrive (final).
	StateUndelivered
)

func (s DeliveryState) String() string {
	switch s {
	case StateSent:
		return "sent"
	case StateDelivered:
		return "delivered"
	case StateUndelivered:
		return "undelivered"
	}
	return "unknown"
}

// Delivery is one delivery receipt, read from a provider's status callback.
type Delivery struct {
	MessageID string // the provider's id (Receipt.ID)
	Reference string // Message.Reference, when the provider echoes it
	State     DeliveryState
	// ErrorCode is the provider's code for an undelivered message, for the
	// audit trail and the operator; it never names the number.
	ErrorCode string
	At        time.Time // when the provider reports the change; zero: unknown
}

// ErrBadReceipt: a status callback that is not authentic (no or wrong
// signature, token or credentials), replayed, stale or unreadable. Refused
// without acting on it.
var ErrBadReceipt = errors.New("sms: delivery receipt refused")

// Sender sends text messages.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// ReceiptReader is implemented by providers that post delivery receipts to
// SMS+ (/sms/receipts/{provider}). ReadReceipt authenticates the callback as
// the provider's documentation says and reads the receipts in it; it returns an
// error wrapping ErrBadReceipt for anything not authentic. publicURL is the
// URL the provider was told to call, as it sees it (Twilio signs it).
type ReceiptReader interface {
	ReadReceipt(r *http.Request, body []byte, publicURL string) ([]Delivery, error)
}

// Observer hears what the router and the receipts route do, for the metrics
// (metrics.Metrics.SMSObserver). country is the destination's ISO 3166 code
// ("ZZ" when unknown); provider names are the operator's (SMS_PROVIDERS).
type Observer interface {
	// Sent: one attempt at one provider, with its result: sent, rejected,
	// timeout, error, or skipped (its circuit is open).
	Sent(provider, country, result string, took time.Duration)
	// Failover: a message went on to the next provider of its route.
	Failover(from, to, country string)
	// Circuit: a provider's circuit opened (skipped for a while) or closed.
	Circuit(provider string, open bool)
	// Delivered: a final delivery receipt; took is the time from the send to
	// the receipt (zero when unknown).
	Delivered(provider, country string, state DeliveryState, took time.Duration)
	// Resent: an undelivered message was sent again through another provider.
	Resent(provider, country string)
	// ReceiptRefused: a status callback was refused (reason: signature,
	// replayed, stale, unreadable, unknown_message).
	ReceiptRefused(provider, reason string)
}
