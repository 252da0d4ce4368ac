package store

import "strings"

// For the tests of package store_test.
const (
	PgGetMany    = pgGetMany
	PgDeleteMany = pgDeleteMany
)

// PgKVStatements are the engine's statements that find rows of the
// key–value table, by name.
var PgKVStatements = map[string]string{
	"get": pgGet, "count": pgCount, "get many": pgGetMany, "delete many": pgDeleteMany,
	"get ranges": pgGetRanges, "get range": pgGetRange,
	"first page": pgPageFirst, "last page": pgPageLast,
	"page after": pgPageAfter, "page from": pgPageFrom, "page before": pgPageBefore,
}

// PgPlanMode is the plan_cache_mode a transaction of s runs under (s on
// PostgreSQL).
func PgPlanMode(s *Store, writable bool) (string, error) {
	var got string
	err := s.db.(*pgEngine).run(writable, func(tx kvTx) error {
		return tx.(*pgTx).queryRow("SELECT current_setting('plan_cache_mode')", nil, &got)
	})
	return got, err
}

// PgPastTheLastKey writes past a bucket's last key on s (on PostgreSQL),
// where the engine inserts rather than upserts, and again once those
// writes were sent, and returns what the bucket then holds at keys 2, 10
// and 11, comma-separated.
func PgPastTheLastKey(s *Store) (string, error) {
	name := []byte("t_last")
	err := s.db.update(func(tx kvTx) error {
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		for i := range uint64(3) {
			if err := b.Put(u64(i+1), []byte("a")); err != nil {
				return err
			}
		}
		return b.SetSequence(1) // behind the keys
	})
	if err != nil {
		return "", err
	}
	err = s.db.update(func(tx kvTx) error {
		prefetch(tx, prefetchReq{bucket: name, seq: true})
		b := tx.Bucket(name)
		n, err := b.NextSequence() // 2: a key the bucket holds
		if err != nil {
			return err
		}
		for _, w := range []struct {
			k uint64
			v string
		}{{n, "b"}, {10, "c"}} {
			if err := b.Put(u64(w.k), []byte(w.v)); err != nil {
				return err
			}
		}
		b.Get(u64(99)) // sends the writes before it
		if err := b.Put(u64(10), []byte("d")); err != nil {
			return err
		}
		return b.Put(u64(11), []byte("e"))
	})
	if err != nil {
		return "", err
	}
	var out []string
	err = s.db.view(func(tx kvTx) error {
		for _, k := range []uint64{2, 10, 11} {
			out = append(out, string(tx.Bucket(name).Get(u64(k))))
		}
		return nil
	})
	return strings.Join(out, ","), err
}
