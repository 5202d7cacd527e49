// Package firestore is the storage backend on Cloud Firestore (DATA_STORE=firestore),
// through cloud.google.com/go/firestore, in native mode or against the emulator.
//
// # Layout
//
// Every record and counter is one document in one root collection ("smsplus"):
//
//	smsplus/<namespace>:<key>   {ns: "<namespace>", v: bytes, expires_at: timestamp}                   a record
//	smsplus/<namespace>:<key>   {ns: "<namespace>", n: int64, expires_at: timestamp, expires_us: int64} a counter
//
// expires_at is absent for records without a TTL. One collection group makes one
// TTL policy (collection group "smsplus", field expires_at) cover every namespace,
// present and future. Document ids must not contain '/', be "." or "..", or match
// __.*__; the "<namespace>:" prefix rules out the last three, and the key's '/',
// '%', '~', control characters and bytes that are not valid UTF-8 are %XX-escaped
// (so distinct keys keep distinct ids, and ordinary keys stay readable in the
// console). A key whose escaped id would pass Firestore's 1,500-byte limit is
// stored under "<namespace>:~" + the unpadded base64url SHA-256 of the key.
//
// # Atomicity and expiry
//
// Every method is atomic across all SMS+ replicas sharing the database:
//
//   - Incr is one write with server-side transforms (n += 1, and the window's end
//     read back), see Incr; a restart of an expired window is a write with an
//     update-time precondition.
//   - Take and Create need no transaction either: Take reads the record and deletes it
//     with a precondition on the update time it read, so exactly one concurrent
//     delete succeeds; Create is a create (which fails if the document exists),
//     and over an expired record a precondition delete and a second create. This
//     takes no locks, costs two round trips instead of a transaction's three, and
//     stays fast under contention, where the emulator's transaction locks wait
//     seconds before aborting (Google documents up to 30 s).
//
// Reads compare expires_at with the clock, so an expired record is invisible at
// once; a Firestore TTL policy on expires_at deletes expired documents later
// (typically within 24 hours). Without one they stay, invisible.
package firestore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	gfs "cloud.google.com/go/firestore"
	vkit "cloud.google.com/go/firestore/apiv1"
	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/smsplus/smsplus/host/internal/storage"
)

const (
	// DefaultCollection is the root collection (and collection group) of every record.
	DefaultCollection = "smsplus"
	// ExpiryField is the timestamp field to name in a Firestore TTL policy.
	ExpiryField = "expires_at"

	defaultStartupTimeout = 10 * time.Second
	defaultCallTimeout    = 10 * time.Second
	maxIDBytes            = 1500
	// maxTTL caps absurd TTLs (a century is "practically never").
	maxTTL = 100 * 365 * 24 * time.Hour

	fieldNS, fieldValue, fieldCount = "ns", "v", "n"
	// fieldWindow is a counter's expires_at in µs since the epoch (0 = never), as
	// a number, so that the increment's max(…, 0) transform can return it.
	fieldWindow     = "expires_us"
	maxIncrAttempts = 64
)

// Options says which Firestore database to use.
type Options struct {
	ProjectID  string
	DatabaseID string // "" = "(default)"

	// CredentialsJSON is a service-account (or other) key file's content; nil with
	// an empty EmulatorHost means Application Default Credentials.
	CredentialsJSON []byte
	// EmulatorHost (host:port) talks to the Firestore emulator, without credentials.
	EmulatorHost string

	Collection     string        // "" = DefaultCollection
	StartupTimeout time.Duration // bounds Open's ping; 0 = 10s
	// CallTimeout bounds a call whose context has no deadline; 0 = 10s.
	CallTimeout time.Duration
	Now         func() time.Time // nil = time.Now
	Log         *slog.Logger     // nil = slog.Default()
}

// Store is a storage.Store on Firestore.
type Store struct {
	client      *gfs.Client
	raw         *vkit.Client     // for commits whose transform results Incr reads
	dbPath      string           // projects/<p>/databases/<d>
	conn        *grpc.ClientConn // the emulator connection, nil otherwise
	coll        *gfs.CollectionRef
	now         func() time.Time
	callTimeout time.Duration
}

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Batcher = (*Store)(nil)
)

