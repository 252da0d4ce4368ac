package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// secondUsers use the same user id strings as testUsers: another
// workspace's U0ADMIN and U0BOB are other people.
var secondUsers = []fakeslack.User{
	{ID: "U0ADMIN", Name: "grace", RealName: "Grace Second", Email: "grace@second.example", IsAdmin: true, TZ: "America/New_York"},
	{ID: "U0BOB", Name: "bobby", RealName: "Bobby Second", Email: "bobby@second.example"},
	{ID: "U0CARL", Name: "carl", RealName: "Carl Second", Email: "carl@second.example"},
}

var secondChannels = []fakeslack.Channel{{ID: "C2OPS", Name: "ops", BotIsMember: true}}

// connectSecond adds a second workspace to fs and connects it through the
// whole Connect flow (link → authorize → callback), for org.
func connectSecond(t *testing.T, fs *fakeslack.Server, base, org string, opts fakeslack.WorkspaceOptions) *fakeslack.Server {
	t.Helper()
	if opts.TeamID == "" {
		opts.TeamID, opts.TeamName = "T0SECOND", "Second Co"
	}
	if opts.Users == nil {
		opts.Users, opts.Channels = secondUsers, secondChannels
	}
	second := fs.AddWorkspace(opts)
	fs.InstallInto(second)
	callback := connectThrough(t, connectLink(base, org, "grace@second.example", "https://platform.example/settings", time.Now()))
	status, body, done := visit(t, callback.String())
	if status != http.StatusFound || done.Query().Get("status") != "connected" || done.Query().Get("team") != opts.TeamID {
		t.Fatalf("connecting %s = %d %s → %s", opts.TeamID, status, body, done)
	}
	return second
}

