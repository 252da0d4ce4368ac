package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// backlogOf reads the backlog of a database replicas share.
func backlogOf(db string) (events, jobs int, err error) {
	st, err := store.Open(db, store.Options{Replica: "chaos-check"})
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	return st.Backlog()
}

// chaosEvent is one event of the chaos stream and what it must end as.
type chaosEvent struct {
	id, title string
	kind      string
	channels  []string // routed channels that must receive it
	failed    string   // a routed channel that must fail it (channel_not_found)
	instant   string   // an instant user who must get a DM
	digest    string   // a digest user who must have it queued or digested
}

// TestChaosLosesNothing runs the real binary through a bounded storm: a
// steady stream of signed events while the fake Slack answers a share of
// calls with 429 and 5xx, adds latency, drops the socket and asks for
// refreshes, and the process is killed with SIGKILL and restarted several
// times in the middle of delivering. At the end every accepted event is
// posted, DMed, digested or in the failed list with its reason; repeats
// stay within the in-flight limit per kill; no digest window is sent
// twice; and no secret appears in any log.
func TestChaosLosesNothing(t *testing.T) {
	runChaos(t, chaosRun{replicas: 1, events: 900, channelRate: 200, db: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "paligo-slack.db")
	}})
}

// TestReplicasChaosLosesNothing is the storm on three replicas of the real
// binary sharing one PostgreSQL database: the stream goes to any of them,
// a random one is killed (SIGKILL) and started again five times. Besides
// what the single process must show, no channel is posted to faster than
// its pace, whichever replica holds its lane.
func TestReplicasChaosLosesNothing(t *testing.T) {
	runChaos(t, chaosRun{replicas: 3, events: 2000, channelRate: 50, db: storetest.Postgres})
}

// chaosRun is one storm: how many replicas share the database db makes.
type chaosRun struct {
	replicas    int
	events      int
	channelRate int // PALIGO_SLACK_CHANNEL_RATE; the burst is the default 3
	db          func(t testing.TB) string
}

