package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/paligo/paligo-slack/paligo"
	bolt "go.etcd.io/bbolt"
)

// AcceptResult counts what AcceptEvents did.
type AcceptResult struct {
	Accepted   int
	Duplicates int
}

// AcceptEvents stores the events that are new (by ID) in one transaction,
// which bbolt fsyncs before it returns: an accepted event survives a crash
// right after. An ID seen before, in an earlier call or earlier in the same
// slice, counts as a duplicate and is not stored again. Concurrent callers
// are coalesced into fewer fsyncs with bbolt's Batch.
func (s *Store) AcceptEvents(events []paligo.Event) (AcceptResult, error) {
	var res AcceptResult
	now := s.Now().UTC()
	err := s.batch(func(tx *bolt.Tx) error {
		// Batch may run this function again; start from zero each time.
		res = AcceptResult{}
		ids, evs := tx.Bucket(bucketEventIDs), tx.Bucket(bucketEvents)
		for _, e := range events {
			if ids.Get([]byte(e.ID)) != nil {
				res.Duplicates++
				continue
			}
			seq, err := evs.NextSequence()
			if err != nil {
				return err
			}
			e.Seq, e.ReceivedAt = seq, now
			if e.OccurredAt.IsZero() {
				e.OccurredAt = now
			}
			v, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			if err := evs.Put(u64(seq), v); err != nil {
				return err
			}
			if err := ids.Put([]byte(e.ID), u64(seq)); err != nil {
				return err
			}
			if e.Type == "invite.accepted" {
				if err := acceptInvite(tx, e); err != nil {
					return err
				}
			}
			res.Accepted++
		}
		return nil
	})
	if err != nil {
		return AcceptResult{}, fmt.Errorf("store events: %w", err)
	}
	return res, nil
}

// Event returns the accepted event with the given ID.
func (s *Store) Event(id string) (paligo.Event, bool, error) {
	var e paligo.Event
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		seq := tx.Bucket(bucketEventIDs).Get([]byte(id))
		if seq == nil {
			return nil
		}
		v := tx.Bucket(bucketEvents).Get(seq)
		if v == nil {
			return fmt.Errorf("event %s indexed at %d but missing", id, binary.BigEndian.Uint64(seq))
		}
		found = true
		return json.Unmarshal(v, &e)
	})
	return e, found, err
}

// EventCount returns how many events were ever accepted.
func (s *Store) EventCount() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	return n, err
}
