package challenge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
)

// fakeVerifier enrolls the first `required` patterns, then matches the pattern
// "genuine" and refuses anything else; "garbage" is a malformed pattern.
type fakeVerifier struct {
	mu       sync.Mutex
	required int
	samples  map[string]int
	deleted  []string
	down     bool // Enrollment fails as an unreachable engine does
}

func (f *fakeVerifier) Name() string { return "fake" }

func (f *fakeVerifier) Enrollment(_ context.Context, uid, _ string) (biometrics.Enrollment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return biometrics.Enrollment{}, fmt.Errorf("dial: %w", biometrics.ErrUnavailable)
	}
	n := f.samples[uid]
	return biometrics.Enrollment{Samples: n, Required: f.required, Enrolled: n >= f.required}, nil
}

func (f *fakeVerifier) Submit(ctx context.Context, uid, textID, text, pattern string) (biometrics.Result, error) {
	if pattern == "garbage" {
		return biometrics.Result{}, biometrics.ErrBadPattern
	}
	enr, _ := f.Enrollment(ctx, uid, textID)
	if !enr.Enrolled {
		f.mu.Lock()
		f.samples[uid]++
		f.mu.Unlock()
		enr, _ = f.Enrollment(ctx, uid, textID)
		return biometrics.Result{Action: biometrics.ActionEnroll, Match: true, Enrollment: enr}, nil
	}
	return biometrics.Result{Action: biometrics.ActionVerify, Match: pattern == "genuine", Enrollment: enr}, nil
}

func (f *fakeVerifier) Delete(_ context.Context, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.samples, uid)
	f.deleted = append(f.deleted, uid)
	return nil
}

// outbox records sent messages; fail makes the next sends fail.
type outbox struct {
	mu   sync.Mutex
	msgs []sms.Message
	fail atomic.Bool
}

func (o *outbox) Send(_ context.Context, m sms.Message) (sms.Receipt, error) {
	o.mu.Lock()
	o.msgs = append(o.msgs, m)
	o.mu.Unlock()
	if o.fail.Load() {
		return sms.Receipt{}, errors.New("provider said no")
	}
	return sms.Receipt{ID: "SM1"}, nil
}

func (o *outbox) last(t *testing.T) sms.Message {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	return o.msgs[len(o.msgs)-1]
}

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (f *fakeVerifier) enroll(uid string) { f.mu.Lock(); f.samples[uid] = f.required; f.mu.Unlock() }
func phraseFor(string) (Phrase, error) {
	return Phrase{Text: "blue river", TextID: biometrics.TextID("blue river")}, nil
}
func linkID(t *testing.T, m sms.Message) string {
	t.Helper()
	id := regexp.MustCompile(`https://sms\.example/([A-Za-z0-9_-]{22})`).FindStringSubmatch(m.Body)
	if id == nil {
		t.Fatalf("no link in SMS %q", m.Body)
	}
	return id[1]
}

// auditTrail remembers the events recorded.
type auditTrail struct {
	mu     sync.Mutex
	events []string
	fields []map[string]any
}

func (a *auditTrail) Record(event, _ string, fields map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, event)
	a.fields = append(a.fields, fields)
}

// last returns the fields of the last entry of event, or nil.
func (a *auditTrail) last(event string) map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.events) - 1; i >= 0; i-- {
		if a.events[i] == event {
			return a.fields[i]
		}
	}
	return nil
}

func (a *auditTrail) has(event string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.events {
		if e == event {
			return true
		}
	}
	return false
}

type fixture struct {
	audit *auditTrail
	svc   *Service
	store storage.Store
	db    string // the embedded store's file
	out   *outbox
	ver   *fakeVerifier
	clock *clock
}

const phone = "+15555550100"

func newFixture(t *testing.T, key []byte) *fixture {
	return newFixtureWith(t, key, nil)
}

