package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// Two stores on one PostgreSQL database, as two replicas run: what one
// writes the other sees at once, the subscriptions the fan-out reads from
// memory included; the same events sent to both at once are stored once.
func TestReplicasShareOneState(t *testing.T) {
	dsn := storetest.Postgres(t)
	a, b := mustOpenAt(t, dsn), mustOpenAt(t, dsn)
	fan := &store.FanOutSpec{Team: "T1", Read: func(string) bool { return true }}
	channelsOf := func(r store.FanOutResult) []string {
		var out []string
		for _, j := range r.Jobs {
			if j.Kind == store.JobChannel {
				out = append(out, j.Channel)
			}
		}
		return out
	}
	// b reads the (empty) rules first, so that its cache must be refreshed.
	if _, r, err := b.AcceptAndFanOut([]paligo.Event{{ID: "before", Type: "run.failed"}}, fan); err != nil || len(channelsOf(r)) != 0 {
		t.Fatalf("before any subscription: %v %v", channelsOf(r), err)
	}
	if _, err := a.Subscribe(paligo.Subscription{Channel: "C1", Kinds: []paligo.Kind{"run.failed"}}); err != nil {
		t.Fatal(err)
	}
	if _, r, err := b.AcceptAndFanOut([]paligo.Event{{ID: "after", Type: "run.failed"}}, fan); err != nil || fmt.Sprint(channelsOf(r)) != "[C1]" {
		t.Errorf("after the other replica subscribed C1: channels %v, %v", channelsOf(r), err)
	}
	if _, found, err := a.Unsubscribe("", "C1", 1); err != nil || !found {
		t.Fatalf("unsubscribe: %v %v", found, err)
	}
	if _, r, err := b.AcceptAndFanOut([]paligo.Event{{ID: "gone", Type: "run.failed"}}, fan); err != nil || len(channelsOf(r)) != 0 {
		t.Errorf("after the other replica unsubscribed: channels %v, %v", channelsOf(r), err)
	}

	// An Events API event (or Slack's retry of it) reaching both replicas
	// is taken by one.
	firsts := 0
	for _, s := range []*store.Store{a, b, b} {
		first, err := s.FirstSeen("Ev0123")
		if err != nil {
			t.Fatal(err)
		}
		if first {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("the event was first seen %d times, want once", firsts)
	}

	// The same 200 events, half to each replica at once, twice over.
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for _, s := range []*store.Store{a, b, a, b} {
		wg.Go(func() {
			for i := range 100 {
				res, err := s.AcceptEvents([]paligo.Event{{ID: fmt.Sprintf("e%d", i), Type: "comment.mention"}, {ID: fmt.Sprintf("f%d", i), Type: "comment.mention"}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				accepted += res.Accepted
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n, _ := a.EventCount(); accepted != 200 || n != 203 {
		t.Errorf("accepted %d, %d stored; want 200 and 203", accepted, n)
	}
	// Sequences are shared: no two events have one.
	seen := map[string]bool{}
	for seq := uint64(1); seq <= 203; seq++ {
		e, err := b.EventBySeq(seq)
		if err != nil || seen[e.ID] {
			t.Fatalf("seq %d: %+v %v (seen before: %v)", seq, e, err, seen[e.ID])
		}
		seen[e.ID] = true
	}
}

// An event id is remembered for an hour, on either engine, then pruned.
func TestSeenEventsAreForgottenAfterAnHour(t *testing.T) { eachEngine(t, testSeenEventsAreForgotten) }

func testSeenEventsAreForgotten(t *testing.T) {
	s := MustOpen(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	if first, err := s.FirstSeen("Ev1"); err != nil || !first {
		t.Fatalf("first = %v %v", first, err)
	}
	now = now.Add(59 * time.Minute)
	if _, err := s.Prune(context.Background(), now.Add(-30*24*time.Hour), store.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstSeen("Ev1"); first {
		t.Error("forgotten within the hour")
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Prune(context.Background(), now.Add(-30*24*time.Hour), store.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstSeen("Ev1"); !first {
		t.Error("still remembered an hour on")
	}
}

// A lock is held by one replica at a time; LockHolder names it; when its
// connection dies (the replica's process or machine), the server frees it
// and another takes it.
func TestLocksAreOneReplicasAtATime(t *testing.T) {
	dsn := storetest.Postgres(t)
	a, err := store.Open(dsn, store.Options{Replica: "replica-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(dsn, store.Options{Replica: "replica-b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	la, err := a.TryLock("digest loop")
	if err != nil || la == nil {
		t.Fatalf("a's lock: %v %v", la, err)
	}
	if lb, err := b.TryLock("digest loop"); err != nil || lb != nil {
		t.Fatalf("b took the lock a holds: %v %v", lb, err)
	}
	if other, err := b.TryLock("another lock"); err != nil || other == nil {
		t.Errorf("another lock: %v %v", other, err)
	} else {
		other.Release()
	}
	if h, err := b.LockHolder("digest loop"); err != nil || h != "replica-a" {
		t.Errorf("holder = %q %v, want replica-a", h, err)
	}
	la.Release()
	if h, _ := b.LockHolder("digest loop"); h != "" {
		t.Errorf("holder after release = %q", h)
	}
	lb, err := b.TryLock("digest loop")
	if err != nil || lb == nil {
		t.Fatalf("b after a released: %v %v", lb, err)
	}
	// b's connection is ended by the server, as when its machine is lost.
	admin, err := store.Open(dsn, store.Options{Replica: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if n, err := admin.TerminateReplica("replica-b"); err != nil || n == 0 {
		t.Fatalf("terminate: %d %v", n, err)
	}
	select {
	case <-lb.Lost():
	case <-time.After(20 * time.Second):
		t.Fatal("b did not notice it lost the lock")
	}
	if la, err := a.TryLock("digest loop"); err != nil || la == nil {
		t.Errorf("a could not take the lock b lost: %v %v", la, err)
	} else {
		la.Release()
	}
}
