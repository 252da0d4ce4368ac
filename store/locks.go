package store

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Locks are held by one process at a time among those sharing the
// database: the digest loop runs where its lock is. On a bbolt file there
// is one process, which always holds them. On PostgreSQL a lock is a
// session advisory lock on a connection of its own: the server releases it
// when the connection ends (the process died, or the network between them
// did), so another replica takes it over at its next try.

// Lock is a lock this process holds.
type Lock struct {
	lost    chan struct{} // closed when the lock is no longer held
	once    sync.Once
	release func()
}

// Lost is closed once the lock is no longer held (its connection failed).
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Release gives the lock up.
func (l *Lock) Release() { l.once.Do(l.release) }

// lockPing is how often a held lock's connection is checked.
const lockPing = 5 * time.Second

// Replica names this process to the others sharing the database (in
// PostgreSQL's application_name, and so in LockHolder).
func (s workspaceRecords) Replica() string { return s.replica }

// TryLock takes the lock called name if no process holds it; nil means
// another does.
func (s workspaceRecords) TryLock(name string) (*Lock, error) {
	e, ok := s.db.(*pgEngine)
	if !ok {
		l := &Lock{lost: make(chan struct{})}
		l.release = func() {}
		return l, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return nil, e.scrub(err)
	}
	k1, k2 := e.lockKeys(name)
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", k1, k2).Scan(&got); err != nil {
		conn.Release()
		return nil, e.scrub(err)
	}
	if !got {
		conn.Release()
		return nil, nil
	}
	// The connection is the lock's: it leaves the pool, and closing it
	// releases the lock whatever state it is in.
	raw := conn.Hijack()
	stop := make(chan struct{})
	l := &Lock{lost: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(l.lost)
		t := time.NewTicker(lockPing)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), lockPing)
				err := raw.Ping(ctx)
				cancel()
				if err != nil {
					raw.Close(context.Background())
					return
				}
			}
		}
	}()
	l.release = func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Unlocked before the session ends: the server ends a closed
		// session's backend, and its locks, a moment after the close, and
		// another replica asking at once would still find the lock held.
		// If the unlock fails the close frees it all the same.
		if !raw.IsClosed() {
			raw.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", k1, k2)
		}
		raw.Close(ctx)
	}
	return l, nil
}

// LockHolder names the replica holding the lock called name ("" for none):
// this process on a bbolt file.
func (s workspaceRecords) LockHolder(name string) (string, error) {
	e, ok := s.db.(*pgEngine)
	if !ok {
		return s.replica, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	k1, k2 := e.lockKeys(name)
	var app string
	err := e.pool.QueryRow(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid = $1::int::oid AND l.objid = $2::int::oid AND l.objsubid = 2`, k1, k2).Scan(&app)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", e.scrub(err)
	}
	return strings.TrimPrefix(app, appPrefix), nil
}

// appPrefix starts the application_name of each connection.
const appPrefix = "paligo-slack "

// lockKeys are the two keys of the advisory lock called name in this
// schema (the write lock is a third, one-key lock).
func (e *pgEngine) lockKeys(name string) (int32, int32) {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(e.lockKey >> 32), int32(h.Sum32())
}

// TerminateReplica ends every connection of the replica called name, as
// the server does when that replica's machine is lost, and says how many
// it ended (tests of taking over; it needs the right to signal them).
func (s workspaceRecords) TerminateReplica(name string) (int, error) {
	e, ok := s.db.(*pgEngine)
	if !ok {
		return 0, errors.New("a bbolt file has one process: no replica to end")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	err := e.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, truncate(appPrefix+name, 63)).Scan(&n)
	return n, e.scrub(err)
}
