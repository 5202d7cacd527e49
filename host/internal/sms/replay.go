package sms

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultReceiptMaxAge is how old a signed, timestamped status callback may be
// (Vonage, Telnyx) before it is refused as stale; it is also how long a
// callback's signature is remembered to refuse a replay.
const DefaultReceiptMaxAge = 5 * time.Minute

// maxRemembered bounds the replay memory of one provider. Past it, the oldest
// half is forgotten: a flood of valid callbacks (which only the provider can
// sign) cannot exhaust memory, and a replay of a forgotten one is still refused
// when it carries a timestamp, as stale.
const maxRemembered = 100_000

// replayGuard remembers the signatures of the callbacks accepted recently, so
// that the same callback posted again is refused. A signature is a MAC or a
// signature over the whole callback, so equal signatures mean the same
// callback.
type replayGuard struct {
	keep time.Duration

	mu   sync.Mutex
	seen map[[32]byte]time.Time // signature digest → when it expires
}

func newReplayGuard(keep time.Duration) *replayGuard {
	return &replayGuard{keep: keep, seen: map[[32]byte]time.Time{}}
}

// first records sig at now and reports whether it was not seen before (within
// the guard's memory).
func (g *replayGuard) first(sig string, now time.Time) bool {
	key := sha256.Sum256([]byte(sig))
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[key]; ok && now.Before(exp) {
		return false
	}
	if len(g.seen) >= maxRemembered {
		g.prune(now)
	}
	g.seen[key] = now.Add(g.keep)
	return true
}

// prune drops the expired entries, then, if still full, about half of the rest
// (map order is random, which is good enough here: see maxRemembered).
func (g *replayGuard) prune(now time.Time) {
	for k, exp := range g.seen {
		if !now.Before(exp) {
			delete(g.seen, k)
		}
	}
	for k := range g.seen {
		if len(g.seen) < maxRemembered/2 {
			break
		}
		delete(g.seen, k)
	}
}

// badReceipt is a refused callback. Reason is one of the Observer's reasons:
// signature, replayed, stale, unreadable.
type badReceipt struct {
	Reason string
	detail string
}

func (e *badReceipt) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrBadReceipt, e.Reason, e.detail)
}

func (e *badReceipt) Unwrap() error { return ErrBadReceipt }

// ReceiptRefusal is why a callback was refused (signature, replayed, stale or
// unreadable), for Observer.ReceiptRefused; "" when err is not a refusal of
// this package.
func ReceiptRefusal(err error) string {
	var b *badReceipt
	if errors.As(err, &b) {
		return b.Reason
	}
	return ""
}

func refuse(reason, format string, args ...any) error {
	return &badReceipt{Reason: reason, detail: fmt.Sprintf(format, args...)}
}
