package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
	bolt "go.etcd.io/bbolt"
)

// engineOf is the engine each running conformance test is on (eachEngine).
var engineOf sync.Map // testing.TB -> string

// eachEngine runs fn once per engine, as subtests named after them: every
// MustOpen in it opens a store of that engine.
func eachEngine(t *testing.T, fn func(t *testing.T)) {
	for _, e := range storetest.Engines {
		t.Run(e, func(t *testing.T) {
			engineOf.Store(t, e)
			defer engineOf.Delete(t)
			fn(t)
		})
	}
}

// dsnOf remembers where each store MustOpen opened is, for reopen.
var dsnOf sync.Map // *store.Store -> string

// MustOpen opens an empty store, of the engine the test runs on (bbolt
// outside eachEngine), and closes it when the test ends.
func MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	engine := "bbolt"
	if e, ok := engineOf.Load(tb); ok {
		engine = e.(string)
	}
	return mustOpenAt(tb, storetest.DSN(tb, engine))
}

func mustOpenAt(tb testing.TB, dsn string) *store.Store {
	tb.Helper()
	return mustOpenAs(tb, dsn, "")
}

// mustOpenAs opens the store at dsn as the replica called name (""
// for the default name).
func mustOpenAs(tb testing.TB, dsn, name string) *store.Store {
	tb.Helper()
	s, err := store.Open(dsn, store.Options{Replica: name})
	if err != nil {
		tb.Fatal(err)
	}
	dsnOf.Store(s, dsn)
	tb.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and opens its database again, as a restart does.
func reopen(tb testing.TB, s *store.Store) *store.Store {
	tb.Helper()
	dsn, ok := dsnOf.Load(s)
	if !ok {
		tb.Fatal("reopen: not a store of MustOpen")
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	return mustOpenAt(tb, dsn.(string))
}

func TestOpenCreatesFileWith0600AndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
	v, err := s.Version()
	if err != nil || v != store.SchemaVersion {
		t.Errorf("Version() = %d, %v; want %d", v, err, store.SchemaVersion)
	}
}

func TestOpenTightensLooseFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, _ := os.Stat(path)
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode after reopen = %o, want 600", got)
	}
}

func TestSecondOpenFailsFastWithErrLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = store.Open(path, store.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	// Not a timing assertion on speed, only that it gave up rather than hung.
	if time.Since(start) > 30*time.Second {
		t.Errorf("second Open hung")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 3, 0})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(path, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a v768 file: err = %v, want a 'run a newer' error", err)
	}
}

func TestPrefsDefaultsForUnknownUser(t *testing.T) { eachEngine(t, testPrefsDefaultsForUnknownUser) }

func testPrefsDefaultsForUnknownUser(t *testing.T) {
	s := MustOpen(t)
	p, err := s.Prefs("T1", "U1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Frequency != paligo.Daily || p.DigestTime != "09:00" || p.Weekday != time.Monday {
		t.Errorf("defaults = %+v, want daily at 09:00, Monday", p)
	}
	for _, c := range paligo.Categories {
		if !p.Wants(c) {
			t.Errorf("default prefs do not want %s", c)
		}
	}
}

func TestUpdatePrefsPersistsAcrossReopen(t *testing.T) {
	eachEngine(t, testUpdatePrefsPersistsAcrossReopen)
}

func testUpdatePrefsPersistsAcrossReopen(t *testing.T) {
	s := MustOpen(t)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	want, err := s.UpdatePrefs("T1", "U1", func(p *paligo.Prefs) error {
		p.Frequency = paligo.Weekly
		p.Weekday = time.Friday
		if err := p.SetDigestTime("17:30"); err != nil {
			return err
		}
		p.Follow(paligo.Subject{Kind: "document", ID: "d1", Title: "Guide"})
		return p.SetCategories([]paligo.Category{paligo.CatMentions, paligo.CatRuns})
	})
	if err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s)
	got, err := s.Prefs("T1", "U1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen\n got %+v\nwant %+v", got, want)
	}
	if !got.UpdatedAt.Equal(now) {
		t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, now)
	}
	if got.Wants(paligo.CatReplies) || !got.Wants(paligo.CatRuns) {
		t.Errorf("categories not saved: off = %v", got.Off)
	}
	// Another user of the same team is untouched.
	other, _ := s.Prefs("T1", "U2")
	if other.Frequency != paligo.Daily {
		t.Errorf("other user's prefs changed: %+v", other)
	}
}

func TestUpdatePrefsErrorSavesNothing(t *testing.T) { eachEngine(t, testUpdatePrefsErrorSavesNothing) }

func testUpdatePrefsErrorSavesNothing(t *testing.T) {
	s := MustOpen(t)
	_, err := s.UpdatePrefs("T1", "U1", func(p *paligo.Prefs) error {
		p.Frequency = paligo.Off
		return p.SetDigestTime("25:00")
	})
	if err == nil {
		t.Fatal("SetDigestTime(25:00) accepted")
	}
	p, _ := s.Prefs("T1", "U1")
	if p.Frequency != paligo.Daily {
		t.Errorf("a failed update was saved: %+v", p)
	}
}

