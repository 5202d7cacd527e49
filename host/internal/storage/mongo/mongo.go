// Package mongo is the storage backend on MongoDB (DATA_STORE=mongo), through the
// official v2 driver. It also runs on MongoDB wire-compatible servers such as
// FerretDB, which the tests use.
//
// # Layout
//
// Every record and counter of every namespace is one document in one collection
// (MONGO_DB_NAME, collection "records"):
//
//	{_id: "<namespace>:<key>", ns: "<namespace>", v: BinData, w: <write id>, expires_at: Date}   a record
//	{_id: "<namespace>:<key>", ns: "<namespace>", n: <int64>, expires_at: Date}                  a counter
//
// expires_at is absent for records without a TTL. One collection rather than one
// per namespace because namespaces are open-ended (storage accepts any
// [a-z][a-z0-9_]*): a single TTL index created at start-up covers every namespace,
// present and future, with nothing to create on the request path, and an operator
// has one collection to size, back up and watch. The ns field lets an operator
// count or inspect one kind of record; the _id prefix gives the same with the
// _id index. Key bytes that are not valid UTF-8, and '%', are %XX-escaped in _id.
//
// # Atomicity
//
// Every method is built from single-document operations, which MongoDB applies
// atomically, and is correct however many SMS+ replicas share the collection:
//
//   - Create inserts; on a duplicate _id it deletes the record only if expired
//     (a filter on expires_at) and inserts once more: exactly one insert wins.
//   - Take reads the record, then deletes it with a filter on its write id w; only
//     a deleteOne that reports a deletion hands the value out. (findOneAndDelete
//     would be one round trip on MongoDB, but FerretDB v1, the CI server, returns
//     the document to every concurrent caller; the deleted count is exact on both.)
//   - Incr increments a live counter with findOneAndUpdate {$inc}; when none is live
//     it upserts {n: 1, expires_at: now+ttl} with a filter matching only an expired
//     counter, so that a concurrent creator makes the upsert fail with a duplicate
//     key and the loser goes back to $inc: the window is fixed, no increment lost.
//
// # Expiry
//
// Reads compare expires_at with the clock, so an expired record is invisible at
// once. A TTL index (expireAfterSeconds: 0) on expires_at, created at start-up, lets
// the server delete expired documents (its monitor runs every 60 s). Where the
// server refuses the index (FerretDB: NotImplemented), the store starts anyway with
// a warning and runs a sweeper that deletes expired documents every minute.
package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/smsplus/smsplus/host/internal/storage"
)

const (
	// DefaultDatabase is used when Options.Database is empty.
	DefaultDatabase = "smsplus"
	// Collection holds every record.
	Collection = "records"
	// TTLIndex is the name of the TTL index on expires_at.
	TTLIndex = "expires_at_ttl"

	defaultStartupTimeout  = 10 * time.Second
	defaultSelectTimeout   = 10 * time.Second
	defaultCallTimeout     = 10 * time.Second
	defaultSweepInterval   = time.Minute
	sweepTimeout           = 30 * time.Second
	maxIncrAttempts        = 8
	fieldValue, fieldCount = "v", "n"
	fieldExpiry, fieldW    = "expires_at", "w"
)

// Options says which MongoDB to use.
type Options struct {
	URI      string // mongodb:// or mongodb+srv:// connection string
	Database string // "" = DefaultDatabase

	// StartupTimeout bounds Open's ping and index creation; 0 = 10s.
	StartupTimeout time.Duration
	// CallTimeout bounds a call whose context has no deadline (the driver's
	// client-side operation timeout), unless MONGO_URI sets timeoutMS; 0 = 10s.
	CallTimeout time.Duration
	// SweepInterval is how often expired documents are deleted when the server
	// has no TTL index: 0 = 1 minute, < 0 = never.
	SweepInterval time.Duration
	Now           func() time.Time // nil = time.Now
	Log           *slog.Logger     // nil = slog.Default()
}

