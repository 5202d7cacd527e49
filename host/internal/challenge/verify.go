package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// Page is what the challenge page shows.
type Page struct {
	ChallengeID string
	Phrase      string
	TextID      string
	Language    string
	Enrollment  biometrics.Enrollment
}

// Page returns the page model of a live, unlocked challenge.
func (s *Service) Page(ctx context.Context, cid string) (Page, error) {
	rec, u, err := s.open(ctx, cid)
	if err != nil {
		return Page{}, err
	}
	enr, err := s.Verifier.Enrollment(ctx, rec.UserID, u.TextID)
	if err != nil {
		return Page{}, fmt.Errorf("enrollment of user: %w", err)
	}
	return Page{ChallengeID: cid, Phrase: u.Phrase, TextID: u.TextID, Language: rec.Language, Enrollment: enr}, nil
}

// Result of one verify request.
type Result struct {
	Action       biometrics.Action
	Match        bool
	OTP          string // set only on the one request that revealed it
	Enrollment   biometrics.Enrollment
	AttemptsLeft int
	// After a reveal: a token to opt out within TokenTTL, and one to reset at once
	// when a reset is pending.
	DisableToken string
	ResetToken   string
}

// Verify scores a typing pattern for a challenge. While the user is enrolling the
// pattern is stored as a sample. Once enrolled, each attempt is counted before it
// is checked, so concurrent requests can never exceed the per-challenge limit, and
// a match takes the challenge out of the store: the OTP is revealed at most once.
func (s *Service) Verify(ctx context.Context, cid, textID, pattern string) (Result, error) {
	rec, u, err := s.open(ctx, cid)
	if err != nil {
		return Result{}, err
	}
	if textID != u.TextID {
		return Result{}, ErrTextMismatch
	}
	if pc, ok := s.Verifier.(PostureChecker); ok {
		if err := s.checkPosture(ctx, pc, rec.UserID, pattern); err != nil {
			return Result{}, err
		}
	}
	enr, err := s.Verifier.Enrollment(ctx, rec.UserID, u.TextID)
	if err != nil {
		return Result{}, fmt.Errorf("enrollment of user: %w", err)
	}
	var attempt int64 // this request's attempt number on the challenge
	if enr.Enrolled {
		attempt, err = s.Store.Incr(ctx, storage.ChallengeFailures, cid, rec.ExpiresAt.Sub(s.Now())+time.Minute)
		if err != nil {
			return Result{}, fmt.Errorf("count attempt: %w", err)
		}
		if attempt > int64(s.set.PerChallengeMaxFailedAttempts) {
			return Result{}, ErrChallengeLocked
		}
	}

	res, err := s.Verifier.Submit(ctx, rec.UserID, u.TextID, u.Phrase, pattern)
	if errors.Is(err, biometrics.ErrBadPattern) {
		return Result{}, errors.Join(ErrBadPattern, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("submit pattern: %w", err)
	}
	out := Result{Action: res.Action, Match: res.Match, Enrollment: res.Enrollment}
	switch {
	case res.Action == biometrics.ActionEnroll:
		s.audit("enrollment_sample", rec.UserID, map[string]any{"samples": res.Enrollment.Samples})
		return out, nil
	case res.Match:
		otp, err := s.reveal(ctx, cid)
		if err != nil {
			return Result{}, err
		}
		for _, ns := range []storage.Namespace{storage.UserFailures, storage.InvalidPositions} {
			if err := s.Store.Delete(ctx, ns, rec.UserID); err != nil {
				s.Log.Warn("clear failure state", "ns", ns, "err", err)
			}
		}
		s.audit("otp_revealed", rec.UserID, map[string]any{"bridge": rec.Bridge})
		out.OTP = otp
		// The code is out; a token failure must not hide it, so these only log.
		if out.DisableToken, err = s.issueToken(ctx, tokenDisable, rec.UserID); err != nil {
			s.Log.Warn("issue disable token", "err", err)
		}
		if due, ok := s.pendingReset(ctx, rec.UserID); ok && due.After(s.Now()) {
			if out.ResetToken, err = s.issueToken(ctx, tokenReset, rec.UserID); err != nil {
				s.Log.Warn("issue reset token", "err", err)
			}
		}
		return out, nil
	}
	return s.fail(ctx, rec, attempt, out)
}

// fail records a mismatch against the user and answers with what is left. What
// is left follows from this request's own attempt number, so that concurrent
// requests get consistent answers: attempts 1..max-1 learn how many remain, the
// last one locks.
func (s *Service) fail(ctx context.Context, rec record, attempt int64, out Result) (Result, error) {
	failures, err := s.Store.Incr(ctx, storage.UserFailures, rec.UserID, s.set.LockoutDuration)
	if err != nil {
		return Result{}, fmt.Errorf("count failure: %w", err)
	}
	s.audit("verify_failed", rec.UserID, map[string]any{"user_failures": failures})
	if failures >= int64(s.set.MaxFailedAttempts) {
		now := s.Now()
		until := now.Add(s.set.LockoutDuration)
		val := []byte(strconv.FormatInt(until.UnixMilli(), 10))
		if err := s.Store.Put(ctx, storage.Lockouts, rec.UserID, val, s.set.LockoutDuration); err != nil {
			return Result{}, fmt.Errorf("lock user: %w", err)
		}
		_ = s.Store.Delete(ctx, storage.UserFailures, rec.UserID)
		s.audit("user_locked", rec.UserID, nil)
		return Result{}, &UserLockedError{Until: until, Now: now}
	}
	left := s.set.PerChallengeMaxFailedAttempts - int(attempt)
	if left <= 0 {
		return Result{}, ErrChallengeLocked
	}
	out.AttemptsLeft = left
	return out, nil
}

// reveal takes the challenge out of the store and opens its OTP. Only one caller
// can take it; the others see ErrNotFound.
func (s *Service) reveal(ctx context.Context, cid string) (string, error) {
	val, err := s.Store.Take(ctx, storage.Challenges, cid)
	if errors.Is(err, storage.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("take challenge: %w", err)
	}
	var rec record
	if err := json.Unmarshal(val, &rec); err != nil {
		return "", fmt.Errorf("decode challenge: %w", err)
	}
	otp, err := s.Sealer.Open(rec.SealedOTP, sealContext(cid))
	if err != nil {
		return "", fmt.Errorf("open otp: %w", err)
	}
	return string(otp), nil
}

// checkPosture refuses patterns typed in the wrong position, with one retry.
func (s *Service) checkPosture(ctx context.Context, pc PostureChecker, uid, pattern string) error {
	positions, err := pc.Positions(ctx, uid, pattern)
	if errors.Is(err, biometrics.ErrBadPattern) {
		return errors.Join(ErrBadPattern, err)
	}
	if err != nil {
		return fmt.Errorf("posture check: %w", err)
	}
	if len(positions) == 1 && positions[0] == s.set.RequiredPosition {
		return nil
	}
	n, err := s.Store.Incr(ctx, storage.InvalidPositions, uid, time.Hour)
	if err != nil {
		return fmt.Errorf("count invalid position: %w", err)
	}
	s.audit("wrong_position", uid, map[string]any{"count": n})
	if n <= int64(s.set.MaxInvalidPositionAttempts) {
		return ErrWrongPositionRetry
	}
	_ = s.Store.Delete(ctx, storage.InvalidPositions, uid)
	return ErrWrongPosition
}

// open loads a live challenge and its user, refusing locked ones.
func (s *Service) open(ctx context.Context, cid string) (record, user, error) {
	rec, err := s.record(ctx, cid)
	if err != nil {
		return record{}, user{}, err
	}
	if lock, err := s.Store.Get(ctx, storage.Lockouts, rec.UserID); err == nil {
		ms, _ := strconv.ParseInt(string(lock), 10, 64)
		return record{}, user{}, &UserLockedError{Until: time.UnixMilli(ms), Now: s.Now()}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return record{}, user{}, fmt.Errorf("get lockout: %w", err)
	}
	attempts, err := s.Store.Count(ctx, storage.ChallengeFailures, cid)
	if err != nil {
		return record{}, user{}, fmt.Errorf("count attempts: %w", err)
	}
	if attempts >= int64(s.set.PerChallengeMaxFailedAttempts) {
		return record{}, user{}, ErrChallengeLocked
	}
	u, err := s.getUser(ctx, rec.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return record{}, user{}, ErrNotFound
	}
	return rec, u, err
}
