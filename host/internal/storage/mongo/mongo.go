// Package mongo is the storage backend on MongoDB (DATA_STORE=mongo), through the
// official v2 driver. It also runs on MongoDB wire-compatible servers such as
// FerretDB, which the tests use.
//
// # Layout
//
// Every record and counter of every namespace is one document in one collection
// (MONGO_DB_NAME, collection "records"):
//
//	{_id: "<ns>:<key>", ns: "<ns>", v: BinData, w: <write id>, expires_at: Date}              a record
//	{_id: "<ns>:<key>", ns: "<ns>", e: "<epoch>", n: <int64>,
//	 w_<epoch>: {g: <int64>, b: <int64>, x: Date}, expires_at: Date}                          a counter
//	{_id: "<ns>#<epoch>~<g>:<key>", b: <int64>, x: Date, expires_at: Date}                     a counter's window start
//	{_id: "<ns>#<epoch>.<n>:<key>", expires_at: Date}                                          a claim (FerretDB only)
//
// expires_at is absent for records without a TTL. One collection rather than one
// per namespace because namespaces are open-ended (storage accepts any
// [a-z][a-z0-9_]*): a single TTL index created at start-up covers every namespace,
// present and future, with nothing to create on the request path, and an operator
// has one collection to size, back up and watch. The ns field lets an operator
// count or inspect one kind of record; the _id prefix gives the same with the
// _id index. Key bytes that are not valid UTF-8, and '%', are %XX-escaped in _id.
// A '#' before the first ':' marks a counter's helper documents: no record's _id
// has one there, since namespaces are [a-z0-9_].
//
// # Atomicity
//
// Every method is built from single-document operations and is correct however
// many SMS+ replicas share the collection. Every read and write on a request path
// names its document by the filter {_id: x} alone, on FerretDB: FerretDB v1
// pushes down (and, with an index on its query expression, serves by index) only
// a filter that is exactly {_id: x}, and reads and decodes the whole collection
// for any other, so one extra condition makes each call cost as much as the
// collection is large. Only on MongoDB (update mode, below) do Take and Create
// add a condition to an _id filter, which MongoDB's _id index serves:
//
//   - Create inserts. On a duplicate _id it reads the record by {_id}: a live
//     one is the answer (ErrExists). An expired one must be deleted and the
//     insert tried once more, by one creator only (a second would delete the
//     first one's new record): on MongoDB a deleteOne {_id, w} of the version
//     read elects it; on FerretDB an insert of the claim "<ns>#create-<w>:<key>"
//     (a unique _id) elects it, and the winner deletes by {_id}.
//   - Take reads the record by {_id}, then on MongoDB deletes it with
//     {_id, w}: only a deleteOne that reports a deletion hands the value out. On
//     FerretDB the takers of version w insert the claim "<ns>#take-<w>:<key>":
//     the one whose insert succeeds deletes by {_id} and has the value.
//     (findOneAndDelete would be one round trip on MongoDB, but FerretDB v1
//     returns the document to every concurrent caller; unique inserts and the
//     deleted count are exact on both.) A version's claims expire counterGrace
//     after they are made, long after any caller that read that version.
//   - Incr: see below.
//
// What the claims give up on FerretDB: between the read and the delete by
// {_id}, a Put of the same key would be deleted with the version that was read.
// SMS+ never Puts a key it Takes (tokens and challenges are created once), and
// Create over an expired record only races with other Creates, which the claim
// settles. A creator that wins the claim and dies before its insert leaves the
// expired record to the sweeper; Creates until then answer ErrExists.
//
// # Counters
//
// A counter is a fixed window: the first Incr starts it at 1 with the caller's ttl,
// later ones count on without moving its end, and the first Incr after the end
// starts the next window at 1. The counter document holds n, the number of
// increments since the document was created (never reset), and the current window
// (g, b, x): its generation, the n at which it began, and its end. The value an
// Incr hands out is n - b + 1.
//
// Incr is one findOneAndUpdate {_id: x} {$inc: {n: 1}}, which returns the document
// as it left it. A missing document is created by an insert at n = 1 (a duplicate
// _id means another caller created it first: the loser goes back to $inc). An
// expired window is followed by window g+1 starting at the caller's n: the caller
// inserts the window-start document "<ns>#<epoch>~<g+1>:<key>" = {b: n, x: end},
// whose unique _id elects exactly one starter; the others read it and count on in
// it. Both then record the window in the counter ($set of w_<epoch>) and go on
// only if the document they updated is still of their epoch.
//
// The epoch is a random id chosen when the counter document is created. It names
// this life of the counter: after Delete (a reset) or reclamation, a new document
// starts a new epoch, so nothing left from the old one (a window-start document, a
// claim, a late $set of w_<old epoch>) can be mistaken for the new one's.
//
// On MongoDB (and any server that applies a single-document update atomically)
// that is all: one round trip per Incr on a live counter, two for a new one, three
// when a window restarts; Count is one findOne.
//
// FerretDB v1 applies every update by reading the document and writing it back by
// _id without a lock (FerretDB#3040), so two concurrent $inc can both return the
// same n, and a late write can take n back. What it does enforce is the unique
// _id: of concurrent inserts of one _id, exactly one succeeds. So on FerretDB
// (detected at Open from buildInfo, or forced with Options.Counters) every n
// returned by $inc is claimed before it is used, by inserting the claim
// "<ns>#<epoch>.<n>:<key>": only the caller whose insert succeeds holds n; a caller
// whose claim is a duplicate goes back to $inc, which then returns a larger n. So
// every n, hence every value, is handed out at most once, and since every n that
// $inc returns is held by someone, the values of a window are 1, 2, 3, ... without
// gaps (a caller that fails between its $inc and its claim leaves one). A window
// starts at a freshly claimed n, so it never begins on an n that another window
// already holds. Count reads the counter, then looks for claims above its n (a late
// write may have taken n back) until one is missing. A process's own increments of
// one counter take turns (an in-process queue per counter), so only increments
// from different replicas can collide. Cost on FerretDB: two round trips per Incr
// on a live counter (the claim insert is the extra one), two for a new counter,
// four when a window restarts, plus one more $inc and claim for each collision
// with another replica; Count is two findOne.
//
// Claims and window starts expire with their window, plus a grace (counterGrace)
// that must outlast any call still using them; the counter document likewise
// carries expires_at = its window's end + counterGrace, so that it is not
// reclaimed while a call restarting its window is in flight. Reads compare the
// window's end x, not expires_at, with the clock.
//
// What FerretDB still cannot promise: its update is a read and a later write, and
// if a Delete and the counter's re-creation both complete between the two, the late
// write brings back the deleted counter. Counting then resumes from the deleted
// window's count, which may be lower than the count since the Delete, though no
// value of a window is ever handed out twice. Take and Create over an expired
// record share this read-then-write gap.
//
// # Expiry
//
// Reads compare expires_at (for counters, the window end x) with the clock, so an
// expired record is invisible at once. A TTL index (expireAfterSeconds: 0) on
// expires_at, created at start-up, lets the server delete expired documents (its
// monitor runs every 60 s). Where the server refuses the index (FerretDB:
// NotImplemented), the store starts anyway with a warning and runs a sweeper that
// deletes expired documents every minute, or less often when a sweep is slow
// (sweepSpacing).
package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
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

	defaultStartupTimeout = 10 * time.Second
	defaultSelectTimeout  = 10 * time.Second
	defaultCallTimeout    = 10 * time.Second
	defaultSweepInterval  = time.Minute
	sweepTimeout          = 30 * time.Second

	// sweepSpacing: after a sweep that took d, the next one waits at least
	// sweepSpacing*d (and the interval). Where the TTL index is missing (FerretDB
	// v1, or a MongoDB user without the right to create it) no index serves the
	// sweep's filter either: the server reads the whole collection, users
	// included, and users never expire, so a sweep's cost grows with the user
	// base. The wait keeps the sweeper under about 1/sweepSpacing of the
	// server's time however large the store grows, at the price of expired
	// records (invisible already) taking up space a little longer.
	sweepSpacing = 20

	fieldValue, fieldCount = "v", "n"
	fieldExpiry, fieldW    = "expires_at", "w"
	fieldEpoch             = "e"

	// maxIncrAttempts bounds Incr's retries. Each retry follows a lost race
	// (another caller created the counter, started the window or, on FerretDB,
	// claimed the same n), and every lost race is someone else's progress, so
	// only a very hot counter on FerretDB needs more than a few.
	maxIncrAttempts = 200
	// counterGrace is how long a counter's helper documents (and the counter
	// itself) outlive its window: longer than any call that may still use them
	// (calls are bounded by CallTimeout, 10 s, or the caller's shorter deadline)
	// plus any clock difference between replicas.
	counterGrace = 10 * time.Minute
)

