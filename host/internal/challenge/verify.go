package challenge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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
	// DeviceCookie, when set, is the device token the browser must keep for
	// this user from now on (a new binding, or the rotation after a pass).
	DeviceCookie *DeviceCookie
	// NewDevice: the attempt came from a device the user had not bound, and
	// was held to the strict standard (DevicePolicyStrict).
	NewDevice bool
	// Reason says why a mismatch failed: ReasonTyping or ReasonPhrase.
	Reason string
}

// Attempt is one verification request.
type Attempt struct {
	CID     string
	TextID  string
	Pattern string
	// PhraseProof is PhraseProof(CID, the text typed): it proves which text
	// was typed without sending it.
	PhraseProof string
	Device      DeviceEvidence
}

// Verify scores a typing pattern for a challenge. While the user is enrolling the
// pattern is stored as a sample. Once enrolled, each attempt takes its place in
// the challenge's and the user's failure counts before it is checked
// (reserveAttempt), so concurrent requests can never exceed either limit, and a
// match takes the challenge out of the store: the OTP is revealed at most once.
// Every accepted pattern counts toward the profile's standing (acceptPattern),
// and a pass cancels a pending reset: the owner is evidently still here.
//
// Before any typing is scored, the attempt must prove the phrase shown was
// typed (PhraseProof; another text is a failed attempt) and come from a device
// bound to the user (device.go): from another one, DevicePolicy decides, and
// the attempt counts against the limits whatever the outcome.
func (s *Service) Verify(ctx context.Context, a Attempt) (Result, error) {
	rec, u, err := s.open(ctx, a.CID)
	if err != nil {
		return Result{}, err
	}
	if a.TextID != u.TextID {
		return Result{}, ErrTextMismatch
	}
	typed, err := base64.RawURLEncoding.DecodeString(a.PhraseProof)
	if err != nil || len(typed) != sha256.Size {
		return Result{}, ErrPhraseProofMissing
	}
	dc, err := s.checkDevice(ctx, rec.UserID, a)
	if err != nil {
		return Result{}, err
	}
	enr, err := s.Verifier.Enrollment(ctx, rec.UserID, u.TextID)
	if err != nil {
		return Result{}, fmt.Errorf("enrollment of user: %w", err)
	}
	submit := s.Verifier.Submit
	out := Result{}
	if dc.proof == proofInvalid || (dc.bound() && !dc.known()) {
		// Not from a device bound to the user: refused before anything is
		// scored, unless the policy asks for (and the engine has) a strict match.
		sv, strict := s.strictVerifier()
		outcome := "refused"
		switch {
		case dc.proof == proofInvalid:
			// A bound device's key, but not over this request: a captured
			// request moved to another link, or a forgery.
			outcome = "proof_invalid"
		case !enr.Enrolled:
			// No strict match is possible against a profile still being made.
		case s.set.DevicePolicy == DevicePolicyStrict && !strict:
			outcome = "strict_unavailable"
		case strict:
			outcome = ""
			submit, out.NewDevice = sv.SubmitStrict, true
		}
		if outcome != "" {
			return Result{}, s.refuseDevice(ctx, a.CID, rec, outcome)
		}
	}
	if pc, ok := s.Verifier.(PostureChecker); ok {
		if err := s.checkPosture(ctx, pc, rec.UserID, a.Pattern); err != nil {
			return Result{}, err
		}
	}
	phraseOK := hmac.Equal(typed, phraseDigest(a.CID, u.Phrase))
	if !enr.Enrolled {
		return s.enrollSample(ctx, a, rec, u, dc, phraseOK)
	}

	// Every attempt from here on takes its place in the failure counts first.
	attempt, userAttempt, err := s.reserveAttempt(ctx, a.CID, rec)
	if err != nil {
		return Result{}, err
	}
	if !phraseOK {
		if out.NewDevice {
			s.audit("unknown_device", rec.UserID, map[string]any{"policy": s.set.DevicePolicy, "outcome": "strict_failed"})
		}
		out.Action, out.Reason = biometrics.ActionVerify, ReasonPhrase
		return s.fail(ctx, a.CID, rec, attempt, userAttempt, out, "phrase_mismatch", nil)
	}
	if dc.known() && dc.proof == proofNone && dc.list.Devices[dc.index].Key != "" {
		// The device's key is gone (Safari wipes script-written storage after
		// 7 days without a visit) or was left out: the cookie alone vouches.
		s.audit("device_no_proof", rec.UserID, map[string]any{"device": dc.list.Devices[dc.index].ID, "new_key": dc.newKey != ""})
	}

	res, err := submit(ctx, rec.UserID, u.TextID, u.Phrase, a.Pattern)
	if errors.Is(err, biometrics.ErrBadPattern) {
		return Result{}, errors.Join(ErrBadPattern, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("submit pattern: %w", err)
	}
	out.Action, out.Match, out.Enrollment = res.Action, res.Match, res.Enrollment
	if !res.Match {
		if out.NewDevice {
			s.audit("unknown_device", rec.UserID, map[string]any{"policy": s.set.DevicePolicy, "outcome": "strict_failed"})
		}
		return s.fail(ctx, a.CID, rec, attempt, userAttempt, out, "verify_failed", map[string]any{"strict": out.NewDevice})
	}
	// A match clears the failure state, including a lockout written by an
	// attempt refused while this one, holding the last place, was scored. It
	// does so whether or not this request is the one that reveals the code: the
	// owner's own repeated submissions (a double tap, a retry on another replica)
	// took places too, and must not add up to a lockout.
	for _, ns := range []storage.Namespace{storage.UserFailures, storage.Lockouts, storage.InvalidPositions} {
		if err := s.Store.Delete(ctx, ns, rec.UserID); err != nil {
			s.Log.Warn("clear failure state", "ns", ns, "err", err)
		}
	}
	otp, err := s.reveal(ctx, a.CID)
	if err != nil {
		return Result{}, err
	}
	s.acceptPattern(ctx, rec.UserID)
	s.audit("otp_revealed", rec.UserID, map[string]any{"bridge": rec.Bridge, "new_device": out.NewDevice})
	out.OTP = otp
	// The code is out; a failure below must not hide it, so these only log.
	switch {
	case out.NewDevice:
		s.audit("unknown_device", rec.UserID, map[string]any{"policy": s.set.DevicePolicy, "outcome": "strict_passed"})
		out.DeviceCookie, err = s.bind(ctx, rec.UserID, dc, "strict_pass")
	case dc.known():
		out.DeviceCookie, err = s.afterPass(ctx, rec.UserID, dc, a.Device.Tokens[DeviceTag(rec.UserID)])
	default:
		// Enrolled before devices were bound: this browser is the first.
		out.DeviceCookie, err = s.bind(ctx, rec.UserID, dc, "first_pass")
	}
	if err != nil {
		s.Log.Warn("device binding after a pass", "err", err)
	}
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

// refuseDevice counts an attempt from an unknown device as a failed one, audits
// it and returns the error that says so (or the lockout it caused).
func (s *Service) refuseDevice(ctx context.Context, cid string, rec record, outcome string) error {
	s.audit("unknown_device", rec.UserID, map[string]any{"policy": s.set.DevicePolicy, "outcome": outcome})
	s.Log.Info("verification from an unknown device refused", "user", shortID(rec.UserID), "transaction", TransactionID(cid),
		"outcome", outcome)
	attempt, userAttempt, err := s.reserveAttempt(ctx, cid, rec)
	if err != nil {
		return err
	}
	res, err := s.fail(ctx, cid, rec, attempt, userAttempt, Result{}, "", nil)
	if err != nil {
		return err
	}
	return &UnknownDeviceError{AttemptsLeft: res.AttemptsLeft}
}

// enrollSample stores an enrollment sample from the user's bound device, or
// from the first browser the user enrolls in, which it binds first: of two
// browsers sending a first sample at once, one binds and the other is an
// unknown device, before the engine learns anything from it. The text typed
// must be the phrase: a sample of another text would teach the profile the
// wrong rhythm.
func (s *Service) enrollSample(ctx context.Context, a Attempt, rec record, u user, dc deviceCheck, phraseOK bool) (Result, error) {
	if !phraseOK {
		s.audit("phrase_mismatch", rec.UserID, map[string]any{"enrolling": true})
		s.Log.Info("enrollment sample refused", "user", shortID(rec.UserID), "transaction", TransactionID(a.CID),
			"why", "phrase_mismatch")
		return Result{}, ErrPhraseMismatch
	}
	var cookie *DeviceCookie
	if !dc.bound() {
		var err error
		cookie, err = s.bind(ctx, rec.UserID, dc, "enrollment")
		if errors.Is(err, storage.ErrExists) {
			return Result{}, s.refuseDevice(ctx, a.CID, rec, "refused")
		}
		if err != nil {
			return Result{}, err
		}
	}
	res, err := s.Verifier.Submit(ctx, rec.UserID, u.TextID, u.Phrase, a.Pattern)
	if err != nil && cookie != nil {
		// The browser gets no cookie with an error: undo its binding, so that
		// its next sample binds it again.
		if derr := s.Store.Delete(ctx, storage.Devices, rec.UserID); derr != nil {
			s.Log.Warn("undo device binding", "err", derr)
		}
	}
	if errors.Is(err, biometrics.ErrBadPattern) {
		return Result{}, errors.Join(ErrBadPattern, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("submit pattern: %w", err)
	}
	if res.Action != biometrics.ActionEnroll {
		// Enrolled meanwhile by a concurrent sample of the same browser: this
		// pattern was compared without taking a place in the failure counts,
		// so its verdict is not used. The page asks for the phrase again.
		return Result{}, errors.Join(ErrBadPattern, errors.New("enrolled by a concurrent sample"))
	}
	s.acceptPattern(ctx, rec.UserID)
	s.audit("enrollment_sample", rec.UserID, map[string]any{"samples": res.Enrollment.Samples})
	return Result{Action: res.Action, Match: res.Match, Enrollment: res.Enrollment, DeviceCookie: cookie}, nil
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
		return 0, 0, s.lockUser(ctx, cid, rec.UserID, false)
	}
	return challengeAttempt, userAttempt, nil
}

// fail records a failed attempt whose place in the failure counts was
// reserved by reserveAttempt, and answers with what is left. What is left
// follows from this request's own attempt numbers, so that concurrent requests
// get consistent answers: attempts 1..max-1 learn how many remain, the last one
// locks. event (with fields) is audited unless empty.
func (s *Service) fail(ctx context.Context, cid string, rec record, attempt, userAttempt int64, out Result, event string, fields map[string]any) (Result, error) {
	if event != "" {
		f := map[string]any{"user_failures": userAttempt}
		for k, v := range fields {
			f[k] = v
		}
		s.audit(event, rec.UserID, f)
	}
	left := max(s.set.PerChallengeMaxFailedAttempts-int(attempt), 0)
	why := event
	if why == "" {
		why = "unknown_device"
	}
	s.Log.Info("verification failed", "user", shortID(rec.UserID), "transaction", TransactionID(cid), "why", why,
		"user_failures", userAttempt, "attempts_left", left)
	if userAttempt >= int64(s.set.MaxFailedAttempts) {
		return Result{}, s.lockUser(ctx, cid, rec.UserID, true)
	}
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
// keep the lockout already written, if any. cid is the challenge of the
// attempt, for the log.
func (s *Service) lockUser(ctx context.Context, cid, uid string, fresh bool) error {
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
	s.Log.Info("user locked out", "user", shortID(uid), "transaction", TransactionID(cid),
		"minutes", int(s.set.LockoutDuration/time.Minute))
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
