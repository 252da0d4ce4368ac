package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store/storetest"
	"github.com/paligo/paligo-slack/workspaces"
)

// Two replicas on one PostgreSQL database: Slack sends an event to one and
// its retry to the other (the newest connection, or the URL Slack's
// requests go to), and the event is handled once.
func TestReplicasTakeAnEventOnce(t *testing.T) {
	dsn := storetest.Postgres(t)
	fs := newFake(t, fakeslack.Options{})
	a := startOn(t, fs, dsn, time.Time{})
	ctx := ctxT(t)
	env := fs.AppHomeOpened("U0ALICE")
	mark := fs.Mark()
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	a.waitHome(ctx, mark, "U0ALICE")
	b := startOn(t, fs, dsn, time.Time{}) // Slack's next envelopes go to b
	env.RetryAttempt, env.RetryReason = 1, "timeout"
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	// A later, different event is handled by b; the retry before it was not.
	b.openHome(ctx, "U0BOB")
	if n := publishesTo(fs, "U0ALICE"); n != 1 {
		t.Errorf("app_home_opened and its retry, at two replicas, published %d times; want 1", n)
	}
}

// The digest loop runs on one replica at a time; /healthz of each says
// which; when that replica stops, another takes the loop over.
func TestDigestLoopRunsOnOneReplica(t *testing.T) {
	dsn := storetest.Postgres(t)
	fs := newFake(t, fakeslack.Options{})
	var hs []*harness
	for _, name := range []string{"r1", "r2", "r3"} {
		h := &harness{t: t, slack: fs, db: dsn, logs: &syncBuffer{}, clock: &testClock{},
			configure: func(c *app.Config) { c.Replica = name }}
		h.restart()
		hs = append(hs, h)
	}
	ctx := ctxT(t)
	holder := func() (int, string) {
		t.Helper()
		n, who := 0, ""
		for _, h := range hs {
			if h.main != nil && h.main.DigestLoop().Holding() {
				n++
				who = h.main.Config.Replica
			}
		}
		return n, who
	}
	var first string
	if err := poll(ctx, 10*time.Millisecond, func() bool { n, who := holder(); first = who; return n == 1 }); err != nil {
		t.Fatal("no replica took the digest loop")
	}
	for _, h := range hs {
		if code, body := h.get("/healthz"); code != 200 || !strings.Contains(body, `"digest_lock":"`+first+`"`) {
			t.Errorf("%s: /healthz = %d %s; want the digest lock at %s", h.main.Config.Replica, code, body, first)
		}
	}
	for _, h := range hs {
		if h.main.Config.Replica == first {
			h.main.Close()
			h.main = nil
		}
	}
	start := time.Now()
	var next string
	if err := poll(ctx, 10*time.Millisecond, func() bool { n, who := holder(); next = who; return n == 1 }); err != nil {
		t.Fatal("no replica took the digest loop over")
	}
	if next == first {
		t.Fatalf("the stopped replica %s still holds the loop", first)
	}
	t.Logf("the loop moved from %s to %s in %v", first, next, time.Since(start).Round(time.Millisecond))
	if n, _ := holder(); n != 1 {
		t.Errorf("%d replicas run the digest loop", n)
	}
}

// A connected workspace disconnected, then reinstalled, by another replica:
// each replica stops using the client it held within a few seconds, and
// opens the workspace again once it is back.
func TestReplicasFollowEachOthersWorkspaces(t *testing.T) {
	dsn := storetest.Postgres(t)
	fs := newFake(t, fakeslack.Options{})
	a, base := startConnectOn(t, fs, dsn)
	b, _ := startConnectOn(t, fs, dsn)
	connectSecond(t, fs, base, "beta", fakeslack.WorkspaceOptions{})
	held := map[*harness]*workspaces.Workspace{}
	for _, h := range []*harness{a, b} {
		w, err := h.main.Workspaces().Get("T0SECOND")
		if err != nil {
			t.Fatalf("%s: %v", h.main.Config.Replica, err)
		}
		held[h] = w
	}
	in, _, err := a.main.Store().Installation("T0SECOND")
	if err != nil {
		t.Fatal(err)
	}
	// Straight in the database, as another replica's uninstall handler
	// would: neither replica here is told.
	if _, found, err := a.main.Store().Disconnect("T0SECOND", "app_uninstalled"); err != nil || !found {
		t.Fatalf("disconnect: %v %v", found, err)
	}
	ctx := ctxT(t)
	start := time.Now()
	for _, h := range []*harness{a, b} {
		if err := poll(ctx, 20*time.Millisecond, func() bool {
			_, err := h.main.Workspaces().Get("T0SECOND")
			return errors.Is(err, workspaces.ErrDisconnected)
		}); err != nil {
			t.Fatalf("a replica still serves the workspace another disconnected")
		}
	}
	if d := time.Since(start); d > 3*workspaces.FollowEvery {
		t.Errorf("the disconnect was followed after %v", d)
	}
	if _, err := a.main.Store().SaveInstallation(in); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*harness{a, b} {
		if err := poll(ctx, 20*time.Millisecond, func() bool {
			w, err := h.main.Workspaces().Get("T0SECOND")
			return err == nil && w != held[h]
		}); err != nil {
			t.Fatal("a replica did not open the reinstalled workspace again")
		}
	}
}

// One channel's posts come in the order their events were accepted,
// whichever replica accepted them: two replicas, one event at a time (each
// sent after the 202 of the one before), alternating between them, all to
// one channel. The replica that does not hold the channel's lane finds the
// other's jobs in the outbox: the holder reads the outbox up to a job
// before it posts it, so an earlier job another replica took is never
// passed.
func TestReplicasKeepAChannelsOrder(t *testing.T) {
	dsn := storetest.Postgres(t)
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	a := startOn(t, fs, dsn, time.Time{})
	b := startOn(t, fs, dsn, time.Time{})
	ctx := ctxT(t)
	a.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	const n = 80
	for i := range n {
		h := []*harness{a, b}[i%2]
		h.post(event(fmt.Sprintf("order-%03d", i), "run.failed", map[string]any{
			"subject": map[string]any{"kind": "run", "id": fmt.Sprintf("r%03d", i), "title": fmt.Sprintf("Run %03d", i)}}))
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(parents(fs, "C0OPS")) >= n }); err != nil {
		t.Fatalf("%d of %d posts arrived", len(parents(fs, "C0OPS")), n)
	}
	var got []int
	for _, m := range parents(fs, "C0OPS") {
		var i int
		if _, err := fmt.Sscanf(m.Text[strings.LastIndex(m.Text, "Run "):], "Run %03d", &i); err != nil {
			t.Fatalf("a post without its run: %q", m.Text)
		}
		got = append(got, i)
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	if inversions > 0 || len(got) != n {
		t.Errorf("the channel read %v: %d posts, %d out of order", got, len(got), inversions)
	}
}
