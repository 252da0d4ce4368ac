package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/views"
)

// Living messages, end to end (docs/living-messages.md).

func schedule(id string) map[string]any {
	return map[string]any{"kind": "schedule", "id": id, "title": "Nightly " + id, "url": "https://paradime.example/s/" + id}
}

// postAbout posts an event of kind about schedule subject and waits until
// it is delivered.
func (h *harness) postAbout(ctx context.Context, id, kind, subject string) {
	h.t.Helper()
	h.post(event(id, kind, map[string]any{"subject": schedule(subject)}))
	h.waitDelivered(ctx)
}

// parentState is the parent's state line as drawn, and its reply count.
func parentState(t testing.TB, fs *fakeslack.Server, channel, ts string) (string, fakeslack.Message, []fakeslack.Message) {
	t.Helper()
	p, replies, ok := fs.Thread(channel, ts)
	if !ok {
		t.Fatalf("no parent %s in %s", ts, channel)
	}
	return unescaped(p.Blocks), p, replies
}

// parents returns the top-level messages of channel, ephemeral ones and
// broadcast replies left out.
func parents(fs *fakeslack.Server, channel string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range fs.ChannelView(channel) {
		if !m.IsReply() {
			out = append(out, m)
		}
	}
	return out
}

func TestARunThatFailsFailsAgainAndRecoversIsOneLivingMessage(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "run.succeeded": {"C0OPS"}})

	step := func(id, kind string) (string, fakeslack.Message, []fakeslack.Message) {
		t.Helper()
		h.post(event(id, kind, map[string]any{"subject": schedule("dbt"), "fields": map[string]any{"run": id}}))
		h.waitDelivered(ctx)
		ps := parents(fs, "C0OPS")
		if len(ps) != 1 {
			t.Fatalf("after %s: %d parents in the channel, want 1", id, len(ps))
		}
		return parentState(t, fs, "C0OPS", ps[0].TS)
	}
	state, p, replies := step("r1", "run.failed")
	if !strings.Contains(state, "*Failed*") || !strings.Contains(state, "1 update") || len(replies) != 0 || !strings.Contains(state, views.ActionLivingAck) {
		t.Fatalf("after the first failure: %d replies, parent %s", len(replies), state)
	}
	if strings.Contains(state, views.ActionLivingPlatform) {
		t.Errorf("platform actions drawn without PALIGO_SLACK_ACTIONS_URL: %s", state)
	}
	state, p, replies = step("r2", "run.failed")
	if !strings.Contains(state, "2 updates") || len(replies) != 1 || replies[0].Broadcast || p.Edits != 1 || !strings.Contains(replies[0].Text, "Run failed") {
		t.Fatalf("after the second failure: edits %d, replies %+v, parent %s", p.Edits, replies, state)
	}
	state, p, replies = step("r3", "run.succeeded")
	if !strings.Contains(state, "*Succeeded*") || !strings.Contains(state, "3 updates") || len(replies) != 2 || !replies[1].Broadcast || p.Edits != 2 {
		t.Fatalf("after the recovery: edits %d, replies %+v, parent %s", p.Edits, replies, state)
	}
	if strings.Contains(state, views.ActionLivingAck) {
		t.Errorf("a recovered run still offers Acknowledge: %s", state)
	}
	if n := len(fs.ChannelView("C0OPS")); n != 2 {
		t.Errorf("the channel shows %d messages, want the parent and the broadcast recovery", n)
	}
	// The trace names the thread of each reply.
	var tr struct {
		Targets []struct{ Channel, Outcome, TS, Thread string }
	}
	status, body := signed("GET", "/v1/events/r2", nil, testIngestSecret, h.clock.Now()).send(t, h.main.Addr())
	if err := json.Unmarshal([]byte(body), &tr); status != 200 || err != nil || len(tr.Targets) != 1 || tr.Targets[0].Thread != p.TS {
		t.Errorf("GET /v1/events/r2 = %d %s, want the reply in thread %s", status, body, p.TS)
	}
}

