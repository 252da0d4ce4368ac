// Package store keeps the bot's state, in a bbolt file or, for replicas, in
// PostgreSQL (engine.go): accepted events and
// their idempotency index, each person's preferences and follows, routes,
// the delivery outbox with its receipts and failed list, digest queues and
// the digests sent, invitations, and the Slack lookups worth caching. It
// holds records, not rules: the rules (kinds, preferences, digest windows,
// who gets what) are package paligo's. With replicas it also keeps what they
// share: lanes' leases, locks, the Events API ids seen. Its methods are cut
// by the records they keep, one type each (parts.go). Exported methods
// open their own transaction; unexported helpers take a kvTx so that
// several share one.
package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked means another process holds the database file.
var ErrLocked = errors.New("database file is in use by another process")

// Bucket names. Each is created by a migration, never ad hoc.
var (
	bucketMeta  = []byte("meta")
	bucketPrefs = []byte("prefs")
	// events: 8-byte big-endian sequence -> Event JSON, in arrival order.
	bucketEvents = []byte("events")
	// event_ids: event ID -> sequence, the idempotency index.
	bucketEventIDs = []byte("event_ids")
	// Delivery (v3); see outbox.go.
	bucketRoutes     = []byte("routes")
	bucketFollowers  = []byte("followers")
	bucketOutbox     = []byte("outbox")
	bucketFailed     = []byte("failed")
	bucketReceipts   = []byte("receipts")
	bucketDigest     = []byte("digest")
	bucketSlackCache = []byte("slack_cache")
	bucketUnmatched  = []byte("unmatched")
	// Digests (v4); see digest.go.
	bucketDigestState = []byte("digest_state")
	bucketDigestsSent = []byte("digests_sent")
	// Invites (v5); see invite.go.
	bucketInvites      = []byte("invites")
	bucketInviteEmails = []byte("invite_emails")
	bucketInviteRuns   = []byte("invite_runs")
)

var keySchemaVersion = []byte("schema_version")

// migrations run in order; migrations[i] brings the schema from version i to
// i+1. Append only: a released migration is never edited.
var migrations = []func(tx kvTx) error{
	// v1: preferences per (team, user).
	func(tx kvTx) error {
		_, err := tx.CreateBucketIfNotExists(bucketPrefs)
		return err
	},
	// v2: accepted events and their idempotency index.
	func(tx kvTx) error {
		for _, b := range [][]byte{bucketEvents, bucketEventIDs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	// v3: routes, the followers index (built from the saved follows), the
	// delivery outbox, failed list, receipts, digest queue, Slack lookups
	// and unmatched emails.
	func(tx kvTx) error {
		for _, b := range [][]byte{bucketRoutes, bucketFollowers, bucketOutbox, bucketFailed,
			bucketReceipts, bucketDigest, bucketSlackCache, bucketUnmatched} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketPrefs).ForEach(func(k, v []byte) error {
			var p paligo.Prefs
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode prefs of %s: %w", k, err)
			}
			for _, s := range p.Follows {
				if err := tx.Bucket(bucketFollowers).Put(followerKey(s.Key(), string(k)), nil); err != nil {
					return err
				}
			}
			return nil
		})
	},
	// v4: a digest state per user (pending count, oldest item, the digest
	// job waiting, the last window sent), built from the digest queue, and
	// the record of digests sent.
	func(tx kvTx) error {
		for _, b := range [][]byte{bucketDigestState, bucketDigestsSent} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		seen := map[string]bool{}
		return tx.Bucket(bucketDigest).ForEach(func(k, _ []byte) error {
			i := bytes.IndexByte(k, 0)
			if i < 0 || seen[string(k[:i])] {
				return nil
			}
			seen[string(k[:i])] = true
			team, user, _ := strings.Cut(string(k[:i]), "/")
			var st paligo.DigestState
			if err := recount(tx, team, user, &st); err != nil {
				return err
			}
			return putDigestState(tx, team, user, st)
		})
	},
	// v5: invitations, the latest invitation per email, and the invite
	// runs (one /paligo-invite each) whose summary goes to the inviter.
	createBuckets(bucketInvites, bucketInviteEmails, bucketInviteRuns),
	// v6: subscriptions and mutes; the routes become plain subscriptions.
	migrateToSubscriptions,
	// v7: living messages, and the one of each (channel, thread key).
	createBuckets(bucketLiving, bucketLivingKeys),
	// v8: connected workspaces, by team and by org, and the OAuth states
	// of Connect flows under way.
	createBuckets(bucketInstallations, bucketInstallationOrgs, bucketOAuthStates),
	// v9: the Events API events taken, for replicas sharing one database.
	createBuckets(bucketSeenEvents),
	// v10: an invitation's id is taken when its run is queued: the entries
	// still on their way get theirs.
	reserveInviteIDs,
	// v11: the latest event about each subject URL (what a link unfurls
	// to), built from the events kept.
	indexSubjectURLs,
}

