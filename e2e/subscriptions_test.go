package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

var subscriptionChannels = append(testChannels[:len(testChannels):len(testChannels)],
	fakeslack.Channel{ID: "C0FIN", Name: "finance-data"},
	fakeslack.Channel{ID: "C0MKT", Name: "marketing-data"},
	fakeslack.Channel{ID: "C0EXT", Name: "partner", IsExtShared: true})

// command types a /route-alerts command and returns the ephemeral answer.
func command(t *testing.T, ctx context.Context, fs *fakeslack.Server, user, channel, text string) string {
	t.Helper()
	ack, err := fs.Send(ctx, fs.SlashCommand(user, channel, "/route-alerts", text))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ Text string }
	if err := json.Unmarshal(ack.Payload, &answer); err != nil {
		t.Fatalf("%s: %v", ack.Payload, err)
	}
	return answer.Text
}

// The data team of the seed: finance's failures to #finance-data,
// marketing's to #marketing-data, production only, typed in each channel.
func TestTypedSubscriptions(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	h := startAt(t, fs, t0)
	ctx := ctxT(t)

	got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe run.failed project=finance environment!=staging")
	if !strings.Contains(got, "Subscribed <#C0FIN> to `run.failed project=finance environment!=staging`") {
		t.Fatalf("subscribe answer: %s", got)
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0MKT", "SUBSCRIBE runs project=Marketing"); !strings.Contains(got, "`runs project=Marketing`") {
		t.Fatalf("values keep their case: %s", got)
	}
	// Refusals name the bad part and save nothing.
	for _, c := range []struct{ user, channel, text, want string }{
		{"U0BOB", "C0FIN", "subscribe runs", "Only Slack workspace admins"},
		{"U0ADMIN", "C0FIN", "subscribe run.exploded", `"run.exploded" is not a kind`},
		{"U0ADMIN", "C0FIN", "subscribe runs project", `"project" is not a filter`},
		{"U0ADMIN", "C0FIN", "subscribe comment.reply", "goes to people"},
		{"U0ADMIN", "C0SECRET", "subscribe runs", "add @Paligo"},
		{"U0ADMIN", "C0OLD", "subscribe runs", "archived"},
		{"U0ADMIN", "C0EXT", "subscribe alerts", "external=allow"},
		{"U0ADMIN", "D0DM", "subscribe runs", "for channels"},
		{"U0ADMIN", "C0FIN", "unsubscribe seven", "by its number"},
		{"U0ADMIN", "C0FIN", "unsubscribe 9", "no subscription 9"},
		{"U0ADMIN", "C0FIN", "mute nightly 1d", "KIND:ID"},
		{"U0ADMIN", "C0FIN", "mute schedule:nightly 1y", "for how long"},
		{"U0ADMIN", "C0FIN", "unmute schedule:nightly", "is not muted"},
	} {
		if got := command(t, ctx, fs, c.user, c.channel, c.text); !strings.Contains(got, c.want) {
			t.Errorf("%s in %s: %s, want %q", c.text, c.channel, got, c.want)
		}
	}
	if subs, _ := h.main.Store().Subscriptions("", ""); len(subs) != 2 {
		t.Fatalf("after the refusals: %d subscriptions, want the 2 accepted", len(subs))
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0EXT", "subscribe alerts external=allow"); !strings.Contains(got, "Subscribed <#C0EXT> to `alerts external=allow`") {
		t.Errorf("shared channel with external=allow: %s", got)
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe run.failed project=finance environment!=staging"); !strings.Contains(got, "already has") {
		t.Errorf("the same subscription again: %s", got)
	}

	run := func(id, project, env string) map[string]any {
		return event(id, "run.failed", map[string]any{"subject": map[string]any{"kind": "schedule", "id": "nightly", "title": "Nightly"},
			"fields": map[string]any{"project": project, "environment": env}})
	}
	h.post([]any{run("fin-prod", "finance", "production"), run("fin-staging", "finance", "staging"), run("mkt-prod", "Marketing", "production")})
	h.waitDelivered(ctx)
	if n := len(texts(fs, "C0FIN")); n != 1 {
		t.Errorf("#finance-data got %d posts, want 1 (production only): %q", n, texts(fs, "C0FIN"))
	}
	if n := len(texts(fs, "C0MKT")); n != 1 {
		t.Errorf("#marketing-data got %d posts, want 1", n)
	}

	// list numbers this channel's subscriptions; list all shows them all.
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "list"); !strings.Contains(got, "1. `run.failed project=finance environment!=staging`") || strings.Contains(got, "C0MKT") {
		t.Errorf("list: %s", got)
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "list all"); !strings.Contains(got, "<#C0MKT>") || !strings.Contains(got, "<#C0EXT>") {
		t.Errorf("list all: %s", got)
	}

	// A mute holds until it ends.
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "mute schedule:nightly 1h"); !strings.Contains(got, "Muted `schedule:nightly` in <#C0FIN> until 1 Dec 10:00 UTC") {
		t.Errorf("mute: %s", got)
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "list"); !strings.Contains(got, "muted: `schedule:nightly` until 1 Dec 10:00 UTC") {
		t.Errorf("list with the mute: %s", got)
	}
	h.post(run("muted", "finance", "production"))
	h.waitDelivered(ctx)
	if n := len(texts(fs, "C0FIN")); n != 1 {
		t.Errorf("muted: #finance-data has %d posts, want still 1", n)
	}
	h.clock.Set(t0.Add(time.Hour))
	h.post(run("after-mute", "finance", "production"))
	h.waitDelivered(ctx)
	if n := len(texts(fs, "C0FIN")); n != 2 {
		t.Errorf("after the mute ended: %d posts, want 2", n)
	}
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "mute schedule:nightly forever")
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "unmute schedule:nightly"); !strings.Contains(got, "no longer muted") {
		t.Errorf("unmute: %s", got)
	}

	// The admin's Home tab counts the filtered subscriptions.
	home, _ := json.Marshal(h.openHome(ctx, "U0ADMIN").Body)
	if !strings.Contains(unescaped(home), "*Filtered subscriptions*: 3 (<#C0EXT> 1, <#C0FIN> 1, <#C0MKT> 1)") {
		t.Errorf("admin home lacks the filtered subscriptions: %.3000s", home)
	}

	// unsubscribe takes the one list numbered.
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "unsubscribe 1"); !strings.Contains(got, "Unsubscribed <#C0FIN> from `run.failed project=finance environment!=staging`") {
		t.Errorf("unsubscribe: %s", got)
	}
	h.post(run("unsubscribed", "finance", "production"))
	h.waitDelivered(ctx)
	if n := len(texts(fs, "C0FIN")); n != 2 {
		t.Errorf("after unsubscribing: %d posts, want still 2", n)
	}
}