// Store is a storage.Store on MongoDB.
type Store struct {
	client   *mongo.Client
	coll     *mongo.Collection
	now      func() time.Time
	ttlIndex bool // the server expires documents itself

	stop      chan struct{} // nil without a sweeper
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ storage.Store = (*Store)(nil)

// Open connects, pings the server and creates the TTL index, within StartupTimeout.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	dbName := opts.Database
	if dbName == "" {
		dbName = DefaultDatabase
	}
	startup := opts.StartupTimeout
	if startup <= 0 {
		startup = defaultStartupTimeout
	}
	where := Redact(opts.URI)

	co := options.Client().ApplyURI(opts.URI)
	if err := co.Validate(); err != nil {
		return nil, scrub(fmt.Errorf("mongo: open %s: invalid MONGO_URI: %w", where, err), co)
	}
	co.SetAppName("smsplus")
	if co.Timeout == nil {
		// Without it a call without a deadline waits forever on a server that
		// accepted the connection and stopped answering.
		call := opts.CallTimeout
		if call <= 0 {
			call = defaultCallTimeout
		}
		co.SetTimeout(call)
	}
	if co.ServerSelectionTimeout == nil {
		// The driver's 30 s default would hold a request long past any caller's
		// budget when the server is gone; callers' deadlines still apply first.
		co.SetServerSelectionTimeout(defaultSelectTimeout)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, scrub(fmt.Errorf("mongo: open %s: %w: %w", where, storage.ErrUnavailable, err), co)
	}
	s := &Store{client: client, coll: client.Database(dbName).Collection(Collection), now: now}

	sctx, cancel := context.WithTimeout(ctx, startup)
	defer cancel()
	if err := s.Ping(sctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, scrub(fmt.Errorf("mongo: open %s: %w", where, err), co)
	}
	if err := s.ensureTTLIndex(sctx, log); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, scrub(fmt.Errorf("mongo: open %s: %w", where, err), co)
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = defaultSweepInterval
	}
	if !s.ttlIndex && interval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweepLoop(interval, log)
	}
	log.Info("mongo store ready", "server", where, "database", dbName, "collection", Collection, "ttl_index", s.ttlIndex)
	return s, nil
}

// ensureTTLIndex creates the TTL index on expires_at. A server that refuses it
// (FerretDB answers NotImplemented; a user without createIndex rights gets
// Unauthorized) is not fatal: expiry at read time keeps the store correct, and the
// sweeper reclaims the space.
func (s *Store) ensureTTLIndex(ctx context.Context, log *slog.Logger) error {
	_, err := s.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: fieldExpiry, Value: 1}},
		Options: options.Index().SetName(TTLIndex).SetExpireAfterSeconds(0),
	})
	if err == nil {
		s.ttlIndex = true
		return nil
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return s.fail(ctx, "create ttl index", "", err)
	}
	log.Warn("mongo: the server refused the TTL index on expires_at; expired records stay invisible, and a sweeper deletes them every minute",
		"collection", Collection, "err", err.Error())
	return nil
}

// TTLIndex reports whether the server expires documents itself (a TTL index exists).
func (s *Store) TTLIndex() bool { return s.ttlIndex }

// Close stops the sweeper and disconnects.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
			s.closeErr = fmt.Errorf("mongo: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping checks that the primary answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongo: ping: %w", err)
	}
	return s.fail(ctx, "ping", "", s.client.Ping(ctx, readpref.Primary()))
}

// Put stores value under key, replacing any record there and its expiry.
func (s *Store) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	id, err := s.id(ctx, "put", ns, key, ttl)
	if err != nil {
		return err
	}
	_, err = s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, s.record(id, ns, value, ttl), options.Replace().SetUpsert(true))
	return s.fail(ctx, "put", ns, err)
}

// Create stores value only if no live record exists under key.
func (s *Store) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	id, err := s.id(ctx, "create", ns, key, ttl)
	if err != nil {
		return err
	}
	_, err = s.coll.InsertOne(ctx, s.record(id, ns, value, ttl))
	if !mongo.IsDuplicateKeyError(err) {
		return s.fail(ctx, "create", ns, err)
	}
	// Something is there. Delete it only if it has expired, then try once more:
	// among concurrent creators exactly one insert succeeds.
	expired := bson.D{{Key: "_id", Value: id}, {Key: fieldExpiry, Value: bson.D{{Key: "$lte", Value: s.now()}}}}
	if _, err := s.coll.DeleteOne(ctx, expired); err != nil {
		return s.fail(ctx, "create", ns, err)
	}
	_, err = s.coll.InsertOne(ctx, s.record(id, ns, value, ttl))
	if mongo.IsDuplicateKeyError(err) {
		return storage.ErrExists
	}
	return s.fail(ctx, "create", ns, err)
}

// Get returns the live value under key, or storage.ErrNotFound.
func (s *Store) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	id, err := s.id(ctx, "get", ns, key, 0)
	if err != nil {
		return nil, err
	}
	d, err := s.find(ctx, id)
	if err != nil {
		return nil, s.fail(ctx, "get", ns, err)
	}
	if !d.live(s.now()) {
		return nil, storage.ErrNotFound
	}
	if !d.isRecord {
		return nil, fmt.Errorf("mongo: get %s: stored document is a counter, not a record", ns)
	}
	return d.value, nil
}