func TestPrefsRules(t *testing.T) {
	var p paligo.Prefs
	if err := p.SetCategories([]paligo.Category{"nope"}); err == nil {
		t.Error("unknown category accepted")
	}
	for _, bad := range []string{"9:00", "24:00", "12:60", "", "noon", "12:00:00"} {
		if _, err := paligo.ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) accepted", bad)
		}
	}
	if m, err := paligo.ParseClock("23:59"); err != nil || m != 23*60+59 {
		t.Errorf("ParseClock(23:59) = %d, %v", m, err)
	}
	p.Follow(paligo.Subject{Kind: "topic", ID: "t1", Title: "Old"})
	p.Follow(paligo.Subject{Kind: "topic", ID: "t1", Title: "New"})
	if len(p.Follows) != 1 || p.Follows[0].Title != "New" {
		t.Errorf("Follow twice = %+v, want one entry titled New", p.Follows)
	}
	if !p.Unfollow("topic:t1") || p.Unfollow("topic:t1") || len(p.Follows) != 0 {
		t.Errorf("Unfollow did not remove exactly once: %+v", p.Follows)
	}
	for _, f := range []paligo.Frequency{"instant", "hourly", "daily", "weekly", "off"} {
		if !f.Valid() {
			t.Errorf("%s not valid", f)
		}
	}
	if paligo.Frequency("sometimes").Valid() {
		t.Error("invalid frequency accepted")
	}
}

// A commit the file does not take is told from a write that fails on its
// own: it is wrapped in ErrCannotCommit, Writable says so with the reason,
// nothing of it is stored, and Writable turns nil by itself once commits
// work again.
func TestCommitFailureIsReportedAndRecovers(t *testing.T) {
	eachEngine(t, testCommitFailureIsReportedAndRecovers)
}

func testCommitFailureIsReportedAndRecovers(t *testing.T) {
	s := MustOpen(t)
	full := errors.New("no space left on device")
	var failing atomic.Bool
	failing.Store(true)
	s.InjectCommitFault(func() error {
		if failing.Load() {
			return full
		}
		return nil
	})
	if err := s.Writable(); err != nil {
		t.Fatalf("writable before any commit failed: %v", err)
	}
	_, err := s.AcceptEvents([]paligo.Event{{ID: "a", Type: "run.failed"}})
	if !errors.Is(err, store.ErrCannotCommit) {
		t.Fatalf("accept on a full disk = %v, want ErrCannotCommit", err)
	}
	if n, _ := s.EventCount(); n != 0 {
		t.Errorf("%d events stored by a failed commit", n)
	}
	if err := s.Writable(); err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("Writable = %v, want the reason", err)
	}
	// A write that fails on its own says nothing of the disk.
	failing.Store(false)
	if err := s.SetRoutes("", map[paligo.Kind][]string{"comment.reply": {"C1"}}); err == nil || errors.Is(err, store.ErrCannotCommit) {
		t.Errorf("routing a personal-only kind = %v, want its own error", err)
	}
	// Room again: a probe (at most a second later) commits, and a few
	// seconds without a failure make the store writable.
	deadline := time.Now().Add(15 * time.Second)
	for s.Writable() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Writable(); err != nil {
		t.Fatalf("still not writable after the disk recovered: %v", err)
	}
	if res, err := s.AcceptEvents([]paligo.Event{{ID: "a", Type: "run.failed"}}); err != nil || res.Accepted != 1 {
		t.Errorf("accept after recovery = %+v, %v", res, err)
	}
}

// Concurrent accepts share commits and each gets its own answer: every id
// stored once, the duplicates counted where they fall, and none after
// Close.
func TestConcurrentAcceptsShareCommits(t *testing.T) {
	eachEngine(t, testConcurrentAcceptsShareCommits)
}

func testConcurrentAcceptsShareCommits(t *testing.T) {
	s := MustOpen(t)
	var wg sync.WaitGroup
	var accepted, dups atomic.Int64
	for c := range 50 {
		wg.Go(func() {
			for i := range 20 {
				// Every id is sent by two clients.
				res, err := s.AcceptEvents([]paligo.Event{{ID: fmt.Sprintf("e%d-%d", c/2, i), Type: "run.failed"}})
				if err != nil {
					t.Error(err)
					return
				}
				accepted.Add(int64(res.Accepted))
				dups.Add(int64(res.Duplicates))
			}
		})
	}
	wg.Wait()
	if n, _ := s.EventCount(); n != 500 || accepted.Load() != 500 || dups.Load() != 500 {
		t.Errorf("%d stored, %d accepted, %d duplicates; want 500 of each", n, accepted.Load(), dups.Load())
	}
	s2 := reopen(t, s)
	if _, err := s.AcceptEvents([]paligo.Event{{ID: "late", Type: "run.failed"}}); err == nil {
		t.Error("an accept after Close did not fail")
	}
	if n, _ := s2.EventCount(); n != 500 {
		t.Errorf("%d events after reopening, want 500", n)
	}
}