func newFixtureWith(t *testing.T, key []byte, tweak func(*Settings, *Deps)) *fixture {
	t.Helper()
	c := newClock()
	db := filepath.Join(t.TempDir(), "db")
	st, err := embedded.Open(db, embedded.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{audit: &auditTrail{}, store: st, db: db, out: &outbox{}, ver: &fakeVerifier{required: 2, samples: map[string]int{}}, clock: c}
	set := Settings{
		BaseURL: "https://sms.example", HashSalt: "salt", DefaultLanguage: "en", ChallengeTTL: 15 * time.Minute,
		PerChallengeMaxFailedAttempts: 3, MaxFailedAttempts: 5, LockoutDuration: 15 * time.Minute,
	}
	deps := Deps{Store: st, Sender: f.out, Verifier: f.ver, Sealer: sealer, NewPhrase: phraseFor, Now: c.now, Audit: f.audit}
	if tweak != nil {
		tweak(&set, &deps)
	}
	f.svc = New(set, deps)
	return f
}

func (f *fixture) start(t *testing.T, otp string) string {
	t.Helper()
	st, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: phone, OTP: otp})
	if err != nil {
		t.Fatal(err)
	}
	if id := linkID(t, f.out.last(t)); id != st.ChallengeID {
		t.Fatalf("SMS links %s, challenge is %s", id, st.ChallengeID)
	}
	return st.ChallengeID
}

func TestUserIDMatchesNodeSMSPlus(t *testing.T) {
	t.Parallel()
	// sha256("+15555550100" + "salt"), as the Node SMS+ computes it.
	if got := UserID(phone, "salt"); got != "2f61efd1b4f09984893dfca00b27c3b2632aea8cb3db255b68b57e15468fc1cb" {
		t.Fatalf("user id %q", got)
	}
	if UserID(phone, "salt") == UserID(phone, "pepper") {
		t.Fatal("the salt does not change the id")
	}
}

func TestStartRefusesBadEventsWithoutState(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		ev   Event
		want error
	}{
		"national number": {Event{Phone: "9876543210", OTP: "123456"}, ErrInvalidPhone},
		"letters":         {Event{Phone: "+1555abc0100", OTP: "123456"}, ErrInvalidPhone},
		"too short otp":   {Event{Phone: phone, OTP: "123"}, ErrInvalidOTP},
		"otp not digits":  {Event{Phone: phone, OTP: "12a456"}, ErrInvalidOTP},
		"voice":           {Event{Phone: phone, OTP: "123456", Voice: true}, ErrUnsupportedChannel},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			if _, err := f.svc.Start(context.Background(), tc.ev); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(f.out.msgs) != 0 {
				t.Fatal("an SMS was sent for a refused event")
			}
		})
	}
}

func TestEnrollingSMSCarriesTheCodeThenOnlyTheLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.start(t, "012345")
	if body := f.out.last(t).Body; !strings.Contains(body, "012345") {
		t.Fatalf("enrolling SMS lacks the code: %q", body)
	}
	f.ver.enroll(UserID(phone, "salt"))
	f.start(t, "654321")
	if body := f.out.last(t).Body; strings.Contains(body, "654321") {
		t.Fatalf("an enrolled user's SMS must not carry the code: %q", body)
	}
	if len(f.out.last(t).Body) > 160 {
		t.Fatalf("SMS is %d characters, more than one segment", len(f.out.last(t).Body))
	}
}

func TestSMSInTheVendorsLanguage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	otp := 100000
	for locale, word := range map[string]string{"ES-ES": "codigo de acceso", "pt_BR": "codigo de acesso", "FR-CA": "code de connexion", "DE-DE": "sign-in code", "": "sign-in code"} {
		otp++
		code := fmt.Sprint(otp)
		if _, err := f.svc.Start(context.Background(), Event{Phone: phone, OTP: code, Locale: locale}); err != nil {
			t.Fatal(err)
		}
		if body := f.out.last(t).Body; !strings.Contains(body, word) || !strings.Contains(body, code) {
			t.Errorf("locale %q: %q lacks %q", locale, body, word)
		}
	}
}

