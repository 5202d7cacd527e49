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
	// ResetPending: a reset of the user's profile was requested and has not
	// happened; the page tells the owner that passing the check cancels it.
	ResetPending bool
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
	_, pending := s.pendingReset(ctx, rec.UserID)
	return Page{ChallengeID: cid, Phrase: u.Phrase, TextID: u.TextID, Language: rec.Language, Enrollment: enr,
		ResetPending: pending && enr.Enrolled}, nil
}

// Result of one verify request.
type Result struct {
	Action       biometrics.Action
	Match        bool
	OTP          string // set only on the one request that revealed it
	Enrollment   biometrics.Enrollment
	AttemptsLeft int
	// After a reveal: a token to opt out within TokenTTL, and, when this pass
	// cancelled a pending reset, one to reset at once after all (the owner may
	// have asked for it).
	DisableToken string
	ResetToken   string
	// ResetCancelled: a reset of the profile was pending and this pass, by the
	// profile's owner, cancelled it.
	ResetCancelled bool
}

// Verify scores a typing pattern for a challenge. While the user is enrolling the
// pattern is stored as a sample. Once enrolled, each attempt takes its place in
// the challenge's and the user's failure counts before it is checked
// (reserveAttempt), so concurrent requests can never exceed either limit, and a
// match takes the challenge out of the store: the OTP is revealed at most once.
// Every accepted pattern counts toward the profile's standing (acceptPattern),
// and a pass cancels a pending reset: the owner is evidently still here.
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
	var attempt, userAttempt int64 // this request's attempt numbers on the challenge and the user
	if enr.Enrolled {
		if attempt, userAttempt, err = s.reserveAttempt(ctx, cid, rec); err != nil {
			return Result{}, err
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
		s.acceptPattern(ctx, rec.UserID)
		s.audit("enrollment_sample", rec.UserID, map[string]any{"samples": res.Enrollment.Samples})
		return out, nil
	case res.Match:
		otp, err := s.reveal(ctx, cid)
		if err != nil {
			return Result{}, err
		}
		// A pass clears the failure state, including a lockout written by an
		// attempt refused while this one, holding the last place, was scored.
		for _, ns := range []storage.Namespace{storage.UserFailures, storage.Lockouts, storage.InvalidPositions} {
			if err := s.Store.Delete(ctx, ns, rec.UserID); err != nil {
				s.Log.Warn("clear failure state", "ns", ns, "err", err)
			}
		}
		s.acceptPattern(ctx, rec.UserID)
		s.audit("otp_revealed", rec.UserID, map[string]any{"bridge": rec.Bridge})
		out.OTP = otp
		// The code is out; a failure below must not hide it, so these only log.
		if out.DisableToken, err = s.issueToken(ctx, tokenDisable, rec.UserID); err != nil {
			s.Log.Warn("issue disable token", "err", err)
		}
		if out.ResetCancelled = s.cancelReset(ctx, rec.UserID); out.ResetCancelled {
			if out.ResetToken, err = s.issueToken(ctx, tokenReset, rec.UserID); err != nil {
				s.Log.Warn("issue reset token", "err", err)
			}
		}
		return out, nil
	}
	return s.fail(ctx, rec, attempt, userAttempt, out)
}

// reserveAttempt takes this attempt's place in the challenge's and the user's
// failure counts before the pattern is scored. The counters are atomic in the
// store, so however many requests arrive at once, on however many of the user's
// links and replicas, at most PerChallengeMaxFailedAttempts patterns are scored
// per link and MaxFailedAttempts per user before the lockout: a request that
// finds no place left is refused unscored. A pass clears the user's count.
func (s *Service) reserveAttempt(ctx context.Context, cid string, rec record) (challengeAttempt, userAttempt int64, err error) {
	challengeAttempt, err = s.Store.Incr(ctx, storage.ChallengeFailures, cid, rec.ExpiresAt.Sub(s.Now())+time.Minute)
	if err != nil {
		return 0, 0, fmt.Errorf("count attempt: %w", err)
	}
	if challengeAttempt > int64(s.set.PerChallengeMaxFailedAttempts) {
		return 0, 0, ErrChallengeLocked
	}
	userAttempt, err = s.Store.Incr(ctx, storage.UserFailures, rec.UserID, s.set.LockoutDuration)
	if err != nil {
		return 0, 0, fmt.Errorf("count user attempt: %w", err)
	}
	if userAttempt > int64(s.set.MaxFailedAttempts) {
		// The last place is taken: the user is locked, whether or not the attempt
		// that took it has written the lockout yet (it may also have failed to be
		// scored, e.g. a malformed pattern). The lockout is written here too, so
		// the page says so; an existing one keeps its time.
		return 0, 0, s.lockUser(ctx, rec.UserID, false)
	}
	return challengeAttempt, userAttempt, nil
}

// fail records a mismatch whose place in the failure counts was reserved by
// reserveAttempt, and answers with what is left. What is left follows from this
// request's own attempt numbers, so that concurrent requests get consistent
// answers: attempts 1..max-1 learn how many remain, the last one locks.
func (s *Service) fail(ctx context.Context, rec record, attempt, userAttempt int64, out Result) (Result, error) {
	s.audit("verify_failed", rec.UserID, map[string]any{"user_failures": userAttempt})
	if userAttempt >= int64(s.set.MaxFailedAttempts) {
		return Result{}, s.lockUser(ctx, rec.UserID, true)
	}
	left := s.set.PerChallengeMaxFailedAttempts - int(attempt)
	if left <= 0 {
		return Result{}, ErrChallengeLocked
	}
	out.AttemptsLeft = left
	return out, nil
}

// lockUser locks the user out for LockoutDuration and returns the error that
// says so. The failure count is left to expire with its window: deleting it
// would hand fresh places to attempts already past the lockout check. fresh is
// true for the failure that used the last place: it starts the lockout; others
// keep the lockout already written, if any.
func (s *Service) lockUser(ctx context.Context, uid string, fresh bool) error {
	now := s.Now()
	until := now.Add(s.set.LockoutDuration)
	val := []byte(strconv.FormatInt(until.UnixMilli(), 10))
	var err error
	if fresh {
		err = s.Store.Put(ctx, storage.Lockouts, uid, val, s.set.LockoutDuration)
	} else if err = s.Store.Create(ctx, storage.Lockouts, uid, val, s.set.LockoutDuration); errors.Is(err, storage.ErrExists) {
		if lock, gerr := s.Store.Get(ctx, storage.Lockouts, uid); gerr == nil {
			if ms, perr := strconv.ParseInt(string(lock), 10, 64); perr == nil {
				until = time.UnixMilli(ms)
			}
		}
		return &UserLockedError{Until: until, Now: now}
	}
	if err != nil {
		return fmt.Errorf("lock user: %w", err)
	}
	s.audit("user_locked", uid, nil)
	return &UserLockedError{Until: until, Now: now}
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

// Check reports whether cid names a live challenge (ErrNotFound if not), and
// looks at nothing else: the page API answers an unknown link before it judges
// the rest of a request.
func (s *Service) Check(ctx context.Context, cid string) error {
	_, err := s.record(ctx, cid)
	return err
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
