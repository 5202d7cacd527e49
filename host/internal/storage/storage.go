// Package storage defines the Store every SMS+ backend implements.
//
// The Store is deliberately small: records with a time to live, atomic counters and
// take-once reads, grouped in namespaces. The domain packages encode their own
// entities (users, challenges, tokens, audit entries) on top of it, so each backend
// only has to get these few primitives right, and one conformance suite
// (storagetest) proves that every backend behaves the same way.
//
// Expiry is part of the contract: a record or counter whose TTL has passed is
// invisible at once, to every method, whether or not a sweeper or the backend's own
// TTL mechanism has removed it yet.
package storage

import (
	"context"
	"errors"
	"time"
)

// Namespace groups records of one kind, like a table or a key prefix.
type Namespace string

// Limits every backend enforces on its arguments.
const (
	MaxNamespaceLen = 64
	MaxKeyLen       = 512
)

// Valid reports whether ns has the form every backend accepts: [a-z][a-z0-9_]*,
// at most MaxNamespaceLen characters.
func (ns Namespace) Valid() bool {
	if len(ns) == 0 || len(ns) > MaxNamespaceLen {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// The namespaces SMS+ uses. Backends must accept any valid namespace (Valid),
// so that later features can add their own.
const (
	Users             Namespace = "user"
	Challenges        Namespace = "challenge"
	ChallengeFailures Namespace = "challenge_failures"
	UserFailures      Namespace = "user_failures"
	Lockouts          Namespace = "lockout"
	Tokens            Namespace = "token"
	PendingResets     Namespace = "pending_reset"
	Profiles          Namespace = "profile"
	Audit             Namespace = "audit"
	SMSRate           Namespace = "sms_rate"
	SMSRangeRate      Namespace = "sms_range_rate"  // texts per destination range, keyed by a salted hash
	SMSGlobalRate     Namespace = "sms_global_rate" // texts in total, shared by every replica
	Deliveries        Namespace = "delivery"
	InvalidPositions  Namespace = "invalid_position"
	PhoneMismatches   Namespace = "phone_mismatch"
	// AcceptedPatterns counts each user's accepted typing patterns (enrollment
	// samples and successful verifications): how established a profile is.
	AcceptedPatterns Namespace = "accepted_patterns"
	// Devices holds each user's bound devices (browsers): the SHA-256 of each
	// device's cookie token, its public key, when it was bound and last used.
	Devices Namespace = "device"
)

var (
	// ErrNotFound: no such record, or it has expired, or it was already taken.
	ErrNotFound = errors.New("storage: not found")
	// ErrExists: Create found a live record under that key.
	ErrExists = errors.New("storage: already exists")
	// ErrUnavailable wraps backend failures (down, unreachable, timed out).
	ErrUnavailable = errors.New("storage: unavailable")
)

// Store is implemented by every backend. All methods are safe for concurrent use,
// from one process or from several replicas sharing the backend, and honour ctx.
// A ttl of zero means "no expiry".
type Store interface {
	// Create stores value only if no live record exists under key; else ErrExists.
	Create(ctx context.Context, ns Namespace, key string, value []byte, ttl time.Duration) error
	// Put stores value under key, replacing any record there.
	Put(ctx context.Context, ns Namespace, key string, value []byte, ttl time.Duration) error
	// Get returns the live value under key, or ErrNotFound.
	Get(ctx context.Context, ns Namespace, key string) ([]byte, error)
	// Take returns the live value under key and deletes it in one atomic step:
	// among any number of concurrent callers exactly one gets the value, the others
	// get ErrNotFound.
	Take(ctx context.Context, ns Namespace, key string) ([]byte, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, ns Namespace, key string) error
	// Incr atomically adds one to the counter under key and returns the new value.
	// A counter that does not exist (or has expired) starts from zero and gets ttl;
	// later increments keep the original expiry, so ttl is a fixed window.
	Incr(ctx context.Context, ns Namespace, key string, ttl time.Duration) (int64, error)
	// Count returns the counter's live value, or 0 when absent or expired.
	Count(ctx context.Context, ns Namespace, key string) (int64, error)
	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
