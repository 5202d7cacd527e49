// Package redis is the storage backend on Redis (DATA_STORE=redis): a single server,
// a Sentinel-managed primary or a Redis Cluster, through go-redis v9's universal client.
//
// Every record and every counter is one Redis string key, with the record's TTL as
// the key's native expiry (PX, millisecond precision), so Redis itself makes an expired
// key invisible at once and reclaims it. Each method is one atomic server-side step:
//
//	Put     SET key value [PX ttl]
//	Create  SET key value NX [PX ttl]
//	Get     GET key
//	Take    GETDEL key (Redis 6.2 or later)
//	Delete  DEL key
//	Incr    a Lua script: INCR, then PEXPIRE only when the INCR created the key
//	Count   GET key
//
// Keys are <prefix><namespace>:{<key>}: the caller's key is the hash tag, so in a
// cluster the records that belong together (a challenge and its failure counter, a
// user and its lockout) live in the same slot, and a later multi-key script on them
// stays legal. The namespace never contains ':' or '{', so distinct (namespace, key)
// pairs never share a Redis key.
//
// Open refuses a Redis that can lose data (ErrDataLoss): every server holding the
// data (the single server, Sentinel's current primary, every cluster primary) must
// persist it (AOF or RDB save rules) and never evict it (maxmemory-policy
// noeviction), read with CONFIG GET or, where managed services refuse CONFIG, INFO.
// Options.AllowDataLoss (REDIS_ALLOW_DATA_LOSS) turns the refusal into a warning.
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/smsplus/smsplus/host/internal/storage"
)

const (
	// DefaultKeyPrefix starts every key SMS+ writes.
	DefaultKeyPrefix = "smsplus:"

	defaultDialTimeout = 5 * time.Second
)

// Options says which Redis to use. Addrs with one address and neither Cluster nor
// MasterName is a single server.
type Options struct {
	// Addrs: the server's host:port; with MasterName, the Sentinels; with Cluster
	// (or more than one address), the cluster's seed nodes.
	Addrs      []string
	Cluster    bool
	MasterName string // Sentinel: the monitored primary's name

	Username string // ACL user (Redis 6+); "" = the default user
	Password string
	DB       int // single server and Sentinel only; a cluster has only database 0

	SentinelUsername string
	SentinelPassword string

	TLS *tls.Config // nil = plain TCP

	// AllowDataLoss starts on a server that may lose data (REDIS_ALLOW_DATA_LOSS).
	AllowDataLoss bool

	KeyPrefix   string        // "" = DefaultKeyPrefix
	DialTimeout time.Duration // 0 = 5s; also bounds the start-up ping
	Log         *slog.Logger  // nil = slog.Default()
}

// Store is a storage.Store on Redis.
type Store struct {
	c      goredis.UniversalClient
	prefix string
}

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Batcher = (*Store)(nil)
)

// incrScript increments KEYS[1] and, only when that created it, gives it the
// window ARGV[1] in ms (0 = none): later increments keep the first expiry.
var incrScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if n == 1 and ttl > 0 then
	redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
