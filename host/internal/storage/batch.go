package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A hook touches several records (its delivery claim, the text counters, the
// user, a pending reset, the new challenge). Making one store call for each cost
// a round trip (or, on the embedded store, a disk commit) each; a Batch makes
// them one call, and lets each backend run them as one unit where it can.

// OpKind says what an Op does.
type OpKind uint8

// The operations a Batch can run: the Store methods of the same names.
const (
	OpGet OpKind = iota + 1
	OpCreate
	OpIncr
)

func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpCreate:
		return "create"
	case OpIncr:
		return "incr"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one step of a Batch.
type Op struct {
	Kind  OpKind
	NS    Namespace
	Key   string
	Value []byte        // OpCreate
	TTL   time.Duration // OpCreate and OpIncr, as in Create and Incr

	// Stop makes a refusal end the batch: the ops after a refused Stop op do not
	// run. An OpCreate is refused when it finds a live record; an OpIncr when its
	// new value exceeds Limit (it still counts, as Incr does).
	Stop bool
	// Limit is an OpIncr's cap; 0 means none (it is never refused).
	Limit int64
	// IfExisted runs the op only when the op just before it, an OpCreate, found
	// a live record (ErrExists); when that create made a new record, this op
	// does not run (Result.Ran false) and the batch goes on. It is for reading
	// what belongs to a record that may be new: nothing can, when it is.
	IfExisted bool
}

// Skipped reports whether op i of ops, whose earlier results are in res, is
// skipped by its IfExisted condition. Backends call it before running each op.
func Skipped(ops []Op, res []Result, i int) bool {
	return ops[i].IfExisted && !errors.Is(res[i-1].Err, ErrExists)
}

// Result is what an Op did.
type Result struct {
	// Ran is false for the ops after a refused Stop op: they did nothing.
	Ran bool
	// Value: OpGet's live value; for an OpCreate that found a live record
	// (Err ErrExists), that record's value, so that "create, or use what is
	// there" takes one call.
	Value []byte
	// N is an OpIncr's new value.
	N int64
	// Err is ErrNotFound (OpGet), ErrExists (OpCreate) or nil. Failures of the
	// backend are Batch's own error, not a Result's.
	Err error
}

// Refused reports whether r, the result of o, refuses o (see Op.Stop).
func (o Op) Refused(r Result) bool {
	switch o.Kind {
	case OpCreate:
		return errors.Is(r.Err, ErrExists)
	case OpIncr:
		return o.Limit > 0 && r.N > o.Limit
	}
	return false
}

// Batcher is a Store that runs several operations in one call. Backends
// implement it as one unit where they can (one transaction, one script), and
// otherwise as the same calls one by one (Sequential); Run picks for the caller.
//
// Every backend keeps these guarantees:
//   - ops run in order, each with the atomicity of the Store method of its kind
//     (an OpIncr hands out each value once, of concurrent OpCreates of a key
//     exactly one succeeds, ...);
//   - a refused Stop op ends the batch: nothing after it runs (Result.Ran);
//   - an IfExisted op runs only after a create that found a record;
//   - Batch returns, for each op, its Result; or an error (storage.ErrUnavailable
//     for backend failures) when an op could not run, in which case the ops
//     before it may have taken effect, as with the same calls made one by one.
//
// Whether a batch as a whole is atomic (others see all of it or none) depends on
// the backend (docs/storage.md); callers must not rely on it.
type Batcher interface {
	Batch(ctx context.Context, ops []Op) ([]Result, error)
}

// Run runs ops on s: as one Batch call when s is a Batcher, else one call per op.
func Run(ctx context.Context, s Store, ops []Op) ([]Result, error) {
	if b, ok := s.(Batcher); ok {
		return b.Batch(ctx, ops)
	}
	return Sequential(ctx, s, ops)
}

// Sequential runs ops on s with one Store call each (two for an OpCreate that
// finds a record: Create, then Get for its value). Backends without a better way
// implement Batch with it.
func Sequential(ctx context.Context, s Store, ops []Op) ([]Result, error) {
	if err := CheckOps(ops); err != nil {
		return nil, err
	}
	res := make([]Result, len(ops))
	for i, o := range ops {
		if Skipped(ops, res, i) {
			continue
		}
		r, err := runOne(ctx, s, o)
		if err != nil {
			return nil, fmt.Errorf("batch op %d (%s %s): %w", i, o.Kind, o.NS, err)
		}
		res[i] = r
		if o.Stop && o.Refused(r) {
			break
		}
	}
	return res, nil
}

func runOne(ctx context.Context, s Store, o Op) (Result, error) {
	r := Result{Ran: true}
	switch o.Kind {
	case OpGet:
		v, err := s.Get(ctx, o.NS, o.Key)
		if errors.Is(err, ErrNotFound) {
			r.Err = ErrNotFound
			return r, nil
		}
		r.Value = v
		return r, err
	case OpCreate:
		for attempt := 0; ; attempt++ {
			err := s.Create(ctx, o.NS, o.Key, o.Value, o.TTL)
			if !errors.Is(err, ErrExists) {
				return r, err
			}
			v, err := s.Get(ctx, o.NS, o.Key)
			if errors.Is(err, ErrNotFound) && attempt < 3 {
				continue // it expired or went between the two calls: create again
			}
			if errors.Is(err, ErrNotFound) {
				err = nil // it keeps coming and going: report it as found, without a value
			}
			r.Value, r.Err = v, ErrExists
			return r, err
		}
	case OpIncr:
		n, err := s.Incr(ctx, o.NS, o.Key, o.TTL)
		r.N = n
		return r, err
	}
	return r, fmt.Errorf("unknown op kind %s", o.Kind)
}

// CheckOps reports the first op a backend must refuse: an unknown kind, an
// invalid namespace, an empty or too long key, a negative TTL or Limit, an
// IfExisted op that does not follow an OpCreate.
// Backends call it before running anything, so that a bad batch changes nothing.
func CheckOps(ops []Op) error {
	for i, o := range ops {
		var problem string
		switch {
		case o.Kind < OpGet || o.Kind > OpIncr:
			problem = "unknown kind " + o.Kind.String()
		case !o.NS.Valid():
			problem = fmt.Sprintf("invalid namespace %q", o.NS)
		case o.Key == "":
			problem = "empty key"
		case len(o.Key) > MaxKeyLen:
			problem = fmt.Sprintf("key of %d bytes, at most %d", len(o.Key), MaxKeyLen)
		case o.TTL < 0:
			problem = "negative ttl"
		case o.Limit < 0:
			problem = "negative limit"
		case o.IfExisted && (i == 0 || ops[i-1].Kind != OpCreate):
			problem = "if-existed op that does not follow a create"
		}
		if problem != "" {
			return fmt.Errorf("storage: batch op %d (%s): %s", i, o.Kind, problem)
		}
	}
	return nil
}