// POST /v1/routes/test: where an event would go, by which subscription,
// what each person would get; nothing stored, nothing sent.
func TestRoutesTest(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe run.failed project=finance")
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe runs")
	command(t, ctx, fs, "U0ADMIN", "C0MKT", "subscribe run.failed project=marketing")
	command(t, ctx, fs, "U0ADMIN", "C0OPS", "subscribe alerts,runs")
	command(t, ctx, fs, "U0ADMIN", "C0OPS", "mute schedule:nightly 1d")
	h.setPrefs("U0ALICE", func(p *paligo.Prefs) { p.Frequency = paligo.Instant })
	before, _ := h.main.Store().EventCount()
	mark := fs.Mark()
	body, _ := json.Marshal(event("sample", "run.succeeded", map[string]any{
		"subject": map[string]any{"kind": "schedule", "id": "nightly"}, "fields": map[string]any{"project": "finance"},
		"actor":      map[string]any{"email": "bob@example.com"},
		"channels":   []string{"C0DOCS", "C0FIN"},
		"recipients": []string{"alice@example.com", "bob@example.com", "ada@example.com", "nobody@example.com"}}))
	code, out := signed("POST", "/v1/routes/test", body, testIngestSecret, time.Now()).send(t, h.main.Addr())
	if code != 200 {
		t.Fatalf("routes test: %d %s", code, out)
	}
	var got paligo.RouteTest
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	channels := map[string]paligo.ChannelTest{}
	for _, c := range got.Channels {
		channels[c.Channel] = c
	}
	// run.succeeded: #finance-data by "runs" only, #marketing-data not at
	// all, #ops by its subscription but muted.
	if c := channels["C0FIN"]; len(c.By) != 2 || c.By[0] != "runs" || c.By[1] != "named by the event" || c.Muted != nil {
		t.Errorf("C0FIN: %+v, want by runs and named by the event", c)
	}
	if c := channels["C0DOCS"]; len(c.By) != 1 || c.By[0] != "named by the event" {
		t.Errorf("C0DOCS: %+v, want named by the event", c)
	}
	if _, ok := channels["C0MKT"]; ok {
		t.Error("C0MKT reached by a marketing filter")
	}
	if c := channels["C0OPS"]; c.Muted == nil || c.Muted.Subject != "schedule:nightly" {
		t.Errorf("C0OPS: %+v, want muted", c)
	}
	people := map[string]string{}
	for _, p := range got.People {
		people[p.User+p.Email] = p.Outcome
	}
	// Bob did it; Ada has the default daily digest; nobody is unknown.
	for who, want := range map[string]string{"U0ALICEalice@example.com": "now", "U0BOBbob@example.com": "skipped_actor",
		"U0ADMINada@example.com": "digest", "nobody@example.com": "unmatched"} {
		if people[who] != want {
			t.Errorf("%s: %q, want %q (all: %v)", who, people[who], want, people)
		}
	}
	if after, _ := h.main.Store().EventCount(); after != before {
		t.Errorf("the test stored an event: %d -> %d", before, after)
	}
	if n := len(fs.CallsSince(mark)); n != 0 {
		t.Errorf("the test made %d Slack calls", n)
	}
	// Refusals: a batch, a bad event, unsigned.
	if code, out := signed("POST", "/v1/routes/test", []byte("["+string(body)+","+string(body)+"]"), testIngestSecret, time.Now()).send(t, h.main.Addr()); code != 400 || !strings.Contains(out, "one event at a time") {
		t.Errorf("a batch: %d %s", code, out)
	}
	if code, out := signed("POST", "/v1/routes/test", []byte(`{"id":"x","type":"run.exploded"}`), testIngestSecret, time.Now()).send(t, h.main.Addr()); code != 400 || !strings.Contains(out, `"field":"type"`) {
		t.Errorf("a bad event: %d %s", code, out)
	}
	req := signed("POST", "/v1/routes/test", body, testIngestSecret, time.Now())
	req.header.Set("X-Signature", "v0=00")
	if code, _ := req.send(t, h.main.Addr()); code != 401 {
		t.Errorf("badly signed: %d", code)
	}
}