// TestTwoWorkspacesAreServedApart: a full Connect of a second workspace
// whose people have the same user id strings as the first's, then in each
// one its Home tab, its subscriptions, its events, its DMs, its admins and
// its failed list, nothing crossing over; an event naming an unknown
// workspace refused; and the second uninstalled: its deliveries stop and
// are listed with the reason while the first's go on.
func TestTwoWorkspacesAreServedApart(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h, base := startConnect(t, fs)
	ctx := ctxT(t)
	second := connectSecond(t, fs, base, "beta", fakeslack.WorkspaceOptions{})
	// Its directory is read as soon as it is connected, not at its first job.
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		return strings.Contains(h.logs.String(), directoryRead+`,"team":"T0SECOND"`)
	}); err != nil {
		t.Error("the new workspace's directory was not read on connecting")
	}

	// The Home tab in the second workspace: drawn with its token, for its
	// U0ADMIN (an admin there, as the first's is here).
	mark := second.Mark()
	if _, err := second.Send(ctx, second.AppHomeOpened("U0ADMIN")); err != nil {
		t.Fatal(err)
	}
	if _, err := second.WaitForCall(ctx, mark, "views.publish", func(c fakeslack.Call) bool { return c.Arg("user_id") == "U0ADMIN" && c.OK() }); err != nil {
		t.Fatalf("no Home tab in the second workspace: %v", err)
	}
	if v, _ := second.HomeView("U0ADMIN"); !strings.Contains(viewJSON(v), "Admin") {
		t.Errorf("the second workspace's admin sees no admin section: %s", viewJSON(v))
	}
	if _, ok := fs.HomeView("U0ADMIN"); ok {
		t.Error("the first workspace's U0ADMIN got the second's Home tab")
	}
	// The second's Bobby goes weekly; the first's Bob stays instant.
	if _, err := second.Send(ctx, second.AppHomeOpened("U0BOB")); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { _, ok := second.HomeView("U0BOB"); return ok }); err != nil {
		t.Fatal("no Home tab for the second's U0BOB")
	}
	env, err := second.ClickHome("U0BOB", views.ActionFrequency, map[string]any{"selected_option": option("weekly")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		p, _ := h.main.Store().Prefs("T0SECOND", "U0BOB")
		return p.Frequency == paligo.Weekly
	}); err != nil {
		t.Fatal("the second workspace's U0BOB did not save weekly")
	}
	if p, _ := h.main.Store().Prefs("T0FAKE", "U0BOB"); p.Frequency == paligo.Weekly {
		t.Error("the first workspace's U0BOB became weekly")
	}

	// Each workspace subscribes its own #ops.
	for _, w := range []*fakeslack.Server{fs, second} {
		ch := map[*fakeslack.Server]string{fs: "C0OPS", second: "C2OPS"}[w]
		ack, err := w.Send(ctx, w.SlashCommand("U0ADMIN", ch, "/route-alerts", "subscribe run.failed"))
		if err != nil || !strings.Contains(string(ack.Payload), "Subscribed") {
			t.Fatalf("subscribe in %s: %s %v", w.TeamID(), ack.Payload, err)
		}
	}
	if subs, _ := h.main.Store().Subscriptions("T0SECOND", ""); len(subs) != 1 || subs[0].Channel != "C2OPS" {
		t.Errorf("the second's subscriptions: %+v", subs)
	}

	// An event of each: each reaches its own channel and its own people.
	for _, e := range []map[string]any{
		event("first-1", "run.failed", map[string]any{"subject": subject("r1", "Nightly"), "recipients": []string{"bob@example.com"}}),
		event("second-1", "run.failed", map[string]any{"org": "beta", "subject": subject("r1", "Nightly"),
			"recipients": []string{"carl@second.example", "bob@example.com"}}),
		event("second-2", "document.shared", map[string]any{"team": "T0SECOND", "subject": subject("d1", "Guide"), "recipients": []string{"bobby@second.example"}}),
	} {
		if status, out := postEvents(t, h.main.Addr(), e); status != http.StatusAccepted {
			t.Fatalf("post %v = %d %v", e["id"], status, out)
		}
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		return len(texts(fs, "C0OPS")) == 1 && len(texts(second, "C2OPS")) == 1 && len(texts(second, second.DMChannel("U0CARL"))) == 1 &&
			len(texts(fs, fs.DMChannel("U0BOB"))) > 0
	}); err != nil {
		t.Fatalf("first #ops %v, second #ops %v, Carl %v, the first's Bob %v", texts(fs, "C0OPS"), texts(second, "C2OPS"),
			texts(second, second.DMChannel("U0CARL")), texts(fs, fs.DMChannel("U0BOB")))
	}
	if got := texts(fs, fs.DMChannel("U0BOB")); len(got) != 1 || !strings.Contains(got[0], "Nightly") {
		t.Errorf("the first's Bob (instant) got %v, want the first's run alone", got)
	}
	// bob@example.com is no one in the second workspace: unmatched there.
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		un, _ := h.main.Store().Unmatched("T0SECOND")
		return len(un) == 1 && un[0].Email == "bob@example.com"
	}); err != nil {
		un, _ := h.main.Store().Unmatched("T0SECOND")
		t.Errorf("the second's unmatched = %+v", un)
	}
	if un, _ := h.main.Store().Unmatched(""); len(un) != 0 {
		t.Errorf("the first's unmatched = %+v", un)
	}
	// The second's Bobby is weekly: his share waits for his digest.
	if err := poll(ctx, 10*time.Millisecond, func() bool { n, _ := h.main.Store().PendingDigest("T0SECOND", "U0BOB"); return n == 1 }); err != nil {
		t.Error("the second's weekly Bobby has no digest item")
	}
	if n := len(texts(second, second.DMChannel("U0BOB"))); n != 0 {
		t.Errorf("the second's weekly Bobby got %d DMs", n)
	}
	// Every call in each workspace was made with its own token.
	for _, w := range []*fakeslack.Server{fs, second} {
		for _, c := range w.Calls("chat.postMessage") {
			if !c.OK() {
				t.Errorf("%s: %s answered %s", w.TeamID(), c.Method, c.Error)
			}
		}
	}
	if n := len(fs.Calls("chat.postMessage")); n != 2 { // #ops and Bob's DM
		t.Errorf("the first workspace took %d posts, want 2", n)
	}

	// An unknown workspace, or one connected for no org: refused.
	for _, extra := range []map[string]any{{"team": "T0NOPE"}, {"org": "gamma"}} {
		if status, out := postEvents(t, h.main.Addr(), event(fmt.Sprint("unknown-", extra), "run.failed", extra)); status != http.StatusBadRequest {
			t.Errorf("an event naming %v = %d %v", extra, status, out)
		}
	}

	// "Where would it go?" and "what became of it?" in each workspace.
	probe, _ := json.Marshal(event("probe", "run.failed", map[string]any{"org": "beta"}))
	if status, out := signed("POST", "/v1/routes/test", probe, testIngestSecret, time.Now()).send(t, h.main.Addr()); status != http.StatusOK || !strings.Contains(out, "C2OPS") || strings.Contains(out, "C0OPS") {
		t.Errorf("a route test of the second workspace = %d %s", status, out)
	}
	for _, c := range []struct {
		path string
		want int
	}{{"/v1/events/second-1?team=T0SECOND", 200}, {"/v1/events/second-1?team=T0FAKE", 404}, {"/v1/events/first-1?team=T0FAKE", 200}, {"/v1/events/first-1?team=T0SECOND", 404}} {
		if status, out := signed("GET", c.path, nil, testIngestSecret, time.Now()).send(t, h.main.Addr()); status != c.want {
			t.Errorf("GET %s = %d %s, want %d", c.path, status, out, c.want)
		}
	}

	// The platform's directory of the second workspace is the second's.
	status, body := signed("GET", "/v1/people?team=T0SECOND", nil, testIngestSecret, time.Now()).send(t, h.main.Addr())
	if status != http.StatusOK || !strings.Contains(body, "carl@second.example") || strings.Contains(body, "alice@example.com") {
		t.Errorf("GET /v1/people?team=T0SECOND = %d %s", status, body)
	}

	// The second workspace uninstalls the app while a post of its own is
	// being retried: that post ends on its failed list with the reason,
	// and the first's deliveries go on.
	second.Inject("chat.postMessage", fakeslack.Fault{Status: http.StatusServiceUnavailable})
	mark = second.Mark()
	if status, out := postEvents(t, h.main.Addr(), event("second-late", "run.failed", map[string]any{"team": "T0SECOND"})); status != http.StatusAccepted {
		t.Fatalf("second-late = %d %v", status, out)
	}
	if _, err := second.WaitForCall(ctx, mark, "chat.postMessage", func(c fakeslack.Call) bool { return c.Status == http.StatusServiceUnavailable }); err != nil {
		t.Fatal(err)
	}
	second.RevokeTokens()
	if _, err := second.Send(ctx, second.EventsAPI(map[string]any{"type": "app_uninstalled", "event_ts": "1.0"})); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		in, _, _ := h.main.Store().Installation("T0SECOND")
		return in.Disconnected != ""
	}); err != nil {
		t.Fatal("the second workspace was not disconnected")
	}
	if status, out := postEvents(t, h.main.Addr(), event("second-3", "run.failed", map[string]any{"team": "T0SECOND"})); status != http.StatusBadRequest {
		t.Errorf("an event for the disconnected workspace = %d %v", status, out)
	}
	if status, out := postEvents(t, h.main.Addr(), event("first-2", "run.failed", nil)); status != http.StatusAccepted {
		t.Fatalf("first-2 = %d %v", status, out)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(texts(fs, "C0OPS")) == 2 }); err != nil {
		t.Errorf("the first workspace's delivery stopped with the second's: %v", texts(fs, "C0OPS"))
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		f, _, _ := h.main.Store().FailedFirst("T0SECOND", 10)
		return len(f) == 1 && strings.Contains(f[0].Reason, "app_uninstalled")
	}); err != nil {
		f, _, _ := h.main.Store().FailedFirst("T0SECOND", 10)
		t.Errorf("the second's failed list = %+v", f)
	}
	if f, _, _ := h.main.Store().FailedFirst("", 10); len(f) != 0 {
		t.Errorf("the first's failed list = %+v", f)
	}
	if slices.ContainsFunc(second.Calls(""), func(c fakeslack.Call) bool { return c.Error == "token_revoked" && c.Method == "chat.postMessage" }) {
		t.Error("a post was tried with the revoked token")
	}
}

