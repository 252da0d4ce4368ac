package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// rateKey is the scope a 429 applies to: the channel for messages, else the
// method.
func rateKey(c fakeslack.Call) string {
	if c.Method == "chat.postMessage" {
		return c.Method + ":" + c.Arg("channel")
	}
	return c.Method
}

// honoursRetryAfter checks that after each 429 no call of the same scope
// (key) was made before its Retry-After ran out; it returns how many calls
// were answered 429.
func honoursRetryAfter(t *testing.T, calls []fakeslack.Call, key func(fakeslack.Call) string) int {
	t.Helper()
	limited := 0
	for i, c := range calls {
		if c.Status != http.StatusTooManyRequests {
			continue
		}
		limited++
		until := c.At.Add(c.RetryAfter)
		for _, d := range calls[i+1:] {
			if key(d) == key(c) && d.At.Before(until) {
				t.Errorf("%s called %v after a 429 with Retry-After %v", key(d), d.At.Sub(c.At).Round(time.Millisecond), c.RetryAfter)
				break
			}
		}
	}
	return limited
}

func TestRateLimitStormDeliversEverythingAndHonoursRetryAfter(t *testing.T) {
	t.Parallel() // mostly waiting out Retry-After
	fs := newFake(t, fakeslack.Options{Channels: testChannels, Seed: 7})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS", "C0DATA"}, "publication.ready": {"C0DOCS", "C0INNER"}})
	h.setPrefs("U0ALICE", func(p *paligo.Prefs) { p.Frequency = paligo.Instant })
	h.setPrefs("U0BOB", func(p *paligo.Prefs) { p.Frequency = paligo.Instant })

	// 30% of every call from now on: 429 with Retry-After 1 or 2 s.
	fs.Inject("*", fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Rate: 0.15})
	fs.Inject("*", fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second, Rate: 0.15 / 0.85})
	const n = 8
	var batch []any
	for i := range n {
		batch = append(batch,
			event(fmt.Sprintf("run-%d", i), "run.failed", map[string]any{"subject": subject(fmt.Sprint("r", i), fmt.Sprintf("run %02d", i)), "recipients": []string{"alice@example.com"}}),
			event(fmt.Sprintf("pub-%d", i), "publication.ready", map[string]any{"subject": subject(fmt.Sprint("p", i), fmt.Sprintf("pub %02d", i)), "recipients": []string{"bob@example.com"}}))
	}
	h.post(batch)
	h.waitDelivered(ctx)

	want := map[string]string{"C0OPS": "run ", "C0DATA": "run ", fs.DMChannel("U0ALICE"): "run ", "C0DOCS": "pub ", "C0INNER": "pub ", fs.DMChannel("U0BOB"): "pub "}
	for ch, prefix := range want {
		got := texts(fs, ch)
		for i := range n {
			if c := count(got, fmt.Sprintf("%s%02d", prefix, i)); c != 1 {
				t.Errorf("%s: %s%02d delivered %d times", ch, prefix, i, c)
			}
		}
		if len(got) != n {
			t.Errorf("%s got %d messages, want %d", ch, len(got), n)
		}
	}
	if f, _ := h.main.Store().Failed(); len(f) != 0 {
		t.Errorf("failed after a 429 storm: %+v", f)
	}

	calls := fs.Calls("")
	limited := honoursRetryAfter(t, calls, rateKey)
	if limited < 10 {
		t.Errorf("only %d calls were rate limited; the storm did not happen", limited)
	}
	t.Logf("%d calls, %d answered 429", len(calls), limited)
}

