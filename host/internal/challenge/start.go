package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/sdk/otp"
)

// Event is a validated-to-be OTP delivery request from a bridge.
type Event struct {
	Bridge  string
	Phone   string // E.164 (sdk/phone)
	OTP     string // 4 to 10 digits (sdk/otp); may be empty for a voice request
	Message string // the vendor's own text, sent as is by the fallback policy
	// Voice: the vendor asked for a call; Settings.VoicePolicy decides.
	Voice  bool
	Locale string
	// ExpiresAt is when the vendor's code expires (zero: the vendor did not say).
	// The challenge and its link expire no later; a code with less than
	// MinLinkLife left is refused (ErrOTPExpired).
	ExpiresAt time.Time
	// VendorTransaction is the vendor's id of this delivery, recorded in the
	// audit trail (when it is 1 to 128 printable ASCII characters) so that an
	// entry can be matched with the vendor's own logs.
	VendorTransaction string
	// Budget bounds Start on the vendor's clock; the hook flow sets it.
	Budget Budget
	// ChallengeID is the id the new challenge gets (NewID), chosen ahead by
	// the hook flow so that its bridge can render the answer, with the
	// challenge's TransactionID, while it parses the call. Empty, or not an id:
	// Start picks one.
	ChallengeID string
}

// Budget is how long Start may take, set by the hook flow (package hookflow,
// which owns the timing of a hook). The zero Budget waits for the SMS provider
// (within ctx) and never waits for a repeat in progress.
type Budget struct {
	// AnswerBy is when Start must return: a send still running then goes on in
	// the background and Start answers Pending.
	AnswerBy time.Time
	// RepeatWait is how long a repeat of a delivery still in progress waits for
	// it before answering ErrInProgress.
	RepeatWait time.Duration
}

// MinLinkLife is the least time a link must have left to be worth texting: an
// SMS can take a while to arrive, and the user must open the page and type the
// phrase. A vendor's code that expires sooner (or has expired) is refused with
// ErrOTPExpired instead: a user must never pass the check and be shown a code
// the vendor no longer takes.
const MinLinkLife = 60 * time.Second

// Started describes what a hook did.
type Started struct {
	ChallengeID string
	// TransactionID names the delivery to the vendor and in the audit log. It is
	// derived from the challenge id but does not reveal it: the challenge id is the
	// link's secret, and vendors log transaction ids where their admins can read them.
	TransactionID string
	Enrolling     bool
	SMSID         string
	// Pending: the SMS provider had not answered when the hook's time ran out; the
	// send goes on in the background.
	Pending bool
	// Fallback: the biometrics engine was unreachable and the policy sent the
	// vendor's original message instead of a link. No challenge exists.
	Fallback bool
	// Withheld: a voice request under VoiceFailClosed. Nothing was sent and no
	// challenge exists; the vendor is told success, so that it neither retries
	// nor speaks the code itself.
	Withheld bool
}

// Start creates a challenge for the event and texts the link. If it fails, no
// challenge is left behind.
func (s *Service) Start(ctx context.Context, ev Event) (Started, error) {
	phone := strings.TrimSpace(ev.Phone)
	if !validPhone(phone) {
		return Started{}, ErrInvalidPhone
	}
	if ev.Voice {
		if st, done, err := s.voice(ev, phone); done {
			return st, err
		}
	}
	if !otp.Valid(ev.OTP) {
		return Started{}, ErrInvalidOTP
	}
	expires, err := s.linkExpiry(ev)
	if err != nil {
		return Started{}, err
	}
	// Destination checks come first: they need no store, so a refused destination
	// costs no counter, no dedupe record and no budget. Both apply: a country on
	// the allow-list still has premium and unassigned ranges.
	if !s.countryAllowed(phone) {
		s.audit("refused_country", "", ev.fields("region", region(phone)))
		return Started{}, ErrCountryNotAllowed
	}
	if t, refused := refusedType(phone, s.set.RefusedNumberTypes); refused {
		// The type only: the number would be the very thing audit entries must not hold.
		s.audit("refused_number_type", "", ev.fields("type", t))
		return Started{}, ErrDestinationRefused
	}
	lang := s.language(ev.Locale)
	uid := UserID(phone, s.set.HashSalt)
	h, err := s.plan(ev, phone, uid, lang, expires)
	if err != nil {
		return Started{}, err
	}
	res, err := storage.Run(ctx, s.Store, h.ops)
	// A vendor retry of the same code to the same phone (Auth0 retries, Okta
	// resends) gets the first delivery's answer and no second SMS.
	dev := Event{Bridge: ev.Bridge, Phone: phone, OTP: ev.OTP}
	if err == nil && h.claimRefused(res) {
		prior, dup, rerr := s.dedupe.Repeat(ctx, dev, res[h.claim].Value, ev.Budget.RepeatWait)
		if dup {
			s.audit("duplicate_delivery", uid, ev.fields("transaction", prior.TransactionID))
		}
		if rerr != nil || dup {
			return prior, rerr
		}
		// The first delivery failed and let go: the claim is this hook's now.
		var rest []storage.Result
		rest, err = storage.Run(ctx, s.Store, h.ops[h.claim+1:])
		res = append(res[:h.claim+1], rest...)
	}
	// A send answered PENDING may fail before this hook's own answer is
	// remembered: the late failure must win, or the answer written after it
	// would make the vendor's retries "pending" for the TTL with no text sent.
	var (
		settling   sync.Mutex
		failedLate bool
	)
	lateFailure := func(err error) {
		settling.Lock()
		defer settling.Unlock()
		failedLate = true
		s.dedupe.Settle(ctx, dev, Started{}, err)
	}
	var st Started
	if err != nil {
		err = fmt.Errorf("start of delivery: %w", err)
	} else {
		st, err = s.deliver(ctx, ev, phone, h, res, lateFailure)
	}
	// Remembering the answer is not on the vendor's clock; a retry that comes
	// before it is written waits for it (Claim).
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		settling.Lock()
		defer settling.Unlock()
		if !failedLate {
			s.dedupe.Settle(ctx, dev, st, err)
		}
	}()
	return st, err
}