// TestAnExpiredTokenIsRefreshedAndTheCallMadeAgain: a connected
// workspace's rotating token that Slack answers token_expired to (before
// the refresh loop got to it) is refreshed at once, and the post is made
// again with the new token: delivered once, nothing failed.
func TestAnExpiredTokenIsRefreshedAndTheCallMadeAgain(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels, TokenRotation: true, TokenLifetime: 12 * time.Hour})
	h, base := startConnect(t, fs)
	ctx := ctxT(t)
	second := connectSecond(t, fs, base, "beta", fakeslack.WorkspaceOptions{})
	if ack, err := second.Send(ctx, second.SlashCommand("U0ADMIN", "C2OPS", "/route-alerts", "subscribe run.failed")); err != nil || !strings.Contains(string(ack.Payload), "Subscribed") {
		t.Fatalf("subscribe: %s %v", ack.Payload, err)
	}
	before, _, _ := h.main.Store().Installation("T0SECOND")
	second.ExpireTokens()
	mark := second.Mark()
	if status, out := postEvents(t, h.main.Addr(), event("late", "run.failed", map[string]any{"team": "T0SECOND", "subject": subject("r1", "Nightly")})); status != http.StatusAccepted {
		t.Fatalf("post = %d %v", status, out)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(texts(second, "C2OPS")) == 1 }); err != nil {
		t.Fatalf("not delivered after the token expired: %v", second.CallsSince(mark))
	}
	// The post (and whatever else the workspace's calls were then) met
	// token_expired; one refresh served them all.
	count, expired := map[string]int{}, 0
	for _, c := range second.CallsSince(mark) {
		count[c.Method+":"+map[bool]string{true: "ok", false: c.Error}[c.OK()]]++
		if c.Error == "token_expired" {
			expired++
		}
	}
	if count["oauth.v2.access:ok"] != 1 || expired == 0 || count["chat.postMessage:token_expired"] > 1 || count["chat.postMessage:ok"] != 1 {
		t.Errorf("calls = %v, want token_expired met, one refresh, one post taken", count)
	}
	after, _, _ := h.main.Store().Installation("T0SECOND")
	if after.BotTokenSealed == before.BotTokenSealed || !after.TokenExpires.After(before.TokenExpires) {
		t.Errorf("the installation after the refresh: %+v", after)
	}
	if f, _ := h.main.Store().Failed(); len(f) != 0 {
		t.Errorf("failed: %+v", f)
	}
	// The same for a Slack call of a handler: the Home tab is drawn.
	second.ExpireTokens()
	mark = second.Mark()
	if _, err := second.Send(ctx, second.AppHomeOpened("U0BOB")); err != nil {
		t.Fatal(err)
	}
	if _, err := second.WaitForCall(ctx, mark, "views.publish", func(c fakeslack.Call) bool { return c.OK() }); err != nil {
		t.Fatalf("no Home tab after the token expired: %v", second.CallsSince(mark))
	}
	refreshes := 0
	for _, c := range second.CallsSince(mark) {
		if c.Method == "oauth.v2.access" && c.OK() {
			refreshes++
		}
	}
	if refreshes != 1 {
		t.Errorf("%d refreshes for the Home tab, want 1", refreshes)
	}
	if tokens := fs.IssuedTokens(); len(tokens) != 0 {
		for _, tok := range append(tokens, second.IssuedTokens()...) {
			if strings.Contains(h.logs.String(), tok) {
				t.Error("a token reached the log")
			}
		}
	}
}