// reserveInviteIDs gives each invite run's entry still on its way, and
// with no invitation yet, the id of its invitation.
func reserveInviteIDs(tx kvTx) error {
	runs, invites := tx.Bucket(bucketInviteRuns), tx.Bucket(bucketInvites)
	type change struct {
		key []byte
		run paligo.InviteRun
	}
	var changes []change
	err := eachJSON(runs, func(k []byte, run paligo.InviteRun) error {
		changed := false
		for i, e := range run.Entries {
			if e.Result == "" && e.Invite == 0 {
				id, err := invites.NextSequence()
				if err != nil {
					return err
				}
				run.Entries[i].Invite, changed = id, true
			}
		}
		if changed {
			changes = append(changes, change{bytes.Clone(k), run})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the walk: a cursor's Put may move what its Next finds.
	for _, c := range changes {
		if err := putJSON(runs, c.key, c.run); err != nil {
			return err
		}
	}
	return nil
}

// createBuckets is a migration that adds buckets.
func createBuckets(names ...[]byte) func(kvTx) error {
	return func(tx kvTx) error {
		for _, b := range names {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// SchemaVersion is the schema this binary writes.
var SchemaVersion = len(migrations)

// Store is the bot's database: its records, on one of two engines.
type Store struct {
	// parts: the methods, by the records they keep (parts.go).
	parts
	db engine
	// bolt is the bbolt file, when that is the engine (nil on PostgreSQL).
	bolt *bolt.DB

	// Now returns the current time; tests replace it.
	Now func() time.Time

	events  eventCache // decoded events for digests
	commit  commitState
	accepts acceptCommitter
	// eventsMatched counts events matched against the subscriptions
	// outside the writer (the tests see that a retry is not matched).
	eventsMatched atomic.Int64
	// writeTxs counts the write transactions begun (update and batch).
	writeTxs atomic.Int64
	mapped   residentPages
	// subsCache: the subscriptions and mutes, decoded (subscriptions.go).
	subsCache subscriptionCache
	// primary is the primary workspace's team id (SetPrimary).
	primary atomic.Pointer[string]
	// replica names this process (Options.Replica).
	replica string
}

var keyPrimaryTeam = []byte("primary_team")

// SetPrimary records team as the primary workspace's (SLACK_BOT_TOKEN's),
// whose records carry no team (scope ""): as every record did before
// workspaces were connected. It is kept in the file, so that a restart
// knows it before Slack answers.
func (s *Store) SetPrimary(team string) error {
	s.primary.Store(&team)
	return s.update(func(tx kvTx) error {
		meta := tx.Bucket(bucketMeta)
		if string(meta.Get(keyPrimaryTeam)) == team {
			return nil
		}
		return meta.Put(keyPrimaryTeam, []byte(team))
	})
}

// Primary is the primary workspace's team id ("" while unknown).
func (s *Store) Primary() string {
	if p := s.primary.Load(); p != nil {
		return *p
	}
	return ""
}

// Scope is the scope of team's records: "" for the primary workspace (and
// for team ""), else the team id.
func (s *Store) Scope(team string) string {
	if team == "" || team == s.Primary() {
		return ""
	}
	return team
}

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file before it fails with ErrLocked. Zero means one second.
	LockTimeout time.Duration
	// Replica names this process to the others sharing a PostgreSQL
	// database; default host:pid and a random suffix, new at each Open. It
	// must be unique: the replica holds its lanes and locks by it.
	Replica string
}

func (o Options) replica() string {
	if o.Replica != "" {
		return o.Replica
	}
	host, _ := os.Hostname()
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}

// Open opens (creating if needed, mode 0600) the database at path and brings
// its schema up to date. A path that is a postgres:// URL opens that
// database instead (OpenPostgres).
func Open(path string, opts Options) (*Store, error) {
	if IsPostgresURL(path) {
		return OpenPostgres(path, opts)
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	// The free list is not written at each commit (NoFreelistSync): Open
	// rebuilds it from the pages, and every commit writes less, as etcd
	// runs bbolt. The map kind finds free runs without scanning them all.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// bbolt applies the mode only when it creates the file; a file that was
	// copied in with looser rights still holds people's emails and settings.
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("restrict %s to 0600: %w", path, err)
		}
	}
	// Concurrent ingest requests and delivery receipts share fsyncs through
	// Batch; bbolt's default 10 ms wait is longer than an fsync here.
	db.MaxBatchDelay = 2 * time.Millisecond
	s, err := open(boltEngine{db: db, reads: new(atomic.Int64)})
	if err != nil {
		return nil, err
	}
	s.bolt = db
	s.replica = opts.replica()
	s.mapped.start(s)
	return s, nil
}

// open brings the schema of the database under e up to date and starts the
// store on it; it closes e when it fails.
func open(e engine) (*Store, error) {
	s := &Store{db: e, Now: time.Now}
	s.parts = partsOf(s)
	if err := s.migrate(); err != nil {
		e.close()
		return nil, err
	}
	err := s.db.view(func(tx kvTx) error {
		if v := tx.Bucket(bucketMeta).Get(keyPrimaryTeam); v != nil {
			team := string(v)
			s.primary.Store(&team)
		}
		return nil
	})
	if err != nil {
		e.close()
		return nil, err
	}
	s.accepts.start(s)
	return s, nil
}

// Time is Now(): the store's clock, as a method for those that take the
// store by an interface.
func (s *Store) Time() time.Time { return s.Now() }

// ReadTxs counts the read transactions opened on the file so far (tests hold
// the delivery path to the reads it should take).
func (s *Store) ReadTxs() int { return s.db.readTxs() }

// WriteTxs counts the write transactions begun so far (tests hold each
// delivery job to the one write that records it).
func (s *Store) WriteTxs() int { return int(s.writeTxs.Load()) }

// Engine names the engine and where it keeps the data, with no password in
// it: "bbolt file PATH" or "postgres HOST:PORT/DATABASE".
func (s *Store) Engine() string { return s.db.describe() }

// Close closes the database.
func (s *Store) Close() error {
	s.accepts.close()
	s.mapped.close()
	return s.db.close()
}

// FileSize says how big the file is, and how much of it holds data: the
// rest is free pages that new writes reuse, and room bbolt allocated ahead
// (it grows the file in steps of up to 16 MB).
// On PostgreSQL it fails: the server keeps the data.
func (s *Store) FileSize() (size, data int64, err error) {
	if s.bolt == nil {
		return 0, 0, errNoFile
	}
	fi, err := os.Stat(s.bolt.Path())
	if err != nil {
		return 0, 0, err
	}
	err = s.bolt.View(func(tx *bolt.Tx) error {
		data = tx.Size() - int64(s.bolt.Stats().FreeAlloc)
		return nil
	})
	return fi.Size(), data, err
}

// errNoFile answers a question about the file when there is none.
var errNoFile = errors.New("the store is not a file")

// Path is the database file's path ("" on PostgreSQL).
func (s *Store) Path() string {
	if s.bolt == nil {
		return ""
	}
	return s.bolt.Path()
}

func (s *Store) migrate() error {
	return s.db.update(func(tx kvTx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("create meta bucket: %w", err)
		}
		have := 0
		if v := meta.Get(keySchemaVersion); v != nil {
			have = int(binary.BigEndian.Uint64(v))
		}
		if have > SchemaVersion {
			return fmt.Errorf("database schema is v%d but this binary only knows up to v%d: run a newer paligo-slack", have, SchemaVersion)
		}
		for v := have; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema v%d to v%d: %w", v, v+1, err)
			}
		}
		return meta.Put(keySchemaVersion, u64(uint64(SchemaVersion)))
	})
}

// Version reports the schema version recorded in the file.
func (s *Store) Version() (int, error) {
	var v int
	err := s.db.view(func(tx kvTx) error {
		b := tx.Bucket(bucketMeta).Get(keySchemaVersion)
		if b == nil {
			return errors.New("no schema version recorded")
		}
		v = int(binary.BigEndian.Uint64(b))
		return nil
	})
	return v, err
}

// Ping reports whether the database can be read.
func (s *Store) Ping() error {
	return s.db.view(func(tx kvTx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errors.New("meta bucket missing")
		}
		// A read that reaches the database: PostgreSQL's transactions
		// open lazily, and one that reads nothing asks the server nothing.
		meta.Get(keyCommitProbe)
		return nil
	})
}