func TestAThreadLivesTwentyFourHours(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	post := func(id string, at time.Time) {
		h.clock.Set(at)
		h.post(event(id, "run.failed", map[string]any{"subject": schedule("dbt")}))
		h.waitDelivered(ctx)
	}
	post("d1", t0)
	post("d2", t0.Add(24*time.Hour-time.Minute))
	if ps := parents(fs, "C0OPS"); len(ps) != 1 {
		t.Fatalf("23h59m later: %d parents, want 1", len(ps))
	}
	post("d3", t0.Add(24*time.Hour+time.Minute))
	ps := parents(fs, "C0OPS")
	if len(ps) != 2 {
		t.Fatalf("24h01m later: %d parents, want a new one", len(ps))
	}
	if _, _, replies := parentState(t, fs, "C0OPS", ps[1].TS); len(replies) != 0 {
		t.Errorf("the new parent has replies: %+v", replies)
	}
	// The next one joins the new parent.
	post("d4", t0.Add(25*time.Hour))
	if _, _, replies := parentState(t, fs, "C0OPS", ps[1].TS); len(replies) != 1 {
		t.Errorf("an hour into the new thread: %d replies, want 1", len(replies))
	}
}

func TestThreadsOffPostsEveryEventAlone(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	sub, err := paligo.ParseSubscription("C0OPS", "run.failed threads=off")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.main.Store().Subscribe(sub); err != nil {
		t.Fatal(err)
	}
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0DATA"}})
	for i := range 3 {
		h.post(event(fmt.Sprint("o", i), "run.failed", map[string]any{"subject": schedule("dbt")}))
	}
	h.waitDelivered(ctx)
	ops := fs.Messages("C0OPS")
	if len(ops) != 3 || len(parents(fs, "C0OPS")) != 3 {
		t.Fatalf("threads=off: %d messages, %d top-level, want 3 alone", len(ops), len(parents(fs, "C0OPS")))
	}
	for _, m := range ops {
		if s := unescaped(m.Blocks); !strings.Contains(s, views.ActionLivingAck) || strings.Contains(s, "updates") {
			t.Errorf("a post alone lacks its buttons or counts updates: %s", s)
		}
	}
	// The same events thread in the channel without the option.
	if n, p := len(fs.Messages("C0DATA")), len(parents(fs, "C0DATA")); n != 3 || p != 1 {
		t.Errorf("threaded channel: %d messages, %d parents, want 3 and 1", n, p)
	}
	// A button on a post alone acts on it.
	env, err := fs.MessageAction("U0ALICE", ops[1], views.ActionLivingAck, "")
	if err != nil {
		t.Fatal(err)
	}
	mark := fs.Mark()
	fs.Send(ctx, env)
	if _, err := fs.WaitForCall(ctx, mark, "chat.update", func(c fakeslack.Call) bool { return c.Arg("ts") == ops[1].TS }); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	if s, _, replies := parentState(t, fs, "C0OPS", ops[1].TS); !strings.Contains(s, "Acknowledged by <@U0ALICE>") || len(replies) != 1 {
		t.Errorf("acknowledged post alone: %d notes, %s", len(replies), s)
	}
}

func TestAParentSlackWillNotUpdateIsReplaced(t *testing.T) {
	for _, reason := range []string{"message_not_found", "cant_update_message", "edit_window_closed"} {
		t.Run(reason, func(t *testing.T) {
			fs := newFake(t, fakeslack.Options{Channels: testChannels})
			h := start(t, fs)
			ctx := ctxT(t)
			h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "run.succeeded": {"C0OPS"}})
			h.postAbout(ctx, "u1", "run.failed", "dbt")
			fs.Inject("chat.update", fakeslack.Fault{Error: reason, Times: 1})
			h.postAbout(ctx, "u2", "run.succeeded", "dbt")
			ps := parents(fs, "C0OPS")
			if len(ps) != 2 {
				t.Fatalf("%d parents after %s, want the old and its replacement", len(ps), reason)
			}
			if s := unescaped(ps[1].Blocks); !strings.Contains(s, "*Succeeded*") || !strings.Contains(s, "2 updates") {
				t.Errorf("the new parent does not show the latest state: %s", s)
			}
			if f, _ := h.main.Store().Failed(); len(f) != 0 {
				t.Errorf("failed list after a replaced parent: %+v", f)
			}
			// The next event replies under the new parent.
			h.postAbout(ctx, "u3", "run.failed", "dbt")
			if _, p, replies := parentState(t, fs, "C0OPS", ps[1].TS); len(replies) != 1 || p.Edits != 1 {
				t.Errorf("after the replacement: %d replies, %d edits under the new parent", len(replies), p.Edits)
			}
		})
	}
	t.Run("deleted parent", func(t *testing.T) {
		fs := newFake(t, fakeslack.Options{Channels: testChannels})
		h := start(t, fs)
		ctx := ctxT(t)
		h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
		h.postAbout(ctx, "x1", "run.failed", "dbt")
		fs.DeleteMessage("C0OPS", fs.Messages("C0OPS")[0].TS)
		h.postAbout(ctx, "x2", "run.failed", "dbt")
		if ps := parents(fs, "C0OPS"); len(ps) != 1 || !strings.Contains(ps[0].Text, "Run failed") {
			t.Fatalf("after the parent was deleted: %+v", ps)
		}
		if f, _ := h.main.Store().Failed(); len(f) != 0 {
			t.Errorf("failed list: %+v", f)
		}
	})
}