// Take returns the live value under key and deletes it: the deleteOne that
// removes exactly the version read decides the single winner.
func (s *Store) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	id, err := s.id(ctx, "take", ns, key, 0)
	if err != nil {
		return nil, err
	}
	d, err := s.find(ctx, id)
	if err != nil {
		return nil, s.fail(ctx, "take", ns, err)
	}
	if !d.live(s.now()) {
		return nil, storage.ErrNotFound
	}
	if !d.isRecord {
		return nil, fmt.Errorf("mongo: take %s: stored document is a counter, not a record", ns)
	}
	res, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: fieldW, Value: d.w}})
	if err != nil {
		return nil, s.fail(ctx, "take", ns, err)
	}
	if res.DeletedCount != 1 {
		return nil, storage.ErrNotFound // another caller took it (or replaced it) first
	}
	return d.value, nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	id, err := s.id(ctx, "delete", ns, key, 0)
	if err != nil {
		return err
	}
	_, err = s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return s.fail(ctx, "delete", ns, err)
}

// Incr adds one to the counter under key. A missing or expired counter restarts at
// 1 and expires after ttl; later increments keep that expiry (a fixed window).
func (s *Store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	id, err := s.id(ctx, "incr", ns, key, ttl)
	if err != nil {
		return 0, err
	}
	// No projection: counters are tiny, and FerretDB refuses one in findAndModify.
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	upsert := options.FindOneAndUpdate().SetReturnDocument(options.After).SetUpsert(true)
	for range maxIncrAttempts {
		now := s.now()
		// A live counter: add one, keeping its expiry.
		live := bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: bson.A{
			bson.D{{Key: fieldExpiry, Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: fieldExpiry, Value: bson.D{{Key: "$gt", Value: now}}}},
		}}}
		inc := bson.D{{Key: "$inc", Value: bson.D{{Key: fieldCount, Value: int64(1)}}}}
		n, err := s.counter(s.coll.FindOneAndUpdate(ctx, live, inc, after))
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return n, s.fail(ctx, "incr", ns, err)
		}

		// None live: start a window over an expired counter, or insert one. The
		// filter matches no live document, so if one appears meanwhile the upsert
		// hits the unique _id and the loop goes back to $inc.
		set := bson.D{{Key: "ns", Value: string(ns)}, {Key: fieldCount, Value: int64(1)}}
		unset := bson.D{{Key: fieldValue, Value: ""}, {Key: fieldW, Value: ""}}
		if exp, ok := expiry(now, ttl); ok {
			set = append(set, bson.E{Key: fieldExpiry, Value: exp})
		} else {
			unset = append(unset, bson.E{Key: fieldExpiry, Value: ""})
		}
		expired := bson.D{{Key: "_id", Value: id}, {Key: fieldExpiry, Value: bson.D{{Key: "$lte", Value: now}}}}
		restart := bson.D{{Key: "$set", Value: set}, {Key: "$unset", Value: unset}}
		n, err = s.counter(s.coll.FindOneAndUpdate(ctx, expired, restart, upsert))
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		return n, s.fail(ctx, "incr", ns, err)
	}
	return 0, fmt.Errorf("mongo: incr %s: %w: counter still contended after %d attempts", ns, storage.ErrUnavailable, maxIncrAttempts)
}

// Count returns the counter's live value, or 0 when it is absent or expired.
func (s *Store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	id, err := s.id(ctx, "count", ns, key, 0)
	if err != nil {
		return 0, err
	}
	d, err := s.find(ctx, id)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "count", ns, err)
	}
	if !d.live(s.now()) {
		return 0, nil
	}
	if !d.isCounter {
		return 0, fmt.Errorf("mongo: count %s: stored document is a record, not a counter", ns)
	}
	return d.n, nil
}

// doc is a stored document, decoded.
type doc struct {
	isRecord  bool
	value     []byte
	w         int64
	isCounter bool
	n         int64
	exp       time.Time // zero: never
}

func (d doc) live(now time.Time) bool { return d.exp.IsZero() || now.Before(d.exp) }

func (s *Store) find(ctx context.Context, id string) (doc, error) {
	raw, err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		return doc{}, err
	}
	return decode(raw)
}

func decode(raw bson.Raw) (doc, error) {
	var d doc
	if v, err := raw.LookupErr(fieldValue); err == nil {
		_, data, ok := v.BinaryOK()
		if !ok {
			return d, fmt.Errorf("field %s is %s, not binary", fieldValue, v.Type)
		}
		d.isRecord, d.value = true, bytes.Clone(data)
		if w, err := raw.LookupErr(fieldW); err == nil {
			d.w, _ = w.AsInt64OK()
		}
	}
	if v, err := raw.LookupErr(fieldCount); err == nil {
		n, ok := v.AsInt64OK()
		if !ok {
			return d, fmt.Errorf("field %s is %s, not a number", fieldCount, v.Type)
		}
		d.isCounter, d.n = true, n
	}
	if v, err := raw.LookupErr(fieldExpiry); err == nil {
		dt, ok := v.DateTimeOK()
		if !ok {
			return d, fmt.Errorf("field %s is %s, not a date", fieldExpiry, v.Type)
		}
		d.exp = time.UnixMilli(dt)
	}
	return d, nil
}

