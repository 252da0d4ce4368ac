package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/paligo/paligo-slack/paligo"
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
// share commits (committer.go): each commit takes every call waiting when
// the one before it ends.
func (s eventRecords) AcceptEvents(events []paligo.Event) (AcceptResult, error) {
	res, _, err := s.accepts.accept(events, nil)
	return res, err
}

// AcceptAndFanOut is AcceptEvents that also fans the new events out in the
// same transaction, as FanOutWith would later, when fan is given and
// every event accepted before them has been fanned out (otherwise the
// fan-out loop takes them in order): one commit, and no reading back, for
// what would otherwise take two.
func (s eventRecords) AcceptAndFanOut(events []paligo.Event, fan *FanOutSpec) (AcceptResult, FanOutResult, error) {
	return s.accepts.accept(events, fan)
}

// preMatch matches events against the cached subscriptions outside the
// writer (nil when the cache is empty: the transaction matches them), less
// the ones known stored (known, when it was read), which will be
// duplicates.
func (s eventRecords) preMatch(events []paligo.Event, fan *FanOutSpec, known []bool, now time.Time) *preMatched {
	rules, gen, ok := s.subsCache.snapshot()
	if !ok {
		return nil
	}
	p := &preMatched{gen: gen, channels: make([][]string, len(events)), matched: make([]bool, len(events))}
	for i := range events {
		if known != nil && known[i] {
			continue
		}
		s.eventsMatched.Add(1)
		p.channels[i] = rules.reached(&events[i], fan.scopeOf(&events[i]), nil, now)
		p.matched[i] = true
	}
	return p
}

// knownEvents says which of a call's events are stored already.
type knownEvents struct {
	ids []bool // by index
	all bool   // every one
}

// knownIDs reads which events' ids are stored already, in one read (one
// round trip on PostgreSQL).
func (s eventRecords) knownIDs(events []paligo.Event) (knownEvents, error) {
	k := knownEvents{ids: make([]bool, len(events)), all: len(events) > 0}
	err := s.db.view(func(tx kvTx) error {
		keys := make([][]byte, len(events))
		for i := range events {
			keys[i] = []byte(events[i].ID)
		}
		prefetch(tx, prefetchReq{bucket: bucketEventIDs, keys: keys})
		ids := tx.Bucket(bucketEventIDs)
		if ids == nil {
			k.all = false
			return nil
		}
		for i, key := range keys {
			k.ids[i] = ids.Get(key) != nil
			k.all = k.all && k.ids[i]
		}
		return nil
	})
	return k, err
}

// encodeEvents returns events stamped as received at now (the caller's
// slice is left as it was) and encoded, outside the one writer: the commit
// only numbers and stores them.
func encodeEvents(events []paligo.Event, now time.Time) ([]paligo.Event, [][]byte, error) {
	events = slices.Clone(events)
	out := make([][]byte, len(events))
	for i := range events {
		e := &events[i]
		e.Seq, e.ReceivedAt = 0, now
		if e.OccurredAt.IsZero() {
			e.OccurredAt = now
		}
		v, err := appendEvent(nil, e)
		if err != nil {
			return nil, nil, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		out[i] = v
	}
	return events, out, nil
}

// acceptTx stores events (encoded: encodeEvents) in tx and fans them out
// with fan if given; now stamps what the fan-out writes.
// pre, if the rules it was matched under are still the latest, holds each
// event's subscribed channels.
func (s eventRecords) acceptTx(tx kvTx, events []paligo.Event, encoded [][]byte, fan *FanOutSpec, pre *preMatched, now time.Time) (AcceptResult, FanOutResult, error) {
	var res AcceptResult
	var fr FanOutResult
	ids, evs := tx.Bucket(bucketEventIDs), tx.Bucket(bucketEvents)
	// Events are appended in sequence: their pages are filled whole, not
	// split at bbolt's default half, which doubled the file. Ids arrive in
	// any order: their pages are split at 90%, so a page takes a few more
	// before it splits again.
	evs.SetFillPercent(1.0)
	ids.SetFillPercent(0.9)
	var rules fanOutRules
	var cursor uint64
	if fan != nil {
		var err error
		if rules, err = s.rulesOf(tx); err != nil {
			return AcceptResult{}, FanOutResult{}, err
		}
		if v := tx.Bucket(bucketMeta).Get(keyFanoutCursor); v != nil {
			cursor = binary.BigEndian.Uint64(v)
		}
		if pre != nil && !s.subsCache.current(pre.gen) {
			pre = nil // the subscriptions changed since: match here
		}
	}
	for i := range events {
		e := &events[i] // the caller's copy (encodeEvents): numbered here
		if ids.Get([]byte(e.ID)) != nil {
			res.Duplicates++
			continue
		}
		seq, err := evs.NextSequence()
		if err != nil {
			return AcceptResult{}, FanOutResult{}, err
		}
		e.Seq = seq
		if err := evs.Put(u64(seq), encoded[i]); err != nil {
			return AcceptResult{}, FanOutResult{}, err
		}
		if err := ids.Put([]byte(e.ID), u64(seq)); err != nil {
			return AcceptResult{}, FanOutResult{}, err
		}
		if err := indexSubjectURL(tx, e, seq); err != nil {
			return AcceptResult{}, FanOutResult{}, err
		}
		if e.Type == "invite.accepted" {
			if err := acceptInvite(tx, *e); err != nil {
				return AcceptResult{}, FanOutResult{}, err
			}
		}
		res.Accepted++
		// Fanned out here only in order: when all before it were.
		if fan != nil && cursor == seq-1 {
			var matched [][]string
			if pre != nil && pre.matched[i] {
				matched = pre.channels[i : i+1]
			}
			if err := fanOutEvent(tx, *fan, e, rules, now, &fr, matched...); err != nil {
				return AcceptResult{}, FanOutResult{}, err
			}
			cursor = seq
		}
	}
	if fan != nil && fr.Events > 0 {
		if err := tx.Bucket(bucketMeta).Put(keyFanoutCursor, u64(cursor)); err != nil {
			return AcceptResult{}, FanOutResult{}, err
		}
	}
	return res, fr, nil
}

// Event returns the accepted event with the given ID.
func (s eventRecords) Event(id string) (paligo.Event, bool, error) {
	var e paligo.Event
	var found bool
	err := s.db.view(func(tx kvTx) (err error) {
		seq := tx.Bucket(bucketEventIDs).Get([]byte(id))
		if seq == nil {
			return nil
		}
		v := tx.Bucket(bucketEvents).Get(seq)
		if v == nil {
			return fmt.Errorf("event %s indexed at %d but missing", id, binary.BigEndian.Uint64(seq))
		}
		found = true
		e, err = decodeEvent(seq, v)
		return err
	})
	return e, found, err
}

// decodeEvent decodes the event stored at key k (its sequence).
func decodeEvent(k, v []byte) (paligo.Event, error) {
	var e paligo.Event
	seq := binary.BigEndian.Uint64(k)
	if err := json.Unmarshal(v, &e); err != nil {
		return e, fmt.Errorf("decode event %d: %w", seq, err)
	}
	e.Seq = seq
	return e, nil
}

// EventCount returns how many events were ever accepted.
func (s eventRecords) EventCount() (int, error) {
	var n int
	err := s.db.view(func(tx kvTx) error {
		n = tx.Bucket(bucketEvents).KeyN()
		return nil
	})
	return n, err
}
