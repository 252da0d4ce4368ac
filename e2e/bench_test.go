package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store/storetest"
)

// reportLatency reports p50 and p99 of ds in milliseconds.
func reportLatency(b *testing.B, ds []time.Duration) { reportNamed(b, "", ds) }

// reportNamed reports p50 and p99 of ds in milliseconds, as name-p50-ms
// and name-p99-ms.
func reportNamed(b *testing.B, name string, ds []time.Duration) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	if name != "" {
		name += "-"
	}
	slices.Sort(ds)
	q := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), name+"p50-ms")
	b.ReportMetric(q(0.99), name+"p99-ms")
}

func benchUsers(n int) []fakeslack.User {
	var us []fakeslack.User
	for i := range n {
		us = append(us, fakeslack.User{ID: fmt.Sprintf("U%05d", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	return us
}

// BenchmarkEnvelopeAck measures envelope -> ack through the whole program:
// over Socket Mode, the fake writes an envelope to the socket and times
// the ack's arrival; over HTTP, it sends Slack's signed request and times
// the response.
func BenchmarkEnvelopeAck(b *testing.B) {
	for _, transport := range []string{"socket", "http"} {
		for _, kind := range []string{"slash_command", "block_action"} {
			b.Run(kind+"-"+transport, func(b *testing.B) {
				fs := newFake(b, fakeslack.Options{Users: benchUsers(1), PingInterval: time.Second})
				var h *harness
				if transport == "http" {
					h = startOverHTTP(b, fs, false)
				} else {
					h = start(b, fs)
				}
				ctx := ctxT(b)
				h.openHome(ctx, "U00000")
				env := fs.SlashCommand("U00000", "C1", "/route-alerts", "help")
				if kind == "block_action" {
					var err error
					env, err = fs.ClickHome("U00000", "home_frequency", map[string]any{"selected_option": option("daily")})
					if err != nil {
						b.Fatal(err)
					}
				}
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for b.Loop() {
					a, err := fs.Send(ctx, env)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, a.Latency)
				}
				b.StopTimer()
				reportLatency(b, lat)
			})
		}
	}
}

// BenchmarkHomeTabPublish measures app_home_opened -> views.publish: from
// the envelope written to the socket to the fake receiving the publish.
func BenchmarkHomeTabPublish(b *testing.B) {
	const users = 500
	fs := newFake(b, fakeslack.Options{Users: benchUsers(users), PingInterval: time.Second})
	start(b, fs)
	ctx := ctxT(b)
	lat := make([]time.Duration, 0, b.N)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		user := fmt.Sprintf("U%05d", i%users)
		i++
		mark := fs.Mark()
		t0 := time.Now()
		if _, err := fs.Post(ctx, fs.AppHomeOpened(user)); err != nil {
			b.Fatal(err)
		}
		c, err := fs.WaitForCall(ctx, mark, "views.publish", func(c fakeslack.Call) bool { return c.Arg("user_id") == user })
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, c.At.Sub(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkDelivery delivers 10,000 events to 20 channels (10 kinds, each
// routed to 2 channels: 1,000 posts per channel) with the fake enforcing a
// per-channel rate, Slack's 1 message/s scaled up to 50/s. One op is the
// whole run, from the first POST to the last post. The ideal is the rate
// limit: 1,000 posts / 50 per s = 20 s. ratio = ideal / achieved.
//
// postgres-3-replicas is the same load on three replicas of the program
// sharing one PostgreSQL database: each takes a third of the POSTs, and
// each channel's lane belongs to one of them at a time.
func BenchmarkDelivery(b *testing.B) {
	b.Run("bbolt", func(b *testing.B) {
		benchDelivery(b, 1, func(b testing.TB) string { return filepath.Join(b.TempDir(), "bench.db") })
	})
	b.Run("postgres-3-replicas", func(b *testing.B) { benchDelivery(b, 3, storetest.Postgres) })
}

func benchDelivery(b *testing.B, replicas int, db func(testing.TB) string) {
	const (
		events   = 10_000
		channels = 20
		perChan  = 2 * events / channels
		rate     = 50.0
	)
	var chs []fakeslack.Channel
	for i := range channels {
		chs = append(chs, fakeslack.Channel{ID: fmt.Sprintf("C%02d", i), Name: fmt.Sprintf("c%d", i)})
	}
	fs := newFake(b, fakeslack.Options{Users: benchUsers(1), Channels: chs, PingInterval: time.Second, ChannelRate: rate, ChannelBurst: 5})
	dsn := db(b)
	var hs []*harness
	for range replicas {
		h := &harness{t: b, slack: fs, db: dsn, logs: &syncBuffer{}, clock: &testClock{},
			delivery: delivery.DeliveryOptions{ChannelRate: rate, ChannelBurst: 3}}
		h.restart()
		hs = append(hs, h)
	}
	h := hs[0]
	kinds := paligo.RoutableKinds()[:10]
	routes := map[paligo.Kind][]string{}
	for i, k := range kinds {
		routes[k] = []string{chs[2*i].ID, chs[2*i+1].ID}
	}
	h.setRoutes(routes)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	run := 0
	var elapsed time.Duration
	var calls, posts int
	before := fs.MessageCount()
	for b.Loop() {
		run++
		startCount, startCalls := fs.MessageCount(), len(fs.Calls("chat.postMessage"))
		t0 := time.Now()
		for batch := range events / 100 {
			var evs []any
			for i := range 100 {
				n := batch*100 + i
				evs = append(evs, event(fmt.Sprintf("r%d-%05d", run, n), string(kinds[n%len(kinds)]), map[string]any{"text": fmt.Sprintf("run %d event %d", run, n)}))
			}
			hs[batch%len(hs)].post(evs)
		}
		if err := poll(ctx, 5*time.Millisecond, func() bool { return fs.MessageCount()-startCount >= 2*events }); err != nil {
			b.Fatalf("delivered %d of %d", fs.MessageCount()-startCount, 2*events)
		}
		elapsed += time.Since(t0)
		posts += fs.MessageCount() - startCount
		calls += len(fs.Calls("chat.postMessage")) - startCalls
	}
	b.StopTimer()
	h.waitDelivered(ctx)
	if f, _ := h.main.Store().Failed(); len(f) != 0 {
		b.Fatalf("%d deliveries failed", len(f))
	}
	ideal := time.Duration(float64(perChan)/rate*float64(time.Second)) * time.Duration(run)
	b.ReportMetric(ideal.Seconds()/elapsed.Seconds(), "ratio-of-ideal")
	b.ReportMetric(float64(posts)/elapsed.Seconds(), "posts/s")
	b.ReportMetric(float64(calls)/float64(posts), "calls/post")
	b.ReportMetric(float64(2*events*run-posts), "lost")
	// Once the outbox is empty: a post beyond one per event and channel is
	// a repeat (two replicas running one lane would make them).
	b.ReportMetric(float64(fs.MessageCount()-before-2*events*run), "repeats")
	// Each batch was posted after the one before it was answered, so each
	// channel must show its events in the order they were sent.
	read, disorder := outOfOrder(fs, chs)
	b.ReportMetric(float64(disorder), "out-of-order")
	if read != 2*events*run {
		b.Fatalf("read the order of %d posts of %d", read, 2*events*run)
	}
	if disorder != 0 {
		b.Fatalf("%d posts came before an event sent earlier to their channel", disorder)
	}
}

// outOfOrder counts, over each channel's messages, those whose event's
// text, "run R event N", comes before the one posted ahead of it; read is
// how many messages named theirs.
func outOfOrder(fs *fakeslack.Server, chs []fakeslack.Channel) (read, bad int) {
	for _, ch := range chs {
		last := [2]int{-1, -1}
		for _, m := range fs.Messages(ch.ID) {
			// The event's text is quoted in the message's blocks.
			text := string(m.Blocks)
			i := strings.Index(text, "run ")
			var at [2]int
			if i < 0 {
				continue
			}
			if _, err := fmt.Sscanf(text[i:], "run %d event %d", &at[0], &at[1]); err != nil {
				continue
			}
			read++
			if at[0] < last[0] || (at[0] == last[0] && at[1] <= last[1]) {
				bad++
			}
			last = at
		}
	}
	return read, bad
}

// BenchmarkCriticalBehindStrangers measures, through the whole program, how
// long a run.failed DM to someone the bot never notified before waits
// behind one event naming 1,000 emails no one in the workspace has. The
// fake paces users.lookupByEmail at 10 a second (Slack's Tier 3 is about
// 50 a minute): asked one by one, the strangers would hold the DM for
// 100 s (20 minutes at Tier 3); the workspace directory knows them.
func BenchmarkCriticalBehindStrangers(b *testing.B) {
	fs := strangersWorkspace(b, 450)
	h := start(b, fs)
	var delays []time.Duration
	run := 0
	for b.Loop() {
		if run == newcomers {
			b.Fatalf("more runs than newcomers (%d): use -benchtime %dx or less", newcomers, newcomers)
		}
		delays = append(delays, criticalDelay(b, h, fs, run))
		run++
		b.StopTimer()
		h.waitDelivered(ctxT(b))
		b.StartTimer()
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2])/float64(time.Millisecond), "critical-delay-ms")
	b.ReportMetric(float64(len(fs.Calls("users.lookupByEmail")))/float64(run), "lookups/op")
}

// BenchmarkMondayHomeTabs is 09:00 on a Monday: 200 people who never opened
// the Home tab open it, 20 at a time. It reports the ack's latency and the
// envelope's to its views.publish, through the whole program. One op is one
// person's first visit.
func BenchmarkMondayHomeTabs(b *testing.B) {
	const people, together, runs = 200, 20, 10
	users := benchUsers(people * runs)
	// in-process: the program and the fake in the test's process;
	// bot-process: the built binary in a process of its own, as it runs.
	for _, where := range []string{"in-process", "bot-process"} {
		b.Run(where, func(b *testing.B) {
			fs := newFake(b, fakeslack.Options{Users: users, PingInterval: time.Second})
			ctx := ctxT(b)
			if where == "in-process" {
				h := &harness{t: b, slack: fs, db: filepath.Join(b.TempDir(), "bench.db"), logs: &syncBuffer{}, clock: &testClock{},
					delivery: delivery.DeliveryOptions{DirectoryRate: 1000}} // a workspace of 2,000 read at once
				h.restart()
			} else {
				bin := buildBinary(b)
				p := startProcess(b, bin, processEnv(fs, filepath.Join(b.TempDir(), "bench.db")))
				p.listenAddr(b, ctx)
				if err := fs.WaitConnections(ctx, 1); err != nil {
					b.Fatal(err)
				}
				// Monday 09:00: the bot has been up for days, its
				// directory of the workspace read (at users.list's pace,
				// some 30 s for these 2,000 people).
				wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := poll(wctx, 100*time.Millisecond, func() bool { return strings.Contains(p.logs.String(), directoryRead) }); err != nil {
					b.Fatal("the binary did not read the workspace directory")
				}
				ctx = ctxT(b) // the visits' own time, from now
			}
			mondayHomeTabs(b, ctx, fs, people, together, runs)
		})
	}
}

// mondayHomeTabs has each b.Loop's 200 first-time visitors open the Home
// tab, 20 at a time, and reports the acks' and the publishes' latencies.
func mondayHomeTabs(b *testing.B, ctx context.Context, fs *fakeslack.Server, people, together, runs int) {
	var mu sync.Mutex
	var acks, publishes []time.Duration
	next := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if next+people > people*runs {
			b.Fatalf("out of first-time visitors: use -benchtime %dx or less", runs)
		}
		first := next
		next += people
		b.StartTimer()
		var wg sync.WaitGroup
		work := make(chan string)
		for range together {
			wg.Go(func() {
				for user := range work {
					mark := fs.Mark()
					t0 := time.Now()
					a, err := fs.Send(ctx, fs.AppHomeOpened(user))
					if err != nil {
						b.Error(err)
						return
					}
					c, err := fs.WaitForCall(ctx, mark, "views.publish", func(c fakeslack.Call) bool { return c.Arg("user_id") == user })
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					acks = append(acks, a.Latency)
					publishes = append(publishes, c.At.Sub(t0))
					mu.Unlock()
				}
			})
		}
		for i := range people {
			work <- fmt.Sprintf("U%05d", first+i)
		}
		close(work)
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(acks)
	slices.Sort(publishes)
	q := func(ds []time.Duration, p float64) float64 {
		return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(acks, 0.5), "ack-p50-ms")
	b.ReportMetric(q(acks, 0.99), "ack-p99-ms")
	b.ReportMetric(q(publishes, 0.5), "publish-p50-ms")
	b.ReportMetric(q(publishes, 0.99), "publish-p99-ms")
}
