// Package backend opens the storage.Store that the configuration selects
// (DATA_STORE): embedded, redis, mongo or firestore.
//
// It is the one place that knows every backend, so that the backends stay
// independent of the configuration and of each other.
package backend

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/smsplus/smsplus/host/internal/config"
	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
	"github.com/smsplus/smsplus/host/internal/storage/firestore"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
	"github.com/smsplus/smsplus/host/internal/storage/mongo"
	"github.com/smsplus/smsplus/host/internal/storage/redis"
)

// Open opens the store cfg selects. Server stores are pinged before Open returns,
// so an unreachable server is reported at start-up with storage.ErrUnavailable.
// Errors never contain passwords.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	switch cfg.DataStore {
	case "", "embedded":
		disk, err := embedded.Open(cfg.EmbeddedPath(), embedded.Options{})
		if err != nil {
			return nil, err
		}
		// The embedded store serves one process (it holds the file lock), so records
		// whose loss on restart is harmless live in memory: a delivery claim and a
		// per-phone text counter each cost a disk commit (two fsyncs) per hook.
		mem := memory.New(nil, 0)
		return &storage.Router{Default: disk, Routes: map[storage.Namespace]storage.Store{
			storage.Deliveries: mem, storage.SMSRate: mem,
		}}, nil
	case "redis":
		if cfg.Redis == nil {
			return nil, errMissing("redis")
		}
		return redis.Open(ctx, RedisOptions(cfg.Redis, log))
	case "mongo":
		if cfg.Mongo == nil {
			return nil, errMissing("mongo")
		}
		return mongo.Open(ctx, mongo.Options{URI: cfg.Mongo.URI, Database: cfg.Mongo.Database, Log: log})
	case "firestore":
		if cfg.Firestore == nil {
			return nil, errMissing("firestore")
		}
		f := cfg.Firestore
		return firestore.Open(ctx, firestore.Options{
			ProjectID:       f.ProjectID,
			DatabaseID:      f.DatabaseID,
			CredentialsJSON: f.Credential,
			EmulatorHost:    f.EmulatorHost,
			Log:             log,
		})
	}
	return nil, fmt.Errorf("unknown DATA_STORE %q", cfg.DataStore)
}

// RedisOptions translates the Redis settings into the backend's options.
func RedisOptions(c *config.Redis, log *slog.Logger) redis.Options {
	o := redis.Options{
		Addrs:            c.Addrs,
		Cluster:          c.Cluster,
		MasterName:       c.SentinelMaster,
		Username:         c.Username,
		Password:         c.Password,
		SentinelPassword: c.SentinelPassword,
		DB:               c.DB,
		KeyPrefix:        c.KeyPrefix,
		AllowDataLoss:    c.AllowDataLoss,
		Log:              log,
	}
	if c.TLS {
		// ServerName is left empty: the TLS dialer takes it from each node's address.
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

func errMissing(store string) error {
	return fmt.Errorf("DATA_STORE=%s but no %s settings were loaded (use config.Load)", store, store)
}
