package store

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrCannotCommit wraps a write the file did not take (a full disk, an I/O
// error): nothing of it was stored. Writable says whether it still holds.
var ErrCannotCommit = errors.New("the store cannot commit")

// commitState remembers the last commit that failed, until one succeeds.
type commitState struct {
	mu        sync.Mutex
	err       error     // the last commit's failure; nil once one succeeds
	since     time.Time // when commits started failing
	lastProbe time.Time
	fault     func() error // tests: fails commits as a full disk would
}

var keyCommitProbe = []byte("commit_probe")

// update and batch run fn in a write transaction (Update, or Batch for
// concurrent idempotent writers), telling a failure of fn, which is
// returned as it is, from a failure to commit, which is wrapped in
// ErrCannotCommit and remembered for Writable.
func (s *Store) update(fn func(*bolt.Tx) error) error { return s.write(s.db.Update, fn) }
func (s *Store) batch(fn func(*bolt.Tx) error) error  { return s.write(s.db.Batch, fn) }

func (s *Store) write(run func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error) error {
	var fnErr error
	err := run(func(tx *bolt.Tx) error {
		if fnErr = fn(tx); fnErr != nil {
			return fnErr
		}
		if fault := s.commit.injected(); fault != nil {
			return fault
		}
		return nil
	})
	if err != nil && fnErr != nil {
		return err
	}
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	if err != nil {
		if s.commit.err == nil {
			s.commit.since = time.Now()
		}
		s.commit.err = err
		return fmt.Errorf("%w: %v", ErrCannotCommit, err)
	}
	s.commit.err = nil
	return nil
}

func (c *commitState) injected() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fault == nil {
		return nil
	}
	return c.fault()
}

// Writable is nil while the store can commit; otherwise it says why not and
// since when. While commits fail it tries a small one at most once a second,
// so it turns nil again by itself once the disk has room.
func (s *Store) Writable() error {
	s.commit.mu.Lock()
	failing, since := s.commit.err, s.commit.since
	probe := failing != nil && time.Since(s.commit.lastProbe) >= time.Second
	if probe {
		s.commit.lastProbe = time.Now()
	}
	s.commit.mu.Unlock()
	if failing == nil {
		return nil
	}
	if probe {
		err := s.update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyCommitProbe, []byte(time.Now().UTC().Format(time.RFC3339)))
		})
		if err == nil {
			return nil
		}
		s.commit.mu.Lock()
		if s.commit.err != nil {
			failing = s.commit.err
		}
		s.commit.mu.Unlock()
	}
	return fmt.Errorf("cannot commit since %s: %v", since.UTC().Format(time.RFC3339), failing)
}

// InjectCommitFault makes every commit fail with fault's error while fault
// returns one, as a full disk would (nil fault: commits work again). For
// tests of what the program does when it cannot write.
func (s *Store) InjectCommitFault(fault func() error) {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	s.commit.fault = fault
}