// Open creates the client and pings the database within StartupTimeout.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.ProjectID == "" {
		return nil, errors.New("firestore: open: no project id")
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	db := opts.DatabaseID
	if db == "" {
		db = gfs.DefaultDatabaseID
	}
	collection := opts.Collection
	if collection == "" {
		collection = DefaultCollection
	}
	startup := opts.StartupTimeout
	if startup <= 0 {
		startup = defaultStartupTimeout
	}
	call := opts.CallTimeout
	if call <= 0 {
		call = defaultCallTimeout
	}
	where := fmt.Sprintf("project %s database %s", opts.ProjectID, db)

	var (
		copts []option.ClientOption
		conn  *grpc.ClientConn
	)
	switch {
	case opts.EmulatorHost != "":
		// What the library does when FIRESTORE_EMULATOR_HOST is in the process
		// environment, done here so that the setting may also come from a .env file.
		var err error
		conn, err = grpc.NewClient(opts.EmulatorHost,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(emulatorOwner{}))
		if err != nil {
			return nil, fmt.Errorf("firestore: open emulator %s: %w", opts.EmulatorHost, err)
		}
		copts = append(copts, option.WithGRPCConn(conn))
		where += " on the emulator at " + opts.EmulatorHost
	case opts.CredentialsJSON != nil:
		typ, err := credentialsType(opts.CredentialsJSON)
		if err != nil {
			return nil, fmt.Errorf("firestore: open %s: FIREBASE_CREDENTIAL: %w", where, err)
		}
		copts = append(copts, option.WithAuthCredentialsJSON(typ, opts.CredentialsJSON))
	}

	client, err := gfs.NewClientWithDatabase(ctx, opts.ProjectID, db, copts...)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("firestore: open %s: %w: %w", where, storage.ErrUnavailable, err)
	}
	raw, err := vkit.NewClient(ctx, copts...)
	if err != nil {
		client.Close()
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("firestore: open %s: %w: %w", where, storage.ErrUnavailable, err)
	}
	s := &Store{
		client: client, raw: raw, conn: conn, coll: client.Collection(collection), now: now, callTimeout: call,
		dbPath: "projects/" + opts.ProjectID + "/databases/" + db,
	}
	pctx, cancel := context.WithTimeout(ctx, startup)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("firestore: open %s: %w", where, err)
	}
	log.Info("firestore store ready", "project", opts.ProjectID, "database", db, "collection", collection,
		"emulator", opts.EmulatorHost != "")
	return s, nil
}

// emulatorOwner is the credential the emulator accepts as an administrator.
type emulatorOwner struct{}

func (emulatorOwner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (emulatorOwner) RequireTransportSecurity() bool { return false }

// Close closes the client (and the emulator connection).
func (s *Store) Close() error {
	err := errors.Join(s.client.Close(), s.raw.Close())
	if s.conn != nil {
		if cerr := s.conn.Close(); cerr != nil && status.Code(cerr) != codes.Canceled {
			err = errors.Join(err, cerr)
		}
	}
	if err != nil && status.Code(err) != codes.Canceled && !strings.Contains(err.Error(), "closing") {
		return fmt.Errorf("firestore: close: %w", err)
	}
	return nil
}

// Ping reads a document that never exists: "not found" means the database answers
// and the credentials may read it.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("firestore: ping: %w", err)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.coll.Doc("~ping").Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil
	}
	return s.fail(ctx, "ping", "", err)
}

// Put stores value under key, replacing the whole document and its expiry.
func (s *Store) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	doc, err := s.doc(ctx, "put", ns, key, ttl)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = doc.Set(ctx, s.record(ns, value, ttl))
	return s.fail(ctx, "put", ns, err)
}

// Create stores value only if no live record exists under key.
func (s *Store) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	doc, err := s.doc(ctx, "create", ns, key, ttl)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = doc.Create(ctx, s.record(ns, value, ttl))
	if status.Code(err) != codes.AlreadyExists {
		return s.fail(ctx, "create", ns, err)
	}
	// A document is there. Delete it only if it has expired and is still the
	// version read, then create once more: among concurrent creators exactly one
	// create succeeds.
	snap, err := doc.Get(ctx)
	switch {
	case status.Code(err) == codes.NotFound:
	case err != nil:
		return s.fail(ctx, "create", ns, err)
	case decode(snap).live(s.now()):
		return storage.ErrExists
	default:
		_, err := doc.Delete(ctx, gfs.LastUpdateTime(snap.UpdateTime))
		if err != nil && !preconditionFailed(err) {
			return s.fail(ctx, "create", ns, err)
		}
	}
	_, err = doc.Create(ctx, s.record(ns, value, ttl))
	if status.Code(err) == codes.AlreadyExists {
		return storage.ErrExists
	}
	return s.fail(ctx, "create", ns, err)
}

