package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// With a backlog far past MaxQueued, no more than MaxQueued jobs are held
// at once, and every job still goes out once, each channel's in the order
// of its events: on one process (bbolt), and on two replicas sharing
// PostgreSQL.
func TestABacklogPastMaxQueuedGoesOutWholeAndInOrder(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testBacklogPastMaxQueued(t, engine) })
	}
}

func testBacklogPastMaxQueued(t *testing.T, engine string) {
	const maxQueued, events = 10, 300
	fs := fakeslack.New(fakeslack.Options{Channels: []fakeslack.Channel{{ID: "C0ONE", Name: "one"}, {ID: "C0TWO", Name: "two"}}})
	t.Cleanup(fs.Close)
	dsn := storetest.DSN(t, engine)
	replicas := 1
	if engine == "postgres" {
		replicas = 2
	}
	var stores []*store.Store
	var ds []*Deliverer
	for i := range replicas {
		st, err := store.Open(dsn, store.Options{Replica: fmt.Sprint("r", i)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
		client := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
		ds = append(ds, NewDeliverer(st, client, DeliveryOptions{Team: fs.TeamID(), MaxQueued: maxQueued,
			ChannelRate: 1000, ChannelBurst: 100, FanOutEvery: 10 * time.Millisecond, LeaseScan: 10 * time.Millisecond}))
	}
	if err := stores[0].SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C0ONE", "C0TWO"}}); err != nil {
		t.Fatal(err)
	}
	// The whole backlog is in the outbox before delivery starts.
	for i := 0; i < events; i += 50 {
		var evs []paligo.Event
		for j := i; j < i+50; j++ {
			evs = append(evs, paligo.Event{ID: fmt.Sprintf("b%03d", j), Type: "run.failed",
				Subject: &paligo.Subject{Kind: "run", ID: fmt.Sprintf("r%03d", j), Title: fmt.Sprintf("Run %03d", j)}})
		}
		if _, err := stores[i/50%replicas].AcceptEvents(evs); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() { d.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	most := 0
	deadline := time.Now().Add(60 * time.Second)
	for len(fs.Messages("C0ONE")) < events || len(fs.Messages("C0TWO")) < events {
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d and %d of %d posts", len(fs.Messages("C0ONE")), len(fs.Messages("C0TWO")), events)
		}
		for _, d := range ds {
			d.mu.Lock()
			most = max(most, len(d.queued))
			d.mu.Unlock()
		}
		time.Sleep(time.Millisecond)
	}
	for _, ch := range []string{"C0ONE", "C0TWO"} {
		var got []string
		for _, m := range fs.Messages(ch) {
			got = append(got, m.Text)
		}
		if len(got) != events {
			t.Errorf("%s: %d posts, want %d (each once)", ch, len(got), events)
		}
		for i := range min(len(got), events) {
			want := fmt.Sprintf("Run %03d", i)
			if !strings.Contains(got[i], want) {
				t.Errorf("%s: post %d is %q, want %s's: out of order", ch, i, got[i], want)
				break
			}
		}
	}
	// MaxQueued, and a little more: a read that finds the room taken
	// meanwhile still holds what it read.
	if most > 2*maxQueued {
		t.Errorf("%d jobs held at once, with MaxQueued %d", most, maxQueued)
	}
	t.Logf("%s, %d replicas: at most %d jobs held", engine, replicas, most)
	for {
		events, jobs, err := stores[0].Backlog()
		if err == nil && events == 0 && jobs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog after: %d events, %d jobs (%v)", events, jobs, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