func runChaos(t *testing.T, run chaosRun) {
	const (
		kills    = 5
		inFlight = 8 // DeliveryOptions.Workers' default
		team     = "T0FAKE"
	)
	nEvents := run.events
	var users []fakeslack.User
	instant := []string{"U0I0", "U0I1", "U0I2", "U0I3"}
	var digestUsers []string
	for _, id := range instant {
		users = append(users, fakeslack.User{ID: id, Email: strings.ToLower(id) + "@example.com", TZ: "America/New_York"})
	}
	for i := range 60 {
		id := fmt.Sprintf("U0D%02d", i)
		digestUsers = append(digestUsers, id)
		users = append(users, fakeslack.User{ID: id, Email: strings.ToLower(id) + "@example.com", TZ: "Europe/Paris"})
	}
	fs := newFake(t, fakeslack.Options{
		Users: users, Seed: 11,
		BotToken: "xoxb-chaos-very-secret-bot", AppToken: "xapp-chaos-very-secret-app",
		Channels: []fakeslack.Channel{{ID: "C0ONE", Name: "one"}, {ID: "C0TWO", Name: "two"}},
	})
	bin := buildBinary(t)

	// Before the first start: routes, who is instant and who gets hourly
	// digests, and for each digest user one item queued two hours ago, so
	// that this hour's digest is due while the storm runs.
	db := run.db(t)
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C0ONE", "C0TWO"}, "data.alert": {"C0ONE", "C0GONE"}})
	for _, u := range instant {
		st.UpdatePrefs(team, u, func(p *paligo.Prefs) error { p.Frequency = paligo.Instant; return nil })
	}
	var seeds []store.DigestSeed
	var seedEvents []paligo.Event
	for _, u := range digestUsers {
		st.UpdatePrefs(team, u, func(p *paligo.Prefs) error { p.Frequency = paligo.Hourly; return nil })
		st.CacheTZ("", u, store.UserTZ{TZ: "Europe/Paris"})
		seedEvents = append(seedEvents, paligo.Event{ID: "seed-" + u, Type: "comment.reply", Subject: &paligo.Subject{Kind: "topic", ID: "seed-" + u, Title: "Seed " + u}})
	}
	if _, err := st.AcceptEvents(seedEvents); err != nil {
		t.Fatal(err)
	}
	for _, u := range digestUsers {
		e, _, _ := st.Event("seed-" + u)
		seeds = append(seeds, store.DigestSeed{User: u, Events: []uint64{e.Seq}})
	}
	if err := st.QueueDigestItems(team, time.Now().Add(-2*time.Hour), seeds); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// The events: every third a run.failed (two channels and an instant
	// recipient), a data.alert (one good channel, one that does not exist)
	// or a comment.reply (an instant and a digest recipient).
	var evs []chaosEvent
	for i := range nEvents {
		e := chaosEvent{id: fmt.Sprintf("chaos-%04d", i), title: fmt.Sprintf("Chaos %04d", i)}
		switch i % 3 {
		case 0:
			e.kind, e.channels, e.instant = "run.failed", []string{"C0ONE", "C0TWO"}, instant[i%len(instant)]
		case 1:
			e.kind, e.channels, e.failed = "data.alert", []string{"C0ONE"}, "C0GONE"
		case 2:
			e.kind, e.instant, e.digest = "comment.reply", instant[i%len(instant)], digestUsers[i%len(digestUsers)]
		}
		evs = append(evs, e)
	}
	body := func(e chaosEvent) map[string]any {
		var rcpt []string
		for _, u := range []string{e.instant, e.digest} {
			if u != "" {
				rcpt = append(rcpt, strings.ToLower(u)+"@example.com")
			}
		}
		return event(e.id, e.kind, map[string]any{"subject": subject(e.id, e.title), "recipients": rcpt})
	}

	// Slack misbehaving, from the first start to the end.
	fs.Inject("*", fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Rate: 0.03})
	fs.Inject("*", fakeslack.Fault{Status: http.StatusServiceUnavailable, Rate: 0.03})
	fs.Inject("*", fakeslack.Fault{Latency: 30 * time.Millisecond, Rate: 0.1})

	env := append(processEnv(fs, db), fmt.Sprintf("PALIGO_SLACK_CHANNEL_RATE=%d", run.channelRate))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	began := time.Now()
	defer cancel()
	stormCtx, stopStorm := context.WithCancel(ctx)
	defer stopStorm()
	var storm sync.WaitGroup

	// The socket: a refresh, an abrupt drop or a warning every 400 ms.
	var socketFaults atomic.Int64
	storm.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stormCtx.Done():
				return
			case <-time.After(400 * time.Millisecond):
			}
			switch i % 3 {
			case 0:
				fs.Disconnect("refresh_requested")
			case 1:
				fs.DropConnections()
			case 2:
				fs.Disconnect("warning")
			}
			socketFaults.Add(1)
		}
	})

	// The platform: batches of 5 every 20 ms to whichever process is up. A
	// batch without an answer (the process died) may or may not have been
	// stored, so it is sent again, as the platform would, until a 202.
	// The live replicas' addresses; the stream picks one at random.
	var addrMu sync.Mutex
	addrs := make([]string, run.replicas)
	pick := func(r *rand.Rand) string {
		addrMu.Lock()
		defer addrMu.Unlock()
		var live []string
		for _, a := range addrs {
			if a != "" {
				live = append(live, a)
			}
		}
		if len(live) == 0 {
			return ""
		}
		return live[r.IntN(len(live))]
	}
	setAddr := func(i int, a string) {
		addrMu.Lock()
		addrs[i] = a
		addrMu.Unlock()
	}
	var pushed, unanswered atomic.Int64
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		r := rand.New(rand.NewPCG(12, 0))
		for i := 0; i < nEvents; i += 5 {
			var batch []any
			for _, e := range evs[i:min(i+5, nEvents)] {
				batch = append(batch, body(e))
			}
			for {
				if ctx.Err() != nil {
					return
				}
				if a := pick(r); a != "" {
					if status, ok := tryPost(a, batch); ok && status == http.StatusAccepted {
						break
					}
					unanswered.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
			pushed.Add(int64(len(batch)))
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// Kill a process in the middle of its work, each time after the
	// replicas have made some progress, then start it again on the same
	// database.
	var logs []*process
	procs := make([]*process, run.replicas)
	startAt := func(i int) {
		p := startProcess(t, bin, append(env, fmt.Sprintf("PALIGO_SLACK_REPLICA=replica-%d", i)))
		logs = append(logs, p)
		procs[i] = p
		setAddr(i, p.listenAddr(t, ctx))
	}
	for i := range run.replicas {
		startAt(i)
	}
	killedBusy := 0 // kills that left work in the outbox
	rnd := rand.New(rand.NewPCG(11, 0))
	for k := range kills {
		from := fs.MessageCount()
		want := from + 100 + rnd.IntN(150)
		if err := poll(ctx, time.Millisecond, func() bool { return fs.MessageCount() >= want }); err != nil {
			t.Fatalf("life %d: only %d posts (want %d)", k, fs.MessageCount(), want)
		}
		// The stream keeps posting: a request cut by the kill is sent again
		// to a live replica.
		i := rnd.IntN(run.replicas)
		setAddr(i, "")
		procs[i].cmd.Process.Signal(syscall.SIGKILL)
		<-procs[i].done
		if run.replicas == 1 { // a file: readable once its process is gone
			st, err := store.Open(db, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if evCount, jobs, _ := st.Backlog(); evCount+jobs > 0 {
				killedBusy++
			}
			st.Close()
		} else if _, jobs, err := backlogOf(db); err == nil && jobs > 0 {
			killedBusy++
		}
		startAt(i)
	}
	if killedBusy == 0 {
		t.Fatal("no kill found work left in the outbox; the test proves nothing")
	}
	select {
	case <-streamDone:
	case <-ctx.Done():
		t.Fatalf("the stream did not finish: %d of %d accepted", pushed.Load(), nEvents)
	}

	// Wait until Slack has seen every post, DM, refusal and digest the
	// events call for, then stop the storm and the process.
	title := regexp.MustCompile(`Chaos \d{4}`)
	posted := func() (missing []string, repeats int) {
		seen := map[string]int{} // channel + title
		for _, m := range fs.Messages("") {
			if !m.Ephemeral && !strings.HasPrefix(m.Text, "Your Paligo digest") {
				seen[m.Channel+" "+title.FindString(m.Text)]++
			}
		}
		for _, c := range fs.Calls("chat.postMessage") {
			if c.Arg("channel") == "C0GONE" && c.Error == "channel_not_found" {
				seen["C0GONE "+title.FindString(c.Arg("text"))]++
			}
		}
		for _, e := range evs {
			for _, ch := range e.channels {
				if seen[ch+" "+e.title] == 0 {
					missing = append(missing, ch+" "+e.id)
				}
			}
			if e.instant != "" && seen[fs.DMChannel(e.instant)+" "+e.title] == 0 {
				missing = append(missing, e.instant+" "+e.id)
			}
			if e.failed != "" && seen[e.failed+" "+e.title] == 0 {
				missing = append(missing, e.failed+" "+e.id)
			}
		}
		for _, u := range digestUsers {
			if len(digestDMs(fs, u)) == 0 {
				missing = append(missing, "digest "+u)
			}
		}
		for k, n := range seen {
			if !strings.HasPrefix(k, "C0GONE ") {
				repeats += n - 1
			}
		}
		return missing, repeats
	}
	var missing []string
	if err := poll(ctx, 50*time.Millisecond, func() bool { missing, _ = posted(); return len(missing) == 0 }); err != nil {
		// What the store says of the first: its receipts, its jobs still
		// in the outbox, and the replicas' last words on it.
		if id := strings.Fields(missing[0])[1]; id != "" {
			if st, err := store.Open(db, store.Options{Replica: "chaos-look"}); err == nil {
				e, _, _ := st.Event(id)
				rs, _ := st.Receipts(e.Seq)
				jobs, _ := st.PendingJobs()
				var pending []string
				for _, j := range jobs {
					if j.Event == e.Seq {
						pending = append(pending, fmt.Sprintf("%d %s %s%s%s", j.Seq, j.Kind, j.Channel, j.User, j.Email))
					}
				}
				t.Logf("%s (event %d): receipts %+v; jobs in the outbox %v", id, e.Seq, rs, pending)
				st.Close()
			}
			shown := 0
			for i, p := range logs {
				for _, l := range strings.Split(p.logs.String(), "\n") {
					if (strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, "lease") || strings.Contains(l, "taken over")) && shown < 40 {
						t.Logf("process %d: %s", i, l)
						shown++
					}
				}
			}
		}
		t.Fatalf("after the storm %d deliveries never arrived, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	t.Logf("everything delivered %v after the start", time.Since(began).Round(time.Second))
	stopStorm()
	storm.Wait()
	fs.ClearFaults()
	for i := range procs {
		if err := poll(ctx, 20*time.Millisecond, func() bool { return healthy(addrs[i]) }); err != nil {
			resp, err := http.Get("http://" + addrs[i] + "/healthz")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Logf("replica %d: /healthz %d %s", i, resp.StatusCode, b)
			}
			lines := strings.Split(procs[i].logs.String(), "\n")
			for _, l := range lines[max(0, len(lines)-15):] {
				for _, secret := range []string{"very-secret", testIngestSecret} {
					l = strings.ReplaceAll(l, secret, "<secret>")
				}
				t.Log(l)
			}
			t.Fatalf("replica %d did not reconnect after the storm", i)
		}
	}
	for i, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.done
		if p.err != nil {
			t.Errorf("replica %d: SIGTERM exit: %v", i, p.err)
		}
	}

	// Each channel at its pace: at most the burst and a second's worth of
	// posts in any second, whichever replica posted.
	byChannel := map[string][]time.Time{}
	for _, c := range fs.Calls("chat.postMessage") {
		if ch := c.Arg("channel"); c.Error == "" && c.Status == http.StatusOK && strings.HasPrefix(ch, "C") {
			byChannel[ch] = append(byChannel[ch], c.At)
		}
	}
	for ch, at := range byChannel {
		slices.SortFunc(at, time.Time.Compare)
		most, j := 0, 0
		for i := range at {
			for at[i].Sub(at[j]) >= time.Second {
				j++
			}
			most = max(most, i-j+1)
		}
		// The burst (3), a second at the rate, and one for the clocks.
		if limit := 3 + run.channelRate + 1; most > limit {
			t.Errorf("%s got %d posts in one second; its pace allows %d", ch, most, limit)
		}
	}

	// Each channel's posts in the order their events were accepted (the
	// stream's order: each batch is sent once the one before has its
	// 202), whichever replica accepted them: the first post of each title
	// comes after the first post of every earlier title.
	index := map[string]int{}
	for i, e := range evs {
		index[e.title] = i
	}
	for _, ch := range []string{"C0ONE", "C0TWO"} {
		latest, late, seen := -1, 0, map[string]bool{}
		var example string
		for _, m := range fs.Messages(ch) {
			t := title.FindString(m.Text)
			if m.Ephemeral || t == "" || seen[t] || m.IsReply() {
				continue
			}
			seen[t] = true
			if index[t] < latest {
				late++
				if example == "" {
					example = fmt.Sprintf("%s after %s", t, evs[latest].title)
				}
			}
			latest = max(latest, index[t])
		}
		if late > 0 {
			t.Errorf("%s: %d posts came after a later event's (e.g. %s)", ch, late, example)
		}
	}

	// The store's account of every event.
	st, err = store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if evCount, jobs, _ := st.Backlog(); evCount != 0 || jobs != 0 {
		t.Errorf("backlog after the storm: %d events, %d jobs", evCount, jobs)
	}
	failed, _ := st.Failed()
	failedFor := map[uint64]string{}
	for _, f := range failed {
		if f.Job.Channel == "C0GONE" {
			failedFor[f.Job.Event] = f.Reason
		}
	}
	msgs := map[string]bool{}
	for _, m := range fs.Messages("") {
		msgs[m.Channel+" "+m.TS] = true
	}
	queued := map[string]int{}
	for _, e := range evs {
		se, ok, err := st.Event(e.id)
		if err != nil || !ok {
			t.Errorf("%s was accepted (202) but is not in the store", e.id)
			continue
		}
		rs, _ := st.Receipts(se.Seq)
		for _, ch := range e.channels {
			if r := rs[ch]; r.Outcome != paligo.Sent || !msgs[r.Channel+" "+r.TS] {
				t.Errorf("%s to %s: receipt %+v does not name a message Slack has", e.id, ch, r)
			}
		}
		if e.instant != "" {
			if r := rs[team+"/"+e.instant]; r.Outcome != paligo.Sent || !msgs[r.Channel+" "+r.TS] {
				t.Errorf("%s to %s: receipt %+v does not name a message Slack has", e.id, e.instant, r)
			}
		}
		if e.digest != "" {
			if r := rs[team+"/"+e.digest]; r.Outcome != paligo.Digested {
				t.Errorf("%s to %s: receipt %+v, want digest", e.id, e.digest, r)
			}
			queued[e.digest]++
		}
		if e.failed != "" && !strings.Contains(failedFor[se.Seq], "channel_not_found") {
			t.Errorf("%s to %s: failed list says %q, want channel_not_found", e.id, e.failed, failedFor[se.Seq])
		}
	}

	// Digests: the seeded item went out in this hour's digest; every item
	// is either in a sent digest or still waiting; no window twice.
	digestRepeats := 0
	for i, u := range digestUsers {
		sent, _ := st.SentDigests(team, u)
		windows := map[time.Time]bool{}
		told := 0
		for _, d := range sent {
			if windows[d.Window] {
				t.Errorf("%s: window %v recorded twice", u, d.Window)
			}
			windows[d.Window] = true
			told += len(d.Events)
			if !msgs[d.Channel+" "+d.TS] {
				t.Errorf("%s: digest record %+v names no message Slack has", u, d)
			}
		}
		if len(sent) == 0 || !containsSeq(sent[0].Events, seeds[i].Events[0]) {
			t.Errorf("%s: the seeded item was not in the first digest: %+v", u, sent)
		}
		pending, _ := st.PendingDigest(team, u)
		if told+pending != queued[u]+1 {
			t.Errorf("%s: %d items told + %d pending, want %d", u, told, pending, queued[u]+1)
		}
		digestRepeats += len(digestDMs(fs, u)) - len(sent)
	}

	_, repeats := posted()
	limited, unavailable := 0, 0
	for _, c := range fs.Calls("") {
		switch c.Status {
		case http.StatusTooManyRequests:
			limited++
		case http.StatusServiceUnavailable:
			unavailable++
		}
	}
	if repeats > kills*inFlight {
		t.Errorf("%d repeated messages after %d kills; at most %d calls can be in flight at each", repeats, kills, inFlight)
	}
	if digestRepeats > kills*inFlight || digestRepeats < 0 {
		t.Errorf("%d repeated digests", digestRepeats)
	}
	for _, p := range logs {
		l := p.logs.String()
		for _, secret := range []string{"very-secret", testIngestSecret} {
			if strings.Contains(l, secret) {
				t.Errorf("a secret is in the logs")
			}
		}
	}
	t.Logf("chaos, %d replicas: %d events pushed (%d batches sent again), %d kills survived (%d with work in the outbox), %d socket faults, %d 429s, %d 503s, %d Slack calls; %d messages repeated (%d digests), 0 lost",
		run.replicas, pushed.Load(), unanswered.Load(), kills, killedBusy, socketFaults.Load(), limited, unavailable, len(fs.Calls("")), repeats, digestRepeats)
}

// tryPost is postEvents for a process that may die under it: ok is false
// when no answer came.
func tryPost(addr string, batch []any) (status int, ok bool) {
	resp, err := signedPost(addr, batch)
	if err != nil {
		return 0, false
	}
	resp.Body.Close()
	return resp.StatusCode, true
}

func containsSeq(list []uint64, seq uint64) bool {
	for _, s := range list {
		if s == seq {
			return true
		}
	}
	return false
}

// healthy reports whether the process at addr says its store is open and
// its Slack connection up.
func healthy(addr string) bool {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
