package embedded

import (
	"bytes"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepScan bounds the keys one read transaction examines and so the keys one
// write transaction deletes: requests wait at most one small batch for the write lock.
const sweepScan = 512

// sweepLoop reclaims space from expired records until Close. Expired records are
// already invisible, so a failed sweep only costs disk space and is retried next tick.
func (s *Store) sweepLoop(interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			_, _ = s.sweep(s.stop)
		}
	}
}

// sweep deletes expired records in every namespace and returns how many it deleted.
// It returns early, without error, once stop is closed.
func (s *Store) sweep(stop <-chan struct{}) (int, error) {
	var names [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, bytes.Clone(name))
			return nil
		})
	})
	if err != nil {
		return 0, err
	}

	deleted := 0
	for _, name := range names {
		var after []byte // last key examined; nil = start of the bucket
		for {
			select {
			case <-stop:
				return deleted, nil
			default:
			}
			expired, next, err := s.scanExpired(name, after)
			if err != nil {
				return deleted, err
			}
			n, err := s.deleteExpired(name, expired)
			deleted += n
			if err != nil {
				return deleted, err
			}
			if next == nil {
				break
			}
			after = next
		}
	}
	return deleted, nil
}

// scanExpired lists up to sweepScan keys after the key after, in a read transaction
// that does not block writers, and returns the expired ones and where to resume
// (nil at the end of the bucket).
func (s *Store) scanExpired(name, after []byte) (expired [][]byte, next []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.First()
		if after != nil {
			// The resume key may have been deleted meanwhile; Seek then lands past it.
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		now := s.now()
		var last []byte
		for scanned := 0; k != nil && scanned < sweepScan; k, v = c.Next() {
			scanned++
			last = k
			if exp, _, err := decode(v); err == nil && !live(exp, now) {
				expired = append(expired, bytes.Clone(k))
			}
		}
		if k != nil {
			next = bytes.Clone(last)
		}
		return nil
	})
	return expired, next, err
}

// deleteExpired deletes those of keys that are still expired: between the scan
// and this write transaction a key may have been written again.
func (s *Store) deleteExpired(name []byte, keys [][]byte) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	deleted := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b == nil {
			return errNoop
		}
		now := s.now()
		for _, k := range keys {
			rec := b.Get(k)
			if rec == nil {
				continue
			}
			if exp, _, err := decode(rec); err != nil || live(exp, now) {
				continue
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			deleted++
		}
		if deleted == 0 {
			return errNoop
		}
		return nil
	})
	if errors.Is(err, errNoop) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return deleted, nil
}