func TestBrokenChannelGoesToFailedListWhileOthersDeliver(t *testing.T) {
	t.Parallel()
	fs := newFake(t, fakeslack.Options{Channels: append(testChannels, fakeslack.Channel{ID: "C0SLOW", Name: "slow"})})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"data.alert": {"C0GONE", "C0OPS", "C0SLOW"}})
	fs.Inject("chat.postMessage", fakeslack.Fault{Latency: 300 * time.Millisecond, Match: func(c fakeslack.Call) bool { return c.Arg("channel") == "C0SLOW" }})
	// Two 503s on ops first: retried with backoff, not failed.
	fs.Inject("chat.postMessage", fakeslack.Fault{Status: http.StatusServiceUnavailable, Times: 2, Match: func(c fakeslack.Call) bool { return c.Arg("channel") == "C0OPS" }})

	const n = 10
	var batch []any
	for i := range n {
		batch = append(batch, event(fmt.Sprint("a", i), "data.alert", map[string]any{"text": fmt.Sprint("alert ", i)}))
	}
	h.post(batch)
	// The healthy channel gets everything while the slow one is still going.
	if err := poll(ctx, 5*time.Millisecond, func() bool { return len(texts(fs, "C0OPS")) >= n }); err != nil {
		t.Fatalf("C0OPS got %d of %d", len(texts(fs, "C0OPS")), n)
	}
	if slow := len(texts(fs, "C0SLOW")); slow >= n {
		t.Errorf("the slow channel finished (%d) before the healthy one: lanes are not independent", slow)
	}
	h.waitDelivered(ctx)
	if got := len(texts(fs, "C0SLOW")); got != n {
		t.Errorf("C0SLOW got %d, want %d", got, n)
	}
	failed, _ := h.main.Store().Failed()
	if len(failed) != n {
		t.Fatalf("failed = %d, want %d", len(failed), n)
	}
	for _, f := range failed {
		if f.Job.Channel != "C0GONE" || f.Reason != "channel_not_found" {
			t.Errorf("failed job %+v", f)
		}
	}
	if c := len(fs.Calls("chat.postMessage")); c != 3*n+2 {
		t.Errorf("%d chat.postMessage calls, want %d: channel_not_found must not be retried", c, 3*n+2)
	}

	// Admins see the failures and retry them once the channel exists.
	home := h.openHome(ctx, "U0ADMIN")
	if s := viewJSON(home); !strings.Contains(s, "Failed deliveries:* 10") || !strings.Contains(s, "channel_not_found") || !strings.Contains(s, "<#C0GONE>") {
		t.Errorf("admin Home tab does not show the failures: %s", s)
	}
	if s := viewJSON(h.openHome(ctx, "U0ALICE")); strings.Contains(s, "channel_not_found") {
		t.Error("a non-admin sees failed deliveries")
	}
	fs.AddChannel(fakeslack.Channel{ID: "C0GONE", Name: "back"})
	home = h.click(ctx, "U0ADMIN", views.ActionRetry, map[string]any{"value": fmt.Sprint(failed[0].Job.Seq)})
	if !strings.Contains(viewJSON(home), "Retrying 1 delivery") {
		t.Errorf("no notice after Retry: %s", viewJSON(home))
	}
	h.waitDelivered(ctx)
	if got := texts(fs, "C0GONE"); len(got) != 1 {
		t.Errorf("after one Retry C0GONE has %v", got)
	}
	h.click(ctx, "U0ADMIN", views.ActionRetryAll, nil)
	h.waitDelivered(ctx)
	if got := texts(fs, "C0GONE"); len(got) != n {
		t.Errorf("after Retry all C0GONE has %d, want %d", len(got), n)
	}
	if failed, _ := h.main.Store().Failed(); len(failed) != 0 {
		t.Errorf("still failed: %+v", failed)
	}
	// A Retry click by a non-admin (a forged payload) changes nothing.
	h.main.Store().SetRoutes("", map[paligo.Kind][]string{"data.alert": {"C0NONE"}})
	h.post(event("late", "data.alert", nil))
	h.waitDelivered(ctx)
	h.openHome(ctx, "U0ADMIN")
	env, err := fs.ClickHome("U0ADMIN", views.ActionRetryAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	env.Payload.(map[string]any)["user"] = map[string]any{"id": "U0BOB", "team_id": "T0FAKE"}
	mark := fs.Mark()
	fs.Send(ctx, env)
	h.waitHome(ctx, mark, "U0BOB")
	if failed, _ := h.main.Store().Failed(); len(failed) != 1 {
		t.Errorf("a non-admin's retry changed the failed list: %d", len(failed))
	}
}

func TestInjectionTextIsPostedEscaped(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"system.alert": {"C0OPS"}})
	evil := "<!channel> <!everyone> <!here> <@U0ADMIN> <!subteam^S1> & <javascript:alert(1)|click> <https://evil.example|login>"
	h.post(event("x", "system.alert", map[string]any{
		"actor":   map[string]any{"name": evil},
		"subject": map[string]any{"kind": "svc", "id": "1", "title": evil, "url": "https://status.example/1?a=<b>&c=|d"},
		"text":    evil,
		"fields":  map[string]string{"<!channel>": evil},
	}))
	h.waitDelivered(ctx)
	msgs := fs.Messages("C0OPS")
	if len(msgs) != 1 {
		t.Fatalf("C0OPS got %d", len(msgs))
	}
	all := unescaped(msgs[0].Blocks) + msgs[0].Text
	for _, bad := range []string{"<!channel>", "<!everyone>", "<!here>", "<@U0ADMIN>", "<!subteam", "<javascript:", "<https://evil"} {
		if strings.Contains(all, bad) {
			t.Errorf("posted %q unescaped", bad)
		}
	}
	if !strings.Contains(all, "&lt;!channel&gt;") || !strings.Contains(all, "<https://status.example/1?a=%3Cb%3E&c=%7Cd|") {
		t.Errorf("escaped forms missing: %s", all)
	}
}
