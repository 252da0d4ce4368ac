package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
)

func p99ms(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)*99/100]) / float64(time.Millisecond)
}

func p50ms(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2]) / float64(time.Millisecond)
}

// BenchmarkReplyToCallback: a person's reply in a living message's thread
// (the message event, over Socket Mode) → its callback at the platform (a
// server on loopback that answers 200), through the whole program: the
// event acked, the reply's author and permalink asked of Slack, the
// callback queued in the outbox and sent. One op is one reply, sent when
// the one before has arrived.
func BenchmarkReplyToCallback(b *testing.B) {
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var cb paligo.ActionCallback
		json.Unmarshal(body, &cb)
		mu.Lock()
		arrived[cb.Text] = time.Now()
		mu.Unlock()
	}))
	b.Cleanup(platform.Close)
	fs := newFake(b, fakeslack.Options{Channels: subscriptionChannels, PingInterval: time.Second})
	h := newHarness(b, fs, func(c *app.Config) { c.ActionsURL = platform.URL })
	ctx := ctxT(b)
	sub, _ := paligo.ParseSubscription("C0FIN", "runs replies=on")
	if _, err := h.main.Store().Subscribe(sub); err != nil {
		b.Fatal(err)
	}
	h.post(event("r1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	parent := parents(fs, "C0FIN")[0]
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		text := fmt.Sprintf("reply %d", i)
		_, env, err := fs.ReplyAsUser("C0FIN", parent.TS, "U0BOB", text)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := fs.Send(ctx, env); err != nil {
			b.Fatal(err)
		}
		var at time.Time
		if err := poll(ctx, 200*time.Microsecond, func() bool {
			mu.Lock()
			defer mu.Unlock()
			at = arrived[text]
			return !at.IsZero()
		}); err != nil {
			b.Fatalf("reply %d never reached the platform", i)
		}
		lat = append(lat, at.Sub(start))
	}
	b.StopTimer()
	b.ReportMetric(p50ms(lat), "p50-ms")
	b.ReportMetric(p99ms(lat), "p99-ms")
}

// BenchmarkLinkToUnfurl: a link to one of 100,000 subjects the bot has
// events for, posted in a channel → link_shared → the preview's
// chat.unfurl at the fake, through the whole program. One op is one
// link, posted when the one before is previewed.
func BenchmarkLinkToUnfurl(b *testing.B) {
	const subjects = 100_000
	fs := newFake(b, fakeslack.Options{Channels: testChannels, Users: benchUsers(2), PingInterval: time.Second})
	h := newHarness(b, fs, func(c *app.Config) { c.UnfurlDomains = []string{"docs.example"} })
	ctx := ctxT(b)
	st := h.main.Store()
	for i := 0; i < subjects; i += 1000 {
		var batch []paligo.Event
		for j := i; j < i+1000; j++ {
			batch = append(batch, paligo.Event{ID: fmt.Sprintf("e%d", j), Type: "document.created",
				Subject: &paligo.Subject{Kind: "document", ID: fmt.Sprint(j), Title: fmt.Sprintf("Guide %d", j), URL: fmt.Sprintf("https://docs.example/d/%d", j)}})
		}
		if _, err := st.AcceptEvents(batch); err != nil {
			b.Fatal(err)
		}
	}
	if n, _ := st.EventCount(); n != subjects {
		b.Fatalf("%d events stored", n)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		link := fmt.Sprintf("https://docs.example/d/%d", (i*7919)%subjects)
		m, env, ok := fs.PostLinks("C0OPS", "U00001", "see <"+link+">", []string{"docs.example"})
		if !ok {
			b.Fatal("no link_shared")
		}
		mark := fs.Mark()
		start := time.Now()
		if _, err := fs.Send(ctx, env); err != nil {
			b.Fatal(err)
		}
		call, err := fs.WaitForCall(ctx, mark, "chat.unfurl", func(c fakeslack.Call) bool { return c.Arg("ts") == m.TS })
		if err != nil || !call.OK() {
			b.Fatalf("link %d: %v %+v", i, err, call)
		}
		lat = append(lat, call.At.Sub(start))
	}
	b.StopTimer()
	b.ReportMetric(p50ms(lat), "p50-ms")
	b.ReportMetric(p99ms(lat), "p99-ms")
}