// Destinations named by the event: ids and #names, once per channel with
// the subscriptions; a name or a channel the bot cannot post to ends on the
// failed list with the reason.
func TestEventNamedChannels(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	h.post([]any{
		event("named", "run.failed", map[string]any{"channels": []string{"C0DOCS", "#ops", "#inner", "#ops"}}),
		event("unknown-name", "run.succeeded", map[string]any{"channels": []string{"#nope"}}),
		event("private-name", "run.succeeded", map[string]any{"channels": []string{"#secret"}}),
		event("private-id", "run.succeeded", map[string]any{"channels": []string{"C0SECRET"}}),
	})
	h.waitDelivered(ctx)
	for ch, want := range map[string]int{"C0OPS": 1, "C0DOCS": 1, "C0INNER": 1} {
		if n := len(texts(fs, ch)); n != want {
			t.Errorf("%s got %d posts, want %d", ch, n, want)
		}
	}
	failed, _ := h.main.Store().Failed()
	reasons := map[string]string{}
	for _, f := range failed {
		e, _ := h.main.Store().EventBySeq(f.Job.Event)
		reasons[e.ID] = f.Reason
	}
	if !strings.Contains(reasons["unknown-name"], "no channel named #nope") {
		t.Errorf("unknown name: %q", reasons["unknown-name"])
	}
	if !strings.Contains(reasons["private-name"], "#secret") {
		t.Errorf("private channel by name: %q", reasons["private-name"])
	}
	if !strings.Contains(reasons["private-id"], "channel_not_found") {
		t.Errorf("private channel by id: %q", reasons["private-id"])
	}
	if n := len(fs.Calls("conversations.list")); n > 2 {
		t.Errorf("%d conversations.list calls for three names (one read, then the cache)", n)
	}
	// Refused at the door: too many, not a channel.
	var many []string
	for i := range 11 {
		many = append(many, fmt.Sprintf("C0X%d", i))
	}
	for _, chs := range [][]string{many, {"general"}, {"#Bad Name"}, {"U0ALICE"}} {
		body, _ := json.Marshal(event("bad-"+chs[0], "run.failed", map[string]any{"channels": chs}))
		code, out := signed("POST", "/v1/events", body, testIngestSecret, time.Now()).send(t, h.main.Addr())
		if code != 400 || !strings.Contains(out, `"field":"channels`) {
			t.Errorf("channels %v: %d %s", chs, code, out)
		}
	}
}

