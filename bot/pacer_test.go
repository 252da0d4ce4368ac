package bot

import (
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
