package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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
	if err := s.db.update(func(tx kvTx) error {
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
	s.db.view(func(tx kvTx) error { raw = bytes.Clone(tx.Bucket(bucketEvents).Get(u64(2))); return nil })
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
	r, err := s.FanOutWith(FanOutSpec{Team: "T1", DirectoryRead: false}, 10)
	if err != nil || r.Events != 2 {
		t.Fatalf("fan-out: %+v %v", r, err)
	}
}

// The fan-out takes the channels a caller matched outside the writer only
// while the subscriptions are those it matched against; after a change it
// matches again in the transaction.
func TestPreMatchedChannelsAreTakenOnlyWhileCurrent(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "bot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	sub := func(ch string) {
		t.Helper()
		if _, err := s.Subscribe(paligo.Subscription{Channel: ch, Kinds: []paligo.Kind{"run.failed"}}); err != nil {
			t.Fatal(err)
		}
	}
	sub("C1")
	if err := s.update(func(tx kvTx) error { _, err := s.rulesOf(tx); return err }); err != nil {
		t.Fatal(err)
	}
	accept := func(id string, pre func([]paligo.Event) *preMatched) []string {
		t.Helper()
		events, encoded, err := encodeEvents([]paligo.Event{{ID: id, Type: "run.failed"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		p := pre(events)
		var fr FanOutResult
		if err := s.update(func(tx kvTx) (err error) {
			_, fr, err = s.acceptTx(tx, events, encoded, &FanOutSpec{Team: "T1"}, p, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var chs []string
		for _, j := range fr.Jobs {
			chs = append(chs, j.Channel)
		}
		return chs
	}
	// Current: what the caller matched is taken as it is.
	_, gen, ok := s.subsCache.snapshot()
	if !ok {
		t.Fatal("the cache is empty after a fan-out read it")
	}
	if got := accept("a", func(ev []paligo.Event) *preMatched {
		return &preMatched{gen: gen, channels: [][]string{{"CFROMCALLER"}}, matched: []bool{true}}
	}); fmt.Sprint(got) != "[CFROMCALLER]" {
		t.Errorf("current pre-match: %v, want the caller's", got)
	}
	// Stale: a subscription came after the caller matched.
	var stale *preMatched
	got := accept("b", func(ev []paligo.Event) *preMatched {
		stale = s.preMatch(ev, &FanOutSpec{Team: "T1"}, []bool{false}, now)
		sub("C2")
		return stale
	})
	if stale == nil || fmt.Sprint(stale.channels) != "[[C1]]" {
		t.Fatalf("the caller's match = %+v", stale)
	}
	if fmt.Sprint(got) != "[C1 C2]" {
		t.Errorf("stale pre-match: %v, want matched again ([C1 C2])", got)
	}
}

// A sender's retry of events already stored is answered before any of
// them is matched against the subscriptions (a hostile subscription can
// make matching costly) and without a commit; in a call of new and known
// events only the new are matched. An event whose id was forgotten
// (retention) between the check and the commit is matched in the commit.
func TestRetriesAreAnsweredBeforeMatching(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "bot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Filters: matching reads the events' fields (routes alone are a
	// lookup by kind, and need no check first).
	sub, err := paligo.ParseSubscription("C1", "run.failed project=fin*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(sub); err != nil {
		t.Fatal(err)
	}
	fan := &FanOutSpec{Team: "T1"}
	batch := func(ids ...string) []paligo.Event {
		var evs []paligo.Event
		for _, id := range ids {
			evs = append(evs, paligo.Event{ID: id, Type: "run.failed", Fields: map[string]string{"project": "finance"}})
		}
		return evs
	}
	if res, fr, err := s.AcceptAndFanOut(batch("a", "b", "c"), fan); err != nil || res.Accepted != 3 || len(fr.Jobs) != 3 {
		t.Fatalf("first: %+v %d jobs %v", res, len(fr.Jobs), err)
	}
	matched, commits := s.eventsMatched.Load(), s.writeTxs.Load()
	if res, fr, err := s.AcceptAndFanOut(batch("a", "b", "c"), fan); err != nil || res.Duplicates != 3 || res.Accepted != 0 || len(fr.Jobs) != 0 {
		t.Fatalf("retry: %+v %d jobs %v", res, len(fr.Jobs), err)
	}
	if got := s.eventsMatched.Load() - matched; got != 0 {
		t.Errorf("the retry matched %d events, want none", got)
	}
	if got := s.writeTxs.Load() - commits; got != 0 {
		t.Errorf("the retry took %d commits, want none", got)
	}
	if res, fr, err := s.AcceptAndFanOut(batch("a", "d", "b"), fan); err != nil || res.Duplicates != 2 || res.Accepted != 1 || len(fr.Jobs) != 1 {
		t.Fatalf("mixed: %+v %d jobs %v", res, len(fr.Jobs), err)
	}
	if got := s.eventsMatched.Load() - matched; got != 1 {
		t.Errorf("the mixed call matched %d events, want the new one", got)
	}
	// Known at the check, forgotten before the commit: matched there.
	events, encoded, err := encodeEvents(batch("e"), s.Now())
	if err != nil {
		t.Fatal(err)
	}
	pre := s.preMatch(events, fan, []bool{true}, s.Now())
	var fr FanOutResult
	if err := s.update(func(tx kvTx) (err error) {
		_, fr, err = s.acceptTx(tx, events, encoded, fan, pre, s.Now())
		return err
	}); err != nil || len(fr.Jobs) != 1 || fr.Jobs[0].Channel != "C1" {
		t.Fatalf("an event not matched before: %+v %v; want its job to C1", fr.Jobs, err)
	}
}

// Events are appended in order, so their pages are filled whole: the file
// holds about half the pages it held with bbolt's default split at 50%.
func TestEventPagesAreFilled(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "fill.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for b := 0; b < 50; b++ {
		evs := make([]paligo.Event, 100)
		for i := range evs {
			evs[i] = paligo.Event{ID: fmt.Sprintf("fill-%d-%d", b, i), Type: "run.failed"}
		}
		if _, err := s.AcceptEvents(evs); err != nil {
			t.Fatal(err)
		}
	}
	s.bolt.View(func(tx *bolt.Tx) error {
		for _, c := range []struct {
			bucket []byte
			least  float64
		}{{bucketEvents, 0.85}, {bucketEventIDs, 0.6}} {
			st := tx.Bucket(c.bucket).Stats()
			fill := float64(st.LeafInuse) / float64(st.LeafAlloc)
			if fill < c.least {
				t.Errorf("%s: %d leaf pages %.0f%% full, want at least %.0f%%", c.bucket, st.LeafPageN, 100*fill, 100*c.least)
			}
		}
		return nil
	})
}

// stillQueued finds a job's items still in the user's queue by one walk
// when they are in order, and one by one when not: the same items either way.
func TestStillQueuedFindsTheSameInAnyOrder(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "q.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mine, other := digestPrefix("T1", "U1"), digestPrefix("T1", "U10")
	s.db.update(func(tx kvTx) error {
		q := tx.Bucket(bucketDigest)
		for _, seq := range []uint64{2, 3, 5, 8, 13} {
			q.Put(append(bytes.Clone(mine), u64(seq)...), []byte("{}"))
		}
		for _, seq := range []uint64{1, 4, 6, 7} { // another user's, beside mine
			q.Put(append(bytes.Clone(other), u64(seq)...), []byte("{}"))
		}
		return nil
	})
	for _, c := range []struct {
		items, want []uint64
	}{
		{[]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14}, []uint64{2, 3, 5, 8, 13}},
		{[]uint64{3, 8}, []uint64{3, 8}},
		{[]uint64{13, 2, 7}, []uint64{13, 2}},
		{[]uint64{20, 21}, nil},
		{nil, nil},
	} {
		var got []uint64
		s.db.view(func(tx kvTx) error {
			return stillQueued(tx.Bucket(bucketDigest), mine, c.items, func(seq uint64, k []byte) error {
				if !bytes.Equal(k, append(bytes.Clone(mine), u64(seq)...)) {
					t.Errorf("item %d given with key %q", seq, k)
				}
				got = append(got, seq)
				return nil
			})
		})
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("stillQueued(%v) = %v, want %v", c.items, got, c.want)
		}
	}
}

// A retry is looked for before matching only where matching reads
// filters: events of kinds no filtered subscription takes cost no read
// before their commit.
func TestOnlyFilteredKindsAreLookedForBeforeMatching(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "bot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub, err := paligo.ParseSubscription("C1", "run.failed project=finance")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(sub); err != nil {
		t.Fatal(err)
	}
	spec := &FanOutSpec{Team: "T1"}
	if _, _, err := s.AcceptAndFanOut([]paligo.Event{{ID: "warm", Type: "run.failed"}}, spec); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind  paligo.Kind
		reads int
	}{{"comment.reply", 0}, {"run.failed", 1}} {
		before := s.ReadTxs()
		if _, _, err := s.AcceptAndFanOut([]paligo.Event{{ID: "e-" + string(c.kind), Type: c.kind}}, spec); err != nil {
			t.Fatal(err)
		}
		if got := s.ReadTxs() - before; got != c.reads {
			t.Errorf("%s: %d reads before the commit, want %d", c.kind, got, c.reads)
		}
	}
}
