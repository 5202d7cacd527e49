// Package receipt follows each challenge text after the provider accepted it:
// it records the send, reads the providers' delivery receipts
// (/sms/receipts/{provider}), writes the final state in the audit trail and,
// when configured, re-sends an undelivered text once through another provider
// of its route.
//
// The send record is written off the hook path: the Tracker wraps the sender
// and stores the record in the background once the provider has answered, so a
// hook pays no store call for it; a provider that posts no receipts (the
// console, Amazon SNS) gets none, as nothing would read it. It is keyed by the
// provider's name and message id, which every provider's receipt carries, and
// lives as long as a challenge (CHALLENGE_TTL_MINUTES). A receipt that arrives before its record
// is written, or after it expired, is ignored (unknown_message).
//
// The reference a text carries to its provider (Message.Reference, echoed in
// the receipt where the provider's API allows) is the challenge's transaction
// id with an HMAC tag: it names the challenge without revealing its id (the
// link's secret) or the phone, and a receipt whose reference does not verify,
// or names another challenge than its message's, is refused as forged.
package receipt

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// Namespaces of the store the tracker uses.
const (
	// Sends holds a record per accepted text, keyed provider:message-id.
	Sends storage.Namespace = "sms_send"
	// Finals marks the messages whose final state was recorded, so that a
	// replayed or repeated receipt changes nothing.
	Finals storage.Namespace = "sms_final"
)

// Errors the receipts route maps to answers.
var (
	// ErrUnknownProvider: no provider of that name reads receipts (404).
	ErrUnknownProvider = errors.New("receipt: no such provider reads receipts")
	// ErrForged: the receipt's reference does not verify or does not match its
	// message (403); see also sms.ErrBadReceipt.
	ErrForged = fmt.Errorf("%w: reference forged", sms.ErrBadReceipt)
	// ErrUnreadable: the callback is not a receipt the provider's reader
	// understands (400).
	ErrUnreadable = errors.New("receipt: callback unreadable")
)

// Auditor records audit entries without blocking (audit.Log).
type Auditor interface {
	Record(event, user string, fields map[string]any)
}

// Resender sends a text again through its route's providers other than used
// (sms.Router.SendAfter).
type Resender interface {
	SendAfter(ctx context.Context, m sms.Message, used string) (sms.Receipt, error)
}

// Options configure a Tracker.
type Options struct {
	Store  storage.Store
	Sealer *seal.Sealer // seals the destination and text kept for a re-send
	// Key authenticates references (HMAC-SHA256); derive it from a secret.
	Key []byte
	// UserID is the audit trail's user id of a phone (challenge.UserID).
	UserID func(phone string) string
	// Readers read the receipts of the providers that post them, by name.
	Readers map[string]sms.ReceiptReader
	// TTL is how long a send record lives: the challenge's lifetime.
	TTL time.Duration
	// Resend, when set, re-sends a text reported undelivered within
	// ResendWithin of its send, once, through Resend.
	Resend       Resender
	ResendWithin time.Duration
	// Pending reports whether the challenge (Message.Challenge) still waits
	// for its link to be used: a re-send after the link was used, or expired,
	// is pointless and skipped. nil: every undelivered text is re-sent.
	Pending  func(ctx context.Context, challenge string) (bool, error)
	Observer sms.Observer     // nil: none
	Audit    Auditor          // nil: none
	Now      func() time.Time // nil: time.Now
	Log      *slog.Logger
}

// Tracker records sends and acts on their receipts. It is safe for
// concurrent use.
type Tracker struct {
	o  Options
	wg sync.WaitGroup
}

