package store

import (
	"sync/atomic"

	"bytes"

	bolt "go.etcd.io/bbolt"
)

// boltEngine is the bbolt file: one process at a time, one writer at a
// time, readers on snapshots of the file's memory mapping.
type boltEngine struct {
	db *bolt.DB
	// reads counts the store's read transactions (not the file's own
	// housekeeping, such as releasing resident pages).
	reads *atomic.Int64
}

func (e boltEngine) view(fn func(kvTx) error) error {
	e.reads.Add(1)
	return e.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (e boltEngine) update(fn func(kvTx) error) error {
	return e.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (e boltEngine) batch(fn func(kvTx) error) error {
	return e.db.Batch(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (e boltEngine) readTxs() int     { return int(e.reads.Load()) }
func (e boltEngine) describe() string { return "bbolt file " + e.db.Path() }
func (e boltEngine) close() error     { return e.db.Close() }

// The wrappers are one pointer each, so an interface holds them without an
// allocation.
type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Bucket(name []byte) kvBucket {
	if b := t.tx.Bucket(name); b != nil {
		return boltBucket{b}
	}
	return nil
}

func (t boltTx) CreateBucketIfNotExists(name []byte) (kvBucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{b}, nil
}

func (t boltTx) CreateBucket(name []byte) (kvBucket, error) {
	b, err := t.tx.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{b}, nil
}

func (t boltTx) Writable() bool { return t.tx.Writable() }

func (t boltTx) Buckets() ([][]byte, error) {
	var names [][]byte
	err := t.tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, append([]byte(nil), name...))
		return nil
	})
	return names, err
}

type boltBucket struct{ b *bolt.Bucket }

func (b boltBucket) Get(key []byte) []byte                    { return b.b.Get(key) }
func (b boltBucket) Put(key, value []byte) error              { return b.b.Put(key, value) }
func (b boltBucket) Delete(key []byte) error                  { return b.b.Delete(key) }
func (b boltBucket) Cursor() kvCursor                         { return boltCursor{b.b.Cursor()} }
func (b boltBucket) NextSequence() (uint64, error)            { return b.b.NextSequence() }
func (b boltBucket) Sequence() uint64                         { return b.b.Sequence() }
func (b boltBucket) SetSequence(v uint64) error               { return b.b.SetSequence(v) }
func (b boltBucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }
func (b boltBucket) ScanPrefix(prefix []byte, fn func(k, v []byte) error) error {
	c := b.b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (b boltBucket) KeyN() int                { return b.b.Stats().KeyN }
func (b boltBucket) SetFillPercent(f float64) { b.b.FillPercent = f }

type boltCursor struct{ c *bolt.Cursor }

func (c boltCursor) First() ([]byte, []byte)        { return c.c.First() }
func (c boltCursor) Last() ([]byte, []byte)         { return c.c.Last() }
func (c boltCursor) Seek(k []byte) ([]byte, []byte) { return c.c.Seek(k) }
func (c boltCursor) Next() ([]byte, []byte)         { return c.c.Next() }
func (c boltCursor) Prev() ([]byte, []byte)         { return c.c.Prev() }