// CounterMode says how Incr makes increments exact.
type CounterMode int

const (
	// CountersAuto claims increments on FerretDB and trusts the server elsewhere.
	CountersAuto CounterMode = iota
	// CountersUpdate trusts the server to apply $inc atomically (MongoDB).
	CountersUpdate
	// CountersClaim claims every increment with an insert (FerretDB v1).
	CountersClaim
)

func (m CounterMode) String() string {
	switch m {
	case CountersUpdate:
		return "update"
	case CountersClaim:
		return "claim"
	}
	return "auto"
}

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
	// Counters: CountersAuto (the default) claims increments where the server
	// is FerretDB, whose updates are not atomic; the others force a mode (tests).
	Counters CounterMode
	Now      func() time.Time // nil = time.Now
	Log      *slog.Logger     // nil = slog.Default()

	monitor *event.CommandMonitor // the tests' count of commands
}

// Store is a storage.Store on MongoDB.
type Store struct {
	client   *mongo.Client
	coll     *mongo.Collection
	now      func() time.Time
	ttlIndex bool // the server expires documents itself
	claim    bool // claim every increment (the server's updates are not atomic)
	queue    keyQueue

	stop      chan struct{} // nil without a sweeper
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Batcher = (*Store)(nil)
)

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
	if opts.monitor != nil {
		co.SetMonitor(opts.monitor)
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
	server := "MongoDB"
	switch opts.Counters {
	case CountersUpdate:
	case CountersClaim:
		s.claim = true
	default:
		ferret, err := s.ferretDB(sctx)
		if err != nil {
			// Claims are correct on every server, only slower: the safe guess.
			log.Warn("mongo: buildInfo failed, so counters claim every increment as on FerretDB", "err", err.Error())
			s.claim, server = true, "unknown"
		} else if ferret != "" {
			s.claim, server = true, "FerretDB "+ferret
		}
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
	counters := CountersUpdate
	if s.claim {
		counters = CountersClaim
	}
	log.Info("mongo store ready", "server", where, "server_kind", server, "database", dbName, "collection", Collection,
		"ttl_index", s.ttlIndex, "counters", counters.String())
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
	log.Warn("mongo: the server refused the TTL index on expires_at; expired records stay invisible, and a sweeper deletes them every minute (less often when a sweep is slow)",
		"collection", Collection, "err", err.Error())
	return nil
}

// ferretDB returns FerretDB's version if the server is FerretDB, else "".
func (s *Store) ferretDB(ctx context.Context) (string, error) {
	raw, err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		return "", err
	}
	v, err := raw.LookupErr("ferretdbVersion")
	if err != nil {
		return "", nil
	}
	if str, ok := v.StringValueOK(); ok && str != "" {
		return str, nil
	}
	return "unknown version", nil
}

