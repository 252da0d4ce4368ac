package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

func TestAcceptEventsIsIdempotent(t *testing.T) { eachEngine(t, testAcceptEventsIsIdempotent) }

func testAcceptEventsIsIdempotent(t *testing.T) {
	s := MustOpen(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	evs := []paligo.Event{
		{ID: "e1", Type: "run.failed"},
		{ID: "e2", Type: "comment.reply", OccurredAt: now.Add(-time.Hour)},
		{ID: "e1", Type: "run.failed"}, // repeated in the same batch
	}
	res, err := s.AcceptEvents(evs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || res.Duplicates != 1 {
		t.Errorf("first batch = %+v, want 2 accepted, 1 duplicate", res)
	}
	res, err = s.AcceptEvents([]paligo.Event{{ID: "e2", Type: "comment.reply"}, {ID: "e3", Type: "data.alert"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.Duplicates != 1 {
		t.Errorf("second batch = %+v, want 1 accepted, 1 duplicate", res)
	}
	if n, _ := s.EventCount(); n != 3 {
		t.Errorf("%d events stored, want 3", n)
	}
	e, ok, err := s.Event("e1")
	if err != nil || !ok || !e.OccurredAt.Equal(now) || !e.ReceivedAt.Equal(now) || e.Seq == 0 {
		t.Errorf("e1 = %+v, %v, %v: want occurred_at defaulted to receipt time", e, ok, err)
	}
	if e, _, _ := s.Event("e2"); !e.OccurredAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("e2 occurred_at = %v, want the sender's", e.OccurredAt)
	}
}

func TestAcceptEventsConcurrentWritersStoreEachIDOnce(t *testing.T) {
	eachEngine(t, testAcceptEventsConcurrentWritersStoreEachIDOnce)
}

func testAcceptEventsConcurrentWritersStoreEachIDOnce(t *testing.T) {
	s := MustOpen(t)
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := store.AcceptResult{}
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// Every writer sends the same ids: only one may win each.
				res, err := s.AcceptEvents([]paligo.Event{{ID: fmt.Sprint("e", i), Type: "run.failed"}, {ID: fmt.Sprint("w", w, "-", i), Type: "data.alert"}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total.Accepted += res.Accepted
				total.Duplicates += res.Duplicates
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	want := perWriter + writers*perWriter
	if total.Accepted != want || total.Duplicates != (writers-1)*perWriter {
		t.Errorf("accepted %d, duplicates %d; want %d and %d", total.Accepted, total.Duplicates, want, (writers-1)*perWriter)
	}
	if n, _ := s.EventCount(); n != want {
		t.Errorf("%d events stored, want %d", n, want)
	}
}

func TestMigrationFromV1KeepsPrefsAndAddsEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	// A file as the v1 binary left it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		meta.Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 1})
		prefs, _ := tx.CreateBucket([]byte("prefs"))
		return prefs.Put([]byte("T1/U1"), []byte(`{"frequency":"hourly","digest_time":"08:15","weekday":3,"follows":[{"kind":"topic","id":"t-1"}]}`))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Version(); v != store.SchemaVersion || v < 2 {
		t.Errorf("version after migration = %d", v)
	}
	p, err := s.Prefs("T1", "U1")
	if err != nil || p.Frequency != paligo.Hourly || p.DigestTime != "08:15" {
		t.Errorf("v1 prefs after migration = %+v, %v", p, err)
	}
	if _, err := s.AcceptEvents([]paligo.Event{{ID: "x", Type: "run.failed"}}); err != nil {
		t.Errorf("events bucket missing after migration: %v", err)
	}
	// v3 indexes the follows saved before it existed.
	if f, err := s.Followers("T1", "topic:t-1"); err != nil || len(f) != 1 || f[0] != "U1" {
		t.Errorf("followers of topic:t-1 after migration = %v, %v", f, err)
	}
}

func TestKindsTable(t *testing.T) {
	if len(paligo.Kinds) != 17 {
		t.Errorf("%d kinds, the contract lists 17", len(paligo.Kinds))
	}
	for _, k := range []paligo.Kind{"publication.failed", "run.failed", "system.alert", "data.alert"} {
		if !paligo.Kinds[k].Critical {
			t.Errorf("%s is not critical", k)
		}
	}
	for _, k := range []paligo.Kind{"review.mention", "comment.reply", "document.shared", "invite.accepted"} {
		if paligo.Kinds[k].Routable {
			t.Errorf("%s must not be routable", k)
		}
	}
	if n := len(paligo.RoutableKinds()); n != 13 {
		t.Errorf("%d routable kinds, want 13", n)
	}
}
