package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	a, b := mustOpenAs(t, dsn, "replica-a"), mustOpenAs(t, dsn, "replica-b")
	if twin, err := store.Open(dsn, store.Options{Replica: "replica-a"}); err == nil || !strings.Contains(err.Error(), `a replica named "replica-a" is already connected`) {
		if twin != nil {
			twin.Close()
		}
		t.Errorf("a second replica of a's name: %v", err)
	}
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
	admin := mustOpenAs(t, dsn, "admin")
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

// A lane is leased to one replica at a time; a lease not renewed expires
// and another replica takes the lane over; the one that lost it learns so
// when it renews.
func TestLaneLeases(t *testing.T) {
	dsn := storetest.Postgres(t)
	a, b := mustOpenAs(t, dsn, "replica-a"), mustOpenAs(t, dsn, "replica-b")
	claim := func(s *store.Store, ttl time.Duration, lanes ...string) store.LaneClaim {
		t.Helper()
		c, err := s.ClaimLanes(lanes, ttl)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(c.Granted)
		return c
	}
	if c := claim(a, time.Minute, "C1", "C2"); fmt.Sprint(c.Granted) != "[C1 C2]" || len(c.TakenOver) != 0 {
		t.Errorf("a's first claim: %+v", c)
	}
	if c := claim(b, time.Minute, "C2", "C3"); fmt.Sprint(c.Granted) != "[C3]" {
		t.Errorf("b's claim of a lane a holds: %+v", c)
	}
	if c := claim(a, time.Minute, "C1"); fmt.Sprint(c.Granted) != "[C1]" || len(c.TakenOver) != 0 {
		t.Errorf("a's claim of its own lane: %+v", c)
	}
	if lost, err := a.RenewLanes([]string{"C1", "C2"}, 50*time.Millisecond); err != nil || len(lost) != 0 {
		t.Errorf("renew: lost %v %v", lost, err)
	}
	time.Sleep(100 * time.Millisecond) // a's leases expire unrenewed
	if c := claim(b, time.Minute, "C1", "C2"); fmt.Sprint(c.Granted) != "[C1 C2]" || len(c.TakenOver) != 2 {
		t.Errorf("b's claim of expired lanes: %+v", c)
	}
	if lost, err := a.RenewLanes([]string{"C1", "C2"}, time.Minute); err != nil || len(lost) != 2 {
		t.Errorf("a renewing lanes b took: lost %v %v", lost, err)
	}
	if err := b.ReleaseLanes([]string{"C1"}); err != nil {
		t.Fatal(err)
	}
	if c := claim(a, time.Minute, "C1", "C2"); fmt.Sprint(c.Granted) != "[C1]" {
		t.Errorf("a's claim after b released C1: %+v", c)
	}
	// On a bbolt file the one process holds every lane.
	f := MustOpen(t)
	if c, err := f.ClaimLanes([]string{"C1"}, time.Minute); err != nil || fmt.Sprint(c.Granted) != "[C1]" {
		t.Errorf("file: %+v %v", c, err)
	}
}

// Replicas accepting events (and fanning them out as they accept) while
// the others' fan-out loops run: each event is fanned out once, to each of
// its channels once.
func TestReplicasFanOutEachEventOnce(t *testing.T) {
	dsn := storetest.Postgres(t)
	var rs []*store.Store
	for range 3 {
		rs = append(rs, mustOpenAt(t, dsn))
	}
	if err := rs[0].SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C1", "C2"}}); err != nil {
		t.Fatal(err)
	}
	fan := &store.FanOutSpec{Team: "T1", Read: func(string) bool { return true }}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, s := range rs {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.FanOutWith(*fan, 50); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var accepting sync.WaitGroup
	for i, s := range rs {
		accepting.Go(func() {
			for b := range 20 {
				var evs []paligo.Event
				for e := range 25 {
					evs = append(evs, paligo.Event{ID: fmt.Sprintf("r%d-b%d-e%d", i, b, e), Type: "run.failed"})
				}
				if _, _, err := s.AcceptAndFanOut(evs, fan); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	accepting.Wait()
	close(stop)
	wg.Wait()
	if _, err := rs[1].FanOutWith(*fan, 10000); err != nil {
		t.Fatal(err)
	}
	jobs, err := rs[2].PendingJobs()
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, j := range jobs {
		per[fmt.Sprint(j.Event, j.Channel)]++
	}
	if len(jobs) != 3*20*25*2 || len(per) != len(jobs) {
		t.Errorf("%d jobs for %d (event, channel) pairs; want %d of each", len(jobs), len(per), 3*20*25*2)
	}
}

// Replicas starting at once on an empty database: one of them creates the
// tables and brings the schema up to date, the others find it done.
func TestReplicasMigrateOnce(t *testing.T) {
	dsn := storetest.Postgres(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	stores := make([]*store.Store, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = store.Open(dsn, store.Options{}) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		defer s.Close()
		if v, err := s.Version(); err != nil || v != store.SchemaVersion {
			t.Errorf("replica %d: schema v%d %v, want v%d", i, v, err, store.SchemaVersion)
		}
	}
	if _, err := stores[0].AcceptEvents([]paligo.Event{{ID: "one", Type: "run.failed"}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := stores[3].EventCount(); n != 1 {
		t.Errorf("%d events seen by another replica, want 1", n)
	}
}