// Claims reports whether Incr claims every increment (CountersClaim in effect).
func (s *Store) Claims() bool { return s.claim }

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
	_, err = s.create(ctx, id, ns, value, ttl)
	return err
}

// create inserts the record unless a live one is there, whose value it then
// returns with storage.ErrExists (nil when another caller is replacing an
// expired record and its value is not known yet).
//
// An insert decides among concurrent creators of a free _id. A duplicate _id is
// read by {_id}: a live record is the answer; an expired one must be deleted
// and the insert tried once more, and only one creator may do that, or a second
// one would delete the first one's new record. On MongoDB a deleteOne of exactly
// the version read ({_id, w}: the _id index serves it) elects it. FerretDB v1
// uses an index only for the filter {_id} alone and would read the whole
// collection for that one, so there the creators elect one by inserting a claim
// on the version ("<ns>#create-<w>:<key>", unique _id) and the winner deletes by
// {_id}.
func (s *Store) create(ctx context.Context, id string, ns storage.Namespace, value []byte, ttl time.Duration) ([]byte, error) {
	_, err := s.coll.InsertOne(ctx, s.record(id, ns, value, ttl))
	if !mongo.IsDuplicateKeyError(err) {
		return nil, s.fail(ctx, "create", ns, err)
	}
	return s.createOver(ctx, id, ns, value, ttl)
}

