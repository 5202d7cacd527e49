package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
)

// Console is the development sender: it prints the message it would have sent,
// with a loud banner, instead of sending it. It is the only place in SMS+ where a
// message body (and so a link or a code) is ever written out.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsole returns a Console sender writing to w.
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

const banner = "=== SMS+ DEVELOPMENT MODE: SMS NOT SENT (SMS_PROVIDER=console) ==="

// Send prints the message. The body is printed on a line of its own, prefixed
// "sms body: ", so that tools (and the end-to-end test) can pick it up.
func (c *Console) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "console-" + hex.EncodeToString(b[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.w, "%s\nsms to: %s\nsms body: %s\n%s\n", banner, m.To, m.Body, "=== END OF SMS "+id+" ===")
	if err != nil {
		return Receipt{}, fmt.Errorf("console sender: %w", err)
	}
	return Receipt{ID: id}, nil
}
