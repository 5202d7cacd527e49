package attack_test

import (
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackVolatileRedisDowngradesUsers.
//
// Attacker: a SIM holder who waits for (or causes) a Redis restart, helped by an
// operator mistake: a Redis without persistence, or one that evicts keys under
// memory pressure. Every typing profile is lost; each enrolled user then looks new,
// so their next SMS carries the raw code (enrollment texts it), straight to the SIM.
//
// Path: DATA_STORE=redis -> backend.Open. Nothing checked the server's persistence
// or eviction policy.
//
// Defence proved: at start SMS+ checks that data survives a restart (AOF or RDB
// snapshots) and is never evicted (maxmemory-policy noeviction), and refuses to
// start otherwise, with the fix in the message, unless REDIS_ALLOW_DATA_LOSS=true.
func TestAttackVolatileRedisDowngradesUsers(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	volatile := e2e.RedisServer(t, "--save", "", "--appendonly", "no")
	evicting := e2e.RedisServer(t, "--save", "", "--appendonly", "yes", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
	durable := e2e.RedisServer(t, "--save", "", "--appendonly", "yes", "--maxmemory-policy", "noeviction")
	redis := func(url string, env ...string) []string {
		return append([]string{"DATA_STORE=redis", "REDIS_URL=" + url, "REDIS_KEY_PREFIX=attack:"}, env...)
	}

	t.Run("no persistence is refused", func(t *testing.T) {
		r := bin.StartExpectingFailure(t, redis(volatile)...)
		if r.Started {
			t.Fatal("smsplus serve started on a Redis with --save '' --appendonly no: a restart loses every profile, " +
				"and each enrolled user's next SMS carries the raw code")
		}
		requireMessage(t, r, "appendonly", "save", "noeviction", "REDIS_ALLOW_DATA_LOSS")
	})
	t.Run("eviction is refused", func(t *testing.T) {
		r := bin.StartExpectingFailure(t, redis(evicting)...)
		if r.Started {
			t.Fatal("smsplus serve started on a Redis with --maxmemory-policy allkeys-lru: under memory pressure it " +
				"evicts profiles and lockouts")
		}
		requireMessage(t, r, "noeviction", "REDIS_ALLOW_DATA_LOSS")
	})
	t.Run("AOF and noeviction start", func(t *testing.T) {
		bin.Start(t, redis(durable)...).Stop()
	})
	t.Run("the explicit override starts", func(t *testing.T) {
		bin.Start(t, redis(volatile, "REDIS_ALLOW_DATA_LOSS=true")...).Stop()
	})
}

// requireMessage checks that a refusal exited non-zero and names every word.
func requireMessage(t *testing.T, r e2e.Refusal, words ...string) {
	t.Helper()
	out := r.Stderr + r.Stdout
	if r.Code == 0 {
		t.Errorf("refused, but exit code 0")
	}
	for _, w := range words {
		if !strings.Contains(out, w) {
			t.Errorf("the refusal does not name %q:\n%s", w, out)
		}
	}
}
