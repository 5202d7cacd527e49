package backend

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/host/internal/storage/firestore"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
	"github.com/smsplus/smsplus/host/internal/storage/mongo"
	"github.com/smsplus/smsplus/host/internal/storage/redis"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

func loadConfig(t *testing.T, env ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Sources{Environ: append([]string{"HASH_SALT=s"}, env...)})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// From the settings an operator writes to a working store of the right kind.
func TestOpenFromSettings(t *testing.T) {
	t.Parallel()
	run := strings.ToLower(rand.Text()[:10])
	tests := map[string]struct {
		env  func(t *testing.T) []string
		want func(storage.Store) bool
	}{
		"embedded": {
			env: func(t *testing.T) []string { return []string{"DATA_DIR=" + t.TempDir()} },
			// The file store, with delivery claims and text counters in memory.
			want: func(s storage.Store) bool {
				r, ok := s.(*storage.Router)
				if !ok {
					return false
				}
				_, disk := r.Default.(*embedded.Store)
				_, claims := r.Routes[storage.Deliveries].(*memory.Store)
				_, counters := r.Routes[storage.SMSRate].(*memory.Store)
				_, users := r.Routes[storage.Users]
				return disk && claims && counters && !users
			},
		},
		"redis single": {
			env: func(t *testing.T) []string {
				return []string{"DATA_STORE=redis", "REDIS_URL=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_REDIS_URL"),
					"REDIS_KEY_PREFIX=smsplus-backend-test-" + run + ":"}
			},
			want: func(s storage.Store) bool { _, ok := s.(*redis.Store); return ok },
		},
		"redis cluster": {
			env: func(t *testing.T) []string {
				return []string{"DATA_STORE=redis", "REDIS_ADDRS=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_REDIS_CLUSTER_ADDRS"),
					"REDIS_KEY_PREFIX=smsplus-backend-test-" + run + ":"}
			},
			want: func(s storage.Store) bool { _, ok := s.(*redis.Store); return ok },
		},
		"redis sentinel": {
			env: func(t *testing.T) []string {
				return []string{"DATA_STORE=redis", "REDIS_ADDRS=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_REDIS_SENTINEL_ADDRS"),
					"REDIS_SENTINEL_MASTER=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_REDIS_SENTINEL_MASTER"),
					"REDIS_KEY_PREFIX=smsplus-backend-test-" + run + ":"}
			},
			want: func(s storage.Store) bool { _, ok := s.(*redis.Store); return ok },
		},
		"mongo": {
			env: func(t *testing.T) []string {
				return []string{"DATA_STORE=mongo", "MONGO_URI=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_MONGO_URL"),
					"MONGO_DB_NAME=smsplus_backend_test_" + run}
			},
			want: func(s storage.Store) bool { _, ok := s.(*mongo.Store); return ok },
		},
		"firestore emulator": {
			env: func(t *testing.T) []string {
				return []string{"DATA_STORE=firestore", "FIREBASE_PROJECT_ID=smsplus-backend-test-" + run,
					"FIRESTORE_EMULATOR_HOST=" + storagetest.ServerEnv(t, "SMSPLUS_TEST_FIRESTORE_EMULATOR")}
			},
			want: func(s storage.Store) bool { _, ok := s.(*firestore.Store); return ok },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := loadConfig(t, tc.env(t)...)
			s, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			if !tc.want(s) {
				t.Fatalf("Open gave a %T", s)
			}
			ctx := t.Context()
			key := "backend-test-" + name
			if err := s.Put(ctx, storage.Users, key, []byte("v"), time.Minute); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if v, err := s.Take(ctx, storage.Users, key); err != nil || !bytes.Equal(v, []byte("v")) {
				t.Errorf("Take = %q, %v; want v", v, err)
			}
			if cfg.Mongo != nil {
				dropDatabase(t, cfg.Mongo.URI, cfg.Mongo.Database)
			}
		})
	}
}