// createOver is create after its insert found a document with the _id.
func (s *Store) createOver(ctx context.Context, id string, ns storage.Namespace, value []byte, ttl time.Duration) ([]byte, error) {
	d, err := s.find(ctx, id)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		// Deleted since the insert: one more insert decides.
	case err != nil:
		return nil, s.fail(ctx, "create", ns, err)
	case d.live(s.now()):
		if !d.isRecord {
			return []byte{}, storage.ErrExists
		}
		return d.value, storage.ErrExists
	case s.claim:
		won, err := s.insertHelper(ctx, versionClaimID("create", id, ns, d.w), bson.D{}, bson.NewDateTimeFromTime(s.now()))
		if err != nil {
			return nil, s.fail(ctx, "create", ns, err)
		}
		if !won {
			return nil, storage.ErrExists // another creator replaces it
		}
		if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return nil, s.fail(ctx, "create", ns, err)
		}
	default:
		if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: fieldW, Value: d.w}}); err != nil {
			return nil, s.fail(ctx, "create", ns, err)
		}
	}
	_, err = s.coll.InsertOne(ctx, s.record(id, ns, value, ttl))
	if mongo.IsDuplicateKeyError(err) {
		return nil, storage.ErrExists
	}
	return nil, s.fail(ctx, "create", ns, err)
}

// versionClaimID is the _id of the claim by which one caller of op (take,
// create) gets to delete version w of the record id (= DocID(ns, key)):
// "<ns>#<op>-<w>:<key>". The '-' keeps it apart from a counter's helpers, whose
// epochs are [0-9a-z] and followed by '.' or '~'.
func versionClaimID(op, id string, ns storage.Namespace, w int64) string {
	return string(ns) + "#" + op + "-" + strconv.FormatInt(w, 10) + id[len(ns):]
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
// removes exactly the version read (MongoDB) or the claim on that version
// (FerretDB) decides the single winner; see the package documentation.
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
	if s.claim {
		// FerretDB v1: only one taker wins the claim on this version; see take.
		won, err := s.insertHelper(ctx, versionClaimID("take", id, ns, d.w), bson.D{}, bson.NewDateTimeFromTime(s.now()))
		if err != nil {
			return nil, s.fail(ctx, "take", ns, err)
		}
		if !won {
			return nil, storage.ErrNotFound // another caller took it first
		}
		if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return nil, s.fail(ctx, "take", ns, err)
		}
		return d.value, nil
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
// 1 and expires after ttl; later increments keep that expiry (a fixed window). See
// the package documentation for how, and what it costs.
func (s *Store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	id, err := s.id(ctx, "incr", ns, key, ttl)
	if err != nil {
		return 0, err
	}
	// No projection: counters are small, and FerretDB refuses one in findAndModify.
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	inc := bson.D{{Key: "$inc", Value: bson.D{{Key: fieldCount, Value: int64(1)}}}}
	if s.claim {
		// This process's own increments of one counter take turns: they would
		// only collide on the same n and retry (64 at once on one counter did not
		// finish within seconds). Other replicas' increments still race with
		// these, and the claims settle those races.
		leave, err := s.queue.enter(ctx, id)
		if err != nil {
			return 0, s.fail(ctx, "incr", ns, err)
		}
		defer leave()
	}
	for attempt := range maxIncrAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return 0, s.fail(ctx, "incr", ns, err)
		}
		now := s.now()
		raw, err := s.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, inc, after).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			// No counter: create it at 1 in a new epoch. A duplicate means another
			// caller created it first; back to $inc.
			_, err := s.coll.InsertOne(ctx, newCounter(id, ns, now, ttl))
			if mongo.IsDuplicateKeyError(err) {
				continue
			}
			if err != nil {
				return 0, s.fail(ctx, "incr", ns, err)
			}
			return 1, nil
		}
		if err != nil {
			return 0, s.fail(ctx, "incr", ns, err)
		}
		c, err := decodeCounter(raw)
		if err != nil {
			return 0, fmt.Errorf("mongo: incr %s: %w", ns, err)
		}
		if s.claim {
			// Hold n before using it: on a server whose updates are not atomic,
			// another caller may have been handed the same n.
			end := c.win.x
			if !c.win.live(now) {
				end, _ = expiry(now, ttl) // the window this increment starts or joins
			}
			ok, err := s.insertHelper(ctx, claimID(id, ns, c.epoch, c.n), bson.D{}, end)
			if err != nil {
				return 0, s.fail(ctx, "incr", ns, err)
			}
			if !ok {
				continue
			}
		}
		win := c.win
		if !win.live(now) {
			var ok bool
			if win, ok, err = s.nextWindow(ctx, id, ns, c, now, ttl); err != nil {
				return 0, s.fail(ctx, "incr", ns, err)
			} else if !ok {
				continue
			}
		}
		if c.n < win.b {
			continue // n was taken back below the window's start (FerretDB's late writes)
		}
		return c.n - win.b + 1, nil
	}
	return 0, fmt.Errorf("mongo: incr %s: %w: counter still contended after %d attempts", ns, storage.ErrUnavailable, maxIncrAttempts)
}