// click sends user's click on the action of message m and waits for the
// ack.
func clickMessage(t testing.TB, ctx context.Context, fs *fakeslack.Server, user string, m fakeslack.Message, actionID, value string) fakeslack.Ack {
	t.Helper()
	env, err := fs.MessageAction(user, m, actionID, value)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := fs.Send(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

// ephemeralTo waits for an ephemeral message to user in channel after mark.
func ephemeralTo(t testing.TB, ctx context.Context, fs *fakeslack.Server, mark fakeslack.Mark, channel, user string) string {
	t.Helper()
	c, err := fs.WaitForCall(ctx, mark, "chat.postEphemeral", func(c fakeslack.Call) bool {
		return c.Arg("channel") == channel && c.Arg("user") == user
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Arg("text")
}

func TestMuteAndAcknowledgeFromTheMessage(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.postAbout(ctx, "m1", "run.failed", "dbt")
	parent := func() (string, fakeslack.Message, []fakeslack.Message) {
		return parentState(t, fs, "C0OPS", parents(fs, "C0OPS")[0].TS)
	}
	_, p, _ := parent()

	// A member may mute for a day, not a week.
	mark := fs.Mark()
	if ack := clickMessage(t, ctx, fs, "U0ALICE", p, views.ActionLivingMute, "1w"); ack.Latency > 3*time.Second {
		t.Errorf("ack after %v", ack.Latency)
	}
	if text := ephemeralTo(t, ctx, fs, mark, "C0OPS", "U0ALICE"); !strings.Contains(text, "only a workspace admin") {
		t.Errorf("a member's week-long mute was answered %q", text)
	}
	if mutes, _ := h.main.Store().Mutes("C0OPS"); len(mutes) != 0 {
		t.Fatalf("a refused mute changed the mutes: %+v", mutes)
	}
	mark = fs.Mark()
	clickMessage(t, ctx, fs, "U0ALICE", p, views.ActionLivingMute, "1d")
	if _, err := fs.WaitForCall(ctx, mark, "chat.update", nil); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	mutes, _ := h.main.Store().Mutes("C0OPS")
	if len(mutes) != 1 || mutes[0].Subject != "schedule:dbt" || mutes[0].By != "U0ALICE" || mutes[0].Until.Sub(h.clock.Now()) > 24*time.Hour || mutes[0].Until.Sub(h.clock.Now()) < 23*time.Hour {
		t.Fatalf("mutes after alice's 1 day: %+v", mutes)
	}
	if s, _, _ := parent(); !strings.Contains(s, "Muted here for 1 day by <@U0ALICE>") || !strings.Contains(s, "Muted here until") {
		t.Errorf("the parent does not show the mute: %s", s)
	}
	// Someone of a partner organization (a shared channel) acts on nothing.
	fs.AddUser(fakeslack.User{ID: "U0PARTNER", Name: "pat", Email: "pat@partner.example", TeamID: "T0PARTNER"})
	mark = fs.Mark()
	clickMessage(t, ctx, fs, "U0PARTNER", p, views.ActionLivingMute, "1h")
	if text := ephemeralTo(t, ctx, fs, mark, "C0OPS", "U0PARTNER"); !strings.Contains(text, "only people of this workspace") {
		t.Errorf("a partner's click was answered %q", text)
	}
	if mutes, _ := h.main.Store().Mutes("C0OPS"); len(mutes) != 1 || mutes[0].By != "U0ALICE" {
		t.Fatalf("a partner's click changed the mutes: %+v", mutes)
	}
	// An admin may mute for a week; the mute is the /route-alerts one.
	clickMessage(t, ctx, fs, "U0ADMIN", p, views.ActionLivingMute, "1w")
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		m, _ := h.main.Store().Mutes("C0OPS")
		return len(m) == 1 && m[0].By == "U0ADMIN"
	}); err != nil {
		t.Fatal("the admin's week-long mute was not saved")
	}
	h.waitDelivered(ctx)
	// A member cannot shorten it.
	mark = fs.Mark()
	clickMessage(t, ctx, fs, "U0BOB", p, views.ActionLivingMute, "1h")
	if text := ephemeralTo(t, ctx, fs, mark, "C0OPS", "U0BOB"); !strings.Contains(text, "muted here until") {
		t.Errorf("a shorter mute over a longer one was answered %q", text)
	}
	// While muted, the subject's events stay out of the channel.
	before := len(fs.Messages("C0OPS"))
	h.postAbout(ctx, "m2", "run.failed", "dbt")
	if n := len(fs.Messages("C0OPS")); n != before {
		t.Errorf("a muted subject was posted: %d messages, had %d", n, before)
	}
	if _, err := h.main.Store().Unmute("C0OPS", "schedule:dbt"); err != nil {
		t.Fatal(err)
	}

	// Acknowledge: by a member, recorded, shown, told in the thread; once.
	mark = fs.Mark()
	clickMessage(t, ctx, fs, "U0BOB", p, views.ActionLivingAck, "")
	if _, err := fs.WaitForCall(ctx, mark, "chat.update", nil); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	s, p, replies := parent()
	if !strings.Contains(s, "Acknowledged by <@U0BOB>") || strings.Contains(s, views.ActionLivingAck) {
		t.Errorf("after bob's Acknowledge the parent is %s", s)
	}
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Acknowledged by <@U0BOB>") {
		t.Errorf("the thread after Acknowledge: %+v", replies)
	}
	l, _, _ := h.main.Store().LivingAt("C0OPS", p.TS)
	if l.AckedBy != "U0BOB" || l.AckedAt.IsZero() {
		t.Errorf("stored acknowledgement: %+v", l)
	}
	// The admin's click on the old button (a stale screen) is answered.
	env, err := fs.MessageAction("U0ADMIN", fakeslack.Message{Channel: p.Channel, TS: p.TS, Blocks: json.RawMessage(`[{"type":"actions","elements":[{"type":"button","action_id":"` + views.ActionLivingAck + `","text":{"type":"plain_text","text":"Acknowledge"},"value":"m1"}]}]`)}, views.ActionLivingAck, "")
	if err != nil {
		t.Fatal(err)
	}
	mark = fs.Mark()
	fs.Send(ctx, env)
	if text := ephemeralTo(t, ctx, fs, mark, "C0OPS", "U0ADMIN"); !strings.Contains(text, "<@U0BOB> acknowledged this already") {
		t.Errorf("a second Acknowledge was answered %q", text)
	}
	// A new failure after a recovery clears it.
	h.post(event("m3", "run.succeeded", map[string]any{"subject": schedule("dbt")}))
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "run.succeeded": {"C0OPS"}})
	h.postAbout(ctx, "m4", "run.succeeded", "dbt")
	if s, _, _ := parent(); strings.Contains(s, "Acknowledged by") {
		t.Errorf("an acknowledgement outlived its state: %s", s)
	}
}

