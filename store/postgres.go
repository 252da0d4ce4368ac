package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The PostgreSQL engine keeps every bucket in one table of (bucket, key,
// value) rows, ordered by key as bytes, and the buckets with their
// sequences in a second; both live in the connection's current schema, so
// one database can hold several deployments, one schema each.
//
// Write transactions run one at a time across every replica: each takes a
// transaction-level advisory lock (keyed by the schema) before its first
// statement, so a write sees every write committed before it, as on bbolt.
// Reads run on REPEATABLE READ snapshots and never wait for a writer.
//
// A transaction's writes are kept in memory and sent, with whatever read
// needs the database next, in one pipelined round trip; the commit sends
// the rest with COMMIT. A transaction that only writes therefore costs one
// round trip, and one that reads what it just wrote costs none.

// pgTimeout bounds one transaction, waits for the write lock included: a
// database that stops answering fails the calls, it does not hang them.
const pgTimeout = 30 * time.Second

// engineMigrations create the engine's own tables, in order; the store's
// records then have their own migrations (store.go), which run through the
// engine as on bbolt. Append only.
var engineMigrations = []string{
	`CREATE TABLE paligo_buckets (
		name text COLLATE "C" PRIMARY KEY,
		seq bigint NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE paligo_kv (
		bucket text COLLATE "C" NOT NULL,
		key bytea NOT NULL,
		value bytea NOT NULL,
		PRIMARY KEY (bucket, key)
	)`,
	// Lanes' leases (lanes.go): which replica runs each lane, until when.
	`CREATE TABLE paligo_lanes (
		lane text COLLATE "C" PRIMARY KEY,
		owner text NOT NULL,
		expires timestamptz NOT NULL
	)`,
}

type pgEngine struct {
	pool    *pgxpool.Pool
	lockKey int64
	where   string // host:port/database (schema), no secret
	secret  string // the password, scrubbed from every error
	reads   atomic.Int64

	mu      sync.Mutex
	buckets map[string]bool // known to exist

	bmu      sync.Mutex
	bcalls   []*batchCall // batch calls waiting for the next group
	brunning bool
}

// IsPostgresURL reports whether dsn selects the PostgreSQL engine.
func IsPostgresURL(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok {
		return false
	}
	s := strings.ToLower(scheme)
	return s == "postgres" || s == "postgresql"
}

// OpenPostgres connects to the database at dsn (postgres://…), brings its
// schema up to date, once across replicas, and opens the store on it. No
// error it returns holds the password.
func OpenPostgres(dsn string, opts Options) (*Store, error) {
	replica := opts.replica()
	e, err := dialPostgres(dsn, replica)
	if err != nil {
		return nil, err
	}
	s, err := open(e)
	if err != nil {
		return nil, err
	}
	s.replica = replica
	return s, nil
}

func dialPostgres(dsn, replica string) (*pgEngine, error) {
	secret := ""
	if u, err := url.Parse(dsn); err == nil {
		secret, _ = u.User.Password()
		if p := u.Query().Get("password"); p != "" {
			secret = p
		}
	}
	e := &pgEngine{secret: secret, buckets: map[string]bool{}}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, e.scrub(fmt.Errorf("PALIGO_SLACK_DB: %w", err))
	}
	if cfg.ConnConfig.Password != "" {
		e.secret = cfg.ConnConfig.Password
	}
	cfg.MaxConns = 32
	cfg.ConnConfig.RuntimeParams["application_name"] = truncate(appPrefix+replica, 63)
	// Each statement is planned for its own values. A cached generic plan
	// knows neither the bucket nor how many keys: for a bucket = $1 AND
	// key = ANY($2) it may scan the whole table, which grows with every
	// event (measured: 2.3 ms a lookup after 20,000 events).
	// A replica that vanishes without closing its connections (its
	// machine lost) is noticed by the server within about 25 s, and the
	// locks it held are freed for the others.
	for k, v := range map[string]string{"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"} {
		if _, set := cfg.ConnConfig.RuntimeParams[k]; !set {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	e.where = fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, e.scrub(fmt.Errorf("connect to postgres %s: %w", e.where, err))
	}
	e.pool = pool
	// Two processes of one name would both hold every lane it holds. This
	// is the pool's first query, so its one connection is the only one of
	// this process.
	var twins int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1
		AND datname = current_database() AND pid <> pg_backend_pid()`, cfg.ConnConfig.RuntimeParams["application_name"]).Scan(&twins); err != nil {
		pool.Close()
		return nil, e.scrub(fmt.Errorf("postgres %s: %w", e.where, err))
	}
	if twins > 0 {
		pool.Close()
		return nil, fmt.Errorf("postgres %s: a replica named %q is already connected: give each replica its own PALIGO_SLACK_REPLICA", e.where, replica)
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, e.scrub(fmt.Errorf("connect to postgres %s: %w", e.where, err))
	}
	if schema != "public" {
		e.where += " (schema " + schema + ")"
	}
	h := fnv.New64a()
	h.Write([]byte("paligo-slack store " + schema))
	e.lockKey = int64(h.Sum64())
	if err := e.migrate(ctx); err != nil {
		pool.Close()
		return nil, e.scrub(fmt.Errorf("postgres %s: %w", e.where, err))
	}
	return e, nil
}

// migrate creates the engine's tables, once: under the write lock, the
// version in a table of its own.
func (e *pgEngine) migrate(ctx context.Context) error {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", e.lockKey); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS paligo_engine_version (version int NOT NULL)"); err != nil {
		return err
	}
	have := 0
	err = tx.QueryRow(ctx, "SELECT version FROM paligo_engine_version").Scan(&have)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := tx.Exec(ctx, "INSERT INTO paligo_engine_version VALUES (0)"); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if have > len(engineMigrations) {
		return fmt.Errorf("the database's tables are v%d but this binary only knows up to v%d: run a newer paligo-slack", have, len(engineMigrations))
	}
	for v := have; v < len(engineMigrations); v++ {
		if _, err := tx.Exec(ctx, engineMigrations[v]); err != nil {
			return fmt.Errorf("migrate tables v%d to v%d: %w", v, v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE paligo_engine_version SET version = $1", len(engineMigrations)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// scrub takes the password out of err's text.
func (e *pgEngine) scrub(err error) error {
	if err == nil || e.secret == "" {
		return err
	}
	msg := err.Error()
	clean := strings.ReplaceAll(msg, e.secret, "xxxxx")
	clean = strings.ReplaceAll(clean, url.QueryEscape(e.secret), "xxxxx")
	clean = strings.ReplaceAll(clean, url.PathEscape(e.secret), "xxxxx")
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func (e *pgEngine) describe() string { return "postgres " + e.where }
func (e *pgEngine) readTxs() int     { return int(e.reads.Load()) }

func (e *pgEngine) close() error {
	e.pool.Close()
	return nil
}

func (e *pgEngine) view(fn func(kvTx) error) error {
	e.reads.Add(1)
	return e.run(false, fn)
}

func (e *pgEngine) update(fn func(kvTx) error) error { return e.run(true, fn) }

// batch shares one transaction among the calls waiting, as bbolt's Batch
// does: delivery's receipts come many at a time, and writes run one at a
// time across replicas, so one commit each would bound every replica
// together to one commit's round trips. There is no timer: the calls that
// arrived while the last group committed form the next. A call whose fn
// fails is run again alone, for its own answer; the others go on without
// it.
func (e *pgEngine) batch(fn func(kvTx) error) error {
	c := &batchCall{fn: fn, done: make(chan error, 1)}
	e.bmu.Lock()
	e.bcalls = append(e.bcalls, c)
	if !e.brunning {
		e.brunning = true
		go e.runBatches()
	}
	e.bmu.Unlock()
	return <-c.done
}

type batchCall struct {
	fn   func(kvTx) error
	done chan error
}

func (e *pgEngine) runBatches() {
	for {
		e.bmu.Lock()
		group := e.bcalls
		e.bcalls = nil
		if len(group) == 0 {
			e.brunning = false
			e.bmu.Unlock()
			return
		}
		e.bmu.Unlock()
		for len(group) > 0 {
			failed := -1
			err := e.run(true, func(tx kvTx) error {
				for i, c := range group {
					if err := c.fn(tx); err != nil {
						failed = i
						return err
					}
				}
				return nil
			})
			if err == nil || failed < 0 || len(group) == 1 {
				for _, c := range group {
					c.done <- err
				}
				break
			}
			solo := group[failed]
			group = append(group[:failed:failed], group[failed+1:]...)
			solo.done <- e.run(true, solo.fn)
		}
	}
}

func (e *pgEngine) run(writable bool, fn func(kvTx) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	t := &pgTx{e: e, ctx: ctx, writable: writable}
	defer t.release()
	if err := fn(t); err != nil {
		if t.err != nil {
			// What fn saw may be wrong (a read failed): the engine's
			// failure is the cause.
			return e.scrub(t.err)
		}
		return err
	}
	if t.err != nil {
		return e.scrub(t.err)
	}
	return e.scrub(t.commit())
}

// pgTx is one transaction. It opens lazily: one that reads nothing and
// writes nothing costs nothing.
type pgTx struct {
	e        *pgEngine
	ctx      context.Context
	writable bool
	conn     *pgxpool.Conn
	begun    bool
	done     bool
	err      error // the first failure; every later call is a no-op

	// dirty holds the writes not yet sent: bucket -> key -> value, nil for
	// a deletion. known holds every value this transaction has read or
	// written, nil for none.
	dirty map[string]map[string][]byte
	// fresh marks the keys of dirty that the database does not hold (read
	// as absent under the write lock): they are inserted, not upserted.
	fresh map[string]map[string]bool
	known map[string]map[string][]byte
	seqs  map[string]*pgSeq
	// ranges holds, by bucket, every row under a prefix read ahead
	// (prefetch); a write under the prefix drops it.
	ranges  map[string][]pgRange
	pending int // writes in dirty
	created []string
	buckets map[string]*pgBucket
}

type pgSeq struct {
	v     uint64
	dirty bool
}

func (t *pgTx) fail(err error) {
	if t.err == nil && err != nil {
		t.err = err
	}
}

// send runs the pending writes and then the batch's own statements (q)
// in one round trip, beginning the transaction first if it has not begun.
// It returns the results of q, which the caller must close.
func (t *pgTx) send(q *pgx.Batch) pgx.BatchResults {
	if t.err != nil {
		return nil
	}
	if t.conn == nil {
		c, err := t.e.pool.Acquire(t.ctx)
		if err != nil {
			t.fail(err)
			return nil
		}
		t.conn = c
	}
	b := &pgx.Batch{}
	pre := 0
	if !t.begun {
		if t.writable {
			b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
			b.Queue("SELECT pg_advisory_xact_lock($1)", t.e.lockKey)
			pre += 2
		} else {
			b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
			pre++
		}
		t.begun = true
	}
	pre += t.queueWrites(b)
	if q != nil {
		b.QueuedQueries = append(b.QueuedQueries, q.QueuedQueries...)
	}
	br := t.conn.SendBatch(t.ctx, b)
	for i := 0; i < pre; i++ {
		if _, err := br.Exec(); err != nil {
			t.fail(err)
			br.Close()
			return nil
		}
	}
	return br
}

// pgGetMany reads the rows of bucket $1 at the keys $2, and pgDeleteMany
// deletes them, one index descent a key. key = ANY($2) would say the same,
// but the planner weighs descending the index once a key against reading
// the bucket's rows and filtering them, by its statistics of the table. The
// statistics lag a table that grows with every event: after 100,000
// events, estimated at a few hundred rows a bucket, an ingest group's 800
// ids were looked up by reading every id and comparing it with each of the
// 800 (13 ms a lookup, most of the server's time). LIMIT 1 keeps the
// subquery from being flattened into a join, whose plan the same
// statistics would choose.
const (
	pgGetMany = `SELECT kv.key, kv.value FROM unnest($2::bytea[]) AS w(k)
		CROSS JOIN LATERAL (SELECT key, value FROM paligo_kv WHERE bucket = $1 AND key = w.k LIMIT 1) kv`
	pgDeleteMany = `DELETE FROM paligo_kv WHERE ctid = ANY(ARRAY(SELECT kv.ctid FROM unnest($2::bytea[]) AS w(k)
		CROSS JOIN LATERAL (SELECT ctid FROM paligo_kv WHERE bucket = $1 AND key = w.k LIMIT 1) kv))`
)

// queueWrites moves the pending writes into b, one statement a bucket for
// the values and one for the deletions, and returns how many it queued.
func (t *pgTx) queueWrites(b *pgx.Batch) int {
	n := 0
	for _, name := range t.created {
		b.Queue("INSERT INTO paligo_buckets (name) VALUES ($1)", name)
		n++
	}
	t.created = nil
	names := make([]string, 0, len(t.dirty))
	for name := range t.dirty {
		names = append(names, name)
	}
	sort.Strings(names) // the same order each time: plans and locks alike
	for _, name := range names {
		var keys, vals, gone, newKeys, newVals [][]byte
		fresh := t.fresh[name]
		for k, v := range t.dirty[name] {
			switch {
			case v == nil:
				gone = append(gone, []byte(k))
			case fresh[k]:
				newKeys, newVals = append(newKeys, []byte(k)), append(newVals, v)
			default:
				keys, vals = append(keys, []byte(k)), append(vals, v)
			}
		}
		if len(gone) > 0 {
			b.Queue(pgDeleteMany, name, gone)
			n++
		}
		if len(newKeys) > 0 {
			b.Queue(`INSERT INTO paligo_kv (bucket, key, value)
				SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS w(k, v)`, name, newKeys, newVals)
			n++
		}
		if len(keys) > 0 {
			b.Queue(`INSERT INTO paligo_kv (bucket, key, value)
				SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS w(k, v)
				ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value`, name, keys, vals)
			n++
		}
	}
	t.dirty, t.fresh, t.pending = nil, nil, 0
	return n
}

func (t *pgTx) commit() error {
	if !t.writable {
		return nil
	}
	b := &pgx.Batch{}
	for name, s := range t.seqs {
		if s.dirty {
			b.Queue("UPDATE paligo_buckets SET seq = $2 WHERE name = $1", name, int64(s.v))
		}
	}
	if len(b.QueuedQueries) == 0 && len(t.dirty) == 0 && len(t.created) == 0 {
		if !t.begun {
			return nil // nothing read, nothing written
		}
	}
	b.Queue("COMMIT")
	br := t.send(b)
	if br == nil {
		return t.err
	}
	for range b.QueuedQueries {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	t.done = true
	t.created = nil
	for _, name := range t.createdNames() {
		t.e.mu.Lock()
		t.e.buckets[name] = true
		t.e.mu.Unlock()
	}
	return nil
}

func (t *pgTx) createdNames() []string {
	var names []string
	for name, b := range t.buckets {
		if b.created {
			names = append(names, name)
		}
	}
	return names
}

// release ends the transaction if it is still open (a rollback) and gives
// the connection back; one that failed mid-statement is closed instead.
func (t *pgTx) release() {
	if t.conn == nil {
		return
	}
	if t.begun && !t.done {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := t.conn.Exec(ctx, "ROLLBACK")
		cancel()
		if err != nil {
			t.conn.Conn().Close(context.Background())
		}
	}
	t.conn.Release()
	t.conn = nil
}

func (t *pgTx) Writable() bool { return t.writable }

func (t *pgTx) Buckets() ([][]byte, error) {
	q := &pgx.Batch{}
	q.Queue("SELECT name FROM paligo_buckets ORDER BY convert_to(name, 'UTF8')")
	br := t.send(q)
	if br == nil {
		return nil, t.err
	}
	rows, err := br.Query()
	var names [][]byte
	if err == nil {
		for rows.Next() {
			var n string
			if err = rows.Scan(&n); err != nil {
				break
			}
			names = append(names, []byte(n))
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	br.Close()
	t.fail(err)
	if t.err != nil {
		return nil, t.err
	}
	// Buckets this transaction created and has not sent yet.
	for _, n := range t.created {
		names = append(names, []byte(n))
	}
	sort.Slice(names, func(i, j int) bool { return string(names[i]) < string(names[j]) })
	return names, nil
}

func (t *pgTx) Bucket(name []byte) kvBucket {
	if b := t.buckets[string(name)]; b != nil {
		return b
	}
	t.e.mu.Lock()
	exists := t.e.buckets[string(name)]
	t.e.mu.Unlock()
	if !exists {
		var n int
		if t.queryRow("SELECT count(*) FROM paligo_buckets WHERE name = $1", []any{string(name)}, &n) != nil || n == 0 {
			return nil
		}
		t.e.mu.Lock()
		t.e.buckets[string(name)] = true
		t.e.mu.Unlock()
	}
	return t.bucket(string(name), false)
}

func (t *pgTx) bucket(name string, created bool) *pgBucket {
	if t.buckets == nil {
		t.buckets = map[string]*pgBucket{}
	}
	b := &pgBucket{t: t, name: name, created: created}
	t.buckets[name] = b
	return b
}

func (t *pgTx) CreateBucketIfNotExists(name []byte) (kvBucket, error) {
	if b := t.Bucket(name); b != nil {
		return b, nil
	}
	return t.CreateBucket(name)
}

func (t *pgTx) CreateBucket(name []byte) (kvBucket, error) {
	if !t.writable {
		return nil, errReadOnly
	}
	if t.Bucket(name) != nil {
		return nil, fmt.Errorf("bucket %s already exists", name)
	}
	if t.err != nil {
		return nil, t.err
	}
	t.created = append(t.created, string(name))
	return t.bucket(string(name), true), nil
}

var errReadOnly = errors.New("write in a read transaction")

type pgBucket struct {
	t       *pgTx
	name    string
	created bool
}

func (b *pgBucket) knownValue(key []byte) (v []byte, ok bool) {
	m := b.t.known[b.name]
	if m == nil {
		return nil, false
	}
	v, ok = m[string(key)]
	return v, ok
}

func (b *pgBucket) remember(key, v []byte) {
	if b.t.known == nil {
		b.t.known = map[string]map[string][]byte{}
	}
	m := b.t.known[b.name]
	if m == nil {
		m = map[string][]byte{}
		b.t.known[b.name] = m
	}
	m[string(key)] = v
}

func (b *pgBucket) Get(key []byte) []byte {
	if v, ok := b.knownValue(key); ok {
		return v
	}
	v := []byte{}
	err := b.t.queryRow("SELECT value FROM paligo_kv WHERE bucket = $1 AND key = $2", []any{b.name, key}, &v)
	if errors.Is(err, pgx.ErrNoRows) {
		b.remember(key, nil)
		return nil
	}
	if err != nil {
		return nil
	}
	if v == nil {
		v = []byte{} // the key is there, with an empty value
	}
	b.remember(key, v)
	return v
}

func (b *pgBucket) write(key, value []byte) error {
	t := b.t
	if !t.writable {
		return errReadOnly
	}
	if t.err != nil {
		return t.err
	}
	if t.dirty == nil {
		t.dirty = map[string]map[string][]byte{}
	}
	m := t.dirty[b.name]
	if m == nil {
		m = map[string][]byte{}
		t.dirty[b.name] = m
	}
	if _, pending := m[string(key)]; !pending && value != nil {
		if prior, known := b.knownValue(key); known && prior == nil {
			if t.fresh == nil {
				t.fresh = map[string]map[string]bool{}
			}
			if t.fresh[b.name] == nil {
				t.fresh[b.name] = map[string]bool{}
			}
			t.fresh[b.name][string(key)] = true
		}
	} else if value == nil && t.fresh[b.name] != nil {
		delete(t.fresh[b.name], string(key))
	}
	m[string(key)] = value
	b.remember(key, value)
	if rs := t.ranges[b.name]; len(rs) > 0 {
		t.ranges[b.name] = slices.DeleteFunc(rs, func(r pgRange) bool { return bytes.HasPrefix(key, r.prefix) })
	}
	t.pending++
	if t.pending >= flushEvery {
		// A big transaction (a migration, a copy) sends its writes as it
		// goes rather than holding them all.
		if br := t.send(nil); br != nil {
			t.fail(br.Close())
		}
		t.known = nil
	}
	return t.err
}

// flushEvery is how many writes a transaction holds before it sends them.
const flushEvery = 5000

func (b *pgBucket) Put(key, value []byte) error {
	if len(key) == 0 {
		return errors.New("key required")
	}
	v := make([]byte, len(value)) // never nil: a key with an empty value exists
	copy(v, value)
	return b.write(key, v)
}

func (b *pgBucket) Delete(key []byte) error { return b.write(key, nil) }

func (b *pgBucket) NextSequence() (uint64, error) {
	t := b.t
	if !t.writable {
		return 0, errReadOnly
	}
	s := b.seq()
	if s == nil {
		return 0, t.err
	}
	s.v++
	s.dirty = true
	return s.v, nil
}

func (b *pgBucket) Sequence() uint64 {
	if s := b.seq(); s != nil {
		return s.v
	}
	return 0
}

func (b *pgBucket) SetSequence(v uint64) error {
	if !b.t.writable {
		return errReadOnly
	}
	s := b.seq()
	if s == nil {
		return b.t.err
	}
	s.v, s.dirty = v, true
	return nil
}

// seq is the bucket's sequence in this transaction, read once (nil when
// the read failed).
func (b *pgBucket) seq() *pgSeq {
	t := b.t
	s := t.seqs[b.name]
	if s == nil {
		s = &pgSeq{}
		if !b.created {
			var v int64
			if err := t.queryRow("SELECT seq FROM paligo_buckets WHERE name = $1", []any{b.name}, &v); err != nil {
				t.fail(err) // no row is a failure here: the bucket exists
				return nil
			}
			s.v = uint64(v)
		}
		if t.seqs == nil {
			t.seqs = map[string]*pgSeq{}
		}
		t.seqs[b.name] = s
	}
	return s
}

func (b *pgBucket) KeyN() int {
	var n int
	b.t.queryRow("SELECT count(*) FROM paligo_kv WHERE bucket = $1", []any{b.name}, &n)
	return n
}

func (b *pgBucket) SetFillPercent(float64) {}

// pgRange is every row under a prefix, in key order.
type pgRange struct {
	prefix []byte
	rows   []pgRow
}

// prefixEnd is the least key greater than every key that starts with
// prefix, nil when there is none (a prefix of 0xff bytes only).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func (b *pgBucket) ScanPrefix(prefix []byte, fn func(k, v []byte) error) error {
	t := b.t
	for _, r := range t.ranges[b.name] {
		if bytes.Equal(r.prefix, prefix) {
			for _, row := range r.rows {
				if err := fn(row.k, row.v); err != nil {
					return err
				}
			}
			return t.err
		}
	}
	end := prefixEnd(prefix)
	if end == nil {
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return t.err
	}
	found, err := t.queryRows("SELECT key, value FROM paligo_kv WHERE bucket = $1 AND key >= $2 AND key < $3 ORDER BY key", b.name, prefix, end)
	if err != nil {
		return err
	}
	for _, row := range found {
		if err := fn(row.k, row.v); err != nil {
			return err
		}
	}
	return nil
}

// queryRow runs one statement of one row after the pending writes and
// scans it into dst. A failure other than no row fails the transaction.
func (t *pgTx) queryRow(sql string, args []any, dst ...any) error {
	q := &pgx.Batch{}
	q.Queue(sql, args...)
	br := t.send(q)
	if br == nil {
		return t.err
	}
	err := br.QueryRow().Scan(dst...)
	br.Close()
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.fail(err)
	}
	return err
}

// queryRows runs one statement of (key, value) rows after the pending
// writes. A failure fails the transaction.
func (t *pgTx) queryRows(sql string, args ...any) ([]pgRow, error) {
	q := &pgx.Batch{}
	q.Queue(sql, args...)
	br := t.send(q)
	if br == nil {
		return nil, t.err
	}
	rows, err := br.Query()
	var found []pgRow
	if err == nil {
		found, err = scanRows(rows)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.fail(err)
		return nil, err
	}
	return found, nil
}

// scanRows reads (key, value) rows, closing them.
func scanRows(rows pgx.Rows) ([]pgRow, error) {
	defer rows.Close()
	var out []pgRow
	for rows.Next() {
		var r pgRow
		if err := rows.Scan(&r.k, &r.v); err != nil {
			return nil, err
		}
		if r.v == nil {
			r.v = []byte{}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// prefetch reads, in one round trip, the keys, prefixes and sequences
// reqs name that this transaction has not read yet.
func (t *pgTx) prefetch(reqs []prefetchReq) {
	if t.err != nil {
		return
	}
	type want struct {
		name  string
		kind  int // 0 keys, 1 prefixes, 2 sequence
		ends  map[string][]byte
		asked [][]byte
	}
	var wants []want
	q := &pgx.Batch{}
	for _, r := range reqs {
		name := string(r.bucket)
		kb := t.Bucket(r.bucket)
		if kb == nil {
			continue
		}
		b := kb.(*pgBucket)
		var keys [][]byte
		seen, seenPrefix := map[string]bool{}, map[string]bool{}
		for _, k := range r.keys {
			if _, ok := b.knownValue(k); !ok && !seen[string(k)] {
				seen[string(k)] = true
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			q.Queue(pgGetMany, name, keys)
			wants = append(wants, want{name: name, kind: 0, asked: keys})
		}
		var los, his [][]byte
		for _, p := range r.prefixes {
			end := prefixEnd(p)
			if end == nil || seenPrefix[string(p)] || slices.ContainsFunc(t.ranges[name], func(x pgRange) bool { return bytes.Equal(x.prefix, p) }) {
				continue
			}
			seenPrefix[string(p)] = true
			los, his = append(los, p), append(his, end)
		}
		if len(los) > 0 {
			// LATERAL, so that the plan pgx caches reads the index for each
			// range: a plain join's generic plan scans the whole table.
			q.Queue(`SELECT r.lo, kv.key, kv.value FROM unnest($2::bytea[], $3::bytea[]) AS r(lo, hi)
				CROSS JOIN LATERAL (SELECT key, value FROM paligo_kv
					WHERE bucket = $1 AND key >= r.lo AND key < r.hi ORDER BY key) kv`, name, los, his)
			wants = append(wants, want{name: name, kind: 1, asked: los})
		}
		if r.seq && t.writable && t.seqs[name] == nil && !b.created {
			q.Queue("SELECT seq FROM paligo_buckets WHERE name = $1", name)
			wants = append(wants, want{name: name, kind: 2})
		}
	}
	if len(wants) == 0 {
		return
	}
	br := t.send(q)
	if br == nil {
		return
	}
	defer func() { t.fail(br.Close()) }()
	for _, w := range wants {
		b := t.buckets[w.name]
		switch w.kind {
		case 0:
			rows, err := br.Query()
			if err != nil {
				t.fail(err)
				return
			}
			found, err := scanRows(rows)
			if err != nil {
				t.fail(err)
				return
			}
			for _, k := range w.asked {
				b.remember(k, nil)
			}
			for _, r := range found {
				b.remember(r.k, r.v)
			}
		case 1:
			rows, err := br.Query()
			if err != nil {
				t.fail(err)
				return
			}
			byPrefix := map[string][]pgRow{}
			for rows.Next() {
				var lo []byte
				var r pgRow
				if err := rows.Scan(&lo, &r.k, &r.v); err != nil {
					rows.Close()
					t.fail(err)
					return
				}
				if r.v == nil {
					r.v = []byte{}
				}
				byPrefix[string(lo)] = append(byPrefix[string(lo)], r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.fail(err)
				return
			}
			if t.ranges == nil {
				t.ranges = map[string][]pgRange{}
			}
			for _, p := range w.asked {
				t.ranges[w.name] = append(t.ranges[w.name], pgRange{prefix: p, rows: byPrefix[string(p)]})
			}
		case 2:
			var v int64
			if err := br.QueryRow().Scan(&v); err != nil {
				t.fail(err)
				return
			}
			if t.seqs == nil {
				t.seqs = map[string]*pgSeq{}
			}
			t.seqs[w.name] = &pgSeq{v: uint64(v)}
		}
	}
}

func (b *pgBucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.t.err
}

func (b *pgBucket) Cursor() kvCursor { return &pgCursor{b: b} }

// pgCursor reads a bucket a page at a time, in the direction it moves; the
// pages grow, so that a short walk reads little and a long one takes few
// round trips.
type pgCursor struct {
	b    *pgBucket
	rows []pgRow
	i    int
	back bool // rows are in descending order
	more bool // the database may hold rows past the page
	page int
}

type pgRow struct{ k, v []byte }

const (
	firstPage = 8
	maxPage   = 1024
)

// fetch reads a page: from (after, when exclusive) from, forward, or
// backward when back; from nil is either end.
func (c *pgCursor) fetch(from []byte, exclusive, back bool) {
	if c.page == 0 {
		c.page = firstPage
	} else if c.page < maxPage {
		c.page *= 2
	}
	var sql string
	args := []any{c.b.name, c.page}
	switch {
	case from == nil && !back:
		sql = "SELECT key, value FROM paligo_kv WHERE bucket = $1 ORDER BY key LIMIT $2"
	case from == nil && back:
		sql = "SELECT key, value FROM paligo_kv WHERE bucket = $1 ORDER BY key DESC LIMIT $2"
	case !back && exclusive:
		sql = "SELECT key, value FROM paligo_kv WHERE bucket = $1 AND key > $3 ORDER BY key LIMIT $2"
	case !back:
		sql = "SELECT key, value FROM paligo_kv WHERE bucket = $1 AND key >= $3 ORDER BY key LIMIT $2"
	default:
		sql = "SELECT key, value FROM paligo_kv WHERE bucket = $1 AND key < $3 ORDER BY key DESC LIMIT $2"
	}
	if from != nil {
		args = append(args, from)
	}
	c.i, c.back = 0, back
	rows, err := c.b.t.queryRows(sql, args...)
	c.rows, c.more = rows, err == nil && len(rows) == c.page
}

// at returns the row the cursor is on, skipping rows this transaction has
// deleted since the page was read (moving on in the page's direction) and
// showing the values it has written since.
func (c *pgCursor) at() ([]byte, []byte) {
	for {
		if c.i >= len(c.rows) {
			if !c.more || len(c.rows) == 0 {
				c.rows = c.rows[:0]
				return nil, nil
			}
			last := c.rows[len(c.rows)-1].k
			c.fetch(last, true, c.back)
			continue
		}
		r := c.rows[c.i]
		if v, ok := c.b.knownValue(r.k); ok {
			if v == nil {
				c.i++
				continue
			}
			return r.k, v
		}
		return r.k, r.v
	}
}

func (c *pgCursor) First() ([]byte, []byte) {
	c.page = 0
	c.fetch(nil, false, false)
	return c.at()
}

func (c *pgCursor) Last() ([]byte, []byte) {
	c.page = 0
	c.fetch(nil, false, true)
	return c.at()
}

func (c *pgCursor) Seek(seek []byte) ([]byte, []byte) {
	c.page = 0
	c.fetch(seek, false, false)
	return c.at()
}

func (c *pgCursor) Next() ([]byte, []byte) {
	if c.i >= len(c.rows) {
		return nil, nil
	}
	if c.back {
		cur := c.rows[c.i].k
		c.page = 0
		c.fetch(cur, true, false)
		return c.at()
	}
	c.i++
	return c.at()
}

func (c *pgCursor) Prev() ([]byte, []byte) {
	if c.i >= len(c.rows) {
		return nil, nil
	}
	if !c.back {
		cur := c.rows[c.i].k
		c.page = 0
		c.fetch(cur, true, true)
		return c.at()
	}
	c.i++
	return c.at()
}
