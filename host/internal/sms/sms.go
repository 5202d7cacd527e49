// Package sms sends the challenge text messages.
package sms

import (
	"context"
	"errors"
)

// Message is one text message.
type Message struct {
	To   string // E.164
	Body string
}

// Receipt identifies an accepted message at the provider.
type Receipt struct {
	ID string
}

// ErrRejected: the provider refused the message (bad number, blocked, ...).
var ErrRejected = errors.New("sms: rejected by provider")

// Sender sends text messages.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}
