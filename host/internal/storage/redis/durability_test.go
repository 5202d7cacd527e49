package redis

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// The persistence and eviction check at Open, against redis-server processes the
// tests start with the settings under test (the shared CI servers are correctly
// configured, so they cannot show a refusal).

// Settings of a correctly configured Redis, and of the mistakes the check refuses.
var (
	aofOnly  = []string{"--save", "", "--appendonly", "yes", "--maxmemory-policy", "noeviction"}
	rdbOnly  = []string{"--save", "3600 1 300 100", "--appendonly", "no", "--maxmemory-policy", "noeviction"}
	volatile = []string{"--save", "", "--appendonly", "no"}
	evicting = []string{"--save", "", "--appendonly", "yes", "--maxmemory-policy", "allkeys-lru"}
)

// openWith opens a store on addrs with the given override, logging into logs.
func openWith(t *testing.T, o Options, allow bool, logs *bytes.Buffer) (*Store, error) {
	t.Helper()
	o.AllowDataLoss = allow
	o.DialTimeout = 5 * time.Second
	o.Log = slog.New(slog.NewTextHandler(logs, nil))
	s, err := Open(t.Context(), o)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func TestDataLossRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		want []string // in the message, besides the override
	}{
		"no persistence": {volatile, []string{"appendonly no", `save ""`, "CONFIG SET appendonly yes",
			"appendonly yes in redis.conf"}},
		"evicting policy": {evicting, []string{"maxmemory-policy allkeys-lru", "CONFIG SET maxmemory-policy noeviction",
			"maxmemory-policy noeviction in redis.conf"}},
		"volatile-lru": {[]string{"--appendonly", "yes", "--maxmemory-policy", "volatile-lru"}, []string{"maxmemory-policy volatile-lru"}},
		"both":         {append(volatile, "--maxmemory-policy", "allkeys-random"), []string{"appendonly no", "maxmemory-policy allkeys-random"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := storagetest.StartRedis(t, tc.args...)
			var logs bytes.Buffer
			_, err := openWith(t, Options{Addrs: []string{addr}}, false, &logs)
			if !errors.Is(err, ErrDataLoss) {
				t.Fatalf("Open = %v, want ErrDataLoss", err)
			}
			for _, want := range append(tc.want, addr, "REDIS_ALLOW_DATA_LOSS=true") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestDurableAccepted(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{"AOF only": aofOnly, "RDB only": rdbOnly, "default policy": {"--appendonly", "yes"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s, err := openWith(t, Options{Addrs: []string{storagetest.StartRedis(t, args...)}}, false, &logs)
			if err != nil {
				t.Fatalf("Open = %v, want a store", err)
			}
			if err := s.Put(t.Context(), "user", "u", []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("warning on a durable Redis:\n%s", logs.String())
			}
		})
	}
}

// REDIS_ALLOW_DATA_LOSS=true: the store opens on a volatile, evicting Redis and
// says in a warning what is wrong.
func TestDataLossAllowed(t *testing.T) {
	t.Parallel()
	addr := storagetest.StartRedis(t, append(volatile, "--maxmemory-policy", "allkeys-lru")...)
	var logs bytes.Buffer
	s, err := openWith(t, Options{Addrs: []string{addr}}, true, &logs)
	if err != nil {
		t.Fatalf("Open with AllowDataLoss = %v, want a store", err)
	}
	if err := s.Put(t.Context(), "user", "u", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=WARN", "REDIS_ALLOW_DATA_LOSS", "appendonly no", "allkeys-lru"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// Managed services often refuse CONFIG: the check falls back to INFO, which shows
// AOF and the policy but not the RDB save rules, and the message says so.
func TestConfigUnavailableFallsBackToInfo(t *testing.T) {
	t.Parallel()
	noConfig := []string{"--rename-command", "CONFIG", ""}
	t.Run("AOF and noeviction seen in INFO", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		if _, err := openWith(t, Options{Addrs: []string{storagetest.StartRedis(t, append(aofOnly, noConfig...)...)}}, false, &logs); err != nil {
			t.Errorf("Open = %v, want a store", err)
		}
	})
	t.Run("evicting policy seen in INFO", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		_, err := openWith(t, Options{Addrs: []string{storagetest.StartRedis(t, append(evicting, noConfig...)...)}}, false, &logs)
		if !errors.Is(err, ErrDataLoss) || !strings.Contains(err.Error(), "maxmemory-policy allkeys-lru") {
			t.Errorf("Open = %v, want ErrDataLoss naming allkeys-lru", err)
		}
	})
	t.Run("RDB rules cannot be read", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		_, err := openWith(t, Options{Addrs: []string{storagetest.StartRedis(t, append(rdbOnly, noConfig...)...)}}, false, &logs)
		if !errors.Is(err, ErrDataLoss) {
			t.Fatalf("Open = %v, want ErrDataLoss: AOF is off and the save rules cannot be verified", err)
		}
		for _, want := range []string{"could not be verified", "CONFIG GET", "aof_enabled:0", "REDIS_ALLOW_DATA_LOSS=true"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q:\n%v", want, err)
			}
		}
	})
}

