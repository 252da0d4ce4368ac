package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// procStatusKB reads fields of /proc/PROC/status given in kB (PROC: a pid,
// or "self"), by name; a field it lacks is 0.
func procStatusKB(proc string, names ...string) []int64 {
	out := make([]int64, len(names))
	b, _ := os.ReadFile("/proc/" + proc + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		if i := slices.Index(names, strings.TrimSuffix(f[0], ":")); i >= 0 {
			out[i], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return out
}

// procMemory reads a process's resident memory, in bytes: its anonymous
// part (the heap, what it holds) and its peak (all of it, the database's
// mapped pages included).
func procMemory(pid int) (anon, peak int64) {
	kb := procStatusKB(strconv.Itoa(pid), "RssAnon", "VmHWM")
	return kb[0] << 10, kb[1] << 10
}

// TestABacklogHoldsBoundedMemory: 50,000 events naming 4 people each
// (200,000 DMs to send) arrive far faster than Slack takes them. What the
// process holds for the jobs waiting stays bounded whatever the backlog:
// its anonymous memory (the heap; the database's pages are the file's)
// stays under 100 MB while they arrive and while it works through them.
func TestABacklogHoldsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 events through the real binary")
	}
	var users []fakeslack.User
	for i := range 200 {
		users = append(users, fakeslack.User{ID: fmt.Sprintf("U0P%03d", i), Email: fmt.Sprintf("p%d@example.com", i)})
	}
	fs := newFake(t, fakeslack.Options{Users: users})
	// Slack slower than the events come: the backlog builds.
	fs.Inject("chat.postMessage", fakeslack.Fault{Latency: 20 * time.Millisecond, Rate: 1})
	db := storeWithRoutes(t, nil)
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		st.UpdatePrefs("T0FAKE", u.ID, func(p *paligo.Prefs) error { p.Frequency = paligo.Instant; return nil })
	}
	st.Close()
	bin := buildBinary(t)
	p := startProcess(t, bin, processEnv(fs, db))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	addr := p.listenAddr(t, ctx)
	t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGKILL); <-p.done })

	var mu sync.Mutex
	var maxAnon int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			anon, _ := procMemory(p.cmd.Process.Pid)
			mu.Lock()
			maxAnon = max(maxAnon, anon)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})

	const events, batch = 50_000, 500
	began := time.Now()
	for i := 0; i < events; i += batch {
		var evs []any
		for j := i; j < i+batch; j++ {
			var rcpt []string
			for k := range 4 {
				rcpt = append(rcpt, fmt.Sprintf("p%d@example.com", (j*4+k)%len(users)))
			}
			evs = append(evs, event(fmt.Sprintf("backlog-%05d", j), "comment.reply", map[string]any{
				"subject": subject(fmt.Sprintf("t%05d", j), fmt.Sprintf("Topic %05d", j)), "recipients": rcpt, "text": strings.Repeat("words ", 40)}))
		}
		if status, out := postEvents(t, addr, evs); status != http.StatusAccepted {
			t.Fatalf("batch at %d: %d %v", i, status, out)
		}
	}
	ingest := time.Since(began)
	// Working through the backlog for a while.
	time.Sleep(5 * time.Second)
	close(stop)
	sampler.Wait()
	_, peak := procMemory(p.cmd.Process.Pid)
	dms := len(fs.Calls("chat.postMessage"))
	t.Logf("50,000 events (200,000 DMs) in %v; %d DMs sent by now; anonymous memory at most %d MB; peak resident %d MB (the database's pages included)",
		ingest.Round(time.Millisecond), dms, maxAnon>>20, peak>>20)
	if dms >= 200_000 {
		t.Fatal("Slack took every DM: no backlog was built, the test proves nothing")
	}
	if maxAnon > 100<<20 {
		t.Errorf("the process held %d MB of anonymous memory with a backlog; want at most 100 MB", maxAnon>>20)
	}
}