// Scoped is key in the workspace of scope: as it always was for the
// primary workspace (scope ""), prefixed with the team id and a NUL for a
// connected workspace.
func Scoped(scope, key string) []byte {
	if scope == "" {
		return []byte(key)
	}
	return []byte(scope + "\x00" + key)
}

// inScope reports whether key, made by Scoped, is of scope.
func inScope(key []byte, scope string) bool {
	i := bytes.IndexByte(key, 0)
	if scope == "" {
		return i < 0
	}
	return i == len(scope) && string(key[:i]) == scope
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// Shared reports whether other processes may share the database (replicas
// on PostgreSQL); a bbolt file is one process's.
func (s *Store) Shared() bool { return s.bolt == nil }

// bucketSeenEvents: Events API event id -> when it was first taken.
var bucketSeenEvents = []byte("seen_events")

// seenFor is how long an event id is remembered: Slack retries an event
// for a few minutes.
const seenFor = time.Hour

// FirstSeen records the Events API event id and reports whether it is the
// first time any process sharing the database saw it.
func (s *Store) FirstSeen(id string) (first bool, err error) {
	err = s.update(func(tx kvTx) error {
		b := tx.Bucket(bucketSeenEvents)
		if b.Get([]byte(id)) != nil {
			first = false
			return nil
		}
		first = true
		return b.Put([]byte(id), u64(uint64(s.Now().Unix())))
	})
	return first, err
}

// Compact copies the database at path, which no process may hold, into a
// new file at out without its free pages, and returns both sizes. out must
// not exist; the copy is fsynced and has the original's schema.
func Compact(path, out string) (before, after int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	if _, err := os.Stat(out); err == nil {
		return 0, 0, fmt.Errorf("%s exists: compact writes a new file", out)
	}
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return 0, 0, fmt.Errorf("open %s: %w (stop the bot first)", path, ErrLocked)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer src.Close()
	dst, err := bolt.Open(out, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, fmt.Errorf("create %s: %w", out, err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		os.Remove(out)
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		return 0, 0, err
	}
	nfi, err := os.Stat(out)
	if err != nil {
		return 0, 0, err
	}
	return fi.Size(), nfi.Size(), nil
}
