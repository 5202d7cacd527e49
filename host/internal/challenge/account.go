package challenge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// Errors of the account routes (reset, reset-now, disable).
var (
	ErrPhoneMismatch = errors.New("challenge: phone number does not belong to this user")
	ErrTokenNotFound = errors.New("challenge: token unknown, expired or already used")
)

// Token kinds. A disable token lets a user who just passed verification opt out
// (delete their profile); a reset token lets them reset a pending reset at once.
const (
	tokenDisable = "disable"
	tokenReset   = "reset"
)

type token struct {
	Kind   string `json:"kind"`
	UserID string `json:"user_id"`
}

// maxPhoneMismatches bounds phone guesses against one challenge.
const maxPhoneMismatches = 3

func (s *Service) issueToken(ctx context.Context, kind, uid string) (string, error) {
	val, _ := json.Marshal(token{Kind: kind, UserID: uid})
	id := newID()
	if err := s.Store.Create(ctx, storage.Tokens, id, val, s.set.TokenTTL); err != nil {
		return "", fmt.Errorf("create %s token: %w", kind, err)
	}
	return id, nil
}

// takeToken consumes a token of the given kind for phone. The token is used up
// even when the phone does not match, so a token cannot be used to try phones.
func (s *Service) takeToken(ctx context.Context, id, kind, phone string) (string, error) {
	if !ValidID(id) {
		return "", ErrTokenNotFound
	}
	val, err := s.Store.Take(ctx, storage.Tokens, id)
	if errors.Is(err, storage.ErrNotFound) {
		return "", ErrTokenNotFound
	}
	if err != nil {
		return "", fmt.Errorf("take token: %w", err)
	}
	var t token
	if err := json.Unmarshal(val, &t); err != nil || t.Kind != kind {
		return "", ErrTokenNotFound
	}
	if !s.samePhone(phone, t.UserID) {
		return "", ErrPhoneMismatch
	}
	return t.UserID, nil
}

func (s *Service) samePhone(phone, uid string) bool {
	got := UserID(strings.TrimSpace(phone), s.set.HashSalt)
	return subtle.ConstantTimeCompare([]byte(got), []byte(uid)) == 1
}

// ResetScheduled tells when a scheduled profile reset takes effect.
type ResetScheduled struct {
	At    time.Time
	Delay time.Duration
}

// ScheduleReset schedules a reset of the biometric profile of the challenge's user,
// for a user who cannot pass the typing check. The reset waits (ResetDelayShort
// while the user has fewer than ResetFewPatterns accepted patterns, ResetDelayLong
// after) so that a thief holding the SIM cannot re-enroll in the owner's place: the
// owner's next pass cancels it (Verify). A pending reset is not moved later.
func (s *Service) ScheduleReset(ctx context.Context, cid, phone string) (ResetScheduled, error) {
	if !validPhone(phone) {
		return ResetScheduled{}, ErrInvalidPhone
	}
	rec, err := s.record(ctx, cid)
	if err != nil {
		return ResetScheduled{}, err
	}
	if !s.samePhone(phone, rec.UserID) {
		n, err := s.Store.Incr(ctx, storage.PhoneMismatches, cid, s.set.ChallengeTTL)
		if err == nil && n >= maxPhoneMismatches {
			_ = s.Store.Delete(ctx, storage.Challenges, cid) // burn the link
		}
		return ResetScheduled{}, ErrPhoneMismatch
	}
	u, err := s.getUser(ctx, rec.UserID)
	if err != nil {
		return ResetScheduled{}, err
	}
	accepted, err := s.acceptedPatterns(ctx, rec.UserID, u.TextID)
	if err != nil {
		return ResetScheduled{}, err
	}
	delay := s.set.ResetDelayLong
	if accepted < s.set.ResetFewPatterns {
		delay = s.set.ResetDelayShort
	}
	at := s.Now().Add(delay)
	val := []byte(strconv.FormatInt(at.UnixMilli(), 10))
	err = s.Store.Create(ctx, storage.PendingResets, rec.UserID, val, delay+pendingResetGrace)
	if errors.Is(err, storage.ErrExists) {
		if due, ok := s.pendingReset(ctx, rec.UserID); ok {
			return ResetScheduled{At: due, Delay: due.Sub(s.Now())}, nil
		}
	} else if err != nil {
		return ResetScheduled{}, fmt.Errorf("schedule reset: %w", err)
	}
	s.audit("reset_scheduled", rec.UserID, map[string]any{"delay_minutes": int(delay / time.Minute), "accepted_patterns": accepted})
	s.Log.Info("profile reset scheduled", "user", shortID(rec.UserID), "transaction", TransactionID(cid),
		"delay_minutes", int(delay/time.Minute))
	return ResetScheduled{At: at, Delay: delay}, nil
}

// acceptedPatterns is how many typing patterns the user has had accepted:
// enrollment samples plus successful verifications, as the Node SMS+ counts
// TypingDNA's stored patterns. The engine's own count is the floor, so profiles
// from before this count existed (or kept by TypingDNA) are not undercounted.
func (s *Service) acceptedPatterns(ctx context.Context, uid, textID string) (int, error) {
	n, err := s.Store.Count(ctx, storage.AcceptedPatterns, uid)
	if err != nil {
		return 0, fmt.Errorf("count accepted patterns: %w", err)
	}
	enr, err := s.Verifier.Enrollment(ctx, uid, textID)
	if err != nil {
		return 0, fmt.Errorf("enrollment of user: %w", err)
	}
	return max(int(n), enr.Samples), nil
}

