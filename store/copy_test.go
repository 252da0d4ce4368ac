package store_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// A database with every kind of record goes from a bbolt file to
// PostgreSQL and back whole: the same records, the same sequences, and a
// store on the copy answers as the original did.
func TestCopyBothWaysKeepsEveryRecord(t *testing.T) {
	file := mustOpenAt(t, filepath.Join(t.TempDir(), "from.db"))
	storetest.Populate(t, file)
	want := mustDump(t, file)
	for name, records := range want {
		// routes is read once, by the migration to subscriptions; nothing
		// writes it since.
		if len(records) <= 1 && name != "routes" {
			t.Errorf("bucket %s holds nothing: the fixture misses a kind of record", name)
		}
	}

	pg := mustOpenAt(t, storetest.Postgres(t))
	res, err := file.CopyTo(pg, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Buckets != len(want) {
		t.Errorf("copied %d buckets, want %d", res.Buckets, len(want))
	}
	if got := mustDump(t, pg); !reflect.DeepEqual(got, want) {
		t.Errorf("on PostgreSQL the records differ:\n got %v\nwant %v", got, want)
	}
	back := mustOpenAt(t, filepath.Join(t.TempDir(), "back.db"))
	if _, err := pg.CopyTo(back, false); err != nil {
		t.Fatal(err)
	}
	if got := mustDump(t, back); !reflect.DeepEqual(got, want) {
		t.Errorf("back in a file the records differ:\n got %v\nwant %v", got, want)
	}
	for _, s := range []*store.Store{pg, back} {
		if p, _ := s.Prefs("T1", "U2"); p.Frequency != paligo.Daily || len(p.Follows) != 1 {
			t.Errorf("%s: U2's settings = %+v", s.Engine(), p)
		}
		if f, n, err := s.FailedFirst(store.AllScopes, 10); err != nil || n != 1 || f[0].Reason != "channel_not_found" {
			t.Errorf("%s: failed = %+v %d %v", s.Engine(), f, n, err)
		}
		if in, ok, _ := s.InstallationOfOrg("acme"); !ok || in.Team != "T2" {
			t.Errorf("%s: the org's workspace = %+v %v", s.Engine(), in, ok)
		}
		// The sequences came along: a new event follows the copied ones.
		if _, err := s.AcceptEvents([]paligo.Event{{ID: "after", Type: "run.failed"}}); err != nil {
			t.Fatal(err)
		}
		if e, err := s.EventBySeq(4); err != nil || e.ID != "after" {
			t.Errorf("%s: the event after the copy is %+v %v, want seq 4", s.Engine(), e, err)
		}
	}

	// A target that holds records is refused, and keeps them.
	before := mustDump(t, back)
	if _, err := file.CopyTo(back, false); !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("copy into a database with records = %v, want ErrNotEmpty", err)
	}
	if got := mustDump(t, back); !reflect.DeepEqual(got, before) {
		t.Error("the refused copy changed the target")
	}
	// Told to, the copy replaces what the target held.
	if _, err := file.CopyTo(pg, true); err != nil {
		t.Fatal(err)
	}
	if got := mustDump(t, pg); !reflect.DeepEqual(got, want) {
		t.Errorf("after --overwrite the records differ:\n got %v\nwant %v", got, want)
	}
}

func mustDump(t *testing.T, s *store.Store) map[string]map[string]string {
	t.Helper()
	d, err := s.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