// Get returns the live value under key, or storage.ErrNotFound.
func (s *Store) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	doc, err := s.doc(ctx, "get", ns, key, 0)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	snap, err := doc.Get(ctx)
	if err != nil {
		return nil, s.fail(ctx, "get", ns, err)
	}
	d := decode(snap)
	if !d.live(s.now()) {
		return nil, storage.ErrNotFound
	}
	if !d.isRecord {
		return nil, fmt.Errorf("firestore: get %s: stored document is not a record", ns)
	}
	return d.value, nil
}

// Take returns the live value under key and deletes it. The delete carries the
// read version's update time as a precondition, so among concurrent callers
// exactly one delete succeeds and hands the value out.
func (s *Store) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	doc, err := s.doc(ctx, "take", ns, key, 0)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		snap, err := doc.Get(ctx)
		if err != nil {
			return nil, s.fail(ctx, "take", ns, err)
		}
		d := decode(snap)
		if !d.live(s.now()) {
			return nil, storage.ErrNotFound
		}
		if !d.isRecord {
			return nil, fmt.Errorf("firestore: take %s: stored document is not a record", ns)
		}
		_, err = doc.Delete(ctx, gfs.LastUpdateTime(snap.UpdateTime))
		switch c := status.Code(err); {
		case err == nil:
			return d.value, nil
		case c == codes.FailedPrecondition || c == codes.NotFound:
			return nil, storage.ErrNotFound // another caller took (or replaced) it first
		case c == codes.Aborted && attempt < 5:
			continue // contention without a verdict: read again
		default:
			return nil, s.fail(ctx, "take", ns, err)
		}
	}
}

// preconditionFailed reports whether a write lost its precondition: the document
// changed or vanished since it was read.
func preconditionFailed(err error) bool {
	c := status.Code(err)
	return c == codes.FailedPrecondition || c == codes.NotFound
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	doc, err := s.doc(ctx, "delete", ns, key, 0)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = doc.Delete(ctx)
	return s.fail(ctx, "delete", ns, err)
}

