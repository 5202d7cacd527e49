package challenge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics"
	"github.com/smsplus/smsplus/host/internal/sms"
	"github.com/smsplus/smsplus/host/internal/storage"
)

// numberedPhrases gives every new user or reset a different phrase.
func numberedPhrases() func(string) (Phrase, error) {
	var n atomic.Int32
	return func(string) (Phrase, error) {
		text := "phrase " + strings.Repeat("x", int(n.Add(1)))
		return Phrase{Text: text, TextID: biometrics.TextID(text)}, nil
	}
}

// reveal enrolls (when needed) and passes a challenge, returning the result.
func (f *fixture) reveal(t *testing.T, cid string) Result {
	t.Helper()
	ctx := context.Background()
	page, err := f.svc.Page(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	for {
		res, err := f.verify(ctx, cid, page.TextID, "genuine")
		if err != nil {
			t.Fatal(err)
		}
		if res.OTP != "" {
			return res
		}
	}
}

func TestScheduledResetDelayAndApplication(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		samples int
		delay   time.Duration
	}{"few patterns": {2, time.Hour}, "many patterns": {7, 24 * time.Hour}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) { d.NewPhrase = numberedPhrases() })
			ctx := context.Background()
			uid := UserID(phone, "salt")
			f.ver.required = 2
			f.ver.mu.Lock()
			f.ver.samples[uid] = tc.samples
			f.ver.mu.Unlock()
			cid := f.start(t, "123456")
			before, _ := f.svc.Page(ctx, cid)

			if _, err := f.svc.ScheduleReset(ctx, cid, "+15555550199"); !errors.Is(err, ErrPhoneMismatch) {
				t.Fatalf("other phone: %v", err)
			}
			if _, err := f.svc.ScheduleReset(ctx, cid, "5555550100"); !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("national number: %v", err)
			}
			sched, err := f.svc.ScheduleReset(ctx, cid, phone)
			if err != nil || sched.Delay != tc.delay {
				t.Fatalf("schedule: %+v, %v; want delay %v", sched, err, tc.delay)
			}
			f.clock.advance(10 * time.Minute)
			again, err := f.svc.ScheduleReset(ctx, cid, phone)
			if err != nil || !again.At.Equal(sched.At) {
				t.Fatalf("a second request moved the reset: %v -> %v (%v)", sched.At, again.At, err)
			}

			// Before it is due nothing changes; once due, the next hook resets.
			f.start(t, "222222")
			if len(f.ver.deleted) != 0 {
				t.Fatal("profile deleted before the reset was due")
			}
			f.clock.advance(tc.delay)
			cid = f.start(t, "333333")
			if len(f.ver.deleted) != 1 || f.ver.deleted[0] != uid {
				t.Fatalf("profile not deleted by the due reset: %v", f.ver.deleted)
			}
			if body := f.out.last(t).Body; !strings.Contains(body, "333333") {
				t.Fatalf("after a reset the user enrolls again and the SMS carries the code: %q", body)
			}
			after, _ := f.svc.Page(ctx, cid)
			if after.Phrase == before.Phrase || after.Enrollment.Enrolled {
				t.Fatalf("reset kept the phrase %q or the enrollment %+v", after.Phrase, after.Enrollment)
			}
		})
	}
}

func TestResetBurnsLinkAfterPhoneGuesses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	cid := f.start(t, "123456")
	for i := range maxPhoneMismatches {
		if _, err := f.svc.ScheduleReset(ctx, cid, "+1555555020"+string(rune('0'+i))); !errors.Is(err, ErrPhoneMismatch) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := f.svc.ScheduleReset(ctx, cid, phone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the link survived %d phone guesses: %v", maxPhoneMismatches, err)
	}
}