// linkExpiry is when a challenge for ev expires: after the challenge TTL, or
// with the vendor's code if that comes first. A code with less than MinLinkLife
// left is refused: its link would be dead before a user could use it.
func (s *Service) linkExpiry(ev Event) (time.Time, error) {
	now := s.Now()
	expires := now.Add(s.set.ChallengeTTL)
	if ev.ExpiresAt.IsZero() || !ev.ExpiresAt.Before(expires) {
		return expires, nil
	}
	if left := ev.ExpiresAt.Sub(now); left < MinLinkLife {
		s.audit("refused_otp_expired", "", ev.fields("seconds_left", int(left/time.Second)))
		return time.Time{}, ErrOTPExpired
	}
	return ev.ExpiresAt, nil
}

// fields are an audit entry's fields about ev: its bridge, the vendor's id of
// the delivery when it is fit for the trail, and kv (name, value pairs).
func (ev Event) fields(kv ...any) map[string]any {
	f := map[string]any{"bridge": ev.Bridge}
	if ev.Voice {
		f["channel"] = "voice"
	}
	if t := vendorTransaction(ev.VendorTransaction); t != "" {
		f["vendor_transaction"] = t
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i].(string)] = kv[i+1]
	}
	return f
}

// vendorTransaction keeps a vendor's transaction id only if it is 1 to 128
// printable ASCII characters without spaces: it comes from the vendor's request,
// and the audit trail must not become a place to store arbitrary text.
func vendorTransaction(id string) string {
	if len(id) == 0 || len(id) > 128 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return ""
		}
	}
	return id
}

// deliver does the work of Start for a delivery that is not a repeat, given the
// results res of its batch h (plan.go). lateFailure is called if a send answered
// PENDING fails afterwards.
func (s *Service) deliver(ctx context.Context, ev Event, phone string, h *hookPlan, res []storage.Result, lateFailure func(error)) (Started, error) {
	uid, lang, expires := h.record.UserID, h.record.Language, h.record.ExpiresAt
	if err := s.capRefusal(ev, uid, h.caps, h.ops, res); err != nil {
		return Started{}, err
	}
	cid, err := s.createdChallenge(ctx, h, res)
	if err != nil {
		return Started{}, err
	}
	u, err := h.userFrom(res)
	if err == nil {
		if due, ok := h.resetDue(res); ok && !due.After(s.Now()) {
			u, err = s.resetProfile(ctx, uid, "scheduled")
		}
	}
	if err != nil {
		s.dropChallenge(ctx, cid)
		return Started{}, err
	}
	enr, err := s.Verifier.Enrollment(ctx, uid, u.TextID)
	if err != nil {
		s.dropChallenge(ctx, cid) // no link will go out
		if errors.Is(err, biometrics.ErrUnavailable) {
			return s.biometricsDown(ctx, ev, phone, uid, err, lateFailure)
		}
		return Started{}, fmt.Errorf("enrollment of user: %w", err)
	}
	ttl := expires.Sub(s.Now())
	if ttl <= 0 {
		s.dropChallenge(ctx, cid)
		return Started{}, ErrOTPExpired // the store and the engine took that long
	}

	link := s.set.BaseURL + "/" + cid
	body := s.Texts.LinkSMS(lang, link)
	if !enr.Enrolled {
		// While enrolling the user has no profile to check against, so the code
		// travels in the SMS (as in the Node SMS+) and the page collects samples.
		body = s.Texts.EnrollSMS(lang, ev.OTP, link)
	}
	st := Started{ChallengeID: cid, TransactionID: TransactionID(cid), Enrolling: !enr.Enrolled}
	// The transaction id names the challenge to the provider's receipts
	// without revealing the link (see package receipt).
	m := sms.Message{To: phone, Body: body, Reference: st.TransactionID, Challenge: cid}
	receipt, pending, err := s.send(ctx, ev.Budget.AnswerBy, m, func(err error) {
		// The send failed after the vendor was told PENDING: take the link back.
		s.dropChallenge(ctx, cid)
		lateFailure(err)
		s.audit("sms_failed_after_pending", uid, ev.fields("transaction", st.TransactionID))
		s.Log.Warn("sms failed after pending answer", "transaction", st.TransactionID, "err", err)
	})
	if err != nil {
		s.dropChallenge(ctx, cid)
		s.audit("sms_failed", uid, ev.fields())
		return Started{}, errors.Join(ErrSMS, err)
	}
	st.SMSID, st.Pending = receipt.ID, pending
	s.audit("challenge_created", uid, ev.fields("enrolling", st.Enrolling, "transaction", st.TransactionID,
		"pending", pending, "link_ttl_s", int(ttl/time.Second)))
	return st, nil
}