// Incr adds one to the counter under key. A missing or expired counter restarts at
// 1 and expires after ttl; later increments keep that expiry (a fixed window).
//
// The increment is one write with two server-side transforms, applied atomically
// by Firestore: n += 1 and expires_us = max(expires_us, 0), whose results are the
// new count and the window's end (expires_us) as of that write. No transaction, no read first:
// concurrent increments of a hot counter never wait on locks. When the write
// landed in an expired window (or found no counter), the caller stops
// incrementing and restarts the counter with a write that only succeeds if nothing
// wrote since its read (an update-time precondition, or a create); when another
// caller restarted it first, it counts in that new window. So no increment is
// lost and each caller gets a distinct count.
func (s *Store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	doc, err := s.doc(ctx, "incr", ns, key, ttl)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	increment := &pb.CommitRequest{Database: s.dbPath, Writes: []*pb.Write{{
		Operation:  &pb.Write_Update{Update: &pb.Document{Name: doc.Path}},
		UpdateMask: &pb.DocumentMask{}, // no plain field changes: only the transforms
		UpdateTransforms: []*pb.DocumentTransform_FieldTransform{
			{FieldPath: fieldCount, TransformType: &pb.DocumentTransform_FieldTransform_Increment{Increment: intValue(1)}},
			{FieldPath: fieldWindow, TransformType: &pb.DocumentTransform_FieldTransform_Maximum{Maximum: intValue(0)}},
		},
		CurrentDocument: &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: true}},
	}}}
	// Once a caller has seen the window ended it stops incrementing and only tries
	// to restart it, so that the restart's precondition can eventually hold.
	restarting := false
	for range maxIncrAttempts {
		if !restarting {
			resp, err := s.raw.Commit(ctx, increment)
			switch c := status.Code(err); {
			case err == nil:
				wr := resp.GetWriteResults()
				if len(wr) != 1 || len(wr[0].GetTransformResults()) != 2 {
					return 0, fmt.Errorf("firestore: incr %s: %w: unexpected commit response", ns, storage.ErrUnavailable)
				}
				n := wr[0].GetTransformResults()[0].GetIntegerValue()
				window := wr[0].GetTransformResults()[1].GetIntegerValue()
				if window == 0 || s.now().UnixMicro() < window {
					return n, nil
				}
				restarting = true // the window had ended: this count does not stand
			case c == codes.NotFound || c == codes.FailedPrecondition:
				restarting = true // no counter yet
			case c == codes.Aborted:
				continue
			default:
				return 0, s.fail(ctx, "incr", ns, err)
			}
		}

		// Restart: create the counter, or replace the ended window if it is still
		// the version read.
		snap, err := doc.Get(ctx)
		exists := err == nil
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return 0, s.fail(ctx, "incr", ns, err)
		case decode(snap).live(s.now()):
			restarting = false // someone else restarted it: count in the new window
			continue
		}
		exp, timed := expiry(s.now(), ttl)
		if !exists {
			fields := map[string]any{fieldNS: string(ns), fieldCount: int64(1), fieldWindow: int64(0)}
			if timed {
				fields[ExpiryField], fields[fieldWindow] = exp, exp.UnixMicro()
			}
			_, err = doc.Create(ctx, fields)
		} else {
			updates := []gfs.Update{
				{Path: fieldNS, Value: string(ns)},
				{Path: fieldCount, Value: int64(1)},
				{Path: fieldWindow, Value: int64(0)},
				{Path: ExpiryField, Value: gfs.Delete},
				{Path: fieldValue, Value: gfs.Delete},
			}
			if timed {
				updates[2].Value, updates[3].Value = exp.UnixMicro(), exp
			}
			_, err = doc.Update(ctx, updates, gfs.LastUpdateTime(snap.UpdateTime))
		}
		switch c := status.Code(err); {
		case err == nil:
			return 1, nil
		case c == codes.AlreadyExists || c == codes.FailedPrecondition || c == codes.NotFound || c == codes.Aborted:
			// Another caller wrote first; read again after a short, random pause.
			if err := sleep(ctx, time.Duration(1+rand.IntN(4))*time.Millisecond); err != nil {
				return 0, s.fail(ctx, "incr", ns, err)
			}
		default:
			return 0, s.fail(ctx, "incr", ns, err)
		}
	}
	return 0, fmt.Errorf("firestore: incr %s: %w: counter still contended after %d attempts", ns, storage.ErrUnavailable, maxIncrAttempts)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func intValue(n int64) *pb.Value {
	return &pb.Value{ValueType: &pb.Value_IntegerValue{IntegerValue: n}}
}

// Count returns the counter's live value, or 0 when it is absent or expired.
func (s *Store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	doc, err := s.doc(ctx, "count", ns, key, 0)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	snap, err := doc.Get(ctx)
	if status.Code(err) == codes.NotFound {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "count", ns, err)
	}
	d := decode(snap)
	if !d.live(s.now()) {
		return 0, nil
	}
	if !d.isCounter {
		return 0, fmt.Errorf("firestore: count %s: stored document is not a counter", ns)
	}
	return d.n, nil
}

// doc is a stored document, decoded.
type doc struct {
	exists    bool
	isRecord  bool
	value     []byte
	isCounter bool
	n         int64
	exp       time.Time // zero: never
}

func (d doc) live(now time.Time) bool { return d.exists && (d.exp.IsZero() || now.Before(d.exp)) }

func decode(snap *gfs.DocumentSnapshot) doc {
	if snap == nil || !snap.Exists() {
		return doc{}
	}
	d := doc{exists: true}
	data := snap.Data()
	if v, ok := data[fieldValue].([]byte); ok {
		d.isRecord, d.value = true, v
	} else if _, ok := data[fieldValue]; ok {
		d.isRecord, d.value = true, []byte{} // stored empty
	}
	if n, ok := data[fieldCount].(int64); ok {
		d.isCounter, d.n = true, n
	}
	if t, ok := data[ExpiryField].(time.Time); ok {
		d.exp = t
	}
	return d
}

// record is the document Put and Create write.
func (s *Store) record(ns storage.Namespace, value []byte, ttl time.Duration) map[string]any {
	if value == nil {
		value = []byte{}
	}
	m := map[string]any{fieldNS: string(ns), fieldValue: value}
	if exp, ok := expiry(s.now(), ttl); ok {
		m[ExpiryField] = exp
	}
	return m
}