// nextWindow starts (or joins) the window that follows c's expired one and records
// it in the counter document. It reports false when the caller must start over:
// the counter document is gone or belongs to a newer epoch (a Delete), or the
// window it found has itself ended already (the caller was slow).
func (s *Store) nextWindow(ctx context.Context, id string, ns storage.Namespace, c counter, now time.Time, ttl time.Duration) (window, bool, error) {
	win := window{g: c.win.g + 1, b: c.n}
	win.x, _ = expiry(now, ttl)
	wid := windowID(id, ns, c.epoch, win.g)
	started, err := s.insertHelper(ctx, wid, win.fields(), win.x)
	if err != nil {
		return window{}, false, err
	}
	if !started {
		// Another caller started it: count on in its window.
		raw, err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: wid}}).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return window{}, false, nil
		}
		if err != nil {
			return window{}, false, err
		}
		if win, err = decodeWindow(raw, win.g); err != nil {
			return window{}, false, err
		}
	}
	// Record the window in the counter, under this epoch's field name, so that a
	// late write from an old epoch cannot touch a newer one's window. A starter
	// and the callers that joined write the same thing.
	set := bson.D{{Key: windowField(c.epoch), Value: win.fields()}}
	if exp, ok := reclaimAt(win.x); ok {
		set = append(set, bson.E{Key: fieldExpiry, Value: exp})
	}
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	raw, err := s.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}}, after).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return window{}, false, nil
	}
	if err != nil {
		return window{}, false, err
	}
	if cur, err := decodeCounter(raw); err != nil || cur.epoch != c.epoch {
		return window{}, false, err
	}
	return win, win.live(s.now()), nil
}

// insertHelper inserts one of a counter's helper documents (a claim or a window
// start), reclaimed counterGrace after end. It reports false if the _id exists.
func (s *Store) insertHelper(ctx context.Context, id string, fields bson.D, end bson.DateTime) (bool, error) {
	d := append(bson.D{{Key: "_id", Value: id}}, fields...)
	if exp, ok := reclaimAt(end); ok {
		d = append(d, bson.E{Key: fieldExpiry, Value: exp})
	}
	_, err := s.coll.InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	return err == nil, err
}

// keyQueue lets one caller at a time through per key.
type keyQueue struct {
	mu    sync.Mutex
	turns map[string]*turn
}

type turn struct {
	ch      chan struct{} // holds a token while someone is in
	waiting int           // callers in or waiting; the entry goes at 0
}

