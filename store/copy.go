package store

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrNotEmpty refuses a copy into a database that holds records.
var ErrNotEmpty = errors.New("the target database already holds records")

// CopyResult is what a copy moved.
type CopyResult struct {
	Buckets int
	Records int
}

// CopyTo copies every record of s, every bucket's sequence with it, into
// dst, of either engine, in one transaction on each side: the copy is of
// one moment of s, and dst ends with all of it or none. dst must be empty
// (a freshly created database) unless overwrite, which first removes
// everything dst holds. Both stores must be of this binary's schema, as
// Open leaves them; no bot may be running on either.
func (s *Store) CopyTo(dst *Store, overwrite bool) (CopyResult, error) {
	var res CopyResult
	err := s.db.view(func(src kvTx) error {
		return dst.update(func(out kvTx) error {
			res = CopyResult{}
			if !overwrite {
				if what, err := holds(out); err != nil {
					return err
				} else if what != "" {
					return fmt.Errorf("%w (%s)", ErrNotEmpty, what)
				}
			} else if err := clear(out); err != nil {
				return err
			}
			names, err := src.Buckets()
			if err != nil {
				return err
			}
			for _, name := range names {
				from := src.Bucket(name)
				to, err := out.CreateBucketIfNotExists(name)
				if err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
				if bytes.Equal(name, bucketEvents) {
					to.SetFillPercent(1.0)
				}
				c := from.Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					if err := to.Put(k, v); err != nil {
						return fmt.Errorf("bucket %s: %w", name, err)
					}
					res.Records++
				}
				if err := to.SetSequence(from.Sequence()); err != nil {
					return err
				}
				res.Buckets++
			}
			return nil
		})
	})
	if err != nil {
		return CopyResult{}, err
	}
	return res, nil
}

// holds says what records tx's database holds, "" for none: a database
// Open has just created holds its schema version alone.
func holds(tx kvTx) (string, error) {
	names, err := tx.Buckets()
	if err != nil {
		return "", err
	}
	for _, name := range names {
		c := tx.Bucket(name).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if bytes.Equal(name, bucketMeta) && bytes.Equal(k, keySchemaVersion) {
				continue
			}
			return fmt.Sprintf("bucket %s has records", name), nil
		}
	}
	return "", nil
}

// clear removes every record of tx's database.
func clear(tx kvTx) error {
	names, err := tx.Buckets()
	if err != nil {
		return err
	}
	for _, name := range names {
		b := tx.Bucket(name)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		if err := b.SetSequence(0); err != nil {
			return err
		}
	}
	return nil
}

// Dump is every record of s by bucket, with each bucket's sequence under
// the key "\xff sequence" (tests compare two databases with it).
func (s *Store) Dump() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := s.db.view(func(tx kvTx) error {
		names, err := tx.Buckets()
		if err != nil {
			return err
		}
		for _, name := range names {
			b := tx.Bucket(name)
			m := map[string]string{"\xff sequence": fmt.Sprint(b.Sequence())}
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				m[string(k)] = string(v)
			}
			out[string(name)] = m
		}
		return nil
	})
	return out, err
}
