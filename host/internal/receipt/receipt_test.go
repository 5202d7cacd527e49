package receipt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/logbuf"

	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
)

const (
	phone = "+447700900123"
	tid   = "sp_0123456789abcdef01"
	text  = "Open https://sms.example.com/abc and type the phrase."
)

// provider is a fake provider: it accepts every text with a fresh id, and its
// receipts are JSON bodies authenticated by an X-Sig header (a stand-in for a
// provider's signature scheme; the real ones are tested with their providers).
type provider struct {
	name    string
	fixedID string // when set, the id of every text (a misconfigured provider)
	mu      sync.Mutex
	sent    []sms.Message
}

// cid is the challenge the fixture's texts link to.
const cid = "abc"

func (p *provider) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, m)
	if p.fixedID != "" {
		return sms.Receipt{ID: p.fixedID, Provider: p.name}, nil
	}
	return sms.Receipt{ID: fmt.Sprintf("%s-msg-%d", p.name, len(p.sent)), Provider: p.name}, nil
}

func (p *provider) messages() []sms.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

type wire struct {
	ID    string `json:"id"`
	Ref   string `json:"ref"`
	State string `json:"state"`
	Code  string `json:"code"`
}

func (p *provider) ReadReceipt(r *http.Request, body []byte, _ string) ([]sms.Delivery, error) {
	if r.Header.Get("X-Sig") != "good" {
		return nil, fmt.Errorf("%w: signature", sms.ErrBadReceipt)
	}
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	st := map[string]sms.DeliveryState{"delivered": sms.StateDelivered, "undelivered": sms.StateUndelivered, "sent": sms.StateSent}[w.State]
	return []sms.Delivery{{MessageID: w.ID, Reference: w.Ref, State: st, ErrorCode: w.Code}}, nil
}

// router stands for sms.Router: Send through a, SendAfter through b.
type router struct{ a, b *provider }

func (r router) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	return r.a.Send(ctx, m)
}
func (r router) SendAfter(ctx context.Context, m sms.Message, used string) (sms.Receipt, error) {
	if used != r.a.name {
		return sms.Receipt{}, sms.ErrNoProvider
	}
	return r.b.Send(ctx, m)
}

type entry struct {
	event, user string
	fields      map[string]any
}

type auditLog struct {
	mu      sync.Mutex
	entries []entry
}

func (a *auditLog) Record(event, user string, fields map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, entry{event, user, fields})
}

func (a *auditLog) events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.event)
	}
	return out
}

func (a *auditLog) last() entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.entries[len(a.entries)-1]
}

type observed struct {
	mu    sync.Mutex
	lines []string
}

func (o *observed) add(f string, a ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines = append(o.lines, fmt.Sprintf(f, a...))
}
func (o *observed) Sent(string, string, string, time.Duration) {}
func (o *observed) Failover(string, string, string)            {}
func (o *observed) Circuit(string, bool)                       {}
func (o *observed) Delivered(p, c string, s sms.DeliveryState, took time.Duration) {
	o.add("delivered %s %s %s %v", p, c, s, took)
}
func (o *observed) Resent(p, c string)         { o.add("resent %s %s", p, c) }
func (o *observed) ReceiptRefused(p, r string) { o.add("refused %s %s", p, r) }
func (o *observed) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.lines
	o.lines = nil
	return out
}

type fixture struct {
	t      *testing.T
	a, b   *provider
	store  storage.Store
	audit  *auditLog
	obs    *observed
	now    time.Time
	tr     *Tracker
	sender sms.Sender
	// used are the challenges whose link was used (Options.Pending).
	mu   sync.Mutex
	used map[string]bool
}

func (f *fixture) markUsed(challenge string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used[challenge] = true
}