// In a cluster every primary holds data, so every primary is checked.
func TestDataLossClusterEveryPrimary(t *testing.T) {
	t.Parallel()
	durable := storagetest.StartRedis(t, append(aofOnly, "--cluster-enabled", "yes")...)
	careless := storagetest.StartRedis(t, append(volatile, "--cluster-enabled", "yes")...)
	ctx := t.Context()
	// Two primaries, half of the slots each.
	for i, addr := range []string{durable, careless} {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		defer c.Close()
		if err := c.ClusterAddSlotsRange(ctx, i*8192, i*8192+8191).Err(); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			host, port, _ := net.SplitHostPort(durable)
			if err := c.ClusterMeet(ctx, host, port).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, addr := range []string{durable, careless} {
		waitClusterOK(t, addr, 2)
	}
	var logs bytes.Buffer
	_, err := openWith(t, Options{Addrs: []string{durable}, Cluster: true}, false, &logs)
	if !errors.Is(err, ErrDataLoss) {
		t.Fatalf("Open = %v, want ErrDataLoss for the volatile primary", err)
	}
	if !strings.Contains(err.Error(), "- "+careless+": ") || strings.Contains(err.Error(), "- "+durable+": ") {
		t.Errorf("message should name the volatile primary %s and not the durable %s:\n%v", careless, durable, err)
	}
}

func waitClusterOK(t *testing.T, addr string, nodes int) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := c.ClusterInfo(t.Context()).Result()
		if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", nodes)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster at %s not ready: %s", addr, info)
		}
	}
}

// With Sentinel, the primary it names is checked.
func TestDataLossSentinelPrimary(t *testing.T) {
	t.Parallel()
	primary := storagetest.StartRedis(t, volatile...)
	host, port, _ := net.SplitHostPort(primary)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("sentinel monitor smsplus-dl %s %s 1\n", host, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := storagetest.StartRedis(t, conf, "--sentinel")
	var logs bytes.Buffer
	_, err := openWith(t, Options{Addrs: []string{sentinel}, MasterName: "smsplus-dl"}, false, &logs)
	if !errors.Is(err, ErrDataLoss) {
		t.Fatalf("Open = %v, want ErrDataLoss for the volatile primary", err)
	}
	if !strings.Contains(err.Error(), primary) || !strings.Contains(err.Error(), "appendonly no") {
		t.Errorf("message should name the primary %s and its missing persistence:\n%v", primary, err)
	}
}

// The decision, on what CONFIG GET and INFO report, without a server.
func TestDurabilityVerdicts(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	empty, rules := "", "3600 1"
	errConfig := errors.New("NOPERM this user has no permissions to run the 'config|get' command")
	tests := []struct {
		name   string
		n      nodeDurability
		ok     bool
		inText []string
	}{
		{"aof", nodeDurability{aof: &yes, save: &empty, policy: "noeviction"}, true, nil},
		{"rdb", nodeDurability{aof: &no, save: &rules, policy: "noeviction"}, true, nil},
		{"volatile", nodeDurability{aof: &no, save: &empty, policy: "noeviction"}, false, []string{"appendonly no", `save ""`}},
		{"evicting", nodeDurability{aof: &yes, save: &empty, policy: "allkeys-lfu"}, false, []string{"maxmemory-policy allkeys-lfu"}},
		{"info, aof", nodeDurability{aof: &yes, policy: "noeviction", configErr: errConfig}, true, nil},
		{"info, no aof", nodeDurability{aof: &no, policy: "noeviction", configErr: errConfig}, false,
			[]string{"aof_enabled:0", "save rules could not be verified", "NOPERM"}},
		{"nothing readable", nodeDurability{configErr: errConfig, infoErr: errors.New("NOPERM info")}, false,
			[]string{"persistence could not be verified", "maxmemory-policy could not be verified"}},
	}
	for _, tc := range tests {
		problems := tc.n.problems()
		if (len(problems) == 0) != tc.ok {
			t.Errorf("%s: problems %q, want ok = %v", tc.name, problems, tc.ok)
		}
		text := strings.Join(problems, "\n")
		for _, want := range tc.inText {
			if !strings.Contains(text, want) {
				t.Errorf("%s: problems lack %q: %q", tc.name, want, problems)
			}
		}
	}
	for info, want := range map[string]nodeDurability{
		"# Persistence\r\naof_enabled:1\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n": {aof: &yes, policy: "noeviction"},
		"aof_enabled:0\r\nmaxmemory_policy:volatile-ttl\r\n":                            {aof: &no, policy: "volatile-ttl"},
		"# Server\r\nredis_version:7.0.15\r\n":                                          {},
	} {
		var got nodeDurability
		got.fromInfo(info)
		if (got.aof == nil) != (want.aof == nil) || got.aof != nil && *got.aof != *want.aof || got.policy != want.policy {
			t.Errorf("fromInfo(%q) = aof %v policy %q, want %v %q", info, got.aof, got.policy, want.aof, want.policy)
		}
	}
}