// counter reads n from a findOneAndUpdate result.
func (s *Store) counter(r *mongo.SingleResult) (int64, error) {
	raw, err := r.Raw()
	if err != nil {
		return 0, err
	}
	d, err := decode(raw)
	if err != nil {
		return 0, err
	}
	if !d.isCounter {
		return 0, errors.New("updated document has no count")
	}
	return d.n, nil
}

// record is the document Put and Create write. w identifies this write, so that
// Take deletes exactly the version it read.
func (s *Store) record(id string, ns storage.Namespace, value []byte, ttl time.Duration) bson.D {
	if value == nil {
		value = []byte{}
	}
	d := bson.D{
		{Key: "_id", Value: id},
		{Key: "ns", Value: string(ns)},
		{Key: fieldValue, Value: bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: value}},
		{Key: fieldW, Value: rand.Int64()},
	}
	if exp, ok := expiry(s.now(), ttl); ok {
		d = append(d, bson.E{Key: fieldExpiry, Value: exp})
	}
	return d
}

// maxTTL caps absurd TTLs (a century is "practically never").
const maxTTL = 100 * 365 * 24 * time.Hour

// expiry is the BSON date a record written at now with ttl expires at, rounded up
// to the millisecond (BSON's precision) so that it never expires early.
func expiry(now time.Time, ttl time.Duration) (bson.DateTime, bool) {
	if ttl <= 0 {
		return 0, false
	}
	ttl = min(ttl, maxTTL)
	at := now.Add(ttl)
	ms := at.UnixMilli()
	if at.After(time.UnixMilli(ms)) {
		ms++
	}
	return bson.DateTime(ms), true
}

// DocID is the _id of (ns, key): "<ns>:<key>", with '%' and bytes that are not
// valid UTF-8 (which BSON strings must be) escaped as %XX.
func DocID(ns storage.Namespace, key string) string {
	var b strings.Builder
	b.Grow(len(ns) + 1 + len(key))
	b.WriteString(string(ns))
	b.WriteByte(':')
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError && size <= 1 || r == '%' || r == 0 {
			fmt.Fprintf(&b, "%%%02X", key[i])
			i++
			continue
		}
		b.WriteString(key[i : i+size])
		i += size
	}
	return b.String()
}

// id validates a keyed call's arguments and the caller's context, and returns the
// document's _id. Keys never appear in errors: some are tokens or user identifiers.
func (s *Store) id(ctx context.Context, op string, ns storage.Namespace, key string, ttl time.Duration) (string, error) {
	if !ns.Valid() {
		return "", fmt.Errorf("mongo: %s: invalid namespace %q: want [a-z][a-z0-9_]*, at most %d characters", op, ns, storage.MaxNamespaceLen)
	}
	switch {
	case key == "":
		return "", fmt.Errorf("mongo: %s %s: invalid key: empty", op, ns)
	case len(key) > storage.MaxKeyLen:
		return "", fmt.Errorf("mongo: %s %s: invalid key: %d bytes, at most %d", op, ns, len(key), storage.MaxKeyLen)
	case ttl < 0:
		return "", fmt.Errorf("mongo: %s %s: invalid ttl %s: must not be negative", op, ns, ttl)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("mongo: %s %s: %w", op, ns, err)
	}
	return DocID(ns, key), nil
}

// fail adds context to a driver error. No document becomes storage.ErrNotFound;
// everything else the driver reports (network, timeouts, server selection, a
// server refusing the command) is marked storage.ErrUnavailable, with the caller's
// context error when it caused it.
func (s *Store) fail(ctx context.Context, op string, ns storage.Namespace, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return storage.ErrNotFound
	}
	where := op
	if ns != "" {
		where += " " + string(ns)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("mongo: %s: %w: %w (%w)", where, storage.ErrUnavailable, cerr, err)
	}
	return fmt.Errorf("mongo: %s: %w: %w", where, storage.ErrUnavailable, err)
}

// sweepLoop deletes expired documents until Close, for servers without a TTL index.
func (s *Store) sweepLoop(interval time.Duration, log *slog.Logger) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
			go func() { // stop the sweep early on Close
				select {
				case <-s.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			if _, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
				log.Warn("mongo: sweep of expired records failed; they stay invisible and are retried next time", "err", err.Error())
			}
			cancel()
		}
	}
}

// sweep deletes the documents whose expiry has passed and returns how many.
func (s *Store) sweep(ctx context.Context) (int64, error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: fieldExpiry, Value: bson.D{{Key: "$lte", Value: s.now()}}}})
	if err != nil {
		return 0, s.fail(ctx, "sweep", "", err)
	}
	return res.DeletedCount, nil
}