// New returns a Tracker.
func New(o Options) *Tracker {
	if o.Observer == nil {
		o.Observer = sms.NopObserver{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.TTL <= 0 {
		o.TTL = 15 * time.Minute
	}
	if o.UserID == nil {
		o.UserID = func(string) string { return "" }
	}
	return &Tracker{o: o}
}

// Wait waits for the records and re-sends in progress (shutdown, tests).
func (t *Tracker) Wait() { t.wg.Wait() }

// record is what is kept of an accepted text.
type record struct {
	Transaction string    `json:"transaction"`
	User        string    `json:"user"`
	Country     string    `json:"country"`
	Provider    string    `json:"provider"`
	MessageID   string    `json:"message_id"`
	SentAt      time.Time `json:"sent_at"`
	// Resent: this text is the re-send; it is not re-sent again.
	Resent bool `json:"resent,omitempty"`
	// Sealed is the destination and the text, sealed, kept only when re-sends
	// are on.
	Sealed []byte `json:"sealed,omitempty"`
}

type sealedMessage struct {
	To   string `json:"to"`
	Body string `json:"body"`
	From string `json:"from,omitempty"`
	// Challenge is the challenge's id (Message.Challenge), asked about
	// before a re-send (Options.Pending).
	Challenge string `json:"challenge,omitempty"`
}

func recordKey(provider, id string) string { return provider + ":" + id }

func sealContext(provider, id string) string { return "sms-send:" + recordKey(provider, id) }

// Sender wraps next: a text whose Message.Reference is a transaction id
// (challenge.TransactionID) goes out with the authenticated reference instead,
// and once accepted its record is stored in the background.
func (t *Tracker) Sender(next sms.Sender) sms.Sender { return trackedSender{t: t, next: next} }

type trackedSender struct {
	t    *Tracker
	next sms.Sender
}

func (s trackedSender) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	tid := m.Reference
	if tid == "" {
		return s.next.Send(ctx, m)
	}
	m.Reference = s.t.reference(tid)
	r, err := s.next.Send(ctx, m)
	if err == nil && r.ID != "" && s.t.readsReceipts(r.Provider) {
		s.t.store(ctx, tid, m, r, false)
	}
	return r, err
}

// readsReceipts reports whether receipts of the provider can arrive: a send
// record of any other provider would never be read (and cost a store write).
func (t *Tracker) readsReceipts(provider string) bool {
	_, ok := t.o.Readers[provider]
	return ok
}

// store writes a send record off the caller's path.
func (t *Tracker) store(ctx context.Context, tid string, m sms.Message, r sms.Receipt, resent bool) {
	country := r.Country
	if country == "" { // a single provider, not a router
		country = sms.Country(m.To)
	}
	rec := record{Transaction: tid, User: t.o.UserID(m.To), Country: country, Provider: r.Provider,
		MessageID: r.ID, SentAt: t.o.Now(), Resent: resent}
	if t.o.Resend != nil && !resent && t.o.Sealer != nil {
		plain, _ := json.Marshal(sealedMessage{To: m.To, Body: m.Body, From: m.From, Challenge: m.Challenge})
		rec.Sealed = t.o.Sealer.Seal(plain, sealContext(r.Provider, r.ID))
	}
	val, _ := json.Marshal(rec)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// Written once: a message id names one text. A provider that hands out
		// an id twice (an HTTP provider whose id path names a field that is
		// not an id) would otherwise route every receipt to its latest text,
		// silently; the first text keeps its record, and the log says why the
		// later ones have none. On MongoDB it is also one insert, where a
		// replace is a read and a write.
		err := t.o.Store.Create(wctx, Sends, recordKey(r.Provider, r.ID), val, t.o.TTL)
		if errors.Is(err, storage.ErrExists) {
			t.o.Log.Warn("sms provider gave a message id it had already given; that text's receipts go to the first one",
				"provider", r.Provider, "message_id", r.ID, "transaction", tid)
			return
		}
		if err != nil {
			t.o.Log.Warn("store sms send record", "provider", r.Provider, "transaction", tid, "err", err)
			return
		}
		t.o.Log.Debug("sms send recorded", "provider", r.Provider, "message_id", r.ID, "transaction", tid)
	}()
}

