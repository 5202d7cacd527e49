package host_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// TestReplicasShareOneStore runs two SMS+ processes against one Redis and one
// Firestore emulator, as replicas behind a load balancer, and hits one challenge
// from both at once: the code is revealed exactly once, and the per-challenge
// limit holds exactly. (The servers come from .ci/services.sh; without them the
// test skips on a laptop and fails in CI.)
func TestReplicasShareOneStore(t *testing.T) {
	skipShort(t)
	bin := e2e.Shipped(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	run := hex.EncodeToString(b[:])
	stores := map[string]func(t *testing.T) []string{
		"redis": func(t *testing.T) []string {
			return []string{"DATA_STORE=redis", "REDIS_URL=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_REDIS_URL"),
				"REDIS_KEY_PREFIX=e2e-" + run + ":"}
		},
		"firestore": func(t *testing.T) []string {
			return []string{"DATA_STORE=firestore", "FIRESTORE_EMULATOR_HOST=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_FIRESTORE_EMULATOR"),
				"FIREBASE_PROJECT_ID=e2e-" + run}
		},
	}
	for name, env := range stores {
		t.Run(name, func(t *testing.T) {
			storeEnv := append(env(t), "MAX_SMS_PER_PHONE_PER_HOUR=0")
			a := bin.Start(t, storeEnv...)
			b := bin.Start(t, storeEnv...)
			replicas := []*e2e.Server{a, b}
			// One phone, one browser: the load balancer sends its requests to
			// either replica.
			browser := a.Phone()
			owner, stranger := e2e.Owner(21), e2e.Impostor(22)
			phone := "+1201555" + fmt.Sprintf("%04d", len(name))

			// A hook through one replica; the page and the enrollment through both.
			c := a.NewLink(t, "okta", phone, "314159")
			c.TextID, c.Len = b.Page(t, c.Link)
			for i := range 3 {
				if v := replicas[i%2].VerifyFrom(t, browser, c.CID, c.TextID, owner.Type(c.TextID, c.Len)); v.Status != 200 || v.JSON()["action"] != "enroll" {
					t.Fatalf("enrollment %d: %s", i, v)
				}
			}

			// Eight owner attempts at once, four through each replica: one reveal.
			// (Patterns are typed first: a typist's random source is not shared.)
			patterns := owner.TypeN(8, c.TextID, c.Len)
			results := concurrently(8, func(i int) (e2e.Answer, error) {
				return replicas[i%2].VerifyFromErr(browser, c.CID, c.TextID, patterns[i], "")
			})
			reveals := 0
			for _, r := range results {
				if r.JSON()["otp"] == "314159" {
					reveals++
				}
			}
			if reveals != 1 {
				t.Fatalf("the code was revealed %d times: %v", reveals, results)
			}

			// Eight stranger attempts at once on a new challenge: exactly the limit is
			// scored (PER_CHALLENGE_MAX_FAILED_ATTEMPTS=3: two answers with attempts
			// left, the third locks), everything else is refused unscored.
			c2 := b.NewLink(t, "okta", phone, "271828")
			patterns = stranger.TypeN(8, c.TextID, c.Len)
			results = concurrently(8, func(i int) (e2e.Answer, error) {
				return replicas[i%2].VerifyFromErr(browser, c2.CID, c.TextID, patterns[i], "")
			})
			scored, locked := 0, 0
			for _, r := range results {
				switch {
				case r.Status == 200 && r.JSON()["result"] == float64(0):
					scored++
				case r.Status == 403 && r.Code() == 104:
					locked++
				default:
					t.Fatalf("unexpected answer %s", r)
				}
			}
			if scored != 2 || locked != 6 {
				t.Fatalf("%d scored with attempts left and %d locked; want 2 and 6", scored, locked)
			}
			if v := a.VerifyFrom(t, browser, c2.CID, c.TextID, owner.Type(c.TextID, c.Len)); v.Status != 403 || v.Code() != 104 {
				t.Fatalf("a locked challenge must stay locked on every replica: %s", v)
			}
		})
	}
}

// concurrently runs f(0..n-1) at the same time and returns the answers; an
// error fails the test.
func concurrently(n int, f func(i int) (e2e.Answer, error)) []e2e.Answer {
	out := make([]e2e.Answer, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			out[i], errs[i] = f(i)
		}()
	}
	start.Done()
	done.Wait()
	for i, err := range errs {
		if err != nil {
			out[i] = e2e.Answer{Body: []byte(err.Error())}
		}
	}
	return out
}
