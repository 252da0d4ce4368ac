package delivery

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// memSlack answers delivery's Web API calls in memory, counting them, so a
// benchmark measures the bot rather than HTTP.
type memSlack struct {
	mu    sync.Mutex
	calls map[string]int
	posts atomic.Int64
	want  int64
	done  chan struct{}
}

func (m *memSlack) count(method string) {
	m.mu.Lock()
	m.calls[method]++
	m.mu.Unlock()
}

func (m *memSlack) AuthTestContext(context.Context) (*slack.AuthTestResponse, error) {
	m.count("auth.test")
	return &slack.AuthTestResponse{TeamID: "T1"}, nil
}

func (m *memSlack) PostMessageContext(_ context.Context, ch string, opts ...slack.MsgOption) (string, string, error) {
	m.count("chat.postMessage")
	n := m.posts.Add(1)
	if n == m.want {
		close(m.done)
	}
	return ch, fmt.Sprintf("1700000000.%06d", n), nil
}

func (m *memSlack) UpdateMessageContext(_ context.Context, ch, ts string, _ ...slack.MsgOption) (string, string, string, error) {
	m.count("chat.update")
	return ch, ts, "", nil
}

func (m *memSlack) GetUserByEmailContext(context.Context, string) (*slack.User, error) {
	m.count("users.lookupByEmail")
	return nil, slack.SlackErrorResponse{Err: "users_not_found"}
}

func (m *memSlack) OpenConversationContext(_ context.Context, p *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error) {
	m.count("conversations.open")
	return &slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "D" + p.Users[0]}}}, false, false, nil
}

func (m *memSlack) GetUserInfoContext(_ context.Context, user string, _ ...slack.GetUserInfoOption) (*slack.User, error) {
	m.count("users.info")
	return &slack.User{ID: user, TZ: "America/Los_Angeles", TZOffset: -28800}, nil
}

// peakHeap samples the live heap every few milliseconds until stop.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			rtmetrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkDigestRun: 10,000 daily users in Los Angeles with 50 pending
// notifications each (time zones and DM channels cached, as after the first
// day). One op is the 09:00 run: every digest found due, built and handed
// to delivery, and posted to an in-memory Slack. Reports the run's time,
// the time to queue the jobs, peak live heap and Slack calls per digest.
// Posting is bound by the commit after each ok (FinishDigest), so the run
// is measured at the default in-flight limit (8) and at 32.
func BenchmarkDigestRun(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchDigestRun(b, workers, 10_000, 50, 5_000) })
	}
}

// BenchmarkDigestRunLarge is the run for a large workspace: 100,000 users
// with 20 items each (issue 15's figure: due, built and queued in 15 s
// with at most 300 MB of heap).
func BenchmarkDigestRunLarge(b *testing.B) {
	benchDigestRun(b, 8, 100_000, 20, 20_000)
}