// acceptPattern counts one accepted pattern. The count only lengthens a future
// reset's delay, so a failure to write it is logged, not fatal.
func (s *Service) acceptPattern(ctx context.Context, uid string) {
	if _, err := s.Store.Incr(ctx, storage.AcceptedPatterns, uid, 0); err != nil {
		s.Log.Warn("count accepted pattern", "err", err)
	}
}

// cancelReset cancels the user's pending reset, if any, and reports whether
// there was one. Only the profile's owner can pass the check that calls it.
func (s *Service) cancelReset(ctx context.Context, uid string) bool {
	if _, ok := s.pendingReset(ctx, uid); !ok {
		return false
	}
	if err := s.Store.Delete(ctx, storage.PendingResets, uid); err != nil {
		s.Log.Warn("cancel pending reset", "err", err)
		return false
	}
	s.audit("reset_cancelled", uid, nil)
	s.Log.Info("pending profile reset cancelled by a pass", "user", shortID(uid))
	return true
}

// shortID is a user id shortened for logs: enough to follow one user's events,
// and still a salted hash, never a phone number.
func shortID(uid string) string {
	if len(uid) > 12 {
		return uid[:12]
	}
	return uid
}

// pendingResetGrace keeps a due reset around until the user's next sign-in
// applies it.
const pendingResetGrace = 30 * 24 * time.Hour

// pendingReset returns when the user's scheduled reset is due, if one is.
func (s *Service) pendingReset(ctx context.Context, uid string) (time.Time, bool) {
	return parseReset(s.Store.Get(ctx, storage.PendingResets, uid))
}

// ResetNow resets the profile at once, with a reset token from a passed
// verification and the phone number.
func (s *Service) ResetNow(ctx context.Context, tokenID, phone string) error {
	if !validPhone(phone) {
		return ErrInvalidPhone
	}
	uid, err := s.takeToken(ctx, tokenID, tokenReset, phone)
	if err != nil {
		return err
	}
	if _, err := s.resetProfile(ctx, uid, "reset_now"); err != nil {
		return err
	}
	return nil
}

// Disable deletes the user's biometric profile and every piece of their state,
// with a disable token from a passed verification and the phone number. The next
// code for this phone starts a new enrollment, as in the Node SMS+.
func (s *Service) Disable(ctx context.Context, tokenID, phone string) error {
	if !validPhone(phone) {
		return ErrInvalidPhone
	}
	uid, err := s.takeToken(ctx, tokenID, tokenDisable, phone)
	if err != nil {
		return err
	}
	if err := s.Verifier.Delete(ctx, uid); err != nil {
		return fmt.Errorf("delete biometric profile: %w", err)
	}
	// The device bindings go too: the next enrollment binds afresh. The
	// pending reset goes before the user: a new user's hook does not look for
	// one (plan.go), so one left by a disable that failed half-way would wait
	// for the next enrollment and reset it.
	for _, ns := range []storage.Namespace{storage.PendingResets, storage.Users, storage.UserFailures, storage.Lockouts, storage.InvalidPositions, storage.AcceptedPatterns, storage.Devices} {
		if err := s.Store.Delete(ctx, ns, uid); err != nil {
			return fmt.Errorf("delete %s: %w", ns, err)
		}
	}
	s.audit("disabled", uid, nil)
	return nil
}

// resetProfile deletes the biometric profile, gives the user a new phrase and
// clears their failure state and pending reset.
func (s *Service) resetProfile(ctx context.Context, uid, why string) (user, error) {
	if err := s.Verifier.Delete(ctx, uid); err != nil {
		return user{}, fmt.Errorf("delete biometric profile: %w", err)
	}
	old, err := s.getUser(ctx, uid)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return user{}, err
	}
	lang := old.Language
	if lang == "" {
		lang = s.set.DefaultLanguage
	}
	p, err := s.NewPhrase(lang)
	if err != nil {
		return user{}, fmt.Errorf("new phrase: %w", err)
	}
	u := user{Phrase: p.Text, TextID: p.TextID, Language: lang, CreatedAt: s.Now()}
	val, _ := json.Marshal(u)
	if err := s.Store.Put(ctx, storage.Users, uid, val, 0); err != nil {
		return user{}, fmt.Errorf("store user: %w", err)
	}
	// The device bindings go with the profile: whoever enrolls next binds the
	// browser they enroll in, as on a first enrollment.
	for _, ns := range []storage.Namespace{storage.PendingResets, storage.UserFailures, storage.Lockouts, storage.InvalidPositions, storage.AcceptedPatterns, storage.Devices} {
		if err := s.Store.Delete(ctx, ns, uid); err != nil {
			return user{}, fmt.Errorf("clear %s: %w", ns, err)
		}
	}
	s.audit("profile_reset", uid, map[string]any{"why": why})
	s.Log.Info("profile reset", "user", shortID(uid), "why", why)
	return u, nil
}

// record loads a live challenge whatever its lock state.
func (s *Service) record(ctx context.Context, cid string) (record, error) {
	if !ValidID(cid) {
		return record{}, ErrNotFound
	}
	val, err := s.Store.Get(ctx, storage.Challenges, cid)
	if errors.Is(err, storage.ErrNotFound) {
		return record{}, ErrNotFound
	}
	if err != nil {
		return record{}, fmt.Errorf("get challenge: %w", err)
	}
	var rec record
	if err := json.Unmarshal(val, &rec); err != nil {
		return record{}, fmt.Errorf("decode challenge: %w", err)
	}
	return rec, nil
}