// expiry is when a record written at now with ttl expires, rounded up to the
// microsecond (Firestore's precision) so that it never expires early.
func expiry(now time.Time, ttl time.Duration) (time.Time, bool) {
	if ttl <= 0 {
		return time.Time{}, false
	}
	at := now.Add(min(ttl, maxTTL))
	if r := at.Truncate(time.Microsecond); r.Before(at) {
		at = r.Add(time.Microsecond)
	}
	return at, true
}

// DocID is the document id of (ns, key): "<ns>:<key>" with '/', '%', '~', control
// characters and invalid UTF-8 bytes %XX-escaped, or "<ns>:~<base64url sha256>"
// when that would exceed Firestore's 1,500 bytes.
func DocID(ns storage.Namespace, key string) string {
	var b strings.Builder
	b.Grow(len(ns) + 1 + len(key))
	b.WriteString(string(ns))
	b.WriteByte(':')
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError && size <= 1 || r == '/' || r == '%' || r == '~' || r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, "%%%02X", key[i])
			i++
			continue
		}
		b.WriteString(key[i : i+size])
		i += size
	}
	if b.Len() > maxIDBytes {
		sum := sha256.Sum256([]byte(key))
		return string(ns) + ":~" + base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return b.String()
}

// doc validates a keyed call's arguments and the caller's context, and returns the
// document. Keys never appear in errors: some are tokens or user identifiers.
func (s *Store) doc(ctx context.Context, op string, ns storage.Namespace, key string, ttl time.Duration) (*gfs.DocumentRef, error) {
	if !ns.Valid() {
		return nil, fmt.Errorf("firestore: %s: invalid namespace %q: want [a-z][a-z0-9_]*, at most %d characters", op, ns, storage.MaxNamespaceLen)
	}
	switch {
	case key == "":
		return nil, fmt.Errorf("firestore: %s %s: invalid key: empty", op, ns)
	case len(key) > storage.MaxKeyLen:
		return nil, fmt.Errorf("firestore: %s %s: invalid key: %d bytes, at most %d", op, ns, len(key), storage.MaxKeyLen)
	case ttl < 0:
		return nil, fmt.Errorf("firestore: %s %s: invalid ttl %s: must not be negative", op, ns, ttl)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("firestore: %s %s: %w", op, ns, err)
	}
	return s.coll.Doc(DocID(ns, key)), nil
}

// bound gives a call without a deadline the store's CallTimeout, so that an
// unreachable database cannot hold it forever.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.callTimeout)
}

// fail adds context to an error. The storage sentinels pass through; NotFound
// becomes storage.ErrNotFound; an invalid argument (a value too large for a
// document) stays a plain error; every other status (unavailable, deadline,
// permission, quota) is marked storage.ErrUnavailable, with the caller's context
// error when it caused it.
func (s *Store) fail(ctx context.Context, op string, ns storage.Namespace, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrExists):
		return err
	case status.Code(err) == codes.NotFound:
		return storage.ErrNotFound
	}
	where := op
	if ns != "" {
		where += " " + string(ns)
	}
	if status.Code(err) == codes.InvalidArgument {
		return fmt.Errorf("firestore: %s: %w", where, err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("firestore: %s: %w: %w (%w)", where, storage.ErrUnavailable, cerr, err)
	}
	return fmt.Errorf("firestore: %s: %w: %w", where, storage.ErrUnavailable, err)
}

// credentialsType reads the "type" of a Google credentials JSON, which the library
// wants declared; only the kinds a Firestore server client uses are accepted.
func credentialsType(js []byte) (option.CredentialsType, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return "", fmt.Errorf("not a JSON credentials object: %w", err)
	}
	switch t := option.CredentialsType(head.Type); t {
	case option.ServiceAccount, option.AuthorizedUser, option.ImpersonatedServiceAccount, option.ExternalAccount:
		return t, nil
	}
	return "", fmt.Errorf("credentials of type %q are not supported: use a service account key (type service_account)", head.Type)
}

// Batch runs ops one by one (storage.Sequential). Firestore could read and
// write them in one transaction, but a hook's batch includes the hourly budget's
// counter, which every hook writes: transactions on it would queue on its lock
// (the emulator held such locks for seconds, see Incr), where the increment
// transform never waits. Batch exists so that callers make one call either way.
func (s *Store) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	return storage.Sequential(ctx, s, ops)
}