func TestFailedSendLeavesNoChallenge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.out.fail.Store(true)
	_, err := f.svc.Start(context.Background(), Event{Phone: phone, OTP: "123456"})
	if !errors.Is(err, ErrSMS) {
		t.Fatalf("err = %v, want ErrSMS", err)
	}
	if _, err := f.svc.Page(context.Background(), linkID(t, f.out.last(t))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("challenge survived a failed send: %v", err)
	}
}

func TestEnrollThenRevealOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, bytes.Repeat([]byte{1}, 32))
	ctx := context.Background()
	cid := f.start(t, "012345")
	textID := biometrics.TextID("blue river")

	page, err := f.svc.Page(ctx, cid)
	if err != nil || page.Phrase != "blue river" || page.Enrollment.Enrolled {
		t.Fatalf("page = %+v, err = %v", page, err)
	}
	for i := 1; i <= 2; i++ {
		res, err := f.verify(ctx, cid, textID, "anything")
		if err != nil || res.Action != biometrics.ActionEnroll || res.OTP != "" || res.Enrollment.Samples != i {
			t.Fatalf("enroll %d: res = %+v, err = %v", i, res, err)
		}
	}
	res, err := f.verify(ctx, cid, textID, "genuine")
	if err != nil || !res.Match || res.OTP != "012345" {
		t.Fatalf("verify: res = %+v, err = %v", res, err)
	}
	if _, err := f.verify(ctx, cid, textID, "genuine"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second reveal: err = %v, want ErrNotFound", err)
	}
	for _, e := range []string{"challenge_created", "enrollment_sample", "otp_revealed"} {
		if !f.audit.has(e) {
			t.Errorf("audit lacks %s: %v", e, f.audit.events)
		}
	}
}

// encodingsOf lists ways code could sit in a store's bytes: as is, hex, UTF-16
// and base64 at each of the three alignments a longer value can give it (the
// characters that depend on neighbouring bytes are left out).
func encodingsOf(code string) map[string][]byte {
	out := map[string][]byte{
		"plain": []byte(code), "hex": []byte(hex.EncodeToString([]byte(code))),
		"HEX": []byte(strings.ToUpper(hex.EncodeToString([]byte(code)))),
	}
	var le, be []byte
	for _, c := range []byte(code) {
		le, be = append(le, c, 0), append(be, 0, c)
	}
	out["utf16le"], out["utf16be"] = le, be
	for pad := range 3 {
		for name, enc := range map[string]*base64.Encoding{"std": base64.StdEncoding, "url": base64.URLEncoding} {
			b64 := enc.EncodeToString(append(make([]byte, pad), code...))
			from := 0
			if pad > 0 {
				from = 4
			}
			out[fmt.Sprintf("base64-%s-%d", name, pad)] = []byte(b64[from : len(b64)-4])
		}
	}
	return out
}

// revealed names the first encoding of code found in raw, or "".
func revealed(raw []byte, code string) string {
	for name, enc := range encodingsOf(code) {
		if bytes.Contains(raw, enc) {
			return name
		}
	}
	return ""
}

// The OTP is sealed at rest by default: the store file holds it in no encoding.
// The same check finds it in a store written without a key, so it can fail.
func TestOTPIsSealedAtRest(t *testing.T) {
	t.Parallel()
	const code = "8041793526"
	for name, tc := range map[string]struct {
		key      []byte
		wantSeen bool
	}{"derived key (default)": {seal.DeriveKey("salt"), false}, "no key (control)": {nil, true}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) {
				st, err := embedded.Open(filepath.Join(dir, "db"), embedded.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				d.Store = st
				d.Sealer, _ = seal.New(tc.key)
			})
			f.start(t, code)
			raw, err := os.ReadFile(filepath.Join(dir, "db"))
			if err != nil {
				t.Fatal(err)
			}
			if enc := revealed(raw, code); (enc != "") != tc.wantSeen {
				t.Fatalf("code found as %q in the store file; want found = %v", enc, tc.wantSeen)
			}
		})
	}
}

func TestPerChallengeLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	f.ver.enroll(UserID(phone, "salt"))
	cid := f.start(t, "123456")
	textID := biometrics.TextID("blue river")
	for i, left := range []int{2, 1} {
		res, err := f.verify(ctx, cid, textID, "impostor")
		if err != nil || res.Match || res.AttemptsLeft != left {
			t.Fatalf("failure %d: res = %+v, err = %v", i+1, res, err)
		}
	}
	if _, err := f.verify(ctx, cid, textID, "impostor"); !errors.Is(err, ErrChallengeLocked) {
		t.Fatalf("third failure: err = %v, want ErrChallengeLocked", err)
	}
	// Locked for good: even the genuine typist cannot use this link any more.
	if _, err := f.verify(ctx, cid, textID, "genuine"); !errors.Is(err, ErrChallengeLocked) {
		t.Fatalf("after lock: err = %v, want ErrChallengeLocked", err)
	}
	if _, err := f.svc.Page(ctx, cid); !errors.Is(err, ErrChallengeLocked) {
		t.Fatalf("page after lock: err = %v", err)
	}
}

func TestUserLockoutAcrossChallengesExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	f.ver.enroll(UserID(phone, "salt"))
	textID := biometrics.TextID("blue river")
	var lockErr *UserLockedError
	for i := 0; i < 5; i++ {
		cid := f.start(t, fmt.Sprintf("12345%d", i))
		_, err := f.verify(ctx, cid, textID, "impostor")
		if i < 4 && err != nil {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		if i == 4 && !errors.As(err, &lockErr) {
			t.Fatalf("fifth failure: err = %v, want UserLockedError", err)
		}
	}
	if !f.audit.has("user_locked") || !f.audit.has("verify_failed") {
		t.Fatalf("audit lacks the lockout: %v", f.audit.events)
	}
	if lockErr.Minutes() != 15 {
		t.Fatalf("lock minutes = %d, want 15", lockErr.Minutes())
	}
	cid := f.start(t, "654321")
	if _, err := f.svc.Page(ctx, cid); !errors.As(err, &lockErr) {
		t.Fatalf("page while locked: err = %v", err)
	}
	f.clock.advance(15*time.Minute + time.Second)
	cid = f.start(t, "222333")
	res, err := f.verify(ctx, cid, textID, "genuine")
	if err != nil || res.OTP != "222333" {
		t.Fatalf("after the lock expired: res = %+v, err = %v", res, err)
	}
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	cid := f.start(t, "123456")
	if _, err := f.verify(ctx, cid, "42", "genuine"); !errors.Is(err, ErrTextMismatch) {
		t.Fatalf("wrong text id: %v", err)
	}
	if _, err := f.verify(ctx, cid, biometrics.TextID("blue river"), "garbage"); !errors.Is(err, ErrBadPattern) {
		t.Fatalf("bad pattern: %v", err)
	}
	for _, id := range []string{"", "short", strings.Repeat("a", 22) + "x", "../../etc/passwd00000", strings.Repeat("A", 22)} {
		if _, err := f.verify(ctx, id, "1", "genuine"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("id %q: %v", id, err)
		}
	}
	f.clock.advance(15*time.Minute + time.Second)
	if _, err := f.svc.Page(ctx, cid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired challenge: %v", err)
	}
}

func TestConcurrentVerifyRevealsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.ver.enroll(UserID(phone, "salt"))
	cid := f.start(t, "555111")
	var wg sync.WaitGroup
	var reveals, notFound atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.verify(context.Background(), cid, biometrics.TextID("blue river"), "genuine")
			switch {
			case err == nil && res.OTP == "555111":
				reveals.Add(1)
			case errors.Is(err, ErrNotFound), errors.Is(err, ErrChallengeLocked):
				notFound.Add(1)
			default:
				t.Errorf("res = %+v, err = %v", res, err)
			}
		}()
	}
	wg.Wait()
	if reveals.Load() != 1 {
		t.Fatalf("the OTP was revealed %d times", reveals.Load())
	}
	// The owner's repeated submissions matched: none of them is a failure, so the
	// owner is not locked out by double taps on their own link.
	cid = f.start(t, "555222")
	if res, err := f.verify(context.Background(), cid, biometrics.TextID("blue river"), "genuine"); err != nil || res.OTP != "555222" {
		t.Fatalf("after a burst of the owner's own submissions: res = %+v, err = %v", res, err)
	}
}