func newFixture(t *testing.T, resend bool) *fixture {
	t.Helper()
	f := &fixture{t: t, a: &provider{name: "a"}, b: &provider{name: "b"}, audit: &auditLog{}, obs: &observed{},
		used: map[string]bool{}, now: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	mem := memory.New(func() time.Time { return f.now }, 0)
	t.Cleanup(func() { _ = mem.Close() })
	f.store = mem
	sealer, err := seal.New(seal.DeriveKey("pepper"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Store: mem, Sealer: sealer, Key: []byte("reference key"), TTL: 15 * time.Minute,
		UserID:  func(p string) string { return "user-of-" + p[len(p)-3:] },
		Readers: map[string]sms.ReceiptReader{"a": f.a, "b": f.b}, Observer: f.obs, Audit: f.audit,
		Now: func() time.Time { return f.now },
		Pending: func(_ context.Context, challenge string) (bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return challenge == cid && !f.used[challenge], nil
		}}
	if resend {
		o.Resend, o.ResendWithin = router{f.a, f.b}, 5*time.Minute
	}
	f.tr = New(o)
	f.sender = f.tr.Sender(router{f.a, f.b})
	return f
}

// send texts the challenge tid and waits for its record.
func (f *fixture) send() sms.Receipt {
	f.t.Helper()
	r, err := f.sender.Send(context.Background(), sms.Message{To: phone, Body: text, Reference: tid, Challenge: cid})
	if err != nil {
		f.t.Fatal(err)
	}
	f.tr.Wait()
	return r
}

// post delivers one callback to the tracker as the receipts route does.
func (f *fixture) post(provider string, sig string, w wire) error {
	body, _ := json.Marshal(w)
	req := httptest.NewRequest(http.MethodPost, "/sms/receipts/"+provider, bytes.NewReader(body))
	req.Header.Set("X-Sig", sig)
	err := f.tr.Handle(context.Background(), provider, req, body, "https://sms.example.com/sms/receipts/"+provider)
	f.tr.Wait()
	return err
}

func TestReferenceNamesTheChallengeNotThePhone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	f.send()
	ref := f.a.messages()[0].Reference
	if got, ok := f.tr.transaction(ref); !ok || got != tid {
		t.Fatalf("reference %q reads as %q, %v", ref, got, ok)
	}
	if strings.Contains(ref, "7700900123") || strings.Contains(ref, "example.com") {
		t.Fatalf("reference %q names the phone or the link", ref)
	}
	for _, forged := range []string{tid, tid + ".", tid + ".AAAAAAAAAAAAAAAAAAAAAA", "sp_other." + strings.SplitN(ref, ".", 2)[1]} {
		if _, ok := f.tr.transaction(forged); ok {
			t.Errorf("forged reference %q verified", forged)
		}
	}
}

func TestDeliveredIsAuditedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	r := f.send()
	ref := f.a.messages()[0].Reference
	f.now = f.now.Add(4 * time.Second)
	if err := f.post("a", "good", wire{ID: r.ID, Ref: ref, State: "delivered"}); err != nil {
		t.Fatal(err)
	}
	e := f.audit.last()
	if e.event != "sms_delivered" || e.user != "user-of-123" || e.fields["transaction"] != tid || e.fields["provider"] != "a" ||
		e.fields["took_ms"] != int64(4000) || e.fields["country"] != "GB" {
		t.Fatalf("audit entry %+v", e)
	}
	if got := f.obs.take(); !slices.Equal(got, []string{"delivered a GB delivered 4s"}) {
		t.Fatalf("observer heard %q", got)
	}
	// The same receipt again (a replay, or the provider's retry), and a
	// contradicting one: nothing more is recorded.
	for _, w := range []wire{{ID: r.ID, Ref: ref, State: "delivered"}, {ID: r.ID, State: "undelivered", Code: "30003"}} {
		if err := f.post("a", "good", w); err != nil {
			t.Fatalf("a replay is refused with %v; it is ignored", err)
		}
	}
	if got := f.audit.events(); !slices.Equal(got, []string{"sms_delivered"}) {
		t.Fatalf("audit after replays: %q", got)
	}
	if got := f.obs.take(); !slices.Equal(got, []string{"refused a replayed", "refused a replayed"}) {
		t.Fatalf("observer heard %q", got)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		provider, sig string
		w             func(id, ref string) wire
		wantErr       error
		wantObserved  string
	}{
		"bad signature": {provider: "a", sig: "forged", w: func(id, ref string) wire { return wire{ID: id, Ref: ref, State: "delivered"} },
			wantErr: sms.ErrBadReceipt, wantObserved: "refused a signature"},
		"forged reference": {provider: "a", sig: "good", w: func(id, _ string) wire { return wire{ID: id, Ref: tid + ".AAAAAAAAAAAAAAAAAAAAAA", State: "delivered"} },
			wantErr: ErrForged, wantObserved: "refused a signature"},
		"another challenge's reference": {provider: "a", sig: "good", w: func(id, _ string) wire {
			other := New(Options{Key: []byte("reference key")}).reference("sp_another")
			return wire{ID: id, Ref: other, State: "undelivered"}
		}, wantErr: ErrForged, wantObserved: "refused a signature"},
		"unreadable": {provider: "a", sig: "good", w: nil, wantErr: ErrUnreadable, wantObserved: "refused a unreadable"},
		"unknown provider": {provider: "zz", sig: "good", w: func(id, ref string) wire { return wire{ID: id, Ref: ref, State: "delivered"} },
			wantErr: ErrUnknownProvider},
		"another provider's message": {provider: "b", sig: "good", w: func(id, _ string) wire { return wire{ID: id, State: "delivered"} },
			wantObserved: "refused b unknown_message"},
		"not final": {provider: "a", sig: "good", w: func(id, ref string) wire { return wire{ID: id, Ref: ref, State: "sent"} }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			r := f.send()
			ref := f.a.messages()[0].Reference
			var err error
			if tc.w == nil {
				req := httptest.NewRequest(http.MethodPost, "/sms/receipts/a", strings.NewReader("{"))
				req.Header.Set("X-Sig", "good")
				err = f.tr.Handle(context.Background(), "a", req, []byte("{"), "")
			} else {
				err = f.post(tc.provider, tc.sig, tc.w(r.ID, ref))
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if got := f.audit.events(); len(got) > 0 {
				t.Fatalf("a refused or ignored receipt was audited: %q", got)
			}
			got := f.obs.take()
			if tc.wantObserved != "" && !slices.Equal(got, []string{tc.wantObserved}) || tc.wantObserved == "" && len(got) > 0 {
				t.Fatalf("observer heard %q, want %q", got, tc.wantObserved)
			}
			if len(f.b.messages()) != 0 {
				t.Fatal("a refused receipt re-sent the text")
			}
			// The genuine receipt still counts afterwards.
			if err := f.post("a", "good", wire{ID: r.ID, Ref: ref, State: "delivered"}); err != nil {
				t.Fatal(err)
			}
			if got := f.audit.events(); !slices.Equal(got, []string{"sms_delivered"}) {
				t.Fatalf("the genuine receipt after a refused one: audit %q", got)
			}
		})
	}
}

func TestUndeliveredResentOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	r := f.send()
	f.now = f.now.Add(20 * time.Second)
	if err := f.post("a", "good", wire{ID: r.ID, Ref: f.a.messages()[0].Reference, State: "undelivered", Code: "30003"}); err != nil {
		t.Fatal(err)
	}
	resent := f.b.messages()
	if len(resent) != 1 || resent[0].To != phone || resent[0].Body != text || resent[0].Reference != f.a.messages()[0].Reference {
		t.Fatalf("re-sent %+v; want the same text to the same phone with the same reference, once", resent)
	}
	if got := f.audit.events(); !slices.Equal(got, []string{"sms_undelivered", "sms_resent"}) {
		t.Fatalf("audit %q", got)
	}
	if e := f.audit.entries[0]; e.fields["error_code"] != "30003" {
		t.Fatalf("undelivered entry %+v lacks the error code", e)
	}
	if got := f.obs.take(); !slices.Equal(got, []string{"delivered a GB undelivered 20s", "resent b GB"}) {
		t.Fatalf("observer heard %q", got)
	}
	// The re-sent text is undelivered too: recorded, not re-sent again.
	if err := f.post("b", "good", wire{ID: "b-msg-1", State: "undelivered"}); err != nil {
		t.Fatal(err)
	}
	if got := f.audit.events(); !slices.Equal(got, []string{"sms_undelivered", "sms_resent", "sms_undelivered"}) || len(f.b.messages()) != 1 {
		t.Fatalf("audit %q, %d re-sends; want the second undelivered recorded and no second re-send", got, len(f.b.messages()))
	}
	if e := f.audit.last(); e.fields["resent"] != true || e.fields["transaction"] != tid {
		t.Fatalf("entry of the re-sent text %+v", e)
	}
}

