package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/views"
)

var testChannels = []fakeslack.Channel{
	{ID: "C0OPS", Name: "ops"},
	{ID: "C0DOCS", Name: "docs"},
	{ID: "C0DATA", Name: "data"},
	{ID: "C0SECRET", Name: "secret", IsPrivate: true},
	{ID: "C0INNER", Name: "inner", IsPrivate: true, BotIsMember: true},
	{ID: "C0OLD", Name: "old", IsArchived: true},
}

// postEvents posts v signed (signedPost) and decodes the answer.
func postEvents(t testing.TB, addr string, v any) (int, map[string]any) {
	t.Helper()
	resp, err := signedPost(addr, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// signedRequest is a request as the platform sends it, kept so that a test
// can send it again (a replay) or change one part of it.
type signedRequest struct {
	method, path string
	body         []byte
	header       http.Header
}

// signed signs a request to the bot's API with secret at time at: the body,
// or for a GET the path, as the platform does.
func signed(method, path string, body []byte, secret string, at time.Time) signedRequest {
	ts := at.Unix()
	signedBody := body
	if method == "GET" || method == "DELETE" {
		signedBody = []byte(path)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Signature-Timestamp", fmt.Sprint(ts))
	h.Set("X-Signature", signing.Sign([]byte(secret), ts, signedBody))
	return signedRequest{method: method, path: path, body: body, header: h}
}

func (r signedRequest) do(addr string) (*http.Response, error) {
	req, _ := http.NewRequest(r.method, "http://"+addr+r.path, bytes.NewReader(r.body))
	req.Header = r.header.Clone()
	return http.DefaultClient.Do(req)
}

// send sends r and returns the status and the body.
func (r signedRequest) send(t testing.TB, addr string) (int, string) {
	t.Helper()
	resp, err := r.do(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// sendJSON sends r and returns the status and the JSON answer decoded.
func (r signedRequest) sendJSON(t testing.TB, addr string) (int, map[string]any) {
	t.Helper()
	code, body := r.send(t, addr)
	var out map[string]any
	json.Unmarshal([]byte(body), &out)
	return code, out
}

// signedPost signs v as the platform does and POSTs it to /v1/events.
func signedPost(addr string, v any) (*http.Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return signed("POST", "/v1/events", body, testIngestSecret, time.Now()).do(addr)
}

// post posts v signed at the program's time, as the platform would.
func (h *harness) post(v any) {
	h.t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	if status, out := signed("POST", "/v1/events", body, testIngestSecret, h.clock.Now()).send(h.t, h.main.Addr()); status != http.StatusAccepted {
		h.t.Fatalf("POST /v1/events = %d %s", status, out)
	}
}

// waitDelivered waits until every accepted event has been fanned out and
// every job has left the outbox.
func (h *harness) waitDelivered(ctx context.Context) {
	h.t.Helper()
	var events, jobs int
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		var err error
		if events, jobs, err = h.main.Store().Backlog(); err != nil {
			h.t.Fatal(err)
		}
		return events == 0 && jobs == 0
	}); err != nil {
		h.t.Fatalf("still %d events and %d jobs undelivered", events, jobs)
	}
}

func (h *harness) setPrefs(user string, fn func(*paligo.Prefs)) {
	h.t.Helper()
	if _, err := h.main.Store().UpdatePrefs(h.slack.TeamID(), user, func(p *paligo.Prefs) error { fn(p); return nil }); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) setRoutes(r map[paligo.Kind][]string) {
	h.t.Helper()
	if err := h.main.Store().SetRoutes("", r); err != nil {
		h.t.Fatal(err)
	}
}

func event(id, kind string, extra map[string]any) map[string]any {
	e := map[string]any{"id": id, "type": kind}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

func subject(id, title string) map[string]any {
	return map[string]any{"kind": "topic", "id": id, "title": title, "url": "https://paligo.example/t/" + id}
}

// texts returns the fallback texts of the messages in channel.
func texts(fs *fakeslack.Server, channel string) []string {
	if channel == "" {
		return nil // e.g. no DM was ever opened
	}
	var out []string
	for _, m := range fs.Messages(channel) {
		if !m.Ephemeral {
			out = append(out, m.Text)
		}
	}
	return out
}

func count(list []string, substr string) int {
	n := 0
	for _, s := range list {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func TestEventsReachRoutedChannelsAndThePeopleTheyConcern(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS", "C0DATA"}, "publication.ready": {"C0DOCS"}})
	h.setPrefs("U0ALICE", func(p *paligo.Prefs) { p.Frequency = paligo.Instant })
	// Bob keeps the default: a daily digest.

	h.post([]any{
		event("e-run", "run.failed", map[string]any{
			"subject":    map[string]any{"kind": "schedule", "id": "nightly", "title": "Nightly build", "url": "https://app.paradime.io/bolt/nightly"},
			"recipients": []string{"alice@example.com", "BOB@example.com"},
			"fields":     map[string]string{"error": "model orders failed", "run": "4711"},
			"text":       "dbt run failed",
		}),
		event("e-mention", "review.mention", map[string]any{
			"actor":      map[string]any{"email": "bob@example.com", "name": "Bob"},
			"subject":    subject("t-1", "Install guide"),
			"recipients": []string{"alice@example.com", "bob@example.com"},
		}),
		event("e-reply", "comment.reply", map[string]any{
			"subject":    subject("t-2", "Upgrade guide"),
			"recipients": []string{"bob@example.com"},
		}),
		event("e-ghost", "document.shared", map[string]any{"recipients": []string{"ghost@example.com"}}),
	})
	h.waitDelivered(ctx)

	// Channels: the run failure in both routed channels, nothing else.
	for _, ch := range []string{"C0OPS", "C0DATA"} {
		msgs := fs.Messages(ch)
		if len(msgs) != 1 || msgs[0].Text != "Run failed: Nightly build" {
			t.Fatalf("%s got %v, want the run failure once", ch, texts(fs, ch))
		}
		b := unescaped(msgs[0].Blocks)
		for _, want := range []string{"model orders failed", "4711", "<https://app.paradime.io/bolt/nightly|Nightly build>", `"text":"> dbt run failed"`, views.ActionOpen} {
			if !strings.Contains(b, want) {
				t.Errorf("%s post lacks %q: %s", ch, want, b)
			}
		}
		// "sent" is recorded with where Slack put it.
		r, ok, _ := h.main.Store().Receipt(1, ch)
		if !ok || r.Outcome != paligo.Sent || r.Channel != ch || r.TS != msgs[0].TS {
			t.Errorf("receipt for %s = %+v (found %v), want sent with ts %s", ch, r, ok, msgs[0].TS)
		}
	}
	if got := texts(fs, "C0DOCS"); len(got) != 0 {
		t.Errorf("C0DOCS got %v", got)
	}
	// The platform re-sends an event: a duplicate, never delivered twice.
	if status, out := postEvents(t, h.main.Addr(), event("e-run", "run.failed", nil)); status != 202 || out["duplicates"] != float64(1) {
		t.Errorf("re-sent event: %d %v", status, out)
	}
	h.waitDelivered(ctx)
	if got := texts(fs, "C0OPS"); len(got) != 1 {
		t.Errorf("a duplicate was delivered again: %v", got)
	}

	// Alice (instant): the failure and the mention, each with Follow.
	alice := texts(fs, fs.DMChannel("U0ALICE"))
	if count(alice, "Run failed") != 1 || count(alice, "mentioned") != 1 || len(alice) != 2 {
		t.Errorf("alice's DMs = %v", alice)
	}
	// Bob (daily): the failure is critical, so now; his own mention never;
	// the reply waits for his digest.
	bob := texts(fs, fs.DMChannel("U0BOB"))
	if count(bob, "Run failed") != 1 || len(bob) != 1 {
		t.Errorf("bob's DMs = %v, want only the run failure", bob)
	}
	if r, _, _ := h.main.Store().Receipt(2, "T0FAKE/U0BOB"); r.Outcome != paligo.SkippedActor {
		t.Errorf("bob's own mention: %+v", r)
	}
	if n, _ := h.main.Store().PendingDigest("T0FAKE", "U0BOB"); n != 1 {
		t.Errorf("bob's digest holds %d, want 1", n)
	}
	v := h.openHome(ctx, "U0BOB")
	if !strings.Contains(viewJSON(v), "Waiting for your next digest:* 1 notification") {
		t.Errorf("bob's Home tab does not show the pending reply")
	}
	// The unknown email is listed for admins, once asked.
	un, _ := h.main.Store().Unmatched("")
	if len(un) != 1 || un[0].Email != "ghost@example.com" {
		t.Errorf("unmatched = %+v", un)
	}
	lookups := len(fs.Calls("users.lookupByEmail"))
	h.post(event("e-ghost2", "document.shared", map[string]any{"recipients": []string{"ghost@example.com"}}))
	h.waitDelivered(ctx)
	if n := len(fs.Calls("users.lookupByEmail")); n != lookups {
		t.Errorf("an unmatched email was looked up again at once (%d → %d calls)", lookups, n)
	}
	admin := viewJSON(h.openHome(ctx, "U0ADMIN"))
	for _, want := range []string{"ghost@example.com", "<#C0OPS>", "Failed deliveries:* none"} {
		if !strings.Contains(admin, want) {
			t.Errorf("admin Home tab lacks %q", want)
		}
	}
	if strings.Contains(viewJSON(v), "ghost@example.com") {
		t.Error("a non-admin's Home tab shows the unmatched emails")
	}
	// Emails resolved once each, DMs opened once each.
	if n := len(fs.Calls("conversations.open")); n != 2 {
		t.Errorf("conversations.open called %d times, want 2 (cached)", n)
	}

	metrics := get(t, "http://"+h.main.Addr()+"/metrics")
	// The stranger is known to be one from the workspace directory: no
	// users.lookupByEmail at all.
	if strings.Contains(metrics, `method="users.lookupByEmail"`) {
		t.Error("users.lookupByEmail was asked although the directory was read")
	}
	for _, want := range []string{
		`paligo_slack_events_total{result="accepted"} 5`,
		`paligo_slack_events_total{result="duplicate"} 1`,
		`paligo_slack_deliveries_total{outcome="sent"} 5`,
		`paligo_slack_deliveries_total{outcome="digest"} 1`,
		`paligo_slack_deliveries_total{outcome="skipped_actor"} 1`,
		`paligo_slack_deliveries_total{outcome="unmatched"} 2`,
		`paligo_slack_api_calls_total{answer="ok",method="chat.postMessage"} 5`,
		`paligo_slack_api_calls_total{answer="ok",method="users.list"} 1`,
		`paligo_slack_outbox_depth 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// unescaped is JSON without Go's HTML escaping of <, > and &, as Slack
// would store it.
func unescaped(raw json.RawMessage) string {
	var v any
	json.Unmarshal(raw, &v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return b.String()
}

func get(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestFollowButtonFollowsAndFollowersGetActivity(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setPrefs("U0ALICE", func(p *paligo.Prefs) { p.Frequency = paligo.Instant })
	h.post(event("e1", "review.mention", map[string]any{"subject": subject("t-9", "Style guide"), "recipients": []string{"alice@example.com"}}))
	h.waitDelivered(ctx)
	dm := fs.DMChannel("U0ALICE")
	msgs := fs.Messages(dm)
	if len(msgs) != 1 {
		t.Fatalf("alice's DMs = %v", texts(fs, dm))
	}
	env, err := fs.MessageAction("U0ALICE", msgs[0], views.ActionFollow, "")
	if err != nil {
		t.Fatal(err)
	}
	mark := fs.Mark()
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	if c, err := fs.WaitForCall(ctx, mark, "chat.update", nil); err != nil || !c.OK() {
		t.Fatalf("chat.update after Follow: %+v, %v", c, err)
	}
	if m := fs.Messages(dm)[0]; m.Edits != 1 || !strings.Contains(string(m.Blocks), views.ActionUnfollowNote) {
		t.Errorf("the DM was not redrawn with Unfollow: %s", m.Blocks)
	}
	p, _ := h.main.Store().Prefs("T0FAKE", "U0ALICE")
	if !p.FollowsKey("topic:t-9") {
		t.Fatalf("alice does not follow topic:t-9: %+v", p.Follows)
	}
	// Activity on the subject now reaches her as a follower, not the actor.
	h.setPrefs("U0BOB", func(p *paligo.Prefs) {
		p.Frequency = paligo.Instant
		p.Follow(paligo.Subject{Kind: "topic", ID: "t-9"})
	})
	h.post(event("e2", "document.title_changed", map[string]any{
		"subject": subject("t-9", "Style guide v2"), "actor": map[string]any{"email": "bob@example.com"},
	}))
	h.waitDelivered(ctx)
	if got := texts(fs, dm); count(got, "Document renamed: Style guide v2") != 1 {
		t.Errorf("alice (follower) got %v", got)
	}
	if got := texts(fs, fs.DMChannel("U0BOB")); len(got) != 0 {
		t.Errorf("bob was told of his own rename: %v", got)
	}
	// The notification about a followed subject offers Unfollow, which works.
	last := fs.Messages(dm)[1]
	env, err = fs.MessageAction("U0ALICE", last, views.ActionUnfollowNote, "")
	if err != nil {
		t.Fatalf("no Unfollow on a followed subject's notification: %v", err)
	}
	mark = fs.Mark()
	fs.Send(ctx, env)
	fs.WaitForCall(ctx, mark, "chat.update", nil)
	if p, _ := h.main.Store().Prefs("T0FAKE", "U0ALICE"); p.FollowsKey("topic:t-9") {
		t.Error("Unfollow did not unfollow")
	}
}

func TestRouteAlertsForAdminsOnly(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels, Users: append(testUsers[:3:3],
		fakeslack.User{ID: "U0BOSS", Name: "boss", Email: "Boss@Example.com"})})
	h := start(t, fs)
	ctx := ctxT(t)

	// A non-admin is refused and nothing opens.
	ack, err := fs.Send(ctx, fs.SlashCommand("U0BOB", "C0OPS", "/route-alerts", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), "Only Slack workspace admins") || !strings.Contains(string(ack.Payload), `"ephemeral"`) {
		t.Errorf("non-admin ack = %s", ack.Payload)
	}
	ack, _ = fs.Send(ctx, fs.SlashCommand("U0BOB", "C0OPS", "/route-alerts", "list"))
	if !strings.Contains(string(ack.Payload), "Only Slack workspace admins") {
		t.Errorf("non-admin list ack = %s", ack.Payload)
	}

	// An admin by PALIGO_SLACK_ADMINS (email, any case) opens the modal.
	mark := fs.Mark()
	if _, err := fs.Send(ctx, fs.SlashCommand("U0BOSS", "C0OPS", "/route-alerts", "")); err != nil {
		t.Fatal(err)
	}
	c, err := fs.WaitForCall(ctx, mark, "views.open", nil)
	if err != nil || !c.OK() {
		t.Fatalf("views.open: %+v %v", c, err)
	}
	modal := latestModal(t, fs)
	sel := func(chs ...string) map[string]any {
		return map[string]any{views.ActionChannels: map[string]any{"type": "multi_conversations_select", "selected_conversations": chs}}
	}
	// Impossible choices: a private channel without the bot, an archived
	// one, a DM. Inline errors, nothing saved.
	ack, err = fs.Send(ctx, fs.ViewSubmission("U0BOSS", modal, map[string]any{
		views.RouteBlockID("run.failed"):         sel("C0OPS", "C0SECRET"),
		views.RouteBlockID("data.alert"):         sel("C0OLD"),
		views.RouteBlockID("publication.failed"): sel("D0123"),
		views.RouteBlockID("publication.ready"):  sel("C0DOCS"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Action string            `json:"response_action"`
		Errors map[string]string `json:"errors"`
	}
	json.Unmarshal(ack.Payload, &resp)
	if resp.Action != "errors" || len(resp.Errors) != 3 ||
		!strings.Contains(resp.Errors[views.RouteBlockID("run.failed")], "add @Paligo") ||
		!strings.Contains(resp.Errors[views.RouteBlockID("data.alert")], "archived") ||
		!strings.Contains(resp.Errors[views.RouteBlockID("publication.failed")], "direct messages") {
		t.Errorf("invalid submission ack = %s", ack.Payload)
	}
	// Slack shows inline errors as plain text: channels by name, no markup.
	if !strings.Contains(resp.Errors[views.RouteBlockID("data.alert")], "#old") {
		t.Errorf("the archived channel is not named: %q", resp.Errors[views.RouteBlockID("data.alert")])
	}
	for block, msg := range resp.Errors {
		if strings.ContainsAny(msg, "<>`*") {
			t.Errorf("inline error of %s carries mrkdwn, which Slack shows as it is: %q", block, msg)
		}
	}
	if r, _ := h.main.Store().Routes(""); len(r) != 0 {
		t.Errorf("an invalid submission saved routes: %v", r)
	}

	// A good one saves, closes the modal and shows in list and Home.
	mark = fs.Mark()
	ack, _ = fs.Send(ctx, fs.ViewSubmission("U0BOSS", modal, map[string]any{
		views.RouteBlockID("run.failed"):        sel("C0OPS", "C0INNER"),
		views.RouteBlockID("publication.ready"): sel("C0DOCS"),
	}))
	if len(ack.Payload) != 0 && string(ack.Payload) != "null" {
		t.Errorf("a good submission acked with %s, want an empty ack (closes the modal)", ack.Payload)
	}
	r, _ := h.main.Store().Routes("")
	if fmt.Sprint(r) != "map[publication.ready:[C0DOCS] run.failed:[C0INNER C0OPS]]" {
		t.Errorf("routes = %v", r)
	}
	h.waitHome(ctx, mark, "U0BOSS")
	ack, _ = fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/route-alerts", "list all"))
	for _, want := range []string{"<#C0OPS>", "<#C0INNER>", "<#C0DOCS>", "run.failed"} {
		if !strings.Contains(unescaped(ack.Payload), want) {
			t.Errorf("list ack lacks %s: %s", want, ack.Payload)
		}
	}
	// The modal shows the routes saved.
	mark = fs.Mark()
	fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/route-alerts", ""))
	fs.WaitForCall(ctx, mark, "views.open", nil)
	_, el := fakeslack.FindElement(map[string]any{"blocks": blockOf(latestModal(t, fs), views.RouteBlockID("run.failed"))}, views.ActionChannels)
	if fmt.Sprint(el["initial_conversations"]) != "[C0INNER C0OPS]" {
		t.Errorf("modal shows %v for run.failed", el["initial_conversations"])
	}
}

// latestModal returns the modal the bot opened last.
func latestModal(t testing.TB, fs *fakeslack.Server) fakeslack.View {
	t.Helper()
	v, ok := fs.LastModal()
	if !ok {
		t.Fatal("no modal was opened")
	}
	return v
}

func blockOf(v fakeslack.View, blockID string) []any {
	blocks, _ := v.Body["blocks"].([]any)
	for _, b := range blocks {
		if m, ok := b.(map[string]any); ok && m["block_id"] == blockID {
			return []any{m}
		}
	}
	return nil
}

// Fan-out catches up with everything accepted when ingest tells it, not 500
// events a tick: events that make no job (here, a reply to no one) once
// held it back to 500 a second.
func TestFanOutCatchesUpAtOnce(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := &harness{t: t, slack: fs, db: t.TempDir() + "/x.db", logs: &syncBuffer{}, clock: &testClock{},
		delivery: delivery.DeliveryOptions{FanOutEvery: time.Hour}} // only ingest's word wakes it
	h.restart()
	for _, n := range []int{1000, 500} {
		var batch []any
		for i := range n {
			batch = append(batch, event(fmt.Sprint("quiet-", n, "-", i), "comment.reply", nil))
		}
		h.post(batch)
	}
	h.waitDelivered(ctxT(t))
}