// A server store that cannot be reached fails Open within the caller's deadline
// with storage.ErrUnavailable, and the error shows no password.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pass"
	dead := storagetest.ClosedAddr(t)
	silent := storagetest.SilentAddr(t)
	tests := map[string][]string{
		"redis refused":      {"DATA_STORE=redis", "REDIS_URL=redis://app:" + secret + "@" + dead + "/0"},
		"redis silent":       {"DATA_STORE=redis", "REDIS_HOST=127.0.0.1", "REDIS_PORT=" + port(silent), "REDIS_PASSWORD=" + secret},
		"redis cluster dead": {"DATA_STORE=redis", "REDIS_ADDRS=" + dead + "," + silent, "REDIS_PASSWORD=" + secret},
		"mongo refused":      {"DATA_STORE=mongo", "MONGO_URI=mongodb://app:" + secret + "@" + dead + "/?directConnection=true"},
		"mongo silent":       {"DATA_STORE=mongo", "MONGO_URI=mongodb://app:" + secret + "@" + silent + "/?directConnection=true"},
		"firestore refused":  {"DATA_STORE=firestore", "FIREBASE_PROJECT_ID=p", "FIRESTORE_EMULATOR_HOST=" + dead},
		"firestore silent":   {"DATA_STORE=firestore", "FIREBASE_PROJECT_ID=p", "FIRESTORE_EMULATOR_HOST=" + silent},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := loadConfig(t, env...)
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			defer cancel()
			start := time.Now()
			s, err := Open(ctx, cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if elapsed := time.Since(start); elapsed > 2500*time.Millisecond {
				t.Errorf("Open returned after %s, past the caller's 1.5 s deadline", elapsed.Round(time.Millisecond))
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Open = %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open error shows the password: %v", err)
			}
		})
	}
}

func TestRedisTLSOption(t *testing.T) {
	t.Parallel()
	o := RedisOptions(&config.Redis{Addrs: []string{"r:6379"}, TLS: true}, nil)
	if o.TLS == nil || o.TLS.MinVersion < 0x0303 || o.TLS.InsecureSkipVerify {
		t.Errorf("TLS = %+v, want verified TLS 1.2+", o.TLS)
	}
	if o := RedisOptions(&config.Redis{Addrs: []string{"r:6379"}}, nil); o.TLS != nil {
		t.Error("TLS set without REDIS_TLS")
	}
}

// dropDatabase removes the database the mongo case created.
func dropDatabase(t *testing.T, uri, db string) {
	t.Helper()
	c, err := mongodriver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	if err := c.Database(db).Drop(t.Context()); err != nil {
		t.Errorf("drop %s: %v", db, err)
	}
}

func port(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		panic(fmt.Sprintf("no port in %q", addr))
	}
	return addr[i+1:]
}

// REDIS_ALLOW_DATA_LOSS reaches the Redis store: without it a Redis that keeps
// nothing on disk is refused at start, with it the store opens.
func TestRedisAllowDataLoss(t *testing.T) {
	t.Parallel()
	addr := storagetest.StartRedis(t, "--save", "", "--appendonly", "no")
	env := []string{"DATA_STORE=redis", "REDIS_URL=redis://" + addr + "/0"}
	_, err := Open(t.Context(), loadConfig(t, env...), slog.New(slog.DiscardHandler))
	if !errors.Is(err, redis.ErrDataLoss) || !strings.Contains(err.Error(), "REDIS_ALLOW_DATA_LOSS=true") {
		t.Errorf("Open on a volatile Redis = %v, want redis.ErrDataLoss naming REDIS_ALLOW_DATA_LOSS", err)
	}
	s, err := Open(t.Context(), loadConfig(t, append(env, "REDIS_ALLOW_DATA_LOSS=true")...), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open with REDIS_ALLOW_DATA_LOSS=true = %v, want a store", err)
	}
	s.Close()
}