// TestWithoutABotTokenTheWorkspacesAreTheConnectedOnes: with the Connect
// flow and no SLACK_BOT_TOKEN, the program starts, serves each connected
// workspace, and refuses an event that names none.
func TestWithoutABotTokenTheWorkspacesAreTheConnectedOnes(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h, base := startConnect(t, fs)
	configure := h.configure
	h.configure = func(c *app.Config) { configure(c); c.BotToken = "" }
	h.noDirectoryWait = true // no primary workspace to read
	start := fs.Mark()
	h.restart()
	ctx := ctxT(t)
	// An event naming no workspace is refused from the first moment (there
	// is no primary workspace to take it), before delivery has started as
	// after.
	if status, out := postEvents(t, h.main.Addr(), event("early", "run.failed", nil)); status != http.StatusBadRequest {
		t.Errorf("an event naming no workspace, at once = %d %v", status, out)
	}
	second := connectSecond(t, fs, base, "beta", fakeslack.WorkspaceOptions{})
	if ack, err := second.Send(ctx, second.SlashCommand("U0ADMIN", "C2OPS", "/route-alerts", "subscribe run.failed")); err != nil || !strings.Contains(string(ack.Payload), "Subscribed") {
		t.Fatalf("subscribe: %s %v", ack.Payload, err)
	}
	// Until delivery has started, the API cannot tell an event naming no
	// workspace from one for a primary it has not met: it answers 503 to
	// the second, and so the test waits, as a platform retries.
	if err := poll(ctx, 20*time.Millisecond, func() bool {
		body := []byte(`{"id":"probe","type":"run.failed","org":"beta"}`)
		code, _ := signed("POST", "/v1/routes/test", body, testIngestSecret, time.Now()).send(t, h.main.Addr())
		return code != http.StatusServiceUnavailable
	}); err != nil {
		t.Fatal("delivery never started")
	}
	status, out := postEvents(t, h.main.Addr(), event("none", "run.failed", nil))
	if errs, _ := out["errors"].([]any); status != http.StatusBadRequest || len(errs) != 1 || errs[0].(map[string]any)["field"] != "team" {
		t.Errorf("an event naming no workspace = %d %v", status, out)
	}
	if status, out := postEvents(t, h.main.Addr(), event("beta-1", "run.failed", map[string]any{"org": "beta"})); status != http.StatusAccepted {
		t.Fatalf("beta-1 = %d %v", status, out)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(texts(second, "C2OPS")) == 1 }); err != nil {
		t.Fatal("not delivered in the connected workspace")
	}
	for _, c := range fs.CallsSince(start) {
		if c.Method != "apps.connections.open" && c.Method != "oauth.v2.access" {
			t.Errorf("%s was called in the first workspace, which is not connected", c.Method)
		}
	}
	if status, body := signed("GET", "/v1/channels", nil, testIngestSecret, time.Now()).send(t, h.main.Addr()); status != http.StatusBadRequest || !strings.Contains(body, "team") {
		t.Errorf("GET /v1/channels naming no team = %d %s", status, body)
	}
}