// enter waits for key's turn (or ctx) and returns the function that ends it.
func (q *keyQueue) enter(ctx context.Context, key string) (func(), error) {
	q.mu.Lock()
	if q.turns == nil {
		q.turns = map[string]*turn{}
	}
	t := q.turns[key]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		q.turns[key] = t
	}
	t.waiting++
	q.mu.Unlock()
	release := func() {
		q.mu.Lock()
		if t.waiting--; t.waiting == 0 {
			delete(q.turns, key)
		}
		q.mu.Unlock()
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// backoff waits before attempt (0: not at all) a random time that grows with the
// attempt, so that callers who collided do not collide again in lockstep.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Count returns the counter's live value, or 0 when it is absent or expired.
func (s *Store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	id, err := s.id(ctx, "count", ns, key, 0)
	if err != nil {
		return 0, err
	}
	raw, err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "count", ns, err)
	}
	c, err := decodeCounter(raw)
	if err != nil {
		return 0, fmt.Errorf("mongo: count %s: %w", ns, err)
	}
	if !c.win.live(s.now()) {
		return 0, nil
	}
	n := max(c.n, c.win.b-1)
	if s.claim {
		// A late write may have taken n back below increments already claimed.
		for {
			err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: claimID(id, ns, c.epoch, n+1)}}).Err()
			if errors.Is(err, mongo.ErrNoDocuments) {
				break
			}
			if err != nil {
				return 0, s.fail(ctx, "count", ns, err)
			}
			n++
		}
	}
	return n - c.win.b + 1, nil
}

// counter is a counter document, decoded.
type counter struct {
	epoch string
	n     int64
	win   window
}

// window is a counter's fixed window: generation g, starting at n = b, ending at
// x (0: never).
type window struct {
	g, b int64
	x    bson.DateTime
}

func (w window) live(now time.Time) bool { return w.x == 0 || now.Before(w.x.Time()) }

func (w window) fields() bson.D {
	d := bson.D{{Key: "g", Value: w.g}, {Key: "b", Value: w.b}}
	if w.x != 0 {
		d = append(d, bson.E{Key: "x", Value: w.x})
	}
	return d
}

// newCounter is the document of a counter created by an Incr at now: n = 1, in a
// new epoch, in window 0.
func newCounter(id string, ns storage.Namespace, now time.Time, ttl time.Duration) bson.D {
	epoch := strconv.FormatUint(rand.Uint64(), 36)
	win := window{g: 0, b: 1}
	win.x, _ = expiry(now, ttl)
	d := bson.D{
		{Key: "_id", Value: id},
		{Key: "ns", Value: string(ns)},
		{Key: fieldEpoch, Value: epoch},
		{Key: fieldCount, Value: int64(1)},
		{Key: windowField(epoch), Value: win.fields()},
	}
	if exp, ok := reclaimAt(win.x); ok {
		d = append(d, bson.E{Key: fieldExpiry, Value: exp})
	}
	return d
}

// decodeCounter reads a counter document. One written before epochs existed
// ({n, expires_at}) reads as epoch "" in window 0, from n = 1, ending at expires_at.
func decodeCounter(raw bson.Raw) (counter, error) {
	var c counter
	if _, err := raw.LookupErr(fieldValue); err == nil {
		return c, errors.New("stored document is a record, not a counter")
	}
	v, err := raw.LookupErr(fieldCount)
	if err != nil {
		return c, errors.New("stored document has no count")
	}
	n, ok := v.AsInt64OK()
	if !ok {
		return c, fmt.Errorf("field %s is %s, not a number", fieldCount, v.Type)
	}
	c.n = n
	if v, err := raw.LookupErr(fieldEpoch); err == nil {
		if c.epoch, ok = v.StringValueOK(); !ok {
			return c, fmt.Errorf("field %s is %s, not a string", fieldEpoch, v.Type)
		}
	}
	if v, err := raw.LookupErr(windowField(c.epoch)); err == nil {
		doc, ok := v.DocumentOK()
		if !ok {
			return c, fmt.Errorf("field %s is %s, not a document", windowField(c.epoch), v.Type)
		}
		c.win, err = decodeWindow(doc, -1)
		return c, err
	}
	c.win.b = 1
	if v, err := raw.LookupErr(fieldExpiry); err == nil {
		ms, ok := v.DateTimeOK()
		if !ok {
			return c, fmt.Errorf("field %s is %s, not a date", fieldExpiry, v.Type)
		}
		c.win.x = bson.DateTime(ms)
	}
	return c, nil
}

