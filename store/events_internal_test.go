package store

import (
	"bytes"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/paligo/paligo-slack/paligo"
)

// An event's sequence is its record's key: new records leave it out of
// their JSON, records written before carry it, and both read the same.
func TestEventsTakeTheirSeqFromTheKey(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "bot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := []byte(`{"id":"old","type":"run.failed","occurred_at":"2026-11-01T09:00:00Z","seq":1,"received_at":"2026-11-01T09:00:00Z"}`)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if _, err := b.NextSequence(); err != nil {
			return err
		}
		if err := b.Put(u64(1), old); err != nil {
			return err
		}
		return tx.Bucket(bucketEventIDs).Put([]byte("old"), u64(1))
	}); err != nil {
		t.Fatal(err)
	}
	in := []paligo.Event{{ID: "new", Type: "run.failed"}}
	if r, err := s.AcceptEvents(in); err != nil || r.Accepted != 1 {
		t.Fatalf("accept: %+v %v", r, err)
	}
	if !in[0].ReceivedAt.IsZero() {
		t.Error("AcceptEvents changed the caller's events")
	}
	var raw []byte
	s.db.View(func(tx *bolt.Tx) error { raw = bytes.Clone(tx.Bucket(bucketEvents).Get(u64(2))); return nil })
	if bytes.Contains(raw, []byte(`"seq"`)) || !bytes.Contains(raw, []byte(`"received_at"`)) {
		t.Errorf("new record = %s", raw)
	}
	for id, seq := range map[string]uint64{"old": 1, "new": 2} {
		e, found, err := s.Event(id)
		if err != nil || !found || e.Seq != seq {
			t.Errorf("Event(%s) = seq %d %v %v, want %d", id, e.Seq, found, err, seq)
		}
		if e, err := s.EventBySeq(seq); err != nil || e.ID != id || e.Seq != seq {
			t.Errorf("EventBySeq(%d) = %s seq %d %v", seq, e.ID, e.Seq, err)
		}
	}
	r, err := s.FanOutKnowing("T1", 10, false)
	if err != nil || r.Events != 2 {
		t.Fatalf("fan-out: %+v %v", r, err)
	}
}