// POST /v1/invites for a second workspace checks the inviter there: an
// admin of the primary workspace only is refused (the same user id string
// is someone else in the second), and the second's own admin, whom the
// primary does not know, is heard.
func TestPlatformInvitesCheckTheInviterInTheirOwnWorkspace(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h, base := startConnect(t, fs)
	ctx := ctxT(t)
	second := connectSecond(t, fs, base, "beta", fakeslack.WorkspaceOptions{Users: []fakeslack.User{
		{ID: "U0GRACE", Name: "grace", RealName: "Grace Second", Email: "grace@second.example", IsAdmin: true},
		{ID: "U0ADMIN", Name: "adam", RealName: "Adam Second", Email: "adam@second.example"},
		{ID: "U0CARL", Name: "carl", RealName: "Carl Second", Email: "carl@second.example"},
	}, Channels: secondChannels})
	post := func(v any) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(v)
		return signed("POST", "/v1/invites", body, testIngestSecret, time.Now()).sendJSON(t, h.main.Addr())
	}
	mark := fs.Mark()
	// U0ADMIN is the primary's admin Ada; in the second it is Adam, no admin.
	if code, out := post(map[string]any{"team": "T0SECOND", "inviter": "U0ADMIN", "people": []string{"carl@second.example"}}); code != http.StatusForbidden {
		t.Fatalf("the primary's admin inviting in the second workspace: %d %v, want 403", code, out)
	}
	if code, out := post(map[string]any{"team": "T0SECOND", "inviter": "U0GRACE", "people": []string{"carl@second.example"}}); code != http.StatusAccepted {
		t.Fatalf("the second's admin: %d %v, want 202", code, out)
	}
	h.waitDelivered(ctx)
	if got := texts(second, second.DMChannel("U0CARL")); len(got) != 1 {
		t.Errorf("Carl has %d DMs in the second workspace, want the one invitation", len(got))
	}
	for _, c := range fs.CallsSince(mark) {
		if c.Method == "users.info" || c.Method == "users.lookupByEmail" {
			t.Errorf("the primary workspace was asked %s for an invitation in the second", c.Method)
		}
	}
}