// callbackServer is the platform's side of PALIGO_SLACK_ACTIONS_URL: it
// answers each request with the next status of answers (the last one
// forever) and keeps what it was sent.
type callbackServer struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []int
	received []paligo.ActionCallback
	badSigs  int
}

func newCallbackServer(t testing.TB, answers ...int) *callbackServer {
	c := &callbackServer{answers: answers}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		if signing.Verify(r.Header, body, time.Now(), []byte(testIngestSecret)) != "" {
			c.badSigs++
		}
		var cb paligo.ActionCallback
		json.Unmarshal(body, &cb)
		c.received = append(c.received, cb)
		status := c.answers[min(len(c.received), len(c.answers))-1]
		w.WriteHeader(status)
		if status == 400 {
			io.WriteString(w, `{"error":"schedule dbt is paused"}`)
		}
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *callbackServer) got() []paligo.ActionCallback {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]paligo.ActionCallback(nil), c.received...)
}

func TestPlatformActionsRoundTrip(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	// The re-run: 500, then 200. The acknowledgement: 200. The second
	// re-run: 400 for good.
	platform := newCallbackServer(t, 500, 200, 200, 400)
	h := start(t, fs)
	h.configure = func(c *app.Config) { c.ActionsURL = platform.URL + "/slack-actions?key=s3cret" }
	h.restart()
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post(event("p1", "run.failed", map[string]any{"subject": schedule("dbt"),
		"actions": []any{map[string]any{"id": "rerun", "label": "Re-run"}}}))
	h.waitDelivered(ctx)
	p := parents(fs, "C0OPS")[0]
	if s := unescaped(p.Blocks); !strings.Contains(s, views.ActionLivingPlatform+"rerun") || !strings.Contains(s, "Re-run") {
		t.Fatalf("the event's action is not drawn: %s", s)
	}
	if ack := clickMessage(t, ctx, fs, "U0ALICE", p, views.ActionLivingPlatform+"rerun", ""); ack.Latency > 3*time.Second {
		t.Errorf("ack after %v", ack.Latency)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) >= 2 }); err != nil {
		t.Fatal("the platform was not called again after its 500")
	}
	h.waitDelivered(ctx)
	got := platform.got()
	if len(got) != 2 || got[0].ID == "" || got[0].ID != got[1].ID {
		t.Fatalf("callbacks %+v: want one id, tried twice", got)
	}
	cb := got[1]
	if cb.Type != "action" || cb.Action != "rerun" || cb.Event != "p1" || cb.Subject == nil || cb.Subject.ID != "dbt" ||
		cb.By.SlackUser != "U0ALICE" || cb.By.Email != "alice@example.com" || cb.Team != "T0FAKE" || cb.At == "" {
		t.Errorf("callback = %+v", cb)
	}
	if platform.badSigs != 0 {
		t.Errorf("%d callbacks were not signed with the ingest secret", platform.badSigs)
	}
	s, _, replies := parentState(t, fs, "C0OPS", p.TS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Re-run requested by <@U0ALICE>") {
		t.Errorf("the thread after the re-run: %+v", replies)
	}
	if !strings.Contains(s, "Re-run requested by <@U0ALICE>") {
		t.Errorf("the parent does not show the re-run: %s", s)
	}

	// Acknowledge is sent too.
	clickMessage(t, ctx, fs, "U0BOB", p, views.ActionLivingAck, "")
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) >= 3 }); err != nil {
		t.Fatal("Acknowledge was not sent to the platform")
	}
	if cb := platform.got()[2]; cb.Action != "acknowledge" || cb.By.SlackUser != "U0BOB" || cb.ID == got[0].ID {
		t.Errorf("acknowledge callback = %+v", cb)
	}
	h.waitDelivered(ctx)

	// A 400 is for good: shown in the thread and on the failed list.
	clickMessage(t, ctx, fs, "U0ALICE", p, views.ActionLivingPlatform+"rerun", "")
	if err := poll(ctx, 10*time.Millisecond, func() bool { f, _ := h.main.Store().Failed(); return len(f) == 1 }); err != nil {
		t.Fatal("the refused callback is not on the failed list")
	}
	h.waitDelivered(ctx)
	f, _ := h.main.Store().Failed()
	if f[0].Job.Callback == nil || f[0].Job.Callback.Action != "rerun" || !strings.Contains(f[0].Reason, "400") || !strings.Contains(f[0].Reason, "schedule dbt is paused") {
		t.Errorf("failed callback = %+v", f[0])
	}
	if strings.Contains(f[0].Reason, "s3cret") || strings.Contains(h.logs.String(), "s3cret") {
		t.Error("the actions URL's secret reached the failed list or the logs")
	}
	if len(platform.got()) != 4 {
		t.Errorf("a 400 was retried: %d callbacks", len(platform.got()))
	}
	s, _, replies = parentState(t, fs, "C0OPS", p.TS)
	if last := replies[len(replies)-1].Text; !strings.Contains(last, "could not be requested") || !strings.Contains(last, "400") {
		t.Errorf("the thread's last reply is %q", last)
	}
	if !strings.Contains(s, "could not be requested") {
		t.Errorf("the parent does not show the failure: %s", s)
	}
	// The admins see it in the failed list, and Retry sends it again, with
	// the same id.
	home := h.openHome(ctx, "U0ADMIN")
	if v := viewJSON(home); !strings.Contains(v, "the platform (rerun by U0ALICE)") || !strings.Contains(v, "schedule dbt is paused") {
		t.Errorf("the admin's failed list does not show the callback: %s", v)
	}
	h.click(ctx, "U0ADMIN", views.ActionRetry, map[string]any{"value": fmt.Sprint(f[0].Job.Seq)})
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) == 5 }); err != nil {
		t.Fatal("Retry did not send the callback again")
	}
	if again := platform.got()[4]; again.ID != platform.got()[3].ID {
		t.Errorf("the retried callback has id %s, the first try %s", again.ID, platform.got()[3].ID)
	}
}

