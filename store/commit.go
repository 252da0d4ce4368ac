package store

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrCannotCommit wraps a write the file did not take (a full disk, an I/O
// error): nothing of it was stored. Writable says whether it still holds.
var ErrCannotCommit = errors.New("the store cannot commit")

// commitState remembers the commits that failed. On a full disk some
// commits still succeed (a small one reuses pages freed in the file) while
// others fail (one that must grow it), so one success is no proof: the store
// counts as unable to commit while the latest commit failed, or one failed
// in the last failWindow.
type commitState struct {
	mu        sync.Mutex
	err       error     // the latest failure
	failedAt  time.Time // when it happened
	okAt      time.Time // the latest success
	since     time.Time // when the current run of failures began
	lastProbe time.Time
	fault     func() error // tests: fails commits as a full disk would
}

// failWindow is how long after a failed commit the store still counts as
// unable to commit.
const failWindow = 5 * time.Second

var keyCommitProbe = []byte("commit_probe")

// update and batch run fn in a write transaction (Update, or Batch for
// concurrent idempotent writers), telling a failure of fn, which is
// returned as it is, from a failure to commit, which is wrapped in
// ErrCannotCommit and remembered for Writable.
func (s *Store) update(fn func(kvTx) error) error { return s.write(s.db.update, fn) }
func (s *Store) batch(fn func(kvTx) error) error  { return s.write(s.db.batch, fn) }

func (s *Store) write(run func(func(kvTx) error) error, fn func(kvTx) error) error {
	s.writeTxs.Add(1)
	var fnErr error
	err := run(func(tx kvTx) error {
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
	now := time.Now()
	if err != nil {
		if !s.commit.failing(now) {
			s.commit.since = now
		}
		s.commit.err, s.commit.failedAt = err, now
		return fmt.Errorf("%w: %v", ErrCannotCommit, err)
	}
	s.commit.okAt = now
	s.mapped.written.Store(true)
	return nil
}

// failing reports whether the store counts as unable to commit at now.
func (c *commitState) failing(now time.Time) bool {
	return !c.failedAt.IsZero() && (!c.okAt.After(c.failedAt) || now.Sub(c.failedAt) < failWindow)
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
// since when. While the latest commit failed it tries a small one at most
// once a second, so it turns nil again by itself once the disk has room and
// no commit failed for a few seconds.
func (s *Store) Writable() error {
	s.commit.mu.Lock()
	now := time.Now()
	failing := s.commit.failing(now)
	probe := failing && !s.commit.okAt.After(s.commit.failedAt) && now.Sub(s.commit.lastProbe) >= time.Second
	if probe {
		s.commit.lastProbe = now
	}
	s.commit.mu.Unlock()
	if !failing {
		return nil
	}
	if probe {
		s.update(func(tx kvTx) error {
			return tx.Bucket(bucketMeta).Put(keyCommitProbe, []byte(now.UTC().Format(time.RFC3339)))
		})
	}
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	if !s.commit.failing(time.Now()) {
		return nil
	}
	return fmt.Errorf("cannot commit since %s: %v", s.commit.since.UTC().Format(time.RFC3339), s.commit.err)
}

// InjectCommitFault makes every commit fail with fault's error while fault
// returns one, as a full disk would (nil fault: commits work again). For
// tests of what the program does when it cannot write.
func (s *Store) InjectCommitFault(fault func() error) {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	s.commit.fault = fault
}
