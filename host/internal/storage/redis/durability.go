package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// ErrDataLoss is returned by Open when a server that holds SMS+'s data may lose it:
// it keeps nothing on disk (neither AOF nor RDB snapshots), or its maxmemory-policy
// evicts keys. A lost typing profile makes its user look new, and a new user's
// text carries the raw code; a lost lockout or failure counter lifts a limit. So
// SMS+ refuses such a server unless Options.AllowDataLoss (REDIS_ALLOW_DATA_LOSS).
var ErrDataLoss = errors.New("this Redis can lose data")

// nodeDurability is what one data-holding server reports about persistence and
// eviction. nil and "" mean "could not be read".
type nodeDurability struct {
	addr      string
	aof       *bool   // appendonly (CONFIG GET), or aof_enabled (INFO persistence)
	save      *string // the RDB save rules (CONFIG GET only; "" = none)
	policy    string  // maxmemory-policy (CONFIG GET), or maxmemory_policy (INFO memory)
	configErr error   // why CONFIG GET could not be used
	infoErr   error   // why INFO could not be used, when it was needed
}

// problems says, in an operator's words, each way this server can lose data, or
// could not be shown not to, with the fix. None means it is fine.
func (n nodeDurability) problems() []string {
	var out []string
	const persist = "Fix: CONFIG SET appendonly yes (and CONFIG REWRITE to keep it), or appendonly yes in redis.conf; " +
		"RDB snapshots also do (save 3600 1 300 100 60 10000), but lose the writes since the last one"
	switch {
	case n.aof != nil && *n.aof, n.save != nil && *n.save != "":
		// Data survives a restart.
	case n.aof != nil && n.save != nil:
		out = append(out, `no persistence (appendonly no, save ""): a restart loses every user, profile and lockout. `+persist)
	case n.aof != nil:
		out = append(out, fmt.Sprintf("AOF is off (INFO persistence: aof_enabled:0) and the RDB save rules could not be verified "+
			"(CONFIG GET: %v): if this service snapshots or replicates the data in a way that survives a restart, "+
			"set REDIS_ALLOW_DATA_LOSS=true; otherwise enable AOF. %s", n.configErr, persist))
	default:
		out = append(out, fmt.Sprintf("persistence could not be verified (CONFIG GET: %v; INFO: %v). "+
			"Allow SMS+'s user +config|get or +info, or check it yourself and set REDIS_ALLOW_DATA_LOSS=true. %s",
			n.configErr, n.infoErr, persist))
	}
	switch n.policy {
	case "noeviction":
	case "":
		out = append(out, fmt.Sprintf("maxmemory-policy could not be verified (CONFIG GET: %v; INFO: %v). "+
			"It must be noeviction: CONFIG SET maxmemory-policy noeviction, or maxmemory-policy noeviction in redis.conf",
			n.configErr, n.infoErr))
	default:
		out = append(out, fmt.Sprintf("maxmemory-policy %s evicts keys when memory runs short, users, profiles and lockouts among them. "+
			"Fix: CONFIG SET maxmemory-policy noeviction (and CONFIG REWRITE), or maxmemory-policy noeviction in redis.conf "+
			"(Redis then refuses writes when full instead of forgetting data)", n.policy))
	}
	return out
}

// fromInfo reads aof_enabled and maxmemory_policy from INFO's output.
func (n *nodeDurability) fromInfo(info string) {
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "aof_enabled":
			on := v == "1"
			n.aof = &on
		case "maxmemory_policy":
			n.policy = v
		}
	}
}

// probe asks one server about persistence and eviction: CONFIG GET where allowed,
// else INFO, which managed services usually keep open. Only a failure to reach
// the server is an error; a refused command is recorded and reported.
func probe(ctx context.Context, c *goredis.Client, addr string) (nodeDurability, error) {
	n := nodeDurability{addr: addr}
	var conf [3]map[string]string
	for i, param := range []string{"appendonly", "save", "maxmemory-policy"} {
		m, err := c.ConfigGet(ctx, param).Result()
		if err != nil {
			if !isReply(err) {
				return n, err
			}
			n.configErr = err
			break
		}
		conf[i] = m
	}
	if n.configErr == nil {
		aof := conf[0]["appendonly"] == "yes"
		save := conf[1]["save"]
		n.aof, n.save, n.policy = &aof, &save, conf[2]["maxmemory-policy"]
		return n, nil
	}
	// INFO without a section: Redis 6.2 takes only one, and the default set
	// includes persistence and memory.
	info, err := c.Info(ctx).Result()
	if err != nil {
		if !isReply(err) {
			return n, err
		}
		n.infoErr = err
		return n, nil
	}
	n.fromInfo(info)
	return n, nil
}

// isReply reports whether err is the server's answer (a refused or unknown
// command) rather than a failure to reach it.
func isReply(err error) bool {
	var rerr goredis.Error
	return errors.As(err, &rerr) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// checkDurability probes every server that holds SMS+'s data: the single server,
// Sentinel's current primary, or every primary of a cluster. It returns an error
// wrapping ErrDataLoss that lists each problem with its fix, or, with allow, logs
// the problems as a warning and returns nil.
func (s *Store) checkDurability(ctx context.Context, opts Options, log *slog.Logger) error {
	var (
		mu    sync.Mutex
		nodes []nodeDurability
	)
	add := func(n nodeDurability) {
		mu.Lock()
		nodes = append(nodes, n)
		mu.Unlock()
	}
	switch c := s.c.(type) {
	case *goredis.ClusterClient:
		err := c.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			n, err := probe(ctx, c, c.Options().Addr)
			add(n)
			return err
		})
		if err != nil {
			return s.fail(ctx, "check persistence", "", err)
		}
	case *goredis.Client:
		addr := opts.Addrs[0]
		if opts.MasterName != "" {
			// The client follows the primary; name it by its own address.
			addr = "primary " + opts.MasterName
			if ci, err := c.ClientInfo(ctx).Result(); err == nil && ci.LAddr != "" {
				addr += " (" + ci.LAddr + ")"
			}
		}
		n, err := probe(ctx, c, addr)
		if err != nil {
			return s.fail(ctx, "check persistence", "", err)
		}
		add(n)
	default:
		return fmt.Errorf("check persistence: unexpected client %T", s.c)
	}

	var problems []string
	for _, n := range nodes {
		for _, p := range n.problems() {
			problems = append(problems, n.addr+": "+p)
		}
	}
	if len(problems) == 0 {
		log.Debug("redis persistence and eviction checked", "servers", len(nodes))
		return nil
	}
	if opts.AllowDataLoss {
		log.Warn("redis: this Redis can lose data (users, typing profiles, lockouts); starting anyway because REDIS_ALLOW_DATA_LOSS=true",
			"problems", strings.Join(problems, " | "))
		return nil
	}
	return fmt.Errorf("%w, and SMS+ refuses to start on it. Every server that holds SMS+'s data must keep it across "+
		"a restart (appendonly yes, or RDB save rules) and never evict it (maxmemory-policy noeviction): a lost typing "+
		"profile makes its user look new, and a new user's text carries the raw code; a lost lockout lifts a limit.\n  - %s\n"+
		"Fix the server, or set REDIS_ALLOW_DATA_LOSS=true to start anyway", ErrDataLoss, strings.Join(problems, "\n  - "))
}