// A signed interaction sent again as it was (a replay within Slack's five
// minutes) acts once: one callback to the platform, whatever the copies.
func TestAReplayedClickActsOnce(t *testing.T) {
	platform := newCallbackServer(t, 200)
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := startOverHTTP(t, fs, false)
	over := h.configure
	h.configure = func(c *app.Config) { over(c); c.ActionsURL = platform.URL + "/slack-actions" }
	h.restart()
	base := "http://" + h.main.Addr()
	fs.SetRequestURL(base)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post(event("rp1", "run.failed", map[string]any{"subject": schedule("dbt"),
		"actions": []any{map[string]any{"id": "rerun", "label": "Re-run"}}}))
	h.waitDelivered(ctx)
	env, err := fs.MessageAction("U0ALICE", parents(fs, "C0OPS")[0], views.ActionLivingPlatform+"rerun", "")
	if err != nil {
		t.Fatal(err)
	}
	req, err := fs.HTTPRequest(base, env)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	for i := range 3 {
		again, _ := http.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))
		again.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(again)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("copy %d answered %d, want 200", i, resp.StatusCode)
		}
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) >= 1 }); err != nil {
		t.Fatal("the click reached no platform")
	}
	h.waitDelivered(ctx)
	time.Sleep(200 * time.Millisecond)
	h.waitDelivered(ctx)
	if got := platform.got(); len(got) != 1 {
		t.Fatalf("3 copies of one click made %d callbacks, want 1: %+v", len(got), got)
	}
}