// The /route-alerts form shows each channel's filtered subscriptions,
// removes the ones chosen and adds one for a channel, for people who do
// not type filters; a bad one is an inline error and nothing is saved.
func TestRoutesFormFilteredSubscriptions(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe run.failed project=finance")
	command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe alerts severity=critical")
	open := func() fakeslack.View {
		t.Helper()
		mark := fs.Mark()
		fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/route-alerts", ""))
		if _, err := fs.WaitForCall(ctx, mark, "views.open", func(c fakeslack.Call) bool { return c.OK() }); err != nil {
			t.Fatal(err)
		}
		v, ok := fs.OpenModal("U0ADMIN")
		if !ok {
			t.Fatal("no modal open")
		}
		return v
	}
	modal := open()
	body, _ := json.Marshal(modal.Body)
	for _, want := range []string{"*Filtered subscriptions*", "<#C0FIN>", "1. `run.failed project=finance`", "C0FIN · alerts severity=critical"} {
		if !strings.Contains(unescaped(body), want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	fin, _ := paligo.ParseSubscription("C0FIN", "run.failed project=finance")
	submit := func(values map[string]any) map[string]string {
		t.Helper()
		ack, err := fs.Send(ctx, fs.ViewSubmission("U0ADMIN", modal, values))
		if err != nil {
			t.Fatal(err)
		}
		var resp struct{ Errors map[string]string }
		json.Unmarshal(ack.Payload, &resp)
		return resp.Errors
	}
	addTo := func(ch string) map[string]any {
		return map[string]any{views.ActionSubAddTo: map[string]any{"type": "conversations_select", "selected_conversation": ch}}
	}
	addText := func(s string) map[string]any {
		return map[string]any{views.ActionSubAdd: map[string]any{"type": "plain_text_input", "value": s}}
	}
	remove := map[string]any{views.ActionSubsRemove: map[string]any{"type": "multi_static_select",
		"selected_options": []any{map[string]any{"value": views.SubscriptionValue(fin)}}}}
	// Refused: the add names a bad kind; text without a channel; a
	// private channel without the bot. Nothing saved, not even the removal.
	for _, c := range []struct {
		values map[string]any
		block  string
		want   string
	}{
		{map[string]any{views.BlockSubsRemove: remove, views.BlockSubAddTo: addTo("C0MKT"), views.BlockSubAdd: addText("runz project=marketing")}, views.BlockSubAdd, `"runz" is not a kind`},
		{map[string]any{views.BlockSubAdd: addText("runs")}, views.BlockSubAddTo, "Choose the channel"},
		{map[string]any{views.BlockSubAddTo: addTo("C0SECRET"), views.BlockSubAdd: addText("runs")}, views.BlockSubAddTo, "add @Paligo"},
	} {
		if errs := submit(c.values); !strings.Contains(errs[c.block], c.want) {
			t.Errorf("%v: errors %v, want %q at %s", c.values, errs, c.want, c.block)
		}
	}
	if subs, _ := h.main.Store().Subscriptions("", ""); len(subs) != 2 {
		t.Fatalf("refused forms changed the subscriptions: %+v", subs)
	}
	// Good: remove finance's, add marketing's; the Home tab repeats what
	// was understood.
	mark := fs.Mark()
	if errs := submit(map[string]any{views.BlockSubsRemove: remove, views.BlockSubAddTo: addTo("C0MKT"), views.BlockSubAdd: addText("runs project=marketing")}); len(errs) != 0 {
		t.Fatalf("a good form: %v", errs)
	}
	home, _ := json.Marshal(h.waitHome(ctx, mark, "U0ADMIN").Body)
	if !strings.Contains(unescaped(home), "Routes saved. 1 filtered subscription removed. Subscribed C0MKT to `runs project=marketing`.") {
		t.Errorf("the Home notice after the form: %.1500s", home)
	}
	var got []string
	subs, _ := h.main.Store().Subscriptions("", "")
	for _, s := range subs {
		got = append(got, s.Channel+" "+s.String())
	}
	if !sameSet(got, []string{"C0FIN alerts severity=critical", "C0MKT runs project=marketing"}) {
		t.Errorf("after the form: %v", got)
	}
}

// A channel shared with other organizations takes an event that names it
// only when a subscription there has external=allow.
func TestNamedExternalChannel(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.post(event("to-partner", "run.failed", map[string]any{"channels": []string{"C0EXT"}}))
	h.waitDelivered(ctx)
	failed, _ := h.main.Store().Failed()
	if len(failed) != 1 || !strings.HasPrefix(failed[0].Reason, "external_channel") {
		t.Fatalf("failed = %+v, want external_channel", failed)
	}
	if n := len(texts(fs, "C0EXT")); n != 0 {
		t.Errorf("the shared channel got %d posts", n)
	}
	command(t, ctx, fs, "U0ADMIN", "C0EXT", "subscribe alerts external=allow")
	h.post(event("to-partner-allowed", "run.succeeded", map[string]any{"channels": []string{"C0EXT"}}))
	h.waitDelivered(ctx)
	if n := len(texts(fs, "C0EXT")); n != 1 {
		t.Errorf("with external=allow: %d posts, want 1", n)
	}
	// A channel not shared takes it without asking twice within the hour.
	h.post(event("to-fin-1", "run.failed", map[string]any{"channels": []string{"C0FIN"}}))
	h.post(event("to-fin-2", "run.failed", map[string]any{"channels": []string{"C0FIN"}}))
	h.waitDelivered(ctx)
	if n := len(texts(fs, "C0FIN")); n != 2 {
		t.Errorf("#finance-data: %d posts, want 2", n)
	}
	info := 0
	for _, c := range fs.Calls("conversations.info") {
		if c.Arg("channel") == "C0FIN" {
			info++
		}
	}
	if info != 1 {
		t.Errorf("%d conversations.info calls for C0FIN, want 1 (then the cache)", info)
	}
}

// `/route-alerts list all` over many long subscriptions answers within
// what Slack takes in an ack, saying how many it left out and where to
// see them; and a subscription's filters (emails in them) never reach the
// logs, only its digest and kinds.
func TestALongListIsCutAndFiltersAreNotLogged(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe runs actor=someone.private@example.com")
	if !strings.Contains(got, "Subscribed") {
		t.Fatalf("subscribe: %s", got)
	}
	if strings.Contains(h.logs.String(), "someone.private") {
		t.Errorf("a subscription's filter reached the log: %s", h.logs.String())
	}
	for ch := range 20 {
		for i := range paligo.MaxSubscriptionsPerChannel {
			sub, err := paligo.ParseSubscription(fmt.Sprintf("C%04d", ch), fmt.Sprintf("runs project=%s-%d", strings.Repeat("p", 190), i))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.main.Store().Subscribe(sub); err != nil {
				t.Fatal(err)
			}
		}
	}
	got = command(t, ctx, fs, "U0ADMIN", "C0FIN", "list all")
	if len(got) > views.MaxAnswerText || !strings.Contains(got, "more subscriptions not shown here") || !strings.Contains(got, "/route-alerts list") {
		t.Errorf("list all of 1,001 long subscriptions: %d bytes, ending %q", len(got), got[max(0, len(got)-300):])
	}
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "list"); strings.Contains(got, "not shown") || !strings.Contains(got, "runs actor=someone.private@example.com") {
		t.Errorf("the channel's own short list: %s", got)
	}
}