// decodeWindow reads {g, b, x}; g defaults to defaultG where absent (a
// window-start document's generation is in its _id).
func decodeWindow(raw bson.Raw, defaultG int64) (window, error) {
	w := window{g: defaultG}
	if v, err := raw.LookupErr("g"); err == nil {
		g, ok := v.AsInt64OK()
		if !ok {
			return w, fmt.Errorf("window generation is %s, not a number", v.Type)
		}
		w.g = g
	}
	v, err := raw.LookupErr("b")
	if err != nil {
		return w, errors.New("window has no start")
	}
	b, ok := v.AsInt64OK()
	if !ok {
		return w, fmt.Errorf("window start is %s, not a number", v.Type)
	}
	w.b = b
	if v, err := raw.LookupErr("x"); err == nil {
		ms, ok := v.DateTimeOK()
		if !ok {
			return w, fmt.Errorf("window end is %s, not a date", v.Type)
		}
		w.x = bson.DateTime(ms)
	}
	return w, nil
}

// windowField names the counter field that holds the window of one epoch.
func windowField(epoch string) string { return "w_" + epoch }

// claimID is the _id of the claim on increment n of the counter id (= DocID(ns,
// key)) in epoch: "<ns>#<epoch>.<n>:<key>". The '#' keeps it apart from every
// record's _id, whose part before the first ':' is a namespace.
func claimID(id string, ns storage.Namespace, epoch string, n int64) string {
	return string(ns) + "#" + epoch + "." + strconv.FormatInt(n, 10) + id[len(ns):]
}

// windowID is the _id of the document that starts window g of the counter id in
// epoch: "<ns>#<epoch>~<g>:<key>". Epochs are [0-9a-z], so '.' and '~' keep claims
// and window starts apart.
func windowID(id string, ns storage.Namespace, epoch string, g int64) string {
	return string(ns) + "#" + epoch + "~" + strconv.FormatInt(g, 10) + id[len(ns):]
}

// reclaimAt is when a counter, or a helper document of a window ending at end, may
// be deleted: counterGrace after end (never when end is 0).
func reclaimAt(end bson.DateTime) (bson.DateTime, bool) {
	if end == 0 {
		return 0, false
	}
	return bson.NewDateTimeFromTime(end.Time().Add(counterGrace)), true
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

// sweepLoop deletes expired documents until Close, for servers without a TTL
// index: every interval, or sweepSpacing times the last sweep's duration when
// that is longer (sweepWait).
func (s *Store) sweepLoop(interval time.Duration, log *slog.Logger) {
	defer close(s.done)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
			ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
			go func() { // stop the sweep early on Close
				select {
				case <-s.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			start := time.Now()
			if _, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
				log.Warn("mongo: sweep of expired records failed; they stay invisible and are retried next time", "err", err.Error())
			}
			took := time.Since(start)
			cancel()
			timer.Reset(sweepWait(interval, took))
		}
	}
}

// sweepWait is how long the sweeper waits after a sweep that took took.
func sweepWait(interval, took time.Duration) time.Duration {
	return max(interval, sweepSpacing*took)
}

// sweep deletes the documents whose expiry has passed and returns how many.
func (s *Store) sweep(ctx context.Context) (int64, error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: fieldExpiry, Value: bson.D{{Key: "$lte", Value: s.now()}}}})
	if err != nil {
		return 0, s.fail(ctx, "sweep", "", err)
	}
	return res.DeletedCount, nil
}

// createOrRead is a batch's OpCreate. A record without expiry (a user) is
// created once and then read on every hook, so it is read first: one command
// when it exists, where an insert would take two (the insert, then the read of
// what it collided with). Records with a TTL are usually new: insert first.
func (s *Store) createOrRead(ctx context.Context, id string, o storage.Op) ([]byte, error) {
	if o.TTL == 0 {
		d, err := s.find(ctx, id)
		switch {
		case err == nil && d.isRecord && d.live(s.now()):
			return d.value, storage.ErrExists
		case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
			return nil, s.fail(ctx, "create", o.NS, err)
		}
	}
	return s.create(ctx, id, o.NS, o.Value, o.TTL)
}