// reference is tid with its tag: "<tid>.<tag>", URL-safe.
func (t *Tracker) reference(tid string) string {
	return tid + "." + t.tag(tid)
}

func (t *Tracker) tag(tid string) string {
	mac := hmac.New(sha256.New, t.o.Key)
	mac.Write([]byte("smsplus-sms-reference:" + tid))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// transaction verifies a reference and returns its transaction id.
func (t *Tracker) transaction(ref string) (string, bool) {
	tid, tag, ok := strings.Cut(ref, ".")
	if !ok || tid == "" || len(ref) > 128 {
		return "", false
	}
	return tid, hmac.Equal([]byte(tag), []byte(t.tag(tid)))
}

// Handle reads one status callback of provider and acts on its receipts.
// publicURL is the URL the provider called, as it sees it. The error wraps
// ErrUnknownProvider, sms.ErrBadReceipt (forged, unreadable: refuse the
// callback) or storage.ErrUnavailable (ask the provider to try again later).
func (t *Tracker) Handle(ctx context.Context, provider string, r *http.Request, body []byte, publicURL string) error {
	reader, ok := t.o.Readers[provider]
	if !ok {
		return ErrUnknownProvider
	}
	deliveries, err := reader.ReadReceipt(r, body, publicURL)
	if err != nil {
		reason := sms.ReceiptRefusal(err)
		switch {
		case !errors.Is(err, sms.ErrBadReceipt), reason == "unreadable":
			t.o.Observer.ReceiptRefused(provider, "unreadable")
			return fmt.Errorf("%s: %w: %w", provider, ErrUnreadable, err)
		case reason == "replayed":
			// Authentic, seen before: ignored, as a replay that got past the
			// reader is (Finals).
			t.o.Observer.ReceiptRefused(provider, reason)
			return nil
		case reason == "":
			reason = "signature"
		}
		t.o.Observer.ReceiptRefused(provider, reason)
		return fmt.Errorf("%s: %w", provider, err)
	}
	// Every reference is checked before anything is acted on: a callback
	// carrying one forged receipt is refused as a whole.
	for _, d := range deliveries {
		if d.Reference != "" {
			if _, ok := t.transaction(d.Reference); !ok {
				t.o.Observer.ReceiptRefused(provider, "signature")
				return fmt.Errorf("%s: %w", provider, ErrForged)
			}
		}
	}
	for _, d := range deliveries {
		if err := t.deliver(ctx, provider, d); err != nil {
			return err
		}
	}
	return nil
}

// deliver acts on one receipt: a final state is recorded once per message.
func (t *Tracker) deliver(ctx context.Context, provider string, d sms.Delivery) error {
	if d.State != sms.StateDelivered && d.State != sms.StateUndelivered {
		return nil // sent, queued...: not final, nothing to record
	}
	if d.MessageID == "" {
		t.o.Observer.ReceiptRefused(provider, "unknown_message")
		return nil
	}
	key := recordKey(provider, d.MessageID)
	val, err := t.o.Store.Get(ctx, Sends, key)
	if errors.Is(err, storage.ErrNotFound) {
		t.o.Observer.ReceiptRefused(provider, "unknown_message")
		return nil
	}
	if err != nil {
		return fmt.Errorf("get sms send record: %w", err)
	}
	var rec record
	if err := json.Unmarshal(val, &rec); err != nil {
		return fmt.Errorf("decode sms send record: %w", err)
	}
	if d.Reference != "" {
		if tid, _ := t.transaction(d.Reference); tid != rec.Transaction {
			// A genuine tag for another challenge: a provider's receipt never
			// mixes them up, so this is a forgery.
			t.o.Observer.ReceiptRefused(provider, "signature")
			return fmt.Errorf("%s: %w", provider, ErrForged)
		}
	}
	// The first final state wins; a replay or a contradicting later report
	// changes nothing. Atomic in the store, so replicas agree.
	err = t.o.Store.Create(ctx, Finals, key, []byte(d.State.String()), t.o.TTL)
	if errors.Is(err, storage.ErrExists) {
		t.o.Observer.ReceiptRefused(provider, "replayed")
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark sms final state: %w", err)
	}

	at := d.At
	if at.IsZero() || at.Before(rec.SentAt) {
		at = t.o.Now()
	}
	took := at.Sub(rec.SentAt)
	event := "sms_delivered"
	if d.State == sms.StateUndelivered {
		event = "sms_undelivered"
	}
	fields := map[string]any{"transaction": rec.Transaction, "provider": provider, "country": rec.Country,
		"took_ms": took.Milliseconds()}
	if d.ErrorCode != "" {
		fields["error_code"] = safeCode(d.ErrorCode)
	}
	if rec.Resent {
		fields["resent"] = true
	}
	t.audit(event, rec.User, fields)
	t.o.Observer.Delivered(provider, rec.Country, d.State, took)

	if d.State == sms.StateUndelivered {
		t.maybeResend(ctx, rec)
	}
	return nil
}

// maybeResend re-sends an undelivered text once, in the background (the
// provider's callback does not wait for another provider).
func (t *Tracker) maybeResend(ctx context.Context, rec record) {
	switch {
	case t.o.Resend == nil, rec.Resent, len(rec.Sealed) == 0:
		return
	case t.o.Now().Sub(rec.SentAt) > t.o.ResendWithin:
		t.audit("sms_resend_too_late", rec.User, map[string]any{"transaction": rec.Transaction, "provider": rec.Provider})
		return
	}
	plain, err := t.o.Sealer.Open(rec.Sealed, sealContext(rec.Provider, rec.MessageID))
	var sm sealedMessage
	if err == nil {
		err = json.Unmarshal(plain, &sm)
	}
	if err != nil {
		t.o.Log.Warn("open sms send record for a re-send", "transaction", rec.Transaction, "err", err)
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if !t.pending(sctx, rec, sm.Challenge) {
			t.audit("sms_resend_skipped", rec.User, map[string]any{"transaction": rec.Transaction, "provider": rec.Provider,
				"reason": "link_used_or_expired"})
			return
		}
		m := sms.Message{To: sm.To, Body: sm.Body, From: sm.From, Reference: t.reference(rec.Transaction)}
		r, err := t.o.Resend.SendAfter(sctx, m, rec.Provider)
		if err != nil {
			t.audit("sms_resend_failed", rec.User, map[string]any{"transaction": rec.Transaction, "provider": rec.Provider})
			t.o.Log.Warn("sms re-send failed", "transaction", rec.Transaction, "err", err)
			return
		}
		t.o.Observer.Resent(r.Provider, rec.Country)
		t.audit("sms_resent", rec.User, map[string]any{"transaction": rec.Transaction, "from_provider": rec.Provider,
			"provider": r.Provider})
		if t.readsReceipts(r.Provider) {
			t.store(sctx, rec.Transaction, m, r, true)
		}
	}()
}

// pending says whether a re-send of the text linking to challenge is still
// useful: its link was neither used nor expired. When the store cannot say,
// the text is re-sent (a user waiting for a code gets it; one text is the cost).
func (t *Tracker) pending(ctx context.Context, rec record, challenge string) bool {
	if t.o.Pending == nil || challenge == "" {
		return true
	}
	ok, err := t.o.Pending(ctx, challenge)
	if err != nil {
		t.o.Log.Warn("check the challenge before a re-send; re-sending", "transaction", rec.Transaction, "err", err)
		return true
	}
	return ok
}

func (t *Tracker) audit(event, user string, fields map[string]any) {
	if t.o.Audit != nil {
		t.o.Audit.Record(event, user, fields)
	}
}

// safeCode keeps a provider's error code fit for the audit trail: up to 32
// letters, digits, dots, dashes and underscores.
func safeCode(c string) string {
	if len(c) > 32 {
		return "invalid"
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return "invalid"
		}
	}
	return c
}
