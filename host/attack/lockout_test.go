package attack_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackConcurrentLinksOutrunUserLockout.
//
// Attacker: a SIM holder with a script. Each sign-in attempt at the IAM makes it
// send a new code, so the SIM receives link after link for the same user; the
// script then fires wrong typing patterns at all of them at once.
//
// Path: POST /verify-otp on 8 live links x 3 concurrent attempts. The per-user
// failure count is checked before an attempt and incremented only after the
// pattern is scored, so attempts in flight together all pass the check and each
// one is scored: every score is a guess against the owner's profile.
//
// Defence proved: per-user failures are reserved atomically before scoring, like
// per-challenge ones; however many links and concurrent attempts, at most
// MAX_FAILED_ATTEMPTS (5) patterns are scored as mismatches before the user is
// locked, and a fresh link then answers 105 (user locked).
func TestAttackConcurrentLinksOutrunUserLockout(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "MAX_FAILED_ATTEMPTS=5", "PER_CHALLENGE_MAX_FAILED_ATTEMPTS=3", "MAX_SMS_PER_PHONE_PER_HOUR=50")
	const phone = "+12015550131"
	owner, thief := e2e.Owner(11), e2e.Impostor(12)

	first := s.NewChallenge(t, "okta", phone, e2e.RandomOTP(10))
	s.Enroll(t, first, owner, 5)

	const links, perLink = 8, 3
	var live []e2e.Challenge
	for range links {
		live = append(live, s.NewChallenge(t, "okta", phone, e2e.RandomOTP(10)))
	}
	type attempt struct {
		cid, textID, pattern string
	}
	var attempts []attempt
	for _, c := range live {
		for _, p := range thief.TypeN(perLink, c.TextID, c.Len) {
			attempts = append(attempts, attempt{c.CID, c.TextID, p})
		}
	}

	before := s.Metrics(t).Value("smsplus_verifications_total", "result", "mismatch")
	answers := make([]string, len(attempts))
	var start, done sync.WaitGroup
	start.Add(1)
	for i, a := range attempts {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			ans, err := s.VerifyErr(a.cid, a.textID, a.pattern)
			if err != nil {
				answers[i] = err.Error()
				return
			}
			answers[i] = fmt.Sprintf("HTTP %d code %d", ans.Status, ans.Code())
			if ans.Status == 200 {
				answers[i] = fmt.Sprintf("HTTP 200 result %v", ans.JSON()["result"])
			}
			if ans.JSON()["otp"] != nil {
				answers[i] = "HTTP 200 with the code"
			}
		}()
	}
	start.Done()
	done.Wait()
	scored := s.Metrics(t).Value("smsplus_verifications_total", "result", "mismatch") - before

	t.Logf("%d links x %d concurrent wrong attempts: %d scored mismatches; answers: %s", links, perLink, int(scored), tally(answers))
	if scored > 5 {
		t.Errorf("%d links x %d concurrent wrong attempts: %d scored mismatches, want <= MAX_FAILED_ATTEMPTS (5); answers: %s",
			links, perLink, int(scored), tally(answers))
	}
	for _, a := range answers {
		if a == "HTTP 200 with the code" {
			t.Errorf("an impostor's pattern revealed the code")
		}
	}

	// Locked: a new link for the user refuses any attempt with 105. (Its page
	// does not open; the phrase is the user's, as on the first link.)
	next := s.NewLink(t, "okta", phone, e2e.RandomOTP(10))
	if a := s.Verify(t, next.CID, first.TextID, thief.Type(first.TextID, first.Len)); a.Status != 403 || a.Code() != 105 {
		t.Errorf("after the attack, a new link answers %s; want 403 code 105 (user locked)", a)
	}
}
