package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
)

// BenchmarkManyWorkspaces runs the whole program serving 1,000 connected
// workspaces (installed in the store as the Connect flow leaves them, their
// tokens sealed), each with a channel subscribed to run.failed. Each op
// posts 10 events for every workspace, 100 to a request, and times three
// rounds side by side: every workspace answering normally (all-s: until
// all 10,000 are in Slack, the mean of the rounds before and after), and
// between them one workspace answering every call 429 (others-s: until
// the other 9,990 are). The pace is Slack's, one post a second per
// channel, so a round takes the channel's pace (of-ideal: 9 s over the
// round's time), not the machine's speed. Each workspace's fake answers 429
// to any post beyond the pace the bot keeps per channel (with one call of
// room for jitter), so over-pace counts the times a workspace's pace was
// not kept; calls-per-post counts chat.postMessage calls (429s included)
// per message in the healthy workspaces. slowed is each op's others-s over
// its all-s, the median of the ops: one rate-limited workspace must not
// slow the others.
func BenchmarkManyWorkspaces(b *testing.B) {
	const spaces, perSpace, pace, burst = 1000, 10, 1, 1
	fs := newFake(b, fakeslack.Options{Users: benchUsers(1), PingInterval: time.Second})
	var ws []*fakeslack.Server
	for i := range spaces {
		ws = append(ws, fs.AddWorkspace(fakeslack.WorkspaceOptions{TeamID: fmt.Sprintf("T%05d", i),
			Users:       []fakeslack.User{{ID: "U00001", Email: fmt.Sprintf("admin%d@example.com", i), IsAdmin: true}},
			Channels:    []fakeslack.Channel{{ID: fmt.Sprintf("C%05d", i), Name: "alerts", BotIsMember: true}},
			ChannelRate: pace, ChannelBurst: burst + 1}))
	}
	h := start(b, fs)
	sealer, err := paligo.NewSealer(testTokenKey)
	if err != nil {
		b.Fatal(err)
	}
	for i, w := range ws {
		if _, err := h.main.Store().SaveInstallation(paligo.Installation{Team: w.TeamID(), TeamName: w.TeamID(), BotUser: "U0BOT",
			Org: fmt.Sprintf("org%d", i), BotTokenSealed: sealer.Seal(w.BotToken(), w.TeamID())}); err != nil {
			b.Fatal(err)
		}
		if _, err := h.main.Store().Subscribe(paligo.Subscription{Team: w.TeamID(), Channel: fmt.Sprintf("C%05d", i), Kinds: []paligo.Kind{"run.failed"}}); err != nil {
			b.Fatal(err)
		}
	}
	h.configure = func(c *app.Config) { c.TokenKey = testTokenKey }
	tune := func(o *delivery.DeliveryOptions) { o.ChannelRate, o.ChannelBurst = pace, burst }
	tune(&h.delivery)
	read := strings.Count(h.logs.String(), directoryRead)
	h.restart()
	ctx := ctxT(b)
	// Every workspace's directory is read at the start, before the clock.
	if err := poll(ctx, 20*time.Millisecond, func() bool { return strings.Count(h.logs.String(), directoryRead)-read >= spaces+1 }); err != nil {
		b.Fatalf("%d directories read of %d", strings.Count(h.logs.String(), directoryRead)-read, spaces+1)
	}
	posted := func(w *fakeslack.Server, i int) int {
		return len(w.ChannelView(fmt.Sprintf("C%05d", i)))
	}
	round := 0
	// deliver posts perSpace events for every workspace and returns how
	// long until all of them but skip's (-1: none skipped) are in Slack.
	deliver := func(skip int) time.Duration {
		round++
		want := make([]int, spaces)
		for i, w := range ws {
			want[i] = posted(w, i) + perSpace
		}
		var batch []any
		start := time.Now()
		for i, w := range ws {
			for j := range perSpace {
				batch = append(batch, event(fmt.Sprintf("mw%d-%d-%d", round, i, j), "run.failed", map[string]any{"team": w.TeamID()}))
				if len(batch) == 100 {
					h.post(batch)
					batch = nil
				}
			}
		}
		left := slices.Collect(func(yield func(int) bool) {
			for i := range spaces {
				if i != skip && !yield(i) {
					return
				}
			}
		})
		if err := poll(ctxT(b), 5*time.Millisecond, func() bool {
			left = slices.DeleteFunc(left, func(i int) bool { return posted(ws[i], i) >= want[i] })
			return len(left) == 0
		}); err != nil {
			b.Fatalf("round %d: %d workspaces not delivered", round, len(left))
		}
		return time.Since(start)
	}
	// A first round, not counted: the file grows, lanes and limiters are
	// made, the heap finds its size.
	deliver(-1)
	var all, others, ratios []float64
	var posts, calls, overPace float64
	for b.Loop() {
		marks := make([]fakeslack.Mark, spaces)
		for i, w := range ws {
			marks[i] = w.Mark()
		}
		// Healthy, limited, healthy: the limited round is compared with
		// the mean of the two around it, so that the machine's drift
		// (a shared host) falls out.
		before := deliver(-1).Seconds()
		ws[0].Inject("*", fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
		others = append(others, deliver(0).Seconds())
		ws[0].ClearFaults()
		h.waitDelivered(ctxT(b))
		after := deliver(-1).Seconds()
		all = append(all, (before+after)/2)
		ratios = append(ratios, others[len(others)-1]/all[len(all)-1])
		b.Logf("healthy %.2f s, one limited %.2f s, healthy %.2f s", before, others[len(others)-1], after)
		for i, w := range ws[1:] {
			for _, c := range w.CallsSince(marks[i+1]) {
				if c.Method != "chat.postMessage" {
					continue
				}
				calls++
				if c.Status == http.StatusTooManyRequests {
					overPace++
				} else if c.OK() {
					posts++
				}
			}
		}
	}
	slowed := median(ratios)
	b.ReportMetric(median(all), "all-s")
	b.ReportMetric(median(others), "others-s")
	b.ReportMetric(slowed, "slowed")
	b.ReportMetric(calls/posts, "calls-per-post")
	b.ReportMetric(overPace, "over-pace")
	b.ReportMetric(float64(spaces*perSpace)/median(all), "events/s")
	// Each channel's pace bounds a round: its burst at once, then one a
	// second (Slack's pace for a channel).
	ideal := float64(perSpace-burst) / pace
	b.ReportMetric(ideal/median(all), "of-ideal")
	if want := float64(len(all) * 3 * (spaces - 1) * perSpace); posts != want || overPace != 0 || slowed > 1.1 || ideal/median(all) < 0.8 {
		b.Errorf("%.0f posts (want %.0f), %.2f calls a post, %.0f over the pace, slowed %.2f× (want ≤ 1.1×), %.2f of the ideal", posts, want, calls/posts, overPace, slowed, ideal/median(all))
	}
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