`)

// Open connects to Redis and pings it, giving up after DialTimeout (or ctx).
func Open(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Addrs) == 0 {
		return nil, errors.New("redis: open: no server address")
	}
	if opts.Cluster && opts.DB != 0 {
		return nil, errors.New("redis: open: a cluster has only database 0")
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	dial := opts.DialTimeout
	if dial <= 0 {
		dial = defaultDialTimeout
	}
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	uo := &goredis.UniversalOptions{
		Addrs:            opts.Addrs,
		IsClusterMode:    opts.Cluster,
		MasterName:       opts.MasterName,
		Username:         opts.Username,
		Password:         opts.Password,
		DB:               opts.DB,
		SentinelUsername: opts.SentinelUsername,
		SentinelPassword: opts.SentinelPassword,
		TLSConfig:        opts.TLS,
		ClientName:       "smsplus",
		DialTimeout:      dial,
		// The caller's deadline bounds each call, not only go-redis's own timeouts:
		// a server that stops answering cannot hold a request past its budget.
		ContextTimeoutEnabled: true,
		// go-redis's defaults retry three times with backoff; one retry covers a
		// dropped idle connection without multiplying the wait for a dead server.
		MaxRetries: 1,
		// RESP2 needs no HELLO, so it also works with proxies and older servers.
		Protocol: 2,
		// A hanging server must not block a caller waiting for a pooled connection
		// beyond the dial budget.
		PoolTimeout: dial,
	}
	// go-redis logs to stderr by default, on every Sentinel lookup among others.
	// The logger is process-wide; the last store opened sets it.
	goredis.SetLogger(driverLog{log})
	c := goredis.NewUniversalClient(uo)
	s := &Store{c: c, prefix: prefix}

	pctx, cancel := context.WithTimeout(ctx, dial)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: open %s: %w", describe(opts), err)
	}
	if err := s.checkVersion(pctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: open %s: %w", describe(opts), err)
	}
	if err := s.checkDurability(pctx, opts, log); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: open %s: %w", describe(opts), err)
	}
	log.Info("redis store ready", "mode", mode(opts), "addrs", strings.Join(opts.Addrs, ","), "db", opts.DB,
		"tls", opts.TLS != nil, "key_prefix", prefix)
	return s, nil
}

// driverLog sends go-redis's own messages (dial failures, Sentinel switches) to
// slog at debug level: the store's errors already carry what an operator needs.
type driverLog struct{ log *slog.Logger }

func (l driverLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis driver: "+fmt.Sprintf(format, v...))
}

func mode(o Options) string {
	switch {
	case o.MasterName != "":
		return "sentinel"
	case o.Cluster || len(o.Addrs) > 1:
		return "cluster"
	}
	return "single"
}

// describe names the servers for an error message, never the credentials.
func describe(o Options) string {
	return mode(o) + " " + strings.Join(o.Addrs, ",")
}

// Close closes the connection pool.
func (s *Store) Close() error {
	if err := s.c.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// Ping checks that the server (in a cluster, every primary) answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	var err error
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			return c.Ping(ctx).Err()
		})
	} else {
		err = s.c.Ping(ctx).Err()
	}
	return s.fail(ctx, "ping", "", err)
}

// Put stores value under key, replacing any record there and its expiry.
func (s *Store) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	k, err := s.key(ctx, "put", ns, key, ttl)
	if err != nil {
		return err
	}
	// SET without PX also clears an earlier expiry, as Put must.
	return s.fail(ctx, "put", ns, s.c.Set(ctx, k, value, pxTTL(ttl)).Err())
}

// Create stores value only if no live record exists under key.
func (s *Store) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	k, err := s.key(ctx, "create", ns, key, ttl)
	if err != nil {
		return err
	}
	// Redis treats an expired key as absent, so NX replaces an expired record.
	ok, err := s.c.SetNX(ctx, k, value, pxTTL(ttl)).Result()
	if err != nil {
		return s.fail(ctx, "create", ns, err)
	}
	if !ok {
		return storage.ErrExists
	}
	return nil
}

// Get returns the live value under key, or storage.ErrNotFound.
func (s *Store) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	k, err := s.key(ctx, "get", ns, key, 0)
	if err != nil {
		return nil, err
	}
	v, err := s.c.Get(ctx, k).Bytes()
	if err != nil {
		return nil, s.fail(ctx, "get", ns, err)
	}
	return v, nil
}

// Take returns the live value under key and deletes it, in one GETDEL.
func (s *Store) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	k, err := s.key(ctx, "take", ns, key, 0)
	if err != nil {
		return nil, err
	}
	v, err := s.c.GetDel(ctx, k).Bytes()
	if err != nil {
		return nil, s.fail(ctx, "take", ns, err)
	}
	return v, nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	k, err := s.key(ctx, "delete", ns, key, 0)
	if err != nil {
		return err
	}
	return s.fail(ctx, "delete", ns, s.c.Del(ctx, k).Err())
}

// Incr adds one to the counter under key; a new counter expires after ttl, and
// later increments keep that expiry (a fixed window).
func (s *Store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	k, err := s.key(ctx, "incr", ns, key, ttl)
	if err != nil {
		return 0, err
	}
	n, err := incrScript.Run(ctx, s.c, []string{k}, pxTTL(ttl).Milliseconds()).Int64()
	if err != nil {
		return 0, s.fail(ctx, "incr", ns, err)
	}
	return n, nil
}

// Count returns the counter's live value, or 0 when it is absent or expired.
func (s *Store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	k, err := s.key(ctx, "count", ns, key, 0)
	if err != nil {
		return 0, err
	}
	v, err := s.c.Get(ctx, k).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "count", ns, err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis: count %s: stored record is not a counter", ns)
	}
	return n, nil
}

// Key returns the Redis key of (ns, key) under prefix: <prefix><ns>:{<key>}.
func Key(prefix string, ns storage.Namespace, key string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(ns) + len(key) + 3)
	b.WriteString(prefix)
	b.WriteString(string(ns))
	b.WriteString(":{")
	b.WriteString(key)
	b.WriteByte('}')
	return b.String()
}

// key validates a keyed call's arguments and the caller's context, and returns the
// Redis key. Keys never appear in errors: some are tokens or user identifiers.
func (s *Store) key(ctx context.Context, op string, ns storage.Namespace, key string, ttl time.Duration) (string, error) {
	if !ns.Valid() {
		return "", fmt.Errorf("redis: %s: invalid namespace %q: want [a-z][a-z0-9_]*, at most %d characters", op, ns, storage.MaxNamespaceLen)
	}
	switch {
	case key == "":
		return "", fmt.Errorf("redis: %s %s: invalid key: empty", op, ns)
	case len(key) > storage.MaxKeyLen:
		return "", fmt.Errorf("redis: %s %s: invalid key: %d bytes, at most %d", op, ns, len(key), storage.MaxKeyLen)
	case ttl < 0:
		return "", fmt.Errorf("redis: %s %s: invalid ttl %s: must not be negative", op, ns, ttl)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("redis: %s %s: %w", op, ns, err)
	}
	return Key(s.prefix, ns, key), nil
}

// fail adds context to a Redis error. A miss becomes storage.ErrNotFound; a reply
// about the data (a record used as a counter) stays a plain error; everything else
// (network, timeouts, a cluster or replica that is down, auth) is marked
// storage.ErrUnavailable, with the caller's context error when it caused it.
func (s *Store) fail(ctx context.Context, op string, ns storage.Namespace, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return storage.ErrNotFound
	case goredis.HasErrorPrefix(err, "WRONGTYPE"), goredis.HasErrorPrefix(err, "value is not an integer"):
		return fmt.Errorf("redis: %s %s: stored record has the wrong type: %w", op, ns, err)
	}
	where := op
	if ns != "" {
		where += " " + string(ns)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redis: %s: %w: %w (%w)", where, storage.ErrUnavailable, cerr, err)
	}
	return fmt.Errorf("redis: %s: %w: %w", where, storage.ErrUnavailable, err)
}

// maxTTL caps absurd TTLs (a century is "practically never") so that Redis's
// absolute expiry cannot overflow.
const maxTTL = 100 * 365 * 24 * time.Hour

// pxTTL rounds ttl up to whole milliseconds, Redis's precision, so that a record
// never expires before its time.
func pxTTL(ttl time.Duration) time.Duration {
	if ttl > maxTTL {
		return maxTTL
	}
	if r := ttl % time.Millisecond; r != 0 {
		ttl += time.Millisecond - r
	}
	return ttl
}

// checkVersion refuses a server older than 6.2, which lacks GETDEL. A server that
// hides INFO (some managed services) is given the benefit of the doubt.
func (s *Store) checkVersion(ctx context.Context) error {
	info, err := s.c.Info(ctx, "server").Result()
	if err != nil {
		var rerr goredis.Error
		if errors.As(err, &rerr) {
			return nil
		}
		return s.fail(ctx, "info", "", err)
	}
	for line := range strings.Lines(info) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		major, minor, _ := strings.Cut(v, ".")
		minor, _, _ = strings.Cut(minor, ".")
		ma, err1 := strconv.Atoi(major)
		mi, err2 := strconv.Atoi(minor)
		if err1 == nil && err2 == nil && (ma < 6 || ma == 6 && mi < 2) {
			return fmt.Errorf("server version %s is too old: SMS+ needs Redis 6.2 or later (GETDEL)", v)
		}
	}
	return nil
}