func TestNoResend(t *testing.T) {
	t.Parallel()
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, false)
		r := f.send()
		if err := f.post("a", "good", wire{ID: r.ID, State: "undelivered"}); err != nil {
			t.Fatal(err)
		}
		if len(f.b.messages()) != 0 {
			t.Fatal("re-sent with re-sends off")
		}
		raw, _ := f.store.Get(context.Background(), Sends, recordKey("a", r.ID))
		if bytes.Contains(raw, []byte("sealed")) {
			t.Fatal("the text is kept although re-sends are off")
		}
	})
	// The user opened the link and passed (or it expired): the code is no
	// longer needed, so a late "undelivered" sends nothing.
	t.Run("link already used", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		r := f.send()
		f.markUsed(cid)
		if err := f.post("a", "good", wire{ID: r.ID, State: "undelivered"}); err != nil {
			t.Fatal(err)
		}
		if len(f.b.messages()) != 0 || !slices.Equal(f.audit.events(), []string{"sms_undelivered", "sms_resend_skipped"}) {
			t.Fatalf("%d re-sends, audit %q", len(f.b.messages()), f.audit.events())
		}
		if e := f.audit.last(); e.fields["reason"] != "link_used_or_expired" || e.fields["transaction"] != tid {
			t.Fatalf("skip entry %+v", e)
		}
	})
	t.Run("too late", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		r := f.send()
		f.now = f.now.Add(5*time.Minute + time.Second)
		if err := f.post("a", "good", wire{ID: r.ID, State: "undelivered"}); err != nil {
			t.Fatal(err)
		}
		if len(f.b.messages()) != 0 || !slices.Equal(f.audit.events(), []string{"sms_undelivered", "sms_resend_too_late"}) {
			t.Fatalf("%d re-sends, audit %q", len(f.b.messages()), f.audit.events())
		}
	})
}

// blockingStore holds every Put until released.
type blockingStore struct {
	storage.Store
	release chan struct{}
}

func (s blockingStore) Put(ctx context.Context, ns storage.Namespace, key string, v []byte, ttl time.Duration) error {
	<-s.release
	return s.Store.Put(ctx, ns, key, v, ttl)
}

// The send record is written off the caller's path: a slow store does not
// slow the send.
func TestRecordOffThePath(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	bs := blockingStore{Store: f.store, release: make(chan struct{})}
	f.tr.o.Store = bs
	if _, err := f.sender.Send(context.Background(), sms.Message{To: phone, Body: text, Reference: tid}); err != nil {
		t.Fatal(err)
	}
	// Send returned while the write is still held.
	close(bs.release)
	f.tr.Wait()
	if _, err := f.store.Get(context.Background(), Sends, recordKey("a", "a-msg-1")); err != nil {
		t.Fatalf("record after release: %v", err)
	}
}

// A provider that reads no receipts (the console, Amazon SNS, an HTTP
// provider without receipts) gets no send record: nothing could ever read it,
// and on the embedded store it would cost each hook a second disk commit.
func TestNoRecordWithoutReceipts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	f.tr.o.Readers = map[string]sms.ReceiptReader{"b": f.b}
	r := f.send()
	if _, err := f.store.Get(context.Background(), Sends, recordKey(r.Provider, r.ID)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("record of a send through %s, which reads no receipts: %v", r.Provider, err)
	}
	if got := f.a.messages(); len(got) != 1 || got[0].Reference == tid {
		t.Fatalf("sent %d texts; the reference must still be the authenticated one", len(got))
	}
}

// A provider that gives the same message id twice does not move the first
// text's receipts to the second: the send record is written once, and the
// log names the problem (an HTTP provider's id path pointing at a field that
// is not the message id would otherwise send every receipt to the latest text).
func TestMessageIDGivenTwiceKeepsTheFirstRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	var logs logbuf.Buffer
	f.tr.o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	f.a.fixedID = "same"
	for _, ref := range []string{tid, "sp_fedcba9876543210fe"} {
		if _, err := f.sender.Send(context.Background(), sms.Message{To: phone, Body: text, Reference: ref, Challenge: cid}); err != nil {
			t.Fatal(err)
		}
		f.tr.Wait()
	}
	val, err := f.store.Get(context.Background(), Sends, recordKey("a", "same"))
	if err != nil {
		t.Fatal(err)
	}
	var rec record
	if err := json.Unmarshal(val, &rec); err != nil || rec.Transaction != tid {
		t.Fatalf("record of message id %q names transaction %q (%v), want the first text's %q", "same", rec.Transaction, err, tid)
	}
	if !strings.Contains(logs.String(), "already given") || strings.Contains(logs.String(), "7700900123") {
		t.Fatalf("log: %s", logs.String())
	}
}
