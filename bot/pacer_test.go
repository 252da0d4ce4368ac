package bot

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestReconnectPacerSchedule(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &reconnectPacer{Min: time.Second, Max: 8 * time.Second, Stable: time.Minute, now: func() time.Time { return now }}
	within := func(d, base time.Duration) bool { return d >= base && d <= base+base/5 }

	if d := p.reserve(); d != 0 {
		t.Fatalf("first connection waits %v, want 0", d)
	}
	// Dropped right away, again and again: 1s, 2s, 4s, 8s, 8s (+ ≤20% jitter).
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		now = now.Add(100 * time.Millisecond)
		d := p.reserve()
		if !within(d, want) {
			t.Errorf("quick reconnect #%d waits %v, want %v..%v", i+1, d, want, want+want/5)
		}
		now = now.Add(d) // the attempt happens after its wait
	}
	// A connection that lived past Stable resets the streak.
	now = now.Add(2 * time.Minute)
	if d := p.reserve(); d != 0 {
		t.Errorf("reconnect after a healthy connection waits %v, want 0", d)
	}
	now = now.Add(time.Second)
	if d := p.reserve(); !within(d, time.Second) {
		t.Errorf("after reset, first quick reconnect waits %v, want ~1s", d)
	}
}

// However long the streak, a paced apps.connections.open waits less than
// its call's deadline leaves: a wait that outlasted it failed the call,
// the failure lengthened the next wait, and the bot never connected again
// (seen with three replicas under a long storm of dropped sockets).
func TestReconnectPacerLeavesTheCallItsTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept []time.Duration
	p := &reconnectPacer{Min: time.Second, Max: 2 * time.Minute, Stable: time.Minute,
		now:   func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }}
	calls := 0
	rt := p.wrap(roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	}))
	for range 12 { // a streak whose waits would reach the 2 minute cap
		ctx, cancel := context.WithDeadline(context.Background(), now.Add(30*time.Second))
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://slack.test/api/apps.connections.open", nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		cancel()
		now = now.Add(100 * time.Millisecond) // dropped at once
	}
	if calls != 12 {
		t.Errorf("%d of 12 calls made", calls)
	}
	for i, d := range slept {
		if d > 30*time.Second-callRoom {
			t.Errorf("wait %d was %v: more than the call's 30 s leave", i, d)
		}
	}
}
