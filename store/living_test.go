package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// The store's half of living messages: a reply queues one parent update
// however many replies wait; an update that finds the message changed
// meanwhile queues the next; a replaced parent is found by its new ts;
// retention removes what is old and idle.
func TestLivingMessagesCoalesceUpdatesAndArePruned(t *testing.T) {
	eachEngine(t, testLivingMessagesCoalesceUpdatesAndArePruned)
}

func testLivingMessagesCoalesceUpdatesAndArePruned(t *testing.T) {
	s := MustOpen(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	if err := s.SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C0OPS"}}); err != nil {
		t.Fatal(err)
	}
	var events []paligo.Event
	for _, id := range []string{"a", "b", "c", "d"} {
		events = append(events, paligo.Event{ID: id, Type: "run.failed", Subject: &paligo.Subject{Kind: "schedule", ID: "dbt"}})
	}
	if _, err := s.AcceptEvents(events); err != nil {
		t.Fatal(err)
	}
	jobs, err := storetest.FanOut(s, "T1", 10)
	if err != nil || len(jobs) != 4 {
		t.Fatalf("fan out: %d jobs, %v", len(jobs), err)
	}
	l, queued, err := s.FinishPost(jobs[0], store.Receipt{Outcome: paligo.Sent, Channel: "C0OPS", TS: "1.000100"}, store.Post{Key: "schedule:dbt", Status: "failed"})
	if err != nil || len(queued) != 0 || l.Version != 1 || l.Shown != 1 {
		t.Fatalf("new parent: %+v, queued %v, %v", l, queued, err)
	}
	// Two replies while the update waits: one update job.
	_, q1, err := s.FinishPost(jobs[1], store.Receipt{Outcome: paligo.Sent, Channel: "C0OPS", TS: "1.000200"}, store.Post{Living: l.ID, Status: "failed"})
	if err != nil || len(q1) != 1 || q1[0].Kind != store.JobParent {
		t.Fatalf("first reply queued %+v, %v", q1, err)
	}
	_, q2, err := s.FinishPost(jobs[2], store.Receipt{Outcome: paligo.Sent, Channel: "C0OPS", TS: "1.000300"}, store.Post{Living: l.ID, Status: "succeeded"})
	if err != nil || len(q2) != 0 {
		t.Fatalf("second reply queued %+v, %v (one update was waiting)", q2, err)
	}
	if r, _, _ := s.Receipt(jobs[2].Event, "C0OPS"); r.Thread != "1.000100" {
		t.Errorf("the reply's receipt names thread %q", r.Thread)
	}
	l, _ = s.Living(l.ID)
	if l.Updates != 3 || l.Status != "succeeded" || l.Version != 3 {
		t.Fatalf("after two replies: %+v", l)
	}
	// The update draws version 3; a reply comes while it is in flight, so
	// finishing it queues the next one. The parent was replaced.
	shown := l.Version
	if _, _, err := s.FinishPost(jobs[3], store.Receipt{Outcome: paligo.Sent, Channel: "C0OPS", TS: "1.000400"}, store.Post{Living: l.ID, Status: "failed"}); err != nil {
		t.Fatal(err)
	}
	next, err := s.FinishParentUpdate(q1[0], shown, "2.000100")
	if err != nil || len(next) != 1 || next[0].Kind != store.JobParent {
		t.Fatalf("an update that drew an old version queued %+v, %v", next, err)
	}
	if got, ok, _ := s.LivingAt("C0OPS", "2.000100"); !ok || got.ID != l.ID || got.TS != "2.000100" {
		t.Errorf("the replaced parent is not found by its new ts: %+v %v", got, ok)
	}
	if got, ok, _ := s.LivingAt("C0OPS", "1.000100"); !ok || got.ID != l.ID {
		t.Errorf("the old parent's buttons lost their living message: %+v %v", got, ok)
	}
	if more, err := s.FinishParentUpdate(next[0], 4, ""); err != nil || len(more) != 0 {
		t.Fatalf("an up-to-date update queued %+v, %v", more, err)
	}
	// Retention: idle past the cutoff, it goes with its keys.
	now = now.Add(48 * time.Hour)
	r, err := s.Prune(context.Background(), now.Add(-24*time.Hour), store.PruneOptions{Pause: -1})
	if err != nil || r.Living != 1 {
		t.Fatalf("prune: %+v, %v", r, err)
	}
	if _, ok, _ := s.LivingOf("C0OPS", "schedule:dbt"); ok {
		t.Error("the thread key outlived its living message")
	}
	if _, ok, _ := s.LivingAt("C0OPS", "2.000100"); ok {
		t.Error("the parent's ts outlived its living message")
	}
}
