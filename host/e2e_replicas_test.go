package host_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// TestReplicasShareOneStore runs two SMS+ processes against one Redis and one
// Firestore emulator, as replicas behind a load balancer, and hits one challenge
// from both at once: the code is revealed exactly once, and the per-challenge
// limit holds exactly.
func TestReplicasShareOneStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
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
			a := startServer(t, bin, storeEnv...)
			b := startServer(t, bin, storeEnv...)
			replicas := []*server{a, b}
			owner := typist(local.TimingProfile{HoldMS: 95, FlightMS: 160, Rhythm: 1}, 21)
			stranger := typist(local.TimingProfile{HoldMS: 170, FlightMS: 330, Rhythm: 99}, 22)
			phone := "+1201555" + fmt.Sprintf("%04d", len(name))

			// A hook through one replica; the page and the enrollment through both.
			a.t, b.t = t, t
			a.hook(oktaPayload(t, phone, "314159"), "Bearer "+e2eSecret)
			link := linkRE.FindStringSubmatch(a.nextSMS())
			textID, n := b.page(link[0])
			for i := range 3 {
				if status, res := replicas[i%2].verify(link[2], textID, owner(textID, n)); status != 200 || res["action"] != "enroll" {
					t.Fatalf("enrollment %d: %d %v", i, status, res)
				}
			}

			// Eight owner attempts at once, four through each replica: one reveal.
			// (Patterns are typed first: a typist's random source is not shared.)
			patterns := typeAll(8, func() string { return owner(textID, n) })
			results := concurrently(8, func(i int) (int, map[string]any) {
				return replicas[i%2].verify(link[2], textID, patterns[i])
			})
			reveals := 0
			for _, r := range results {
				if r.res["otp"] == "314159" {
					reveals++
				}
			}
			if reveals != 1 {
				t.Fatalf("the code was revealed %d times: %v", reveals, results)
			}

			// Eight stranger attempts at once on a new challenge: exactly the limit is
			// scored (PER_CHALLENGE_MAX_FAILED_ATTEMPTS=3: two answers with attempts
			// left, the third locks), everything else is refused unscored.
			b.hook(oktaPayload(t, phone, "271828"), "Bearer "+e2eSecret)
			link = linkRE.FindStringSubmatch(b.nextSMS())
			patterns = typeAll(8, func() string { return stranger(textID, n) })
			results = concurrently(8, func(i int) (int, map[string]any) {
				return replicas[i%2].verify(link[2], textID, patterns[i])
			})
			scored, locked := 0, 0
			for _, r := range results {
				switch {
				case r.status == 200 && r.res["result"] == float64(0):
					scored++
				case r.status == 403 && r.res["code"] == float64(104):
					locked++
				default:
					t.Fatalf("unexpected answer %d %v", r.status, r.res)
				}
			}
			if scored != 2 || locked != 6 {
				t.Fatalf("%d scored with attempts left and %d locked; want 2 and 6", scored, locked)
			}
			if status, res := a.verify(link[2], textID, owner(textID, n)); status != 403 || res["code"] != float64(104) {
				t.Fatalf("a locked challenge must stay locked on every replica: %d %v", status, res)
			}
		})
	}
}

type answerOf struct {
	status int
	res    map[string]any
}

// typeAll returns n patterns from one typist.
func typeAll(n int, next func() string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = next()
	}
	return out
}

// concurrently runs f(0..n-1) at the same time and returns the answers.
func concurrently(n int, f func(i int) (int, map[string]any)) []answerOf {
	out := make([]answerOf, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			out[i].status, out[i].res = f(i)
		}()
	}
	start.Done()
	done.Wait()
	return out
}