// The transaction id goes where the link must not: to the vendor, whose admins
// read it in their logs, and into the audit trail. Neither it nor anything else
// audited may hold the link's id, in any of the encodings of its 16 bytes, and
// the transaction id does not open the page.
func TestTransactionIDDoesNotRevealTheLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	var txns []string
	for _, code := range []string{"123456", "654321"} {
		st, err := f.svc.Start(ctx, Event{Bridge: "okta", Phone: phone, OTP: code, VendorTransaction: "evt-" + code})
		if err != nil {
			t.Fatal(err)
		}
		cid := linkID(t, f.out.last(t)) // what the SIM holder reads
		raw, err := base64.RawURLEncoding.DecodeString(cid)
		if err != nil {
			t.Fatal(err)
		}
		forms := []string{cid, hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw)}
		for i := 0; i+8 <= len(cid); i++ {
			forms = append(forms, cid[i:i+8]) // any 48 bits of it
		}
		var audited strings.Builder
		f.audit.mu.Lock()
		for i, e := range f.audit.events {
			fmt.Fprintf(&audited, "%s %v\n", e, f.audit.fields[i])
		}
		f.audit.mu.Unlock()
		for _, form := range forms {
			if strings.Contains(strings.ToLower(st.TransactionID), strings.ToLower(form)) || strings.Contains(audited.String(), form) {
				t.Fatalf("transaction id %q or the audit trail holds %q of the link %s:\n%s", st.TransactionID, form, cid, audited.String())
			}
		}
		if ValidID(st.TransactionID) {
			t.Fatalf("transaction id %q has the shape of a link id", st.TransactionID)
		}
		if _, err := f.svc.Page(ctx, st.TransactionID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the transaction id opens a page: %v", err)
		}
		txns = append(txns, st.TransactionID)
	}
	if txns[0] == txns[1] || !strings.HasPrefix(txns[0], "sp_") {
		t.Fatalf("transaction ids %v: want one per delivery", txns)
	}
}

func TestRetriedDeliverySendsOneSMS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ev := Event{Bridge: "auth0", Phone: phone, OTP: "482913"}
	first, err := f.svc.Start(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Wait(context.Background()); err != nil { // the answer is remembered in the background
		t.Fatal(err)
	}
	again, err := f.svc.Start(context.Background(), ev)
	if err != nil || again.TransactionID != first.TransactionID || again.ChallengeID != "" {
		t.Fatalf("retry: %+v %v; want the first transaction %s and no link", again, err, first.TransactionID)
	}
	if len(f.out.msgs) != 1 {
		t.Fatalf("%d SMS for one code", len(f.out.msgs))
	}
	other := ev
	other.Bridge = "okta"
	if _, err := f.svc.Start(context.Background(), other); err != nil || len(f.out.msgs) != 2 {
		t.Fatalf("the same code through another bridge is another delivery: %v, %d SMS", err, len(f.out.msgs))
	}
	if !f.audit.has("duplicate_delivery") {
		t.Fatal("the duplicate is not audited")
	}
}

// gatedVerifier holds every scoring in Submit until the test opens the gate, so
// that concurrent attempts overlap as much as they can.
type gatedVerifier struct {
	*fakeVerifier
	scored atomic.Int32
	gate   chan struct{}
}

func (g *gatedVerifier) Submit(ctx context.Context, uid, textID, text, pattern string) (biometrics.Result, error) {
	enr, _ := g.Enrollment(ctx, uid, textID)
	if enr.Enrolled {
		g.scored.Add(1)
		<-g.gate
	}
	return g.fakeVerifier.Submit(ctx, uid, textID, text, pattern)
}

