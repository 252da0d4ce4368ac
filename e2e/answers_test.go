package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// Answering back from Slack (docs/answering-back.md).

// send sends env and wants it acked.
func sendEnv(t testing.TB, ctx context.Context, fs *fakeslack.Server, env fakeslack.Envelope) fakeslack.Ack {
	t.Helper()
	ack, err := fs.Send(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

// A reply with a mention and a link, in the thread of a living message of
// a channel that subscribed with replies=on, reaches the platform once:
// through a 500 and a restart, the same id; it is then marked. The bot's
// own replies in the thread, an edit, and a reply in a channel without
// replies=on send nothing.
func TestThreadRepliesReachThePlatform(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	platform := newCallbackServer(t, 500, 200)
	h := newHarness(t, fs, func(c *app.Config) { c.ActionsURL = platform.URL + "/actions" })
	ctx := ctxT(t)
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe runs replies=on"); !strings.Contains(got, "replies=on") {
		t.Fatalf("subscribe: %s", got)
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0MKT", "subscribe runs"); !strings.Contains(got, "Subscribed") {
		t.Fatalf("subscribe: %s", got)
	}
	h.post(event("r1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	fin, mkt := parents(fs, "C0FIN")[0], parents(fs, "C0MKT")[0]

	// The bot's own reply in the thread (a second failure) comes back as
	// a message event: it is not sent.
	h.post(event("r2", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	_, _, replies := parentState(t, fs, "C0FIN", fin.TS)
	if len(replies) != 1 {
		t.Fatalf("%d replies in the thread", len(replies))
	}
	sendEnv(t, ctx, fs, fs.MessageEvent(replies[0]))

	// Bob replies in #finance-data's thread, naming Alice and a link.
	reply, env, err := fs.ReplyAsUser("C0FIN", fin.TS, "U0BOB", "<@U0ALICE> re-ran it &amp; it passed, see <https://ci.example/1|the log> &lt;3")
	if err != nil {
		t.Fatal(err)
	}
	sendEnv(t, ctx, fs, env)
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) >= 1 }); err != nil {
		t.Fatal("the reply did not reach the platform")
	}
	// The platform answered 500: the bot stops and starts again before it
	// tries once more.
	h.restart()
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) >= 2 }); err != nil {
		t.Fatal("the reply was not tried again after the 500 and a restart")
	}
	h.waitDelivered(ctx)
	got := platform.got()
	if len(got) != 2 || got[0].ID != got[1].ID || !strings.HasPrefix(got[0].ID, "reply_") {
		t.Fatalf("callbacks %+v: want one id, tried twice", got)
	}
	cb := got[1]
	if cb.Type != "reply" || cb.Event != "r2" || cb.Subject == nil || cb.Subject.ID != "dbt" || cb.By == nil || cb.By.SlackUser != "U0BOB" ||
		cb.By.Email != "bob@example.com" || cb.Team != "T0FAKE" || !strings.Contains(cb.Permalink, "/archives/C0FIN/p") {
		t.Errorf("callback %+v", cb)
	}
	if want := "@Alice Example re-ran it & it passed, see the log (https://ci.example/1) <3"; cb.Text != want {
		t.Errorf("text %q, want %q", cb.Text, want)
	}
	if platform.badSigs != 0 {
		t.Errorf("%d unsigned callbacks", platform.badSigs)
	}
	if r := fs.Reactions("C0FIN", reply.TS); len(r) != 1 || r[0].Name != views.ReplyMark {
		t.Errorf("the reply's reactions: %+v", r)
	}

	// An edit, the same event again, and a reply in #marketing-data
	// (no replies=on) send nothing more.
	sendEnv(t, ctx, fs, fs.EditedEvent(reply, "edited text"))
	sendEnv(t, ctx, fs, env)
	_, env2, _ := fs.ReplyAsUser("C0MKT", mkt.TS, "U0BOB", "thanks")
	sendEnv(t, ctx, fs, env2)
	// A person of another organization, in a channel shared with Slack
	// Connect.
	_, env4, _ := fs.ReplyAsUser("C0FIN", fin.TS, "U0BOB", "from outside")
	env4.Payload.(map[string]any)["event"].(map[string]any)["user_team"] = "T0OTHER"
	sendEnv(t, ctx, fs, env4)
	_, env3, _ := fs.ReplyAsUser("C0FIN", fin.TS, "U0BOB", "same thread, once more")
	sendEnv(t, ctx, fs, env3)
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) >= 3 }); err != nil {
		t.Fatal("the next reply was not sent")
	}
	h.waitDelivered(ctx)
	time.Sleep(100 * time.Millisecond)
	if got := platform.got(); len(got) != 3 || got[2].Text != "same thread, once more" {
		t.Errorf("callbacks after the edit, the retry and the other channel: %+v", got)
	}
}

