package challenge

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
	"github.com/smsplus/smsplus/host/internal/storage/mongo"
	"github.com/smsplus/smsplus/host/internal/storage/redis"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// hookStores opens each store a hook's batch runs on in production: the
// embedded store behind its Router (claims and per-phone counters in memory),
// Redis (one script) and FerretDB (one command per step, claims).
func hookStores(t *testing.T) map[string]func(t *testing.T) storage.Store {
	return map[string]func(t *testing.T) storage.Store{
		"embedded": func(t *testing.T) storage.Store {
			disk, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := &storage.Router{Default: disk, Routes: map[storage.Namespace]storage.Store{
				storage.Deliveries: memory.New(nil, 0), storage.SMSRate: memory.New(nil, 0),
			}}
			t.Cleanup(func() { _ = r.Close() })
			return r
		},
		"redis": func(t *testing.T) storage.Store {
			o, err := goredis.ParseURL(storagetest.ServerEnv(t, "SMSPLUS_TEST_REDIS_URL"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password,
				DB: o.DB, KeyPrefix: "smsplus-test-" + rand.Text()[:10] + ":", Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"ferretdb": func(t *testing.T) storage.Store {
			s, err := mongo.Open(t.Context(), mongo.Options{URI: storagetest.ServerEnv(t, "SMSPLUS_TEST_MONGO_URL"),
				Database: "smsplus_test_" + strings.ToLower(rand.Text()[:12]), Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
}

// Many concurrent hooks, each a batch, hold the per-phone, per-range and
// global caps exactly on every store: as many texts go out as the cap allows,
// no more and no fewer, and a repeat of one code sends one text.
func TestConcurrentHooksHoldTheCapsOnEveryStore(t *testing.T) {
	t.Parallel()
	const hooks = 24
	cases := []struct {
		name  string
		caps  func(*Settings)
		phone func(i int) string
		otp   func(i int) string
		want  int
	}{
		{"one phone", func(s *Settings) { s.MaxSMSPerPhonePerHour = 5 }, func(int) string { return phone },
			func(i int) string { return fmt.Sprintf("%06d", 100000+i) }, 5},
		{"one range", func(s *Settings) { s.MaxSMSPerRangePerHour = 7 }, func(i int) string { return fmt.Sprintf("+1415555%04d", 100+i) },
			func(i int) string { return fmt.Sprintf("%06d", 200000+i) }, 7},
		{"global", func(s *Settings) { s.MaxSMSPerHour = 6 }, func(i int) string { return fmt.Sprintf("+44791112%04d", 3000+i*17) },
			func(i int) string { return fmt.Sprintf("%06d", 300000+i) }, 6},
		{"one code repeated", func(*Settings) {}, func(int) string { return phone }, func(int) string { return "482913" }, 1},
	}
	for name, open := range hookStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					st := open(t)
					f := newFixtureWith(t, nil, func(s *Settings, d *Deps) {
						c.caps(s)
						d.Store = st
						d.Now = time.Now // the backends' own clocks
					})
					var wg sync.WaitGroup
					errs := make([]error, hooks)
					for i := range hooks {
						wg.Add(1)
						go func() {
							defer wg.Done()
							ev := Event{Bridge: "okta", Phone: c.phone(i), OTP: c.otp(i), Budget: Budget{RepeatWait: 10 * time.Second}}
							_, errs[i] = f.svc.Start(context.Background(), ev)
						}()
					}
					wg.Wait()
					if err := f.svc.Wait(context.Background()); err != nil {
						t.Fatal(err)
					}
					limited := 0
					for i, err := range errs {
						switch {
						case errors.Is(err, ErrRateLimited):
							limited++
						case err != nil:
							t.Errorf("hook %d: %v", i, err)
						}
					}
					f.out.mu.Lock()
					sent := len(f.out.msgs)
					f.out.mu.Unlock()
					if sent != c.want {
						t.Errorf("%d texts sent by %d concurrent hooks, want %d", sent, hooks, c.want)
					}
					if c.name != "one code repeated" && limited != hooks-c.want {
						t.Errorf("%d hooks refused by the cap, want %d", limited, hooks-c.want)
					}
				})
			}
		})
	}
}