func benchDigestRun(b *testing.B, workers, users, perUser, distinct int) {
	for range b.N {
		b.StopTimer()
		st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		seedDigests(b, st, users, perUser, distinct)
		api := &memSlack{calls: map[string]int{}, want: int64(users), done: make(chan struct{})}
		d := NewDeliverer(st, api, DeliveryOptions{Team: "T1", ChannelBurst: 3, Workers: workers})
		g := NewDigests(st, d, api, DigestOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		delivered := make(chan error, 1)
		go func() { delivered <- d.Run(ctx) }()
		<-d.ready
		st.Now = func() time.Time { return time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC) } // 09:00 PST
		runtime.GC()
		stop := make(chan struct{})
		peak := peakHeap(stop)

		b.StartTimer()
		start := time.Now()
		queued, err := g.RunOnce(ctx)
		queueTime := time.Since(start)
		if err != nil || queued != users {
			b.Fatalf("run queued %d digests (%v), want %d", queued, err, users)
		}
		select {
		case <-api.done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("only %d of %d digests posted", api.posts.Load(), users)
		}
		// The last post's FinishDigest is part of the op too.
		for {
			if _, jobs, _ := st.Backlog(); jobs == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		total := time.Since(start)
		b.StopTimer()

		close(stop)
		cancel()
		<-delivered
		b.ReportMetric(total.Seconds(), "s/run")
		b.ReportMetric(queueTime.Seconds(), "queue-s/run")
		b.ReportMetric(float64(users)/total.Seconds(), "digests/s")
		b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MB")
		api.mu.Lock()
		calls := 0
		for m, n := range api.calls {
			if m != "users.list" { // the workspace directory, read once at start
				calls += n
			}
		}
		b.ReportMetric(float64(calls)/float64(users), "slack-calls/digest")
		if api.calls["chat.postMessage"] != users || calls != users {
			b.Errorf("Slack calls = %v, want one chat.postMessage per digest and nothing else", api.calls)
		}
		api.mu.Unlock()
		for _, u := range []string{"U00000", "U09999"} {
			if s, _ := st.DigestState("T1", u); s.Pending != 0 || s.LastTS == "" {
				b.Errorf("%s after the run: %+v", u, s)
			}
		}
		st.Close()
	}
}

// seedDigests gives users pending digest items drawn from distinct events,
// with their time zone and DM channel cached.
func seedDigests(b *testing.B, st *store.Store, users, perUser, distinct int) {
	b.Helper()
	st.Now = func() time.Time { return time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC) }
	for i := 0; i < distinct; i += 1000 {
		batch := make([]paligo.Event, 0, 1000)
		for j := i; j < min(i+1000, distinct); j++ {
			batch = append(batch, paligo.Event{
				ID: fmt.Sprintf("e%d", j), Type: []paligo.Kind{"comment.reply", "document.created", "review.mention"}[j%3],
				OccurredAt: time.Date(2026, 11, 22, 10, 0, j, 0, time.UTC),
				Actor:      &paligo.Person{Name: fmt.Sprintf("Writer %d", j%17)},
				Subject:    &paligo.Subject{Kind: "topic", ID: fmt.Sprintf("t%d", j%400), Title: fmt.Sprintf("Topic %d", j%400), URL: fmt.Sprintf("https://paligo.example/t/%d", j%400)},
				Text:       "Looks good, one typo in step 3",
			})
		}
		if _, err := st.AcceptEvents(batch); err != nil {
			b.Fatal(err)
		}
	}
	var seeds []store.DigestSeed
	for u := range users {
		sd := store.DigestSeed{User: fmt.Sprintf("U%05d", u)}
		for k := range perUser {
			sd.Events = append(sd.Events, uint64((u*7+k*97)%distinct)+1)
		}
		seeds = append(seeds, sd)
		if len(seeds) == 500 || u == users-1 {
			if err := st.QueueDigestItems("T1", st.Now(), seeds); err != nil {
				b.Fatal(err)
			}
			seeds = seeds[:0]
		}
	}
	// Many writers at once, so bbolt's Batch groups them into few commits.
	var wg sync.WaitGroup
	var failed atomic.Value
	sem := make(chan struct{}, 256)
	for u := range users {
		user := fmt.Sprintf("U%05d", u)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := st.CacheTZ("", user, store.UserTZ{TZ: "America/Los_Angeles", CheckedAt: st.Now()}); err != nil {
				failed.Store(err)
			}
			if err := st.CacheDM("", user, "D"+user); err != nil {
				failed.Store(err)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

func (m *memSlack) GetConversationInfoContext(context.Context, *slack.GetConversationInfoInput) (*slack.Channel, error) {
	m.count("conversations.info")
	return &slack.Channel{}, nil
}

func (m *memSlack) ChannelsPage(context.Context, string, int) ([]slack.Channel, string, error) {
	m.count("conversations.list")
	return nil, "", nil
}

func (m *memSlack) UsersPage(context.Context, string, int) ([]slack.User, string, error) {
	m.count("users.list")
	return nil, "", nil
}
