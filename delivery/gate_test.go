package delivery

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// The gate's next call: a critical event's first, then the event that had
// the fewest turns, then the first to come; a call whose ctx ends leaves
// the queue (and passes on a turn it was given).
func TestGateTakesTurnsByEvent(t *testing.T) {
	var g gate
	ctx := context.Background()
	if err := g.acquire(ctx, turn{}); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 16)
	waiting := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.waiting)
	}
	wait := func(name string, tu turn) {
		before := waiting()
		go func() {
			if err := g.acquire(ctx, tu); err != nil {
				order <- "error " + name
				return
			}
			order <- name
			g.release()
		}()
		// Each in the queue before the next comes.
		for waiting() == before {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 4 {
		wait(fmt.Sprint("A", i), turn{event: 1})
	}
	// One that gives up while waiting is skipped.
	gone, cancel := context.WithCancel(ctx)
	go func() { g.acquire(gone, turn{event: 9}) }()
	for !queued(&g, turn{event: 9}) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	for queued(&g, turn{event: 9}) {
		time.Sleep(time.Millisecond)
	}
	wait("B0", turn{event: 2})
	wait("C0", turn{event: 3, critical: true})
	wait("B1", turn{event: 2})
	g.release()
	var got []string
	for range 7 {
		got = append(got, <-order)
	}
	want := []string{"C0", "A0", "B0", "A1", "B1", "A2", "A3"}
	if !slices.Equal(got, want) {
		t.Fatalf("turns %v, want %v", got, want)
	}
	// The last one releases the gate after it has said its name.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		g.mu.Lock()
		busy := g.busy
		g.mu.Unlock()
		if !busy {
			break
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy || len(g.waiting) != 0 || g.turns != nil {
		t.Errorf("the gate after everyone: busy %v, %d waiting, turns %v", g.busy, len(g.waiting), g.turns)
	}
}

func queued(g *gate, t turn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, w := range g.waiting {
		if w.turn == t {
			return true
		}
	}
	return false
}