// Batch runs ops one after the other, each with its own atomic commands:
// MongoDB offers no multi-document atomicity without transactions, which
// FerretDB v1 lacks. It saves the caller's round trips where a step needs
// fewer here than as separate calls: consecutive OpCreates go as one ordered
// insert (insertCreates), and an OpCreate that finds a record returns it
// without another read.
func (s *Store) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if err := storage.CheckOps(ops); err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mongo: batch: %w", err)
	}
	res := make([]storage.Result, len(ops))
	for i := 0; i < len(ops); {
		if storage.Skipped(ops, res, i) {
			i++
			continue
		}
		found := false // ops[i]'s insert, one of a run's, found a document
		if run := createRun(ops[i:]); run > 1 {
			n, err := s.insertCreates(ctx, ops[i:i+run])
			if err != nil {
				return nil, fmt.Errorf("mongo: batch ops %d to %d: %w", i, i+run-1, err)
			}
			for k := range n {
				res[i+k] = storage.Result{Ran: true}
			}
			if i += n; n == run {
				continue
			}
			found = true
		}
		r, err := s.batchOp(ctx, ops[i], found)
		if err != nil {
			return nil, fmt.Errorf("mongo: batch op %d: %w", i, err)
		}
		res[i] = r
		if ops[i].Stop && ops[i].Refused(r) {
			break
		}
		i++
	}
	return res, nil
}

// batchOp runs one op of a batch; found: it is an OpCreate whose insert has
// already found a document with its _id.
func (s *Store) batchOp(ctx context.Context, o storage.Op, found bool) (storage.Result, error) {
	r := storage.Result{Ran: true}
	var err error
	switch {
	case o.Kind == storage.OpGet:
		r.Value, err = s.Get(ctx, o.NS, o.Key)
	case o.Kind == storage.OpCreate && found:
		r.Value, err = s.createOver(ctx, DocID(o.NS, o.Key), o.NS, o.Value, o.TTL)
	case o.Kind == storage.OpCreate:
		r.Value, err = s.createOrRead(ctx, DocID(o.NS, o.Key), o)
	case o.Kind == storage.OpIncr:
		r.N, err = s.Incr(ctx, o.NS, o.Key, o.TTL)
	}
	switch {
	case errors.Is(err, storage.ErrNotFound) && o.Kind == storage.OpGet,
		errors.Is(err, storage.ErrExists) && o.Kind == storage.OpCreate:
		r.Err = err
	case err != nil:
		return storage.Result{}, err
	}
	return r, nil
}

// createRun is how many OpCreates ops starts with that can go in one insert:
// an IfExisted create depends on the result of the one before it.
func createRun(ops []storage.Op) int {
	n := 0
	for n < len(ops) && ops[n].Kind == storage.OpCreate && (n == 0 || !ops[n].IfExisted) {
		n++
	}
	return n
}

// insertCreates inserts the records of consecutive OpCreates with one ordered
// insert, which the server stops at the first _id that is taken. It returns how
// many it inserted: the first ones. The op after them, if any, found a
// document, which createOver settles (a live record, or an expired one to
// replace) as it does for a single create. Stopping there keeps the batch's
// rules: nothing after a refused Stop create is written. A hook with the caps
// off (a delivery claim, a challenge and a new user) takes one command instead
// of three.
func (s *Store) insertCreates(ctx context.Context, ops []storage.Op) (int, error) {
	docs := make([]any, len(ops))
	for k, o := range ops {
		docs[k] = s.record(DocID(o.NS, o.Key), o.NS, o.Value, o.TTL)
	}
	_, err := s.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if err == nil {
		return len(ops), nil
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) == 1 {
		if we := bwe.WriteErrors[0].WriteError; mongo.IsDuplicateKeyError(we) && we.Index >= 0 && we.Index < len(ops) {
			return we.Index, nil
		}
	}
	return 0, s.fail(ctx, "create", ops[0].NS, err)
}
