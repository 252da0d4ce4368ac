package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
)

// reportLatency reports p50 and p99 of ds in milliseconds.
func reportLatency(b *testing.B, ds []time.Duration) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	q := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

func benchUsers(n int) []fakeslack.User {
	var us []fakeslack.User
	for i := range n {
		us = append(us, fakeslack.User{ID: fmt.Sprintf("U%05d", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	return us
}

// BenchmarkEnvelopeAck measures envelope -> ack through the whole program:
// the fake writes an envelope to the socket and times the ack's arrival.
func BenchmarkEnvelopeAck(b *testing.B) {
	for _, kind := range []string{"slash_command", "block_action"} {
		b.Run(kind, func(b *testing.B) {
			fs := newFake(b, fakeslack.Options{Users: benchUsers(1), PingInterval: time.Second})
			h := start(b, fs)
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