// A script with many of the user's links tries them all at once. Each attempt
// reserves its place in the user's failure count before it is scored, so no
// more than MaxFailedAttempts wrong patterns are ever scored before the lockout,
// however many links and concurrent requests are used.
func TestUserFailuresReservedBeforeScoring(t *testing.T) {
	t.Parallel()
	gv := &gatedVerifier{fakeVerifier: &fakeVerifier{required: 2, samples: map[string]int{}}, gate: make(chan struct{})}
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) { d.Verifier = gv })
	gv.enroll(UserID(phone, "salt"))
	ctx := context.Background()
	var cids []string
	for i := range 8 {
		cids = append(cids, f.start(t, fmt.Sprintf("4000%02d", i)))
	}
	const perLink = 3
	var wg sync.WaitGroup
	var finished atomic.Int32
	for _, cid := range cids {
		for range perLink {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer finished.Add(1)
				_, _ = f.verify(ctx, cid, biometrics.TextID("blue river"), "impostor")
			}()
		}
	}
	// Every attempt is either held at scoring or already refused.
	total := int32(len(cids) * perLink)
	for gv.scored.Load()+finished.Load() < total {
		time.Sleep(time.Millisecond)
	}
	close(gv.gate)
	wg.Wait()
	if n := gv.scored.Load(); n > 5 {
		t.Fatalf("%d wrong patterns scored for one user, want at most MaxFailedAttempts = 5", n)
	}
	var locked *UserLockedError
	if _, err := f.verify(ctx, cids[0], biometrics.TextID("blue river"), "genuine"); !errors.As(err, &locked) {
		t.Fatalf("after the burst the user must be locked, got %v", err)
	}
}

// holdingVerifier holds one Enrollment call of a marked context until released,
// to put a request between its link check and its attempt reservation.
type holdingVerifier struct {
	*fakeVerifier
	calls          atomic.Int32
	held, released chan struct{}
}

type holdKey struct{}

func (h *holdingVerifier) Enrollment(ctx context.Context, uid, textID string) (biometrics.Enrollment, error) {
	if ctx.Value(holdKey{}) != nil && h.calls.Add(1) == 2 { // 1: the page; 2: inside Verify
		close(h.held)
		<-h.released
	}
	return h.fakeVerifier.Enrollment(ctx, uid, textID)
}

// The owner submits twice on one link; the second request checked the link
// before the first revealed the code, and reserves its attempt after the first
// cleared the failure count. It matches but finds the code gone: it must leave
// no failure behind, or a few such repeats lock the owner out.
func TestOwnersRepeatLeavesNoFailure(t *testing.T) {
	t.Parallel()
	hv := &holdingVerifier{fakeVerifier: &fakeVerifier{required: 2, samples: map[string]int{}},
		held: make(chan struct{}), released: make(chan struct{})}
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) { d.Verifier = hv })
	uid := UserID(phone, "salt")
	hv.enroll(uid)
	ctx := context.Background()
	cid := f.start(t, "600001")
	second := make(chan error, 1)
	go func() {
		_, err := f.verify(context.WithValue(ctx, holdKey{}, true), cid, biometrics.TextID("blue river"), "genuine")
		second <- err
	}()
	<-hv.held
	if res, err := f.verify(ctx, cid, biometrics.TextID("blue river"), "genuine"); err != nil || res.OTP != "600001" {
		t.Fatalf("first submission: %+v, %v", res, err)
	}
	close(hv.released)
	if err := <-second; !errors.Is(err, ErrNotFound) {
		t.Fatalf("second submission: %v, want ErrNotFound (the code was revealed once)", err)
	}
	if n, err := f.store.Count(ctx, storage.UserFailures, uid); err != nil || n != 0 {
		t.Fatalf("the owner's repeat left %d failures (%v)", n, err)
	}
}