// A reply the platform refuses for good is said once in its thread and
// listed as failed.
func TestARefusedReplyIsToldInTheThread(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	platform := newCallbackServer(t, 400)
	h := newHarness(t, fs, func(c *app.Config) { c.ActionsURL = platform.URL + "/actions" })
	ctx := ctxT(t)
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe runs replies=on")
	h.post(event("r1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	fin := parents(fs, "C0FIN")[0]
	_, env, _ := fs.ReplyAsUser("C0FIN", fin.TS, "U0BOB", "hello")
	sendEnv(t, ctx, fs, env)
	if err := poll(ctx, 10*time.Millisecond, func() bool { f, _ := h.main.Store().Failed(); return len(f) == 1 }); err != nil {
		t.Fatal("the refused reply is not on the failed list")
	}
	h.waitDelivered(ctx)
	_, _, replies := parentState(t, fs, "C0FIN", fin.TS)
	n := 0
	for _, r := range replies {
		if strings.Contains(r.Text, "<@U0BOB>'s reply could not be sent") && strings.Contains(r.Text, "schedule dbt is paused") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the thread says the failure %d times: %+v", n, replies)
	}
}

// A link to a subject the bot has events for is previewed with its title
// and latest state; a link to anything else is left alone; a message's
// link is previewed once.
func TestLinksToKnownSubjectsUnfurl(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	h.configure = func(c *app.Config) { c.UnfurlDomains = []string{"paradime.example"} }
	h.restart()
	ctx := ctxT(t)
	h.post(event("u1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.post(event("u2", "run.succeeded", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	known, unknown := "https://paradime.example/s/dbt", "https://paradime.example/s/other"
	m, env, ok := fs.PostLinks("C0OPS", "U0BOB", "look <"+known+"> and <"+unknown+"> and <https://elsewhere.example/x>", []string{"paradime.example"})
	if !ok {
		t.Fatal("no link_shared")
	}
	mark := fs.Mark()
	sendEnv(t, ctx, fs, env)
	if _, err := fs.WaitForCall(ctx, mark, "chat.unfurl", func(c fakeslack.Call) bool { return c.OK() }); err != nil {
		t.Fatalf("no chat.unfurl: %v", err)
	}
	u := fs.Unfurls("C0OPS", m.TS)
	if len(u) != 1 || u[known] == nil {
		t.Fatalf("unfurls %v: want the known link only", u)
	}
	if s := string(u[known]); !strings.Contains(s, "Nightly dbt") || !strings.Contains(s, "Succeeded") {
		t.Errorf("the preview: %s", s)
	}
	// Slack sends link_shared again when the message is posted: once.
	sendEnv(t, ctx, fs, env)
	time.Sleep(200 * time.Millisecond)
	if n := len(fs.CallsSince(mark)); n != 1 {
		t.Errorf("%d calls, want the one chat.unfurl", n)
	}
}

// People an event is about are named in its channel post: pinged, unless
// they turned the bot off, or the subscription says mentions=off.
func TestChannelPostsNameThePeopleAnEventIsAbout(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe assignments")
	command(t, ctx, fs, "U0ADMIN", "C0MKT", "subscribe assignments mentions=off")
	h.setPrefs("U0BOB", func(p *paligo.Prefs) { p.Frequency = paligo.Off })
	h.post(event("m1", "assignment.started", map[string]any{"subject": subject("t-1", "Guide"),
		"actor":  map[string]any{"email": "alice@example.com", "name": "Alice"},
		"fields": map[string]any{"assignee": "bob@example.com", "owner": "nobody@example.com"}}))
	h.waitDelivered(ctx)
	post := unescaped(parents(fs, "C0FIN")[0].Blocks)
	if !strings.Contains(post, "<@U0ALICE>") || strings.Contains(post, "<@U0BOB>") || !strings.Contains(post, "nobody@example.com") ||
		strings.Contains(post, "<!channel>") || strings.Contains(post, "<!here>") {
		t.Errorf("#finance-data's post: %s", post)
	}
	if !strings.Contains(post, "bob@example.com") {
		t.Errorf("Bob, who turned the bot off, is not named: %s", post)
	}
	if post := unescaped(parents(fs, "C0MKT")[0].Blocks); strings.Contains(post, "<@U0ALICE>") || strings.Contains(post, ":bust_in_silhouette:") {
		t.Errorf("mentions=off named people: %s", post)
	}
}

// The Send to Paligo shortcut: a form to choose the subject (the
// channel's first, searched through the bot) and add a note; sending it
// reaches the platform and the person is told.
func TestSendToPaligoShortcut(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	platform := newCallbackServer(t, 200)
	h := newHarness(t, fs, func(c *app.Config) { c.ActionsURL = platform.URL + "/actions" })
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post(event("s1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.post(event("s2", "document.created", map[string]any{"subject": subject("t-9", "Install guide")}))
	h.waitDelivered(ctx)
	m := fs.PostAsUser("C0OPS", "U0BOB", "the <https://ci.example/1|log> says the model is gone")
	mark := fs.Mark()
	sendEnv(t, ctx, fs, fs.MessageShortcut("U0ALICE", m, views.CallbackSendToPaligo))
	if _, err := fs.WaitForCall(ctx, mark, "views.open", func(c fakeslack.Call) bool { return c.OK() }); err != nil {
		t.Fatalf("the form did not open: %v", err)
	}
	v, ok := fs.OpenModal("U0ALICE")
	if !ok {
		t.Fatal("no modal")
	}
	// The search: everything, then "install".
	env, err := fs.BlockSuggestion("U0ALICE", v, views.ActionSendSubject, "")
	if err != nil {
		t.Fatal(err)
	}
	ack := sendEnv(t, ctx, fs, env)
	if errs := fakeslack.CheckOptions(ack.Payload); len(errs) > 0 {
		t.Fatalf("options: %v", errs)
	}
	var opts struct {
		Options []struct {
			Text  struct{ Text string }
			Value string
		}
	}
	json.Unmarshal(ack.Payload, &opts)
	if len(opts.Options) != 2 || opts.Options[0].Value != "s1" || !strings.Contains(opts.Options[0].Text.Text, "Nightly dbt") {
		t.Fatalf("options %+v: want the channel's subject first, then the other", opts.Options)
	}
	env, _ = fs.BlockSuggestion("U0ALICE", v, views.ActionSendSubject, "INSTALL")
	ack = sendEnv(t, ctx, fs, env)
	json.Unmarshal(ack.Payload, &opts)
	if len(opts.Options) != 1 || opts.Options[0].Value != "s2" {
		t.Fatalf("searching install: %+v", opts.Options)
	}
	// Sent without a subject: refused in the form.
	ack = sendEnv(t, ctx, fs, fs.ViewSubmission("U0ALICE", v, map[string]any{}))
	if !strings.Contains(string(ack.Payload), "Choose what this message is about") {
		t.Errorf("a form without a subject: %s", ack.Payload)
	}
	values := map[string]any{
		views.BlockSendSubject: map[string]any{views.ActionSendSubject: map[string]any{"type": "external_select",
			"selected_option": map[string]any{"value": "s1", "text": map[string]any{"type": "plain_text", "text": "Nightly dbt"}}}},
		views.BlockSendNote: map[string]any{views.ActionSendNote: map[string]any{"type": "plain_text_input", "value": "for the post-mortem"}},
	}
	sendEnv(t, ctx, fs, fs.ViewSubmission("U0ALICE", v, values))
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) == 1 }); err != nil {
		t.Fatal("the message did not reach the platform")
	}
	cb := platform.got()[0]
	if cb.Type != "message" || cb.Event != "s1" || cb.Subject == nil || cb.Subject.ID != "dbt" || cb.Note != "for the post-mortem" ||
		cb.Text != "the log (https://ci.example/1) says the model is gone" || cb.Author == nil || cb.Author.SlackUser != "U0BOB" ||
		cb.By == nil || cb.By.SlackUser != "U0ALICE" || !strings.Contains(cb.Permalink, "/archives/C0OPS/") {
		t.Errorf("callback %+v", cb)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		for _, m := range fs.Messages("C0OPS") {
			if m.Ephemeral && m.User == "U0ALICE" && strings.Contains(m.Text, "Sent to Paligo") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Error("Alice was not told")
	}
}

// An install that lacks the scopes answering back needs keeps working,
// and the admin's Home tab says what installing again would turn on.
func TestAnOldInstallSaysWhatToReinstallFor(t *testing.T) {
	old := []string{"channels:read", "groups:read", "chat:write", "chat:write.public", "im:write", "users:read", "users:read.email", "commands"}
	fs := newFake(t, fakeslack.Options{Channels: testChannels, Scopes: old})
	h := start(t, fs)
	ctx := ctxT(t)
	v := h.openHome(ctx, "U0ADMIN")
	home := viewJSON(v)
	if !strings.Contains(home, "Install the app again") || !strings.Contains(home, "link previews") || !strings.Contains(home, "thread replies") {
		t.Errorf("the admin's Home tab: %s", home)
	}
	if v := h.openHome(ctx, "U0ALICE"); strings.Contains(viewJSON(v), "Install the app again") {
		t.Error("a person who is not an admin is told to install the app")
	}
	// It still delivers.
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post(event("o1", "run.failed", map[string]any{"subject": schedule("dbt")}))
	h.waitDelivered(ctx)
	if len(parents(fs, "C0OPS")) != 1 {
		t.Error("an old install does not post")
	}

	// With every scope, no notice.
	fs2 := newFake(t, fakeslack.Options{Channels: testChannels, Scopes: append(old, "channels:history", "groups:history", "links:read", "links:write", "reactions:write")})
	h2 := start(t, fs2)
	if home := viewJSON(h2.openHome(ctx, "U0ADMIN")); strings.Contains(home, "Install the app again") {
		t.Errorf("a full install is told to install again: %s", home)
	}
}
