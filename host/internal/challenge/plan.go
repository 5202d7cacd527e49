package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// A hook's store work before the biometrics engine is asked is one batch
// (storage.Batcher): one round trip on Redis, one commit on the embedded store,
// instead of a call for each record. In order:
//
//  1. claim the delivery (dedupe.go), stopping the batch if it is a repeat;
//  2. count the text against each hourly cap (see below);
//  3. create the challenge;
//  4. create the user with a fresh phrase, or read the one that exists;
//  5. read the user's pending reset, only if the user existed (IfExisted): a
//     user created by this batch has none to apply.
//
// The creates are next to each other so that a backend that can insert several
// records in one command does (MongoDB: one ordered insert of the claim, the
// challenge and a new user, when the caps are off), and the reset read, the one
// op a new user does not need, comes last.
//
// The caps are per phone (MAX_SMS_PER_PHONE_PER_HOUR), per destination range
// (MAX_SMS_PER_RANGE_PER_HOUR) and in total (MAX_SMS_PER_HOUR), each a fixed
// one-hour window on an atomic store counter, so replicas share them. They are
// counted before anything is sent, narrowest first, and the first one exceeded
// stops the batch: a hook refused by a narrower cap never spends a wider one. A
// flood towards one phone or one range (the shape of SMS pumping: a block of
// numbers the fraudster is paid for) then burns only its own counter, and the
// global budget is left for everyone else's codes; the global counter counts
// only texts about to go out. The price is the other way round: a hook refused
// by the global budget has already counted against its phone and range (the
// store has no decrement, and a check before the increment would not be
// atomic). That only happens once the budget is spent, when every hook is
// refused anyway. Vendor retries of a delivered code stop at the claim, before
// any counter, so they are free; refused destinations never get this far.
//
// The challenge is created before the engine is asked whether the user is
// enrolled: its record does not depend on the answer, and creating it later
// would cost a second call (and a second commit). When the hook then fails
// (engine error, fallback, a send that fails) the challenge is deleted, as a
// failed send's always was; its id never left the process, so nobody can have
// used it in between.
type hookPlan struct {
	ops []storage.Op
	// Where each step's op is in ops; caps narrowest first.
	claim, user, reset, challenge int
	caps                          []textCap
	newUser                       user
	cid                           string
	record                        record
	code                          string // the OTP, sealed into record for each cid
}

// textCap is one of the hourly caps on texts, and its op in a plan.
type textCap struct {
	limit int
	event string // the audit event of a refusal
	op    int
}

// plan builds the batch for a hook of ev to phone, whose challenge expires at
// expires.
func (s *Service) plan(ev Event, phone, uid, lang string, expires time.Time) (*hookPlan, error) {
	p, err := s.NewPhrase(lang)
	if err != nil {
		return nil, fmt.Errorf("new phrase: %w", err)
	}
	now := s.Now()
	ttl := expires.Sub(now)
	if ttl <= 0 {
		return nil, ErrOTPExpired
	}
	h := &hookPlan{newUser: user{Phrase: p.Text, TextID: p.TextID, Language: lang, CreatedAt: now}, code: ev.OTP}
	add := func(o storage.Op) int { h.ops = append(h.ops, o); return len(h.ops) - 1 }

	h.claim = add(s.dedupe.claimOp(Event{Bridge: ev.Bridge, Phone: phone, OTP: ev.OTP}))
	h.caps = s.textCaps(phone, uid, add)
	h.record = record{UserID: uid, Bridge: ev.Bridge, Language: lang, CreatedAt: now, ExpiresAt: expires}
	h.cid = ev.ChallengeID
	if !ValidID(h.cid) {
		h.cid = newID()
	}
	h.challenge = add(s.challengeOp(h, ttl))
	userVal, _ := json.Marshal(h.newUser)
	h.user = add(storage.Op{Kind: storage.OpCreate, NS: storage.Users, Key: uid, Value: userVal})
	h.reset = add(storage.Op{Kind: storage.OpGet, NS: storage.PendingResets, Key: uid, IfExisted: true})
	return h, nil
}