func TestRevealIssuesTokensAndResetNow(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) { d.NewPhrase = numberedPhrases() })
	ctx := context.Background()
	uid := UserID(phone, "salt")
	f.ver.enroll(uid)

	res := f.reveal(t, f.start(t, "111111"))
	if !ValidID(res.DisableToken) || res.ResetToken != "" {
		t.Fatalf("no pending reset: disable %q, reset %q", res.DisableToken, res.ResetToken)
	}

	cid := f.start(t, "222222")
	if _, err := f.svc.ScheduleReset(ctx, cid, phone); err != nil {
		t.Fatal(err)
	}
	res = f.reveal(t, cid)
	if !ValidID(res.ResetToken) || res.ResetToken == res.DisableToken {
		t.Fatalf("pending reset: reset token %q", res.ResetToken)
	}
	if err := f.svc.ResetNow(ctx, res.DisableToken, phone); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("a disable token must not reset: %v", err)
	}
	if err := f.svc.ResetNow(ctx, res.ResetToken, "+15555550199"); !errors.Is(err, ErrPhoneMismatch) {
		t.Fatalf("wrong phone: %v", err)
	}
	if err := f.svc.ResetNow(ctx, res.ResetToken, phone); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("a token tried with a wrong phone must be used up: %v", err)
	}

	cid = f.start(t, "333333")
	if _, err := f.svc.ScheduleReset(ctx, cid, phone); err != nil {
		t.Fatal(err)
	}
	res = f.reveal(t, cid)
	if err := f.svc.ResetNow(ctx, res.ResetToken, phone); err != nil {
		t.Fatal(err)
	}
	if len(f.ver.deleted) == 0 {
		t.Fatal("reset-now kept the profile")
	}
	if _, ok := f.svc.pendingReset(ctx, uid); ok {
		t.Fatal("reset-now left the scheduled reset")
	}
	f.start(t, "444444")
	if !strings.Contains(f.out.last(t).Body, "444444") {
		t.Fatal("after reset-now the user must enroll again")
	}
}

func TestDisable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	uid := UserID(phone, "salt")
	f.ver.enroll(uid)
	res := f.reveal(t, f.start(t, "111111"))

	if err := f.svc.Disable(ctx, res.DisableToken, "+15555550199"); !errors.Is(err, ErrPhoneMismatch) {
		t.Fatalf("mismatched phone: %v", err)
	}
	if len(f.ver.deleted) != 0 {
		t.Fatal("a refused disable deleted the profile")
	}
	res = f.reveal(t, f.start(t, "222222"))
	if err := f.svc.Disable(ctx, res.DisableToken, phone); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Disable(ctx, res.DisableToken, phone); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("a disable token works once: %v", err)
	}
	if len(f.ver.deleted) != 1 {
		t.Fatalf("profile deletions: %v", f.ver.deleted)
	}
	if _, err := f.svc.getUser(ctx, uid); err == nil {
		t.Fatal("the user's state survived disable")
	}
	f.clock.advance(11 * time.Minute)
	res = f.reveal(t, f.start(t, "333333"))
	if err := f.svc.Disable(ctx, res.DisableToken, phone); err != nil {
		t.Fatalf("a fresh token: %v", err)
	}
}

func TestDisableTokenExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.ver.enroll(UserID(phone, "salt"))
	res := f.reveal(t, f.start(t, "111111"))
	f.clock.advance(10*time.Minute + time.Second)
	if err := f.svc.Disable(context.Background(), res.DisableToken, phone); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("an expired token: %v", err)
	}
}

// postureVerifier reports the position encoded in the pattern ("pos3:genuine").
type postureVerifier struct{ *fakeVerifier }

func (p postureVerifier) Positions(_ context.Context, _, pattern string) ([]int, error) {
	if strings.HasPrefix(pattern, "pos3:") {
		return []int{3}, nil
	}
	return []int{1}, nil
}

func (p postureVerifier) Submit(ctx context.Context, uid, textID, text, pattern string) (biometrics.Result, error) {
	return p.fakeVerifier.Submit(ctx, uid, textID, text, strings.TrimPrefix(pattern, "pos3:"))
}

func TestPostureCheckOneRetry(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) {
		d.Verifier = postureVerifier{d.Verifier.(*fakeVerifier)}
	})
	ctx := context.Background()
	f.ver.enroll(UserID(phone, "salt"))
	cid := f.start(t, "123456")
	textID := biometrics.TextID("blue river")
	if _, err := f.verify(ctx, cid, textID, "pos1:genuine"); !errors.Is(err, ErrWrongPositionRetry) {
		t.Fatalf("first wrong position: %v", err)
	}
	if _, err := f.verify(ctx, cid, textID, "pos1:genuine"); !errors.Is(err, ErrWrongPosition) {
		t.Fatalf("second wrong position: %v", err)
	}
	if _, err := f.verify(ctx, cid, textID, "pos1:genuine"); !errors.Is(err, ErrWrongPositionRetry) {
		t.Fatalf("the counter restarts after the refusal: %v", err)
	}
	res, err := f.verify(ctx, cid, textID, "pos3:genuine")
	if err != nil || res.OTP != "123456" {
		t.Fatalf("right position: %+v %v", res, err)
	}
}

