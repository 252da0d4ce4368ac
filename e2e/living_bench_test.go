package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// BenchmarkLivingThreads posts 100 events about 10 subjects, in one batch,
// into one channel (a new one each op) through the whole program, and
// counts what Slack was asked: 10 parents and 90 replies, the parents'
// updates coalesced while replies wait (calls-per-event, and
// extra-calls-per-event beyond the post itself), and no call beyond the
// channel's pace. The fake answers 429 to any chat.postMessage beyond the
// pace the bot keeps (with one call of room for the network's jitter), so
// rate-limited counts the times the pace was exceeded.
func BenchmarkLivingThreads(b *testing.B) {
	const pace, burst = 20, 3
	fs := newFake(b, fakeslack.Options{Users: benchUsers(1), PingInterval: time.Second,
		ChannelRate: pace, ChannelBurst: burst + 1,
		MethodRates: map[string]fakeslack.MethodRate{"chat.update": {PerSecond: 50, Burst: 10}}})
	h := startWithDelivery(b, fs, func(o *delivery.DeliveryOptions) {
		o.ChannelRate, o.ChannelBurst = pace, burst
		o.UpdateRate, o.UpdateBurst = 50, 10
	})
	ctx := ctxT(b)
	var calls, posts, parentsN, replies, limited float64
	n := 0
	for b.Loop() {
		n++
		ch := fmt.Sprintf("C0LIVE%03d", n)
		fs.AddChannel(fakeslack.Channel{ID: ch, Name: fmt.Sprintf("live-%d", n)})
		sub, err := paligo.ParseSubscription(ch, "runs")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.main.Store().Subscribe(sub); err != nil {
			b.Fatal(err)
		}
		var batch []any
		for i := range 100 {
			kind := "run.failed"
			if i%3 == 2 {
				kind = "run.succeeded"
			}
			batch = append(batch, event(fmt.Sprintf("lt%d-%03d", n, i), kind, map[string]any{"subject": schedule(fmt.Sprint(i % 10))}))
		}
		mark := fs.Mark()
		h.post(batch)
		h.waitDelivered(ctx)
		for _, c := range fs.CallsSince(mark) {
			if c.Arg("channel") != ch || (c.Method != "chat.postMessage" && c.Method != "chat.update") {
				continue
			}
			if c.Status == 429 {
				limited++
				continue
			}
			calls++
			if c.Method == "chat.postMessage" {
				posts++
			}
		}
		for _, m := range fs.Messages(ch) {
			if m.IsReply() {
				replies++
			} else {
				parentsN++
			}
		}
	}
	ops := float64(n)
	b.ReportMetric(calls/ops/100, "calls-per-event")
	b.ReportMetric((calls-posts)/ops/100, "extra-calls-per-event")
	b.ReportMetric(parentsN/ops, "parents")
	b.ReportMetric(replies/ops, "replies")
	b.ReportMetric(limited/ops, "rate-limited")
	if parentsN/ops != 10 || replies/ops != 90 || limited > 0 || (calls-posts)/ops/100 > 0.1 {
		b.Errorf("per 100 events: %.0f parents, %.0f replies, %.2f extra calls per event, %.0f rate-limited; want 10, 90, ≤ 0.1, 0",
			parentsN/ops, replies/ops, (calls-posts)/ops/100, limited/ops)
	}
}

// BenchmarkLivingClick measures a click on a living message's button
// through the whole program: envelope to ack (ack-p99-ms), and envelope to
// the fake receiving the parent's chat.update (updated-p99-ms). Each op is
// one person muting the subject for an hour from the message.
func BenchmarkLivingClick(b *testing.B) {
	fs := newFake(b, fakeslack.Options{Channels: testChannels, PingInterval: time.Second})
	h := startWithDelivery(b, fs, func(o *delivery.DeliveryOptions) { o.UpdateRate, o.UpdateBurst = 1000, 100 })
	ctx := ctxT(b)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post(event("click-1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	parent := parents(fs, "C0OPS")[0]
	env, err := fs.MessageAction("U0ALICE", parent, views.ActionLivingMute, "1h")
	if err != nil {
		b.Fatal(err)
	}
	var acks, updated []time.Duration
	for b.Loop() {
		mark := fs.Mark()
		sent := time.Now()
		a, err := fs.Send(ctx, env)
		if err != nil {
			b.Fatal(err)
		}
		c, err := fs.WaitForCall(ctx, mark, "chat.update", func(c fakeslack.Call) bool { return c.Arg("ts") == parent.TS })
		if err != nil || !c.OK() {
			b.Fatalf("no update after the click: %+v %v", c, err)
		}
		acks = append(acks, a.Latency)
		updated = append(updated, c.At.Sub(sent))
		h.waitDelivered(ctx)
	}
	b.StopTimer()
	reportNamed(b, "ack", acks)
	reportNamed(b, "updated", updated)
}

// startWithDelivery starts the program with its delivery options changed
// by tune.
func startWithDelivery(tb testing.TB, fs *fakeslack.Server, tune func(*delivery.DeliveryOptions)) *harness {
	tb.Helper()
	h := start(tb, fs)
	tune(&h.delivery)
	h.restart()
	return h
}