// textCaps adds to a batch the op of each hourly cap on texts that is on,
// narrowest first, and returns the caps with their ops' places.
func (s *Service) textCaps(phone, uid string, add func(storage.Op) int) []textCap {
	var caps []textCap
	for _, c := range []struct {
		limit int
		ns    storage.Namespace
		key   string
		event string
	}{
		{s.set.MaxSMSPerPhonePerHour, storage.SMSRate, uid, "refused_rate"},
		{s.set.MaxSMSPerRangePerHour, storage.SMSRangeRate, rangeKey(phone, s.set.HashSalt), "refused_range_cap"},
		{s.set.MaxSMSPerHour, storage.SMSGlobalRate, globalKey, "refused_global_budget"},
	} {
		if c.limit <= 0 {
			continue
		}
		i := add(storage.Op{Kind: storage.OpIncr, NS: c.ns, Key: c.key, TTL: time.Hour, Stop: true, Limit: int64(c.limit)})
		caps = append(caps, textCap{limit: c.limit, event: c.event, op: i})
	}
	return caps
}

// capRefusal audits and returns ErrRateLimited if a batch stopped at one of
// caps, whose ops are in ops and results in res.
func (s *Service) capRefusal(ev Event, uid string, caps []textCap, ops []storage.Op, res []storage.Result) error {
	for _, c := range caps {
		if ops[c.op].Refused(res[c.op]) {
			s.audit(c.event, uid, ev.fields("count", res[c.op].N, "limit", c.limit))
			return fmt.Errorf("%w (%s)", ErrRateLimited, c.event)
		}
	}
	return nil
}

// countText counts one text that is not a challenge's (a notice) against the
// hourly caps, in one batch, with the same rules as a hook's (see above).
func (s *Service) countText(ctx context.Context, ev Event, phone, uid string) error {
	var ops []storage.Op
	caps := s.textCaps(phone, uid, func(o storage.Op) int { ops = append(ops, o); return len(ops) - 1 })
	if len(ops) == 0 {
		return nil
	}
	res, err := storage.Run(ctx, s.Store, ops)
	if err != nil {
		return fmt.Errorf("count texts: %w", err)
	}
	return s.capRefusal(ev, uid, caps, ops, res)
}

// challengeOp creates the plan's challenge, with the OTP sealed to its id.
func (s *Service) challengeOp(h *hookPlan, ttl time.Duration) storage.Op {
	h.record.SealedOTP = s.Sealer.Seal([]byte(h.code), sealContext(h.cid))
	val, _ := json.Marshal(h.record)
	return storage.Op{Kind: storage.OpCreate, NS: storage.Challenges, Key: h.cid, Value: val, TTL: ttl}
}

// claimRefused reports whether the batch stopped at the delivery claim: the same
// delivery is done or in progress elsewhere.
func (h *hookPlan) claimRefused(res []storage.Result) bool {
	return h.ops[h.claim].Refused(res[h.claim])
}

// userFrom is the user the batch created or found.
func (h *hookPlan) userFrom(res []storage.Result) (user, error) {
	r := res[h.user]
	if r.Err == nil {
		return h.newUser, nil
	}
	var u user
	if err := json.Unmarshal(r.Value, &u); err != nil {
		return user{}, fmt.Errorf("decode user: %w", err)
	}
	return u, nil
}

// resetDue is when the user's pending reset is due, if the batch found one (it
// did not look for a user it created).
func (h *hookPlan) resetDue(res []storage.Result) (time.Time, bool) {
	if !res[h.reset].Ran {
		return time.Time{}, false
	}
	return parseReset(res[h.reset].Value, res[h.reset].Err)
}

// parseReset reads a pending reset record (its due time in unix milliseconds).
func parseReset(val []byte, err error) (time.Time, bool) {
	if err != nil {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// createdChallenge returns the id of the challenge the batch created. A
// collision of 128 random bits is not expected in the life of the universe; one
// retry with a new id keeps a broken random source from turning into a silent
// overwrite.
func (s *Service) createdChallenge(ctx context.Context, h *hookPlan, res []storage.Result) (string, error) {
	if !errors.Is(res[h.challenge].Err, storage.ErrExists) {
		return h.cid, nil
	}
	h.cid = newID()
	o := s.challengeOp(h, h.ops[h.challenge].TTL)
	if err := s.Store.Create(ctx, o.NS, o.Key, o.Value, o.TTL); err != nil {
		return "", fmt.Errorf("create challenge: %w", err)
	}
	return h.cid, nil
}
