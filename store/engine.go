package store

// The store keeps its records in buckets of ordered keys, as bbolt does, on
// one of two engines: the bbolt file (bolt.go), the default, or PostgreSQL
// (postgres.go), for several replicas sharing one state. Every rule about
// records (the idempotency index, fan-out, living messages, digests,
// retention) is written once, against the interfaces below, so the two
// engines cannot disagree about what a record means: only about where it is
// kept.
//
// The contract both engines keep:
//   - Write transactions run one at a time, across every process sharing
//     the database, and see every write committed before them.
//   - A read transaction sees one snapshot, as of its first read.
//   - A bucket's keys iterate in bytewise order.
//   - A value returned by Get or a cursor is valid until the transaction
//     ends.
//   - A failure of the engine itself (a lost connection, a full disk) fails
//     the whole transaction: nothing of a write transaction is kept.

// engine is the database under a Store.
type engine interface {
	// view runs fn in a read transaction.
	view(fn func(kvTx) error) error
	// update runs fn in a write transaction, committed when fn returns nil.
	update(fn func(kvTx) error) error
	// batch is update for a caller that others may share a commit with; fn
	// may run more than once, so it must be idempotent.
	batch(fn func(kvTx) error) error
	// readTxs counts the read transactions opened so far.
	readTxs() int
	// describe names the engine and where it keeps its data, with no
	// secret in it (for logs, errors and /healthz).
	describe() string
	close() error
}

// kvTx is a transaction.
type kvTx interface {
	// Bucket is the bucket called name, or nil when there is none.
	Bucket(name []byte) kvBucket
	CreateBucketIfNotExists(name []byte) (kvBucket, error)
	// CreateBucket fails when the bucket exists.
	CreateBucket(name []byte) (kvBucket, error)
	// Buckets names every bucket, in bytewise order.
	Buckets() ([][]byte, error)
	Writable() bool
}

// kvBucket is one bucket of ordered keys.
type kvBucket interface {
	// Get is key's value, or nil when there is none.
	Get(key []byte) []byte
	Put(key, value []byte) error
	Delete(key []byte) error
	Cursor() kvCursor
	// NextSequence is the bucket's next number, from 1.
	NextSequence() (uint64, error)
	// Sequence is the bucket's latest number; SetSequence sets it.
	Sequence() uint64
	SetSequence(v uint64) error
	ForEach(fn func(k, v []byte) error) error
	// ScanPrefix calls fn for each key that starts with prefix, in order.
	ScanPrefix(prefix []byte, fn func(k, v []byte) error) error
	// KeyN counts the keys.
	KeyN() int
	// SetFillPercent tells an engine that keeps pages how full to fill
	// them: 1.0 for keys written in order.
	SetFillPercent(float64)
}

// kvCursor walks a bucket's keys in order. Each move returns the key and
// value it lands on, or a nil key past either end.
type kvCursor interface {
	First() (key, value []byte)
	Last() (key, value []byte)
	Seek(seek []byte) (key, value []byte)
	Next() (key, value []byte)
	Prev() (key, value []byte)
}

// prefetchReq asks for what a transaction is about to read of a bucket:
// keys, the keys under prefixes (ScanPrefix), its sequence.
type prefetchReq struct {
	bucket   []byte
	keys     [][]byte
	prefixes [][]byte
	seq      bool
}

// prefetcher is an engine's transaction that can read ahead: PostgreSQL
// reads all of it in one round trip, where reading each key as it comes
// would take one each. bbolt reads its memory mapping and has no need.
type prefetcher interface {
	prefetch(reqs []prefetchReq)
}

// prefetch reads ahead what tx is about to read, where the engine gains
// by it; what it reads is then answered from memory.
func prefetch(tx kvTx, reqs ...prefetchReq) {
	if p, ok := tx.(prefetcher); ok {
		p.prefetch(reqs)
	}
}