func TestBiometricsDownPolicies(t *testing.T) {
	t.Parallel()
	ev := Event{Bridge: "okta", Phone: phone, OTP: "654321", Message: "Your Acme code is 654321"}

	f := newFixture(t, nil)
	f.ver.down = true
	st, err := f.svc.Start(context.Background(), ev)
	if err != nil || !st.Fallback || st.ChallengeID != "" {
		t.Fatalf("fallback: %+v %v", st, err)
	}
	if body := f.out.last(t).Body; body != ev.Message {
		t.Fatalf("fallback text %q, want the vendor's message", body)
	}
	if !f.audit.has("biometrics_down_fallback_sent") {
		t.Fatal("fallback not audited")
	}

	closed := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.BiometricsFailurePolicy = PolicyFailClosed })
	closed.ver.down = true
	if _, err := closed.svc.Start(context.Background(), ev); !errors.Is(err, ErrBiometricsDown) {
		t.Fatalf("fail closed: %v", err)
	}
	if len(closed.out.msgs) != 0 || !closed.audit.has("biometrics_down_fail_closed") {
		t.Fatalf("fail closed sent %d SMS; audit %v", len(closed.out.msgs), closed.audit.events)
	}
}

func TestTextsPerPhoneCap(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.MaxSMSPerPhonePerHour = 2 })
	ev := Event{Bridge: "okta", Phone: phone, OTP: "123456"}
	for i := range 2 {
		ev.OTP = fmt.Sprintf("12345%d", i)
		if _, err := f.svc.Start(context.Background(), ev); err != nil {
			t.Fatalf("text %d: %v", i+1, err)
		}
	}
	ev.OTP = "999999"
	if _, err := f.svc.Start(context.Background(), ev); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("third text in the hour: %v", err)
	}
	if len(f.out.msgs) != 2 {
		t.Fatalf("%d SMS sent, want 2", len(f.out.msgs))
	}
	if _, err := f.svc.Start(context.Background(), Event{Phone: "+15555550111", OTP: "123456"}); err != nil {
		t.Fatalf("another phone is not capped: %v", err)
	}
	f.clock.advance(time.Hour + time.Second)
	ev.OTP = "888888"
	if _, err := f.svc.Start(context.Background(), ev); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
}

func TestCountryAllowList(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.AllowedCountries = []string{"gb", "DE"} })
	for p, want := range map[string]error{
		"+447700900321":  nil,
		"+4915123456789": nil,
		"+14155550123":   ErrCountryNotAllowed,
		"+8613800138000": ErrCountryNotAllowed,
	} {
		_, err := f.svc.Start(context.Background(), Event{Phone: p, OTP: "123456"})
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%s: err = %v, want %v", p, err, want)
		}
	}
}

// slowSender answers after delay with err.
type slowSender struct {
	delay time.Duration
	err   error
	sent  atomic.Int32
}

func (s *slowSender) Send(ctx context.Context, _ sms.Message) (sms.Receipt, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return sms.Receipt{}, ctx.Err()
	}
	s.sent.Add(1)
	return sms.Receipt{ID: "SM-slow"}, s.err
}

func TestSlowProviderAnswersPendingInTime(t *testing.T) {
	t.Parallel()
	for name, sendErr := range map[string]error{"send succeeds later": nil, "send fails later": errors.New("carrier down")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			slow := &slowSender{delay: 300 * time.Millisecond, err: sendErr}
			f := newFixtureWith(t, nil, func(_ *Settings, d *Deps) { d.Sender = slow })
			// The hook flow gives Start until AnswerBy; the provider takes longer.
			answerBy := time.Now().Add(50 * time.Millisecond)
			st, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: phone, OTP: "123456",
				Budget: Budget{AnswerBy: answerBy}})
			if err != nil || !st.Pending {
				t.Fatalf("start: %+v %v", st, err)
			}
			if slow.sent.Load() != 0 {
				t.Fatal("Start waited for the provider instead of answering pending")
			}
			if err := f.svc.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			if slow.sent.Load() != 1 {
				t.Fatal("the background send did not finish")
			}
			_, err = f.svc.Page(context.Background(), st.ChallengeID)
			if sendErr == nil && err != nil {
				t.Fatalf("a late but successful send lost its challenge: %v", err)
			}
			if sendErr != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("a failed late send left its challenge: %v", err)
			}
		})
	}
}

