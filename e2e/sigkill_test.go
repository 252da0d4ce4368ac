package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// buildBinary builds paligo-slack into a temp dir.
func buildBinary(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "paligo-slack")
	cmd := exec.Command(goBin, "build", "-o", bin, "..") // the module root: the command
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// processEnv is the environment of the binary run against fs on the
// bbolt file db, paced faster than Slack.
func processEnv(fs *fakeslack.Server, db string) []string {
	return []string{
		"SLACK_BOT_TOKEN=" + fs.BotToken(), "SLACK_APP_TOKEN=" + fs.AppToken(), "SLACK_API_URL=" + fs.URL(),
		"PALIGO_SLACK_DB=" + db, "PALIGO_SLACK_LISTEN=127.0.0.1:0",
		"PALIGO_SLACK_INGEST_SECRET=" + testIngestSecret, "PALIGO_SLACK_CHANNEL_RATE=200",
	}
}

// storeWithRoutes makes a bbolt file in a temp dir with routes, for the
// binary to start on.
func storeWithRoutes(t testing.TB, routes map[paligo.Kind][]string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "paligo-slack.db")
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetRoutes("", routes); err != nil {
		t.Fatal(err)
	}
	return db
}

// process is the real binary running against the fake.
type process struct {
	cmd  *exec.Cmd
	addr chan string
	done chan struct{} // closed when the process has exited; err is set
	err  error
	logs syncBuffer // everything it wrote to stderr
}

func startProcess(t testing.TB, bin string, env []string) *process {
	t.Helper()
	cmd := exec.Command(bin, "run")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: make(chan string, 1), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "started" {
				p.addr <- line.Listen
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *process) listenAddr(t testing.TB, ctx context.Context) string {
	t.Helper()
	select {
	case a := <-p.addr:
		return a
	case <-p.done:
		t.Fatalf("the bot exited before starting: %v", p.err)
	case <-ctx.Done():
		t.Fatal("the bot did not start")
	}
	return ""
}

// TestKilledMidDeliveryLosesNothing posts 1,000 events routed to two
// channels, kills the process with SIGKILL while it delivers them, starts
// it again on the same file, and counts what the fake received: every post
// at least once, and no more repeats than calls can be in flight.
func TestKilledMidDeliveryLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	fs := newFake(t, fakeslack.Options{Channels: []fakeslack.Channel{{ID: "C0ONE", Name: "one"}, {ID: "C0TWO", Name: "two"}}})
	db := storeWithRoutes(t, map[paligo.Kind][]string{"run.failed": {"C0ONE", "C0TWO"}})
	env := processEnv(fs, db)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	p := startProcess(t, bin, env)
	addr := p.listenAddr(t, ctx)
	const n = 1000
	for b := 0; b < n/100; b++ {
		var batch []any
		for i := b * 100; i < (b+1)*100; i++ {
			batch = append(batch, event(fmt.Sprintf("ev-%04d", i), "run.failed", map[string]any{"subject": subject(fmt.Sprint(i), fmt.Sprintf("ev %04d", i))}))
		}
		if status, out := postEvents(t, addr, batch); status != 202 {
			t.Fatalf("POST = %d %v", status, out)
		}
	}
	// Kill it in the middle of delivering.
	if err := poll(ctx, time.Millisecond, func() bool { return fs.MessageCount() >= 2*n/4 }); err != nil {
		t.Fatalf("only %d posts before the kill", fs.MessageCount())
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	before := fs.MessageCount()
	if before >= 2*n {
		t.Fatalf("everything was delivered (%d) before the kill; the test proves nothing", before)
	}

	p2 := startProcess(t, bin, env)
	p2.listenAddr(t, ctx)
	var seen map[string]int
	if err := poll(ctx, 20*time.Millisecond, func() bool {
		seen = map[string]int{}
		for _, m := range fs.Messages("") {
			seen[m.Channel+" "+m.Text]++
		}
		return len(seen) == 2*n
	}); err != nil {
		t.Fatalf("after restart %d of %d posts arrived", len(seen), 2*n)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
	if p2.err != nil {
		t.Errorf("SIGTERM exit: %v", p2.err)
	}
	repeats := 0
	for _, c := range seen {
		repeats += c - 1
	}
	// The default in-flight limit (DeliveryOptions.Workers) is 8.
	if repeats > 8 {
		t.Errorf("%d posts repeated after the crash; at most 8 can be in flight", repeats)
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if evs, jobs, _ := st.Backlog(); evs != 0 || jobs != 0 {
		t.Errorf("backlog after delivery: %d events, %d jobs", evs, jobs)
	}
	t.Logf("killed after %d of %d posts; %d repeated", before, 2*n, repeats)
}

// TestAcceptedMeansDurable kills the binary with SIGKILL while 24 clients
// post events as fast as it takes them (single events and batches of 20),
// then opens its file: every event that was answered 202 is there, and
// fanned out after a restart. A 202 before the fsync, or a fan-out that
// lost its place, would fail it.
func TestAcceptedMeansDurable(t *testing.T) {
	bin := buildBinary(t)
	fs := newFake(t, fakeslack.Options{Channels: []fakeslack.Channel{{ID: "C0ONE", Name: "one"}}})
	db := filepath.Join(t.TempDir(), "paligo-slack.db")
	env := processEnv(fs, db)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startProcess(t, bin, env)
	addr := p.listenAddr(t, ctx)

	var mu sync.Mutex
	var accepted []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 24 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var ids []string
				var body any
				if c%3 == 0 { // a batch
					var batch []any
					for j := range 20 {
						id := fmt.Sprintf("d%d-%d-%d", c, i, j)
						ids = append(ids, id)
						batch = append(batch, event(id, "comment.reply", nil))
					}
					body = batch
				} else {
					id := fmt.Sprintf("d%d-%d", c, i)
					ids = append(ids, id)
					body = event(id, "comment.reply", nil)
				}
				resp, err := signedPost(addr, body)
				if err != nil {
					return // the process is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 202 {
					mu.Lock()
					accepted = append(accepted, ids...)
					mu.Unlock()
				}
			}
		})
	}
	if err := poll(ctx, time.Millisecond, func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) >= 3000 }); err != nil {
		t.Fatal("the bot did not accept 3,000 events")
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	close(stop)
	wg.Wait()

	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range accepted {
		if _, found, err := st.Event(id); err != nil || !found {
			missing++
		}
	}
	stored, _ := st.EventCount()
	st.Close()
	if missing > 0 {
		t.Fatalf("%d of %d events answered 202 are not in the file after SIGKILL", missing, len(accepted))
	}
	// Started again, it fans out everything it holds.
	p2 := startProcess(t, bin, env)
	p2.listenAddr(t, ctx)
	p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
	st, err = store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The fan-out loop runs once at start; give it its pass.
	if evs, _, _ := st.Backlog(); evs != 0 {
		t.Errorf("%d events not fanned out after a restart", evs)
	}
	t.Logf("%d events answered 202 before the kill, %d in the file (the rest were committed as the answer was lost)", len(accepted), stored)
}
