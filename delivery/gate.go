package delivery

import (
	"context"
	"sync"
	"time"
)

// gate is one Slack rate-limit scope: a method, or chat.postMessage to one
// channel. Calls through a gate go one at a time, and none before until.
//
// Who goes next is chosen, not left to a mutex's queue: a call for a
// critical event first; then the call whose event has had the fewest turns
// while others waited; then the one that came first. One event naming
// hundreds of strangers (a users.lookupByEmail each, at Slack's pace) then
// never stands in front of another event's lookup: that one goes next but
// one, and a critical one goes next.
type gate struct {
	mu      sync.Mutex
	busy    bool
	waiting []*gateWaiter
	turns   map[uint64]int // by event, while calls wait
	arrived uint64

	until time.Time // the holder's alone
}

// turn says who a call through a gate is for.
type turn struct {
	event    uint64 // the event's sequence number; 0 for none
	critical bool
}

type gateWaiter struct {
	turn
	arrived uint64
	ready   chan struct{}
}

// acquire waits for the gate, or for ctx to end.
func (g *gate) acquire(ctx context.Context, t turn) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	g.arrived++
	w := &gateWaiter{turn: t, arrived: g.arrived, ready: make(chan struct{})}
	g.waiting = append(g.waiting, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, o := range g.waiting {
			if o == w {
				g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
				return ctx.Err()
			}
		}
		// Given the gate as ctx ended: pass it on.
		g.releaseLocked()
		return ctx.Err()
	}
}

// release hands the gate to the waiting call that goes next.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked()
}

func (g *gate) releaseLocked() {
	if len(g.waiting) == 0 {
		g.busy, g.turns = false, nil
		return
	}
	best := 0
	for i := 1; i < len(g.waiting); i++ {
		if g.before(g.waiting[i], g.waiting[best]) {
			best = i
		}
	}
	w := g.waiting[best]
	g.waiting = append(g.waiting[:best], g.waiting[best+1:]...)
	if w.event != 0 {
		if g.turns == nil {
			g.turns = map[uint64]int{}
		}
		g.turns[w.event]++
	}
	close(w.ready)
}

// before reports whether a goes ahead of b.
func (g *gate) before(a, b *gateWaiter) bool {
	if a.critical != b.critical {
		return a.critical
	}
	if ta, tb := g.turns[a.event], g.turns[b.event]; ta != tb {
		return ta < tb
	}
	return a.arrived < b.arrived
}