// The reset delay follows every accepted pattern, enrollment samples and passes,
// not only what the engine keeps: the local engine never reports more than its
// enrollment samples, which made every reset wait the short delay.
func TestResetDelayCountsAcceptedPatterns(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		passes int
		delay  time.Duration
	}{"3 samples + 3 passes": {3, time.Hour}, "3 samples + 4 passes": {4, 24 * time.Hour}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.ver.required = 3
			for i := range tc.passes { // the first reveal also enrolls
				f.reveal(t, f.start(t, fmt.Sprintf("70000%d", i)))
			}
			if enr, _ := f.ver.Enrollment(context.Background(), UserID(phone, "salt"), ""); enr.Samples != 3 {
				t.Fatalf("the engine reports %d samples, want 3 (it keeps only the enrollment)", enr.Samples)
			}
			sched, err := f.svc.ScheduleReset(context.Background(), f.start(t, "799999"), phone)
			if err != nil || sched.Delay != tc.delay {
				t.Fatalf("schedule: %+v, %v; want delay %v", sched, err, tc.delay)
			}
		})
	}
}

// A SIM holder schedules a reset from a link; the owner's next pass cancels it,
// the page tells the owner beforehand, and the due time then changes nothing.
func TestOwnersPassCancelsPendingReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	uid := UserID(phone, "salt")
	f.reveal(t, f.start(t, "100001")) // enrolled
	if _, err := f.svc.ScheduleReset(ctx, f.start(t, "100002"), phone); err != nil {
		t.Fatal(err)
	}
	cid := f.start(t, "100003")
	page, err := f.svc.Page(ctx, cid)
	if err != nil || !page.ResetPending {
		t.Fatalf("the page must say a reset is pending: %+v, %v", page, err)
	}
	res := f.reveal(t, cid)
	if !res.ResetCancelled || res.ResetToken == "" {
		t.Fatalf("the owner's pass must cancel the reset and offer reset-now: %+v", res)
	}
	if _, ok := f.svc.pendingReset(ctx, uid); ok || !f.audit.has("reset_cancelled") {
		t.Fatalf("reset still pending or not audited: %v", f.audit.events)
	}
	f.clock.advance(25 * time.Hour)
	f.start(t, "100004")
	if len(f.ver.deleted) != 0 {
		t.Fatalf("a cancelled reset deleted the profile: %v", f.ver.deleted)
	}
	if body := f.out.last(t).Body; strings.Contains(body, "100004") {
		t.Fatalf("after a cancelled reset the SMS must not carry the code: %q", body)
	}
	// A pass without a pending reset cancels nothing.
	if res := f.reveal(t, f.start(t, "100005")); res.ResetCancelled || res.ResetToken != "" {
		t.Fatalf("nothing was pending: %+v", res)
	}
}

// failDelete is a store whose Delete of one namespace fails.
type failDelete struct {
	storage.Store
	ns storage.Namespace
}

func (s failDelete) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	if ns == s.ns {
		return fmt.Errorf("%w: test: delete of %s fails", storage.ErrUnavailable, ns)
	}
	return s.Store.Delete(ctx, ns, key)
}

// An opt-out that fails half-way never leaves a pending reset without its user.
// A new user's hook does not read pending resets (nothing can be pending for a
// user just created), so such a leftover would wait for the user's next
// enrollment and then reset it.
func TestDisableHalfDoneLeavesNoResetWithoutItsUser(t *testing.T) {
	t.Parallel()
	for _, failing := range []storage.Namespace{storage.UserFailures, storage.Lockouts, storage.InvalidPositions, storage.AcceptedPatterns, storage.Devices} {
		t.Run(string(failing), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			ctx := context.Background()
			uid := UserID(phone, "salt")
			f.ver.enroll(uid)
			// The pass that gives the disable token would cancel a pending
			// reset, so the reset is scheduled after it.
			res := f.reveal(t, f.start(t, "111111"))
			if _, err := f.svc.ScheduleReset(ctx, f.start(t, "222222"), phone); err != nil {
				t.Fatal(err)
			}
			if _, pending := f.svc.pendingReset(ctx, uid); !pending {
				t.Fatal("no pending reset to begin with")
			}
			f.svc.Store = failDelete{Store: f.store, ns: failing}
			if err := f.svc.Disable(ctx, res.DisableToken, phone); err == nil {
				t.Fatal("disable succeeded with a failing store")
			}
			f.svc.Store = f.store
			_, userErr := f.svc.getUser(ctx, uid)
			if _, pending := f.svc.pendingReset(ctx, uid); pending && errors.Is(userErr, storage.ErrNotFound) {
				t.Fatalf("disable failing at %s left a pending reset without its user", failing)
			}
		})
	}
}
