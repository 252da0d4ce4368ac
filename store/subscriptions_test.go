package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// A database written by the version before subscriptions opens with its
// routes as plain subscriptions: the modal shows the same routes, and
// events go where they went.
func TestMigrationToV6(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "v5-routes.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bot.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Version(); v != store.SchemaVersion || v < 7 {
		t.Errorf("schema %d, want %d (v6 and the living messages of v7)", v, store.SchemaVersion)
	}
	routes, err := s.Routes("")
	if err != nil || !slices.Equal(routes["run.failed"], []string{"C0DATA", "C0OPS"}) || !slices.Equal(routes["publication.ready"], []string{"C0DOCS"}) || len(routes) != 2 {
		t.Errorf("routes after the migration = %v %v", routes, err)
	}
	if subs, _ := s.Subscriptions("", "C0OPS"); len(subs) != 1 || subs[0].String() != "run.failed" {
		t.Errorf("C0OPS subscriptions = %+v", subs)
	}
	if jobs, _ := s.PendingJobs(); len(jobs) != 2 {
		t.Errorf("the jobs fanned out before the migration: %d, want 2", len(jobs))
	}
	if _, err := s.AcceptEvents([]paligo.Event{{ID: "after-v6", Type: "run.failed"}, {ID: "docs", Type: "publication.ready"}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := storetest.FanOut(s, "T1", 10)
	if err != nil || !slices.Equal(lanes(jobs), []string{"C0DATA", "C0OPS", "C0DOCS"}) {
		t.Errorf("fan-out after the migration = %v %v", lanes(jobs), err)
	}
}

// The modal's routes are the plain subscriptions: saving them keeps the
// filtered ones; the fan-out follows every change at once.
func TestSubscriptionsAndRoutesTogether(t *testing.T) {
	eachEngine(t, testSubscriptionsAndRoutesTogether)
}

func testSubscriptionsAndRoutesTogether(t *testing.T) {
	s := MustOpen(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	fin, _ := paligo.ParseSubscription("C0FIN", "runs project=finance")
	if added, err := s.Subscribe(fin); err != nil || !added {
		t.Fatalf("subscribe: %v %v", added, err)
	}
	if added, err := s.Subscribe(fin); err != nil || added {
		t.Errorf("the same subscription twice: added=%v %v", added, err)
	}
	if err := s.SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C0OPS"}}); err != nil {
		t.Fatal(err)
	}
	fanOut := func(events ...paligo.Event) []string {
		t.Helper()
		if _, err := s.AcceptEvents(events); err != nil {
			t.Fatal(err)
		}
		jobs, err := storetest.FanOut(s, "T1", 100)
		if err != nil {
			t.Fatal(err)
		}
		return lanes(jobs)
	}
	nightly := &paligo.Subject{Kind: "schedule", ID: "nightly"}
	if got := fanOut(paligo.Event{ID: "a", Type: "run.failed", Subject: nightly, Fields: map[string]string{"project": "finance"}},
		paligo.Event{ID: "b", Type: "run.failed", Fields: map[string]string{"project": "marketing"}},
		paligo.Event{ID: "c", Type: "run.succeeded", Fields: map[string]string{"project": "finance"}}); !slices.Equal(got, []string{"C0FIN", "C0OPS", "C0OPS", "C0FIN"}) {
		t.Errorf("fan-out = %v", got)
	}
	// Saving the modal again replaces the routes, not the filtered one.
	if err := s.SetRoutes("", map[paligo.Kind][]string{"data.alert": {"C0OPS"}}); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subscriptions("", ""); len(subs) != 2 {
		t.Errorf("after saving the modal: %+v", subs)
	}
	// A mute holds in its channel until it ends.
	if err := s.Mute(paligo.Mute{Channel: "C0FIN", Subject: "schedule:nightly", Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := fanOut(paligo.Event{ID: "d", Type: "run.failed", Subject: nightly, Fields: map[string]string{"project": "finance"}}); len(got) != 0 {
		t.Errorf("muted: %v", got)
	}
	now = now.Add(time.Hour)
	if got := fanOut(paligo.Event{ID: "e", Type: "run.failed", Subject: nightly, Fields: map[string]string{"project": "finance"}}); !slices.Equal(got, []string{"C0FIN"}) {
		t.Errorf("after the mute: %v", got)
	}
	if found, err := s.Unmute("C0FIN", "schedule:nightly"); err != nil || !found {
		t.Errorf("unmute: %v %v", found, err)
	}
	if m, _ := s.Mutes(""); len(m) != 0 {
		t.Errorf("mutes left: %+v", m)
	}
	gone, found, err := s.Unsubscribe("", "C0FIN", 1)
	if err != nil || !found || gone.String() != "runs project=finance" {
		t.Errorf("unsubscribe 1: %+v %v %v", gone, found, err)
	}
	if _, found, _ := s.Unsubscribe("", "C0FIN", 1); found {
		t.Error("unsubscribed twice")
	}
	if got := fanOut(paligo.Event{ID: "f", Type: "run.failed", Fields: map[string]string{"project": "finance"}}); len(got) != 0 {
		t.Errorf("after unsubscribing: %v", got)
	}
	// At most 50 a channel.
	for i := range paligo.MaxSubscriptionsPerChannel {
		sub, _ := paligo.ParseSubscription("C0MANY", "runs project=p"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if _, err := s.Subscribe(sub); err != nil {
			t.Fatal(err)
		}
	}
	extra, _ := paligo.ParseSubscription("C0MANY", "alerts")
	if _, err := s.Subscribe(extra); err != store.ErrTooManySubscriptions {
		t.Errorf("51st subscription: %v", err)
	}
}
