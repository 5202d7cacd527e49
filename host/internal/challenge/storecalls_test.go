package challenge

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
	"github.com/smsplus/smsplus/host/internal/seal"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// maxHookCalls bounds the store calls of one hook, whether its user is new or
// returning (issue 16: it was about ten).
const maxHookCalls = 4

// A hook makes at most maxHookCalls store calls, for a new user and for a
// returning one, with every cap on and the built-in biometrics engine (which
// reads the user's profile from the same store). The stores are the embedded
// one as production composes it (storage.Router with the delivery claims and
// per-phone counters in memory) and the memory store alone; every server
// backend implements storage.Batcher too (their interface guards), so a hook's
// batch is one call there as well. On the embedded store a hook is also one
// commit (one fsync).
func TestHookStoreCalls(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) (storage.Store, func() int64){
		"embedded": func(t *testing.T) (storage.Store, func() int64) {
			disk, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			mem := memory.New(nil, 0)
			r := &storage.Router{Default: disk, Routes: map[storage.Namespace]storage.Store{storage.Deliveries: mem, storage.SMSRate: mem}}
			t.Cleanup(func() { r.Close() })
			return r, disk.Commits
		},
		"memory": func(t *testing.T) (storage.Store, func() int64) {
			m := memory.New(nil, 0)
			t.Cleanup(func() { m.Close() })
			return m, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			backend, commits := open(t)
			st := storagetest.NewCounting(backend)
			sealer, err := seal.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			out := &outbox{}
			svc := New(Settings{
				BaseURL: "https://sms.example", HashSalt: "salt", DefaultLanguage: "en", ChallengeTTL: 15 * time.Minute,
				MaxSMSPerPhonePerHour: 10, MaxSMSPerRangePerHour: 100, MaxSMSPerHour: 1000,
			}, Deps{Store: st, Sender: out, Verifier: local.New(st, local.Options{}), Sealer: sealer, NewPhrase: phraseFor})

			for _, who := range []string{"new user", "returning user"} {
				st.Reset()
				var before int64
				if commits != nil {
					before = commits()
				}
				otp := map[string]string{"new user": "123456", "returning user": "654321"}[who]
				if _, err := svc.Start(context.Background(), Event{Bridge: "okta", Phone: phone, OTP: otp}); err != nil {
					t.Fatalf("%s: Start: %v", who, err)
				}
				if err := svc.Wait(context.Background()); err != nil { // the answer is remembered in the background
					t.Fatal(err)
				}
				t.Logf("%s: %d store calls %v", who, st.Total(), st.Calls())
				if n := st.Total(); n > maxHookCalls {
					t.Errorf("%s: a hook made %d store calls %v, want at most %d", who, n, st.Calls(), maxHookCalls)
				}
				if commits != nil {
					if n := commits() - before; n != 1 {
						t.Errorf("%s: a hook made %d commits on the embedded store, want 1", who, n)
					}
				}
			}
			if got := len(out.msgs); got != 2 {
				t.Fatalf("%d texts sent, want 2", got)
			}
		})
	}
}

// challengeKeys is a Store that remembers the challenges that hooks' batches
// create, so that a test can look for them after the hook.
type challengeKeys struct {
	storage.Store
	mu   sync.Mutex
	keys []string
}

func (c *challengeKeys) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	c.mu.Lock()
	for _, o := range ops {
		if o.Kind == storage.OpCreate && o.NS == storage.Challenges {
			c.keys = append(c.keys, o.Key)
		}
	}
	c.mu.Unlock()
	return storage.Run(ctx, c.Store, ops)
}

// The challenge is created in the hook's batch, before the engine is asked; a
// hook that then sends no link (the engine is down and the fallback sends the
// vendor's message, or the policy fails closed) leaves no challenge behind.
func TestEngineDownLeavesNoChallenge(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{PolicyFallback, PolicyFailClosed} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			var keys *challengeKeys
			f := newFixtureWith(t, nil, func(s *Settings, d *Deps) {
				s.BiometricsFailurePolicy = policy
				keys = &challengeKeys{Store: d.Store}
				d.Store = keys
			})
			f.ver.down = true
			st, err := f.svc.Start(context.Background(), Event{Bridge: "okta", Phone: phone, OTP: "123456"})
			if policy == PolicyFallback && (err != nil || !st.Fallback) {
				t.Fatalf("Start = %+v, %v; want the fallback", st, err)
			}
			if policy == PolicyFailClosed && !errors.Is(err, ErrBiometricsDown) {
				t.Fatalf("Start = %+v, %v; want ErrBiometricsDown", st, err)
			}
			if len(keys.keys) != 1 {
				t.Fatalf("the hook's batch created %d challenges, want 1", len(keys.keys))
			}
			if _, err := f.store.Get(context.Background(), storage.Challenges, keys.keys[0]); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("the challenge of a hook that sent no link is still there: %v", err)
			}
		})
	}
}

// A vendor's retry of a delivery that failed claims it again and does the whole
// hook: the batch stopped at the claim the first time round, and runs the rest.
func TestRetryAfterFailedDeliveryRunsTheWholeHook(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, nil, func(s *Settings, _ *Deps) { s.MaxSMSPerPhonePerHour = 5 })
	ev := Event{Bridge: "okta", Phone: phone, OTP: "123456"}
	f.out.fail.Store(true)
	if _, err := f.svc.Start(context.Background(), ev); !errors.Is(err, ErrSMS) {
		t.Fatalf("first Start = %v, want ErrSMS", err)
	}
	f.out.fail.Store(false)
	// Before the failure is settled in the background, the retry finds the claim
	// in progress and waits for it to go.
	ev.Budget.RepeatWait = 5 * time.Second
	st, err := f.svc.Start(context.Background(), ev)
	if err != nil || st.ChallengeID == "" {
		t.Fatalf("retry = %+v, %v; want a new challenge", st, err)
	}
	if _, err := f.svc.Page(context.Background(), st.ChallengeID); err != nil {
		t.Fatalf("the retry's challenge: %v", err)
	}
	if n, err := f.store.Count(context.Background(), storage.SMSRate, UserID(phone, "salt")); err != nil || n != 2 {
		t.Errorf("per-phone count = %d, %v; want 2 (each attempt counts)", n, err)
	}
}