// A callback never follows a redirect: the signed body is not re-posted to
// the Location (which could be any address), and the 3xx fails it for good
// with its status.
func TestCallbacksDoNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(target.Close)
	var asked atomic.Int32
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Redirect(w, r, target.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(platform.Close)
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	h.configure = func(c *app.Config) { c.ActionsURL = platform.URL + "/slack-actions" }
	h.restart()
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post(event("r1", "run.failed", map[string]any{"subject": schedule("dbt"),
		"actions": []any{map[string]any{"id": "rerun", "label": "Re-run"}}}))
	h.waitDelivered(ctx)
	p := parents(fs, "C0OPS")[0]
	clickMessage(t, ctx, fs, "U0ALICE", p, views.ActionLivingPlatform+"rerun", "")
	if err := poll(ctx, 10*time.Millisecond, func() bool { f, _ := h.main.Store().Failed(); return len(f) == 1 }); err != nil {
		t.Fatal("the redirected callback is not on the failed list")
	}
	h.waitDelivered(ctx)
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the callback followed the redirect: %d requests reached its Location", n)
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("the platform was asked %d times, want once (a 3xx is not retried)", n)
	}
	f, _ := h.main.Store().Failed()
	if !strings.Contains(f[0].Reason, "307") || !strings.Contains(f[0].Reason, "redirect") {
		t.Errorf("the failure's reason is %q, want the 307 and that redirects are not followed", f[0].Reason)
	}
}

