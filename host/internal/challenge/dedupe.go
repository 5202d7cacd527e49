package challenge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// Deliveries (storage.Deliveries) holds one record per recent delivery of a code,
// keyed by a keyed hash of bridge, phone and code: neither the phone nor the code
// is stored.
const Deliveries = storage.Deliveries

// ErrInProgress: the same code to the same phone through the same bridge is being
// delivered by another hook right now. Answer "pending": the first hook will
// finish the job.
var ErrInProgress = errors.New("challenge: the same delivery is in progress")

const (
	// claimTTL bounds how long a crashed hook can hold a claim.
	claimTTL = 30 * time.Second
	// claimPoll is how often a repeat looks for the first delivery's answer.
	claimPoll = 25 * time.Millisecond
)

// Deduper makes hooks idempotent: a vendor that delivers the same code to the
// same phone again (Auth0 retries, Okta resends) within the challenge TTL gets
// the first delivery's answer, and no second SMS goes out.
//
// Start calls Claim before it creates anything and Settle when it is done:
//
//	prior, dup, err := s.dedupe.Claim(ctx, ev, wait)
//	if err != nil || dup {
//		return prior, err // ErrInProgress: answer pending
//	}
//	st, err := ... create the challenge, send the SMS ...
//	s.dedupe.Settle(ctx, ev, st, err)
type Deduper struct {
	Store storage.Store
	Salt  string        // HASH_SALT keys the hash
	TTL   time.Duration // how long a delivery is remembered: the challenge TTL
	Log   *slog.Logger
}

// delivery is the stored record: a claim while in progress, then the answer.
type delivery struct {
	Done          bool   `json:"done"`
	TransactionID string `json:"txn,omitempty"`
	Enrolling     bool   `json:"enrolling,omitempty"`
	Pending       bool   `json:"pending,omitempty"`
	Fallback      bool   `json:"fallback,omitempty"`
}

// key is HMAC-SHA256(salt, bridge, phone, code): the store never sees the code.
func (d *Deduper) key(ev Event) string {
	mac := hmac.New(sha256.New, []byte("smsplus-delivery:"+d.Salt))
	for _, part := range []string{ev.Bridge, strings.TrimSpace(ev.Phone), ev.OTP} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// claimOp is the batch op that claims ev's delivery (Start runs it first in the
// hook's batch, see plan.go): it stops the batch when the delivery is done or in
// progress, and then hands back the stored record for Repeat.
func (d *Deduper) claimOp(ev Event) storage.Op {
	claim, _ := json.Marshal(delivery{})
	return storage.Op{Kind: storage.OpCreate, NS: Deliveries, Key: d.key(ev), Value: claim, TTL: claimTTL, Stop: true}
}

// Repeat answers a hook whose claim found ev's delivery already claimed, with
// val the record found: a finished delivery's answer at once (dup), else Claim.
func (d *Deduper) Repeat(ctx context.Context, ev Event, val []byte, wait time.Duration) (prior Started, dup bool, err error) {
	if st, done := settled(val); done {
		return st, true, nil
	}
	return d.Claim(ctx, ev, wait)
}

// settled decodes a delivery record: the first delivery's answer once it is done.
func settled(val []byte) (Started, bool) {
	var rec delivery
	if json.Unmarshal(val, &rec) != nil || !rec.Done {
		return Started{}, false
	}
	return Started{TransactionID: rec.TransactionID, Enrolling: rec.Enrolling, Pending: rec.Pending, Fallback: rec.Fallback}, true
}

// Claim reports whether ev repeats a delivery made within the TTL. When dup is
// true, prior is the first delivery's result: answer with it and send nothing.
// When dup is false the caller holds the claim and must call Settle. If the same
// delivery is still in progress after waiting up to wait for it (the hook flow
// decides how long), or ctx ends while Claim waits for it, Claim returns
// ErrInProgress; if ctx ends before any claim was seen, ctx's error.
// A store failure does not block the hook: Claim then lets it through (a second
// SMS is better than none) and logs why.
func (d *Deduper) Claim(ctx context.Context, ev Event, wait time.Duration) (prior Started, dup bool, err error) {
	key := d.key(ev)
	claim, _ := json.Marshal(delivery{})
	waited := time.NewTimer(wait)
	defer waited.Stop()
	// outOfTime answers a hook whose time ran out while it waited: if it saw the
	// same delivery in progress, that one finishes the job.
	seen := false
	// vanished: the last claim found the key taken but Get found no record.
	vanished := false
	outOfTime := func() (Started, bool, error) {
		if seen {
			return Started{}, false, ErrInProgress
		}
		return Started{}, false, ctx.Err()
	}
	for {
		err := d.Store.Create(ctx, Deliveries, key, claim, claimTTL)
		if err == nil {
			return Started{}, false, nil
		}
		if ctx.Err() != nil {
			return outOfTime()
		}
		if !errors.Is(err, storage.ErrExists) {
			d.log().Warn("delivery claim failed; not deduplicating", "bridge", ev.Bridge, "err", err)
			return Started{}, false, nil
		}
		seen = true
		val, err := d.Store.Get(ctx, Deliveries, key)
		switch {
		case ctx.Err() != nil:
			return outOfTime()
		case errors.Is(err, storage.ErrNotFound) && !vanished:
			vanished = true
			continue // the first delivery failed and let go; try to claim again
		case errors.Is(err, storage.ErrNotFound):
			// Taken again with nothing behind it: another creator is replacing an
			// expired record (on FerretDB the mongo store answers so until the
			// sweeper runs if that creator died midway). Wait as for a delivery in
			// progress; retrying at once would spin on the store until ctx ends.
		case err != nil:
			d.log().Warn("delivery lookup failed; not deduplicating", "bridge", ev.Bridge, "err", err)
			return Started{}, false, nil
		default:
			vanished = false
			if st, done := settled(val); done {
				return st, true, nil
			}
		}
		select {
		case <-ctx.Done():
			return Started{}, false, ErrInProgress
		case <-waited.C:
			return Started{}, false, ErrInProgress
		case <-time.After(claimPoll):
		}
	}
}

// Settle ends a claim. After a success (a link, a pending send or the fallback
// message went out) retries within the TTL get st; after a failure the claim is
// dropped so that the vendor's retry tries again. Call it also when a send that
// was answered "pending" fails later in the background.
func (d *Deduper) Settle(ctx context.Context, ev Event, st Started, err error) {
	// The hook's own context may be what ran out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	key := d.key(ev)
	if err != nil {
		if derr := d.Store.Delete(ctx, Deliveries, key); derr != nil {
			d.log().Warn("release delivery claim", "bridge", ev.Bridge, "err", derr)
		}
		return
	}
	val, _ := json.Marshal(delivery{Done: true, TransactionID: st.TransactionID, Enrolling: st.Enrolling, Pending: st.Pending, Fallback: st.Fallback})
	if perr := d.Store.Put(ctx, Deliveries, key, val, d.TTL); perr != nil {
		d.log().Warn("remember delivery", "bridge", ev.Bridge, "err", perr)
	}
}

func (d *Deduper) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}