// send sends m, but answers by answerBy: if the provider is slower, send
// returns pending and lets the send finish in the background, calling late with
// its error if it fails. The vendor then gets PENDING in time instead of a late
// answer, which it would treat as a failure and text the raw code itself. A zero
// answerBy waits for the provider, within ctx.
func (s *Service) send(ctx context.Context, answerBy time.Time, m sms.Message, late func(error)) (sms.Receipt, bool, error) {
	if answerBy.IsZero() {
		r, err := s.Sender.Send(ctx, m)
		return r, false, err
	}
	type result struct {
		r   sms.Receipt
		err error
	}
	done := make(chan result, 1)
	var claimed atomic.Bool // whoever sets it first owns the result
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.set.SMSTimeout)
	// A router of several providers fails over before the answer is due.
	sendCtx = sms.WithAnswerBy(sendCtx, answerBy)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer cancel()
		r, err := s.Sender.Send(sendCtx, m)
		if claimed.CompareAndSwap(false, true) {
			done <- result{r, err}
			return
		}
		if err != nil {
			late(err)
		}
	}()
	wait := time.NewTimer(time.Until(answerBy))
	defer wait.Stop()
	select {
	case res := <-done:
		return res.r, false, res.err
	case <-wait.C:
		if claimed.CompareAndSwap(false, true) {
			return sms.Receipt{}, true, nil
		}
		res := <-done
		return res.r, false, res.err
	}
}

// dropChallenge deletes a challenge whose link never reached the user, with a
// fresh context: the hook's may be what ran out.
func (s *Service) dropChallenge(ctx context.Context, cid string) {
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.Store.Delete(cleanup, storage.Challenges, cid); err != nil {
		s.Log.Warn("delete challenge after failed send", "err", err)
	}
}

// biometricsDown applies the failure policy when the engine cannot be reached.
func (s *Service) biometricsDown(ctx context.Context, ev Event, phone, uid string, cause error, lateFailure func(error)) (Started, error) {
	if s.set.BiometricsFailurePolicy != PolicyFallback {
		s.audit("biometrics_down_fail_closed", uid, ev.fields())
		return Started{}, errors.Join(ErrBiometricsDown, cause)
	}
	body := strings.TrimSpace(ev.Message)
	if body == "" || !strings.Contains(body, ev.OTP) {
		body = "Your code is " + ev.OTP
	}
	receipt, pending, err := s.send(ctx, ev.Budget.AnswerBy, sms.Message{To: phone, Body: body}, func(err error) {
		s.audit("fallback_failed_after_pending", uid, ev.fields())
		lateFailure(err)
	})
	if err != nil {
		s.audit("fallback_failed", uid, ev.fields())
		return Started{}, errors.Join(ErrSMS, err)
	}
	s.audit("biometrics_down_fallback_sent", uid, ev.fields("pending", pending))
	s.Log.Warn("biometrics engine unreachable: sent the vendor's message as is", "err", cause)
	return Started{Fallback: true, Pending: pending, SMSID: receipt.ID}, nil
}

func (s *Service) getUser(ctx context.Context, uid string) (user, error) {
	val, err := s.Store.Get(ctx, storage.Users, uid)
	if err != nil {
		return user{}, fmt.Errorf("get user: %w", err)
	}
	var u user
	if err := json.Unmarshal(val, &u); err != nil {
		return user{}, fmt.Errorf("decode user: %w", err)
	}
	return u, nil
}

// language picks the challenge language from the vendor's locale ("EN-US" -> "en"),
// among the languages SMS+ has texts for; the default otherwise.
func (s *Service) language(locale string) string {
	return s.Texts.Match(locale)
}

// audit records what happened, off the request path (see package audit).
func (s *Service) audit(event, uid string, fields map[string]any) {
	s.Audit.Record(event, uid, fields)
}
