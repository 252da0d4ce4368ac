package delivery

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The digest loop runs once at start (the catch-up), then at the top of
// every minute; a panic is logged and the next run happens; a run still
// going when the next is due makes that one skip; stopping waits for the
// run in progress. Time is synctest's fake clock: no sleeping for real.
func TestCronLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		var runs []time.Time
		var running, overlaps atomic.Int32
		release := make(chan struct{})
		job := func() {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer running.Add(-1)
			mu.Lock()
			runs = append(runs, time.Now())
			n := len(runs)
			mu.Unlock()
			switch n {
			case 2:
				panic("boom in a digest run")
			case 4:
				<-release // a run that outlasts the next tick
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- cronLoop(ctx, "* * * * *", log, job) }()

		snapshot := func() []time.Time {
			mu.Lock()
			defer mu.Unlock()
			return append([]time.Time(nil), runs...)
		}
		synctest.Wait()
		if got := len(snapshot()); got != 1 {
			t.Fatalf("runs right after start = %d, want 1 (the catch-up)", got)
		}
		// Next minute boundary: run 2 (panics), then 3, then 4 (blocks).
		next := start.Truncate(time.Minute).Add(time.Minute)
		time.Sleep(time.Until(next) + 3*time.Minute + time.Second)
		synctest.Wait()
		if got := len(snapshot()); got != 4 {
			t.Fatalf("runs after three more minutes = %d, want 4 (a panic must not stop the loop)", got)
		}
		for i, r := range snapshot()[1:] {
			if r.Second() != 0 || r.Nanosecond() != 0 {
				t.Errorf("run %d at %s, not at the top of a minute", i+2, r.Format(time.TimeOnly))
			}
		}
		// Run 4 is stuck: two more minutes pass without a run.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := len(snapshot()); got != 4 || overlaps.Load() != 0 {
			t.Fatalf("while a run is going: %d runs, %d overlaps; want 4 and 0", len(snapshot()), overlaps.Load())
		}
		// Stop while it is still going: the loop waits for it.
		cancel()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("cronLoop returned while a run was in progress")
		default:
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, want := range []string{"boom in a digest run", "skip"} {
			if !bytes.Contains(logs.Bytes(), []byte(want)) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
	})
}

func TestCronLoopRefusesABadSpec(t *testing.T) {
	err := cronLoop(t.Context(), "every so often", slog.New(slog.DiscardHandler), func() {})
	if err == nil {
		t.Fatal("a bad spec was accepted")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