// TestKilledBetweenAReplyAndItsParentsUpdate kills the binary with SIGKILL
// while the parent's update is in flight, after the reply was posted: the
// restarted program repairs the parent, and the reply is not sent again.
func TestKilledBetweenAReplyAndItsParentsUpdate(t *testing.T) {
	bin := buildBinary(t)
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	env := processEnv(fs, storeWithRoutes(t, map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "run.succeeded": {"C0OPS"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p := startProcess(t, bin, env)
	addr := p.listenAddr(t, ctx)
	if status, out := postEvents(t, addr, event("k1", "run.failed", map[string]any{"subject": schedule("dbt")})); status != 202 {
		t.Fatalf("POST = %d %v", status, out)
	}
	if err := poll(ctx, 5*time.Millisecond, func() bool { return len(fs.Messages("C0OPS")) == 1 }); err != nil {
		t.Fatal("no parent")
	}
	// The next update hangs; once it is asked for, the reply it follows
	// is posted and recorded.
	inFlight := make(chan struct{})
	var once sync.Once
	fs.Inject("chat.update", fakeslack.Fault{Latency: time.Hour, Match: func(fakeslack.Call) bool {
		once.Do(func() { close(inFlight) })
		return true
	}})
	if status, out := postEvents(t, addr, event("k2", "run.succeeded", map[string]any{"subject": schedule("dbt")})); status != 202 {
		t.Fatalf("POST = %d %v", status, out)
	}
	select {
	case <-inFlight:
	case <-ctx.Done():
		t.Fatal("the parent's update was never asked for")
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	parent := fs.Messages("C0OPS")[0]
	if _, replies, _ := fs.Thread("C0OPS", parent.TS); len(replies) != 1 || parent.Edits != 0 {
		t.Fatalf("before the restart: %d replies, %d edits; want the reply posted and the parent not updated", len(replies), parent.Edits)
	}
	fs.ClearFaults()

	p2 := startProcess(t, bin, env)
	p2.listenAddr(t, ctx)
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		m, _, _ := fs.Thread("C0OPS", parent.TS)
		return m.Edits > 0
	}); err != nil {
		t.Fatal("the parent was not repaired after the restart")
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
	m, replies, _ := fs.Thread("C0OPS", parent.TS)
	if s := unescaped(m.Blocks); !strings.Contains(s, "*Succeeded*") || !strings.Contains(s, "2 updates") {
		t.Errorf("the repaired parent: %s", s)
	}
	if len(replies) != 1 || len(fs.Messages("C0OPS")) != 2 {
		t.Errorf("after the restart: %d replies, %d messages; the reply was sent again", len(replies), len(fs.Messages("C0OPS")))
	}
}

// TestParentUpdatesDoNotHoldPostsBack: chat.update's pace is the
// workspace's (Tier 3), far below a channel's; an update waiting for it
// lets the channel's new posts go first, and still comes, showing the
// latest state.
func TestParentUpdatesDoNotHoldPostsBack(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels,
		// The fake allows one call more than the bot's pace: room for the
		// network's jitter, not for a second update at once.
		MethodRates: map[string]fakeslack.MethodRate{"chat.update": {PerSecond: 0.5, Burst: 2}}})
	h := startWithDelivery(t, fs, func(o *delivery.DeliveryOptions) { o.UpdateRate, o.UpdateBurst = 0.5, 1 })
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	mark := fs.Mark()
	var first []any
	for i, s := range []string{"a", "b", "a", "b"} {
		first = append(first, event(fmt.Sprint("h", i), "run.failed", map[string]any{"subject": schedule(s)}))
	}
	h.post(first)
	// The first update takes the one token; the second has to wait 2 s.
	if _, err := fs.WaitForCall(ctx, mark, "chat.update", nil); err != nil {
		t.Fatal(err)
	}
	var second []any
	for i := range 6 {
		second = append(second, event(fmt.Sprint("h2-", i), "run.failed", map[string]any{"subject": schedule("c")}))
	}
	h.post(second)
	h.waitDelivered(ctx)
	var updates []time.Time
	var lastPost time.Time
	for _, c := range fs.CallsSince(mark) {
		switch {
		case c.Method == "chat.update" && c.OK():
			updates = append(updates, c.At)
		case c.Method == "chat.update":
			t.Errorf("chat.update answered %d %s: the bot went beyond its pace", c.Status, c.Error)
		case c.Method == "chat.postMessage" && c.OK():
			lastPost = c.At
		}
	}
	if len(updates) < 2 || !lastPost.Before(updates[1]) {
		t.Errorf("the last post at %v came after the second update (%v): an update held the channel's posts back", lastPost, updates)
	}
	for _, s := range []string{"a", "b", "c"} {
		l, _, _ := h.main.Store().LivingOf("C0OPS", "schedule:"+s)
		if p, _, _ := fs.Thread("C0OPS", l.TS); l.Shown != l.Version || (l.Updates > 1 && p.Edits == 0) {
			t.Errorf("%s: shown %d of version %d, %d edits", s, l.Shown, l.Version, p.Edits)
		}
	}
}
