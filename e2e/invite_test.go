package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

var inviteUsers = append([]fakeslack.User{
	{ID: "U0CARL", Name: "carl", RealName: "Carl New", Email: "carl@example.com"},
	{ID: "U0DANA", Name: "dana", RealName: "Dana New", Email: "Dana@Example.com"},
	{ID: "U0ROBOT", Name: "robot", Email: "robot@example.com", IsBot: true},
	{ID: "U0GONE", Name: "gone", Email: "gone@example.com", Deleted: true},
	{ID: "U0NOMAIL", Name: "nomail"},
}, testUsers...)

// inviteDM returns the invitation user got last and its token.
func inviteDM(t *testing.T, fs *fakeslack.Server, user string) (fakeslack.Message, string) {
	t.Helper()
	var last *fakeslack.Message
	for _, m := range fs.Messages(fs.DMChannel(user)) {
		if strings.Contains(m.Text, "invited to join Paligo") {
			last = &m
		}
	}
	if last == nil {
		t.Fatalf("%s got no invitation", user)
	}
	var blocks []any
	json.Unmarshal(last.Blocks, &blocks)
	_, el := fakeslack.FindElement(map[string]any{"blocks": blocks}, views.ActionInviteOpen)
	link, _ := el["url"].(string)
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://paligo.example/join?") || u.Query().Get("src") != "slack" || u.Query().Get("token") == "" {
		t.Fatalf("invitation link %q: want the invite URL (its query kept) with a token", link)
	}
	return *last, u.Query().Get("token")
}

// blocksText is a message's blocks as JSON, without HTML escaping.
func blocksText(m fakeslack.Message) string {
	var v any
	json.Unmarshal(m.Blocks, &v)
	return viewJSON(fakeslack.View{Body: map[string]any{"blocks": v}})
}

// summaries returns the invitation summaries user got, oldest first.
func summaries(fs *fakeslack.Server, user string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range fs.Messages(fs.DMChannel(user)) {
		if strings.HasPrefix(m.Text, "Invitations: ") {
			out = append(out, m)
		}
	}
	return out
}

// checkToken asks GET /v1/invites/{token}, signed at the program's time.
func (h *harness) checkToken(token string) (int, map[string]any) {
	h.t.Helper()
	resp, err := signed("GET", "/v1/invites/"+token, nil, testIngestSecret, h.clock.Now()).do(h.main.Addr())
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func ackText(t *testing.T, a fakeslack.Ack) string {
	t.Helper()
	var p struct {
		Text         string `json:"text"`
		ResponseType string `json:"response_type"`
	}
	if err := json.Unmarshal(a.Payload, &p); err != nil || p.ResponseType != "ephemeral" {
		t.Fatalf("ack %s: want an ephemeral answer", a.Payload)
	}
	return p.Text
}

func TestInviteThroughTheModal(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)

	mark := fs.Mark()
	if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "")); err != nil {
		t.Fatal(err)
	}
	if c, err := fs.WaitForCall(ctx, mark, "views.open", nil); err != nil || !c.OK() {
		t.Fatalf("views.open: %+v %v", c, err)
	}
	modal := latestModal(t, fs)
	if modal.Body["callback_id"] != views.CallbackInvite || modal.Body["private_metadata"] != "C0OPS" {
		t.Fatalf("modal = %s", viewJSON(modal))
	}
	users := func(ids ...string) map[string]any {
		return map[string]any{views.ActionInviteUsers: map[string]any{"type": "multi_users_select", "selected_users": ids}}
	}
	note := func(s string) map[string]any {
		return map[string]any{views.ActionInviteNote: map[string]any{"type": "plain_text_input", "value": s}}
	}

	// Nobody chosen: an inline error, nothing recorded.
	ack, err := fs.Send(ctx, fs.ViewSubmission("U0ADMIN", modal, map[string]any{views.BlockInviteUsers: users(), views.BlockInviteNote: note("")}))
	if err != nil || !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), views.BlockInviteUsers) {
		t.Fatalf("empty submission ack = %s %v", ack.Payload, err)
	}
	if inv, _ := h.main.Store().RecentInvites(fs.TeamID(), 10); len(inv) != 0 {
		t.Fatalf("an invalid form recorded invitations: %+v", inv)
	}

	ack, err = fs.Send(ctx, fs.ViewSubmission("U0ADMIN", modal, map[string]any{
		views.BlockInviteUsers: users("U0CARL", "U0DANA", "U0ROBOT", "U0GONE", "U0NOMAIL", "U0CARL"),
		views.BlockInviteNote:  note("Welcome <!channel>! Docs live in Paligo now."),
	}))
	if err != nil || len(ack.Payload) != 0 {
		t.Fatalf("good submission ack = %s %v; want an empty ack (the form closes)", ack.Payload, err)
	}
	h.waitDelivered(ctx)

	for user, email := range map[string]string{"U0CARL": "carl@example.com", "U0DANA": "dana@example.com"} {
		dm, token := inviteDM(t, fs, user)
		if strings.Contains(blocksText(dm), "<!channel>") || !strings.Contains(blocksText(dm), "Welcome &lt;!channel&gt;!") ||
			!strings.Contains(blocksText(dm), "<@U0ADMIN> invited you") {
			t.Errorf("%s's invitation: %s", user, dm.Blocks)
		}
		code, out := h.checkToken(token)
		inviter, _ := out["inviter"].(map[string]any)
		if code != 200 || out["email"] != email || out["slack_user"] != user || out["status"] != paligo.InvitePending ||
			inviter["slack_user"] != "U0ADMIN" || inviter["email"] != "ada@example.com" || out["note"] != "Welcome <!channel>! Docs live in Paligo now." {
			t.Errorf("GET %s's token = %d %v", user, code, out)
		}
	}
	for _, u := range []string{"U0ROBOT", "U0GONE", "U0NOMAIL"} {
		if got := texts(fs, fs.DMChannel(u)); len(got) != 0 {
			t.Errorf("%s was messaged: %q", u, got)
		}
	}
	sum := summaries(fs, "U0ADMIN")
	if len(sum) != 1 || sum[0].Text != "Invitations: 2 sent, 3 skipped, 0 failed" {
		t.Fatalf("summaries = %+v", sum)
	}
	for _, want := range []string{"<@U0CARL>", "<@U0DANA>", "<@U0ROBOT> skipped: is a bot", "<@U0GONE> skipped: is deactivated in Slack", "<@U0NOMAIL> skipped: has no email address in Slack"} {
		if !strings.Contains(blocksText(sum[0]), want) {
			t.Errorf("summary lacks %q: %s", want, sum[0].Blocks)
		}
	}
	invs, _ := h.main.Store().RecentInvites(fs.TeamID(), 10)
	if len(invs) != 2 {
		t.Fatalf("recorded invitations = %+v", invs)
	}
	for _, inv := range invs {
		if inv.Status != paligo.InvitePending || inv.Inviter != "U0ADMIN" || inv.TS == "" || !inv.Expires.Equal(inv.Created.Add(7*24*time.Hour)) {
			t.Errorf("invitation = %+v", inv)
		}
	}
	// The admin's Home tab lists them.
	home := h.openHome(ctx, "U0ADMIN")
	if j := viewJSON(home); !strings.Contains(j, "Recent invitations") || !strings.Contains(j, "<@U0CARL>, by <@U0ADMIN>: pending until") {
		t.Errorf("admin Home tab: %s", j)
	}
}

func TestInviteByMentionSkipsPendingAndRefusesNonAdmins(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)

	send := func(user, text string) string {
		t.Helper()
		ack, err := fs.Send(ctx, fs.SlashCommand(user, "C0OPS", "/paligo-invite", text))
		if err != nil {
			t.Fatal(err)
		}
		return ackText(t, ack)
	}
	// A non-admin, and bad texts: refused in the ack, nothing recorded.
	for _, c := range []struct{ user, text, want string }{
		{"U0BOB", "<@U0CARL|carl>", "Only Slack workspace admins"},
		{"U0BOB", "", "Only Slack workspace admins"},
		{"U0ADMIN", "carl dana", "I found no one to invite"},
		{"U0ADMIN", "<@U0CARL|carl> <#C0OPS|ops>", "Only people can be invited"},
		{"U0ADMIN", "<!subteam^S0123|@writers>", "Only people can be invited"},
		{"U0ADMIN", "<@U0CARL> " + strings.Repeat("x", 1001), "at most 1000"},
	} {
		if got := send(c.user, c.text); !strings.Contains(got, c.want) || !strings.Contains(got, "Nothing was") {
			t.Errorf("/paligo-invite %.40q by %s = %q, want %q", c.text, c.user, got, c.want)
		}
	}
	// A crafted submission of the form by a non-admin: inline error.
	ack, _ := fs.Send(ctx, fs.ViewSubmission("U0BOB", fakeslack.View{ID: "V0X", Body: map[string]any{"type": "modal", "callback_id": views.CallbackInvite}},
		map[string]any{views.BlockInviteUsers: map[string]any{views.ActionInviteUsers: map[string]any{"type": "multi_users_select", "selected_users": []string{"U0CARL"}}}}))
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), "Only Slack workspace admins") {
		t.Errorf("non-admin submission ack = %s", ack.Payload)
	}
	h.waitDelivered(ctx)
	if inv, _ := h.main.Store().RecentInvites(fs.TeamID(), 10); len(inv) != 0 || len(texts(fs, fs.DMChannel("U0CARL"))) != 0 {
		t.Fatalf("refused requests recorded or sent invitations: %+v", inv)
	}
	if _, found, _ := h.main.Store().InviteRun(1); found {
		t.Fatal("a refused request recorded an invite run")
	}

	if got := send("U0ADMIN", "<@U0CARL|carl> <@U0DANA>   Welcome & enjoy"); got != "Inviting 2 people. I'll DM you a summary once the invitations are out." {
		t.Errorf("ack = %q", got)
	}
	h.waitDelivered(ctx)
	dm, _ := inviteDM(t, fs, "U0CARL")
	if !strings.Contains(blocksText(dm), "Welcome &amp; enjoy") {
		t.Errorf("note: %s", dm.Blocks)
	}
	// Carl again, while his invitation is pending: skipped with the reason.
	send("U0ADMIN", "<@U0CARL|carl>")
	h.waitDelivered(ctx)
	sum := summaries(fs, "U0ADMIN")
	if len(sum) != 2 || sum[0].Text != "Invitations: 2 sent, 0 skipped, 0 failed" || sum[1].Text != "Invitations: 0 sent, 1 skipped, 0 failed" ||
		!strings.Contains(blocksText(sum[1]), "<@U0CARL> skipped: already has a pending invitation") {
		t.Fatalf("summaries = %+v", sum)
	}
	if n := len(texts(fs, fs.DMChannel("U0CARL"))); n != 1 {
		t.Errorf("Carl got %d invitations, want 1", n)
	}
}

func TestAcceptedInviteTellsTheInviterAndExpiredOnesCanBeSentAgain(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Second)
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	invite := func(text string) {
		t.Helper()
		if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", text)); err != nil {
			t.Fatal(err)
		}
		h.waitDelivered(ctx)
	}
	invite("<@U0CARL> <@U0DANA>")
	_, carl := inviteDM(t, fs, "U0CARL")
	_, dana := inviteDM(t, fs, "U0DANA")

	// Carl accepts: the platform checks the token, then says so.
	if code, out := h.checkToken(carl); code != 200 {
		t.Fatalf("GET = %d %v", code, out)
	}
	h.post(event("acc-carl", "invite.accepted", map[string]any{"fields": map[string]any{"token": carl}, "actor": map[string]any{"name": "Carl New", "email": "carl@example.com"}}))
	h.waitDelivered(ctx)
	admin := texts(fs, fs.DMChannel("U0ADMIN"))
	if n := count(admin, "Invitation accepted"); n != 1 {
		t.Fatalf("the inviter was told %d times: %q", n, admin)
	}
	if code, out := h.checkToken(carl); code != 410 || out["status"] != paligo.InviteAccepted {
		t.Errorf("GET after use = %d %v, want 410 accepted", code, out)
	}
	// The same acceptance again (a new event id): no second message.
	h.post(event("acc-carl-2", "invite.accepted", map[string]any{"fields": map[string]any{"token": carl}}))
	h.waitDelivered(ctx)
	if n := count(texts(fs, fs.DMChannel("U0ADMIN")), "Invitation accepted"); n != 1 {
		t.Errorf("after a repeated acceptance the inviter was told %d times", n)
	}
	// A tampered token is not accepted.
	tampered := dana[:len(dana)-3] + "AAA"
	if tampered == dana {
		tampered = dana[:len(dana)-3] + "BBB"
	}
	if code, _ := h.checkToken(tampered); code != 404 {
		t.Errorf("tampered token: %d, want 404", code)
	}
	if code, out := postEvents(t, h.main.Addr(), event("acc-dana", "invite.accepted", map[string]any{"fields": map[string]any{"token": tampered}})); code != 400 {
		t.Errorf("invite.accepted with a tampered token: %d %v, want 400", code, out)
	}

	// Eight days later Dana's link has expired; she can be invited again.
	h.clock.Set(t0.Add(8 * 24 * time.Hour))
	if code, out := h.checkToken(dana); code != 410 || out["status"] != paligo.InviteExpired {
		t.Errorf("expired token: %d %v, want 410 expired", code, out)
	}
	invite("<@U0DANA> <@U0CARL>")
	sum := summaries(fs, "U0ADMIN")
	last := sum[len(sum)-1]
	if last.Text != "Invitations: 1 sent, 1 skipped, 0 failed" || !strings.Contains(blocksText(last), "<@U0CARL> skipped: already accepted") {
		t.Errorf("second run summary = %s %s", last.Text, last.Blocks)
	}
	_, dana2 := inviteDM(t, fs, "U0DANA")
	if dana2 == dana {
		t.Fatal("the new invitation reuses the expired token")
	}
	if code, out := h.checkToken(dana2); code != 200 || out["email"] != "dana@example.com" {
		t.Errorf("new token: %d %v", code, out)
	}
	for _, tok := range []string{carl, dana, dana2} {
		if strings.Contains(h.logs.String(), tok) {
			t.Error("an invitation token is in the logs")
		}
	}
	if accepted := texts(fs, fs.DMChannel("U0ADMIN")); count(accepted, "Carl New") == 0 {
		t.Errorf("the inviter's message does not say who accepted: %q", accepted)
	}
	home := viewJSON(h.openHome(ctx, "U0ADMIN"))
	for _, want := range []string{"<@U0CARL>, by <@U0ADMIN>: accepted", "expired: ", "<@U0DANA>, by <@U0ADMIN>: pending"} {
		if !strings.Contains(home, want) {
			t.Errorf("admin Home tab lacks %q", want)
		}
	}
}

// 100 people in one run against a workspace that enforces Slack's method
// tiers (scaled up): everyone gets exactly one invitation, no call goes out
// before a 429's Retry-After, and the inviter gets one summary.
func TestHundredInviteesStayWithinRateLimits(t *testing.T) {
	t.Parallel() // mostly waiting out Retry-After
	users := append([]fakeslack.User{}, testUsers...)
	var mentions []string
	for i := range 100 {
		id := fmt.Sprintf("U1%04d", i)
		users = append(users, fakeslack.User{ID: id, Name: fmt.Sprint("p", i), Email: fmt.Sprintf("p%d@example.com", i)})
		mentions = append(mentions, fmt.Sprintf("<@%s|p%d>", id, i))
	}
	fs := newFake(t, fakeslack.Options{Users: users, Channels: testChannels, MethodRates: map[string]fakeslack.MethodRate{
		"users.info":         {PerSecond: 50, Burst: 20},
		"conversations.open": {PerSecond: 40, Burst: 10},
		"chat.postMessage":   {PerSecond: 60, Burst: 10},
	}})
	h := start(t, fs)
	ctx := ctxT(t)
	ack, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", strings.Join(mentions, " ")))
	if err != nil || !strings.Contains(ackText(t, ack), "Inviting 100 people") {
		t.Fatalf("ack = %s %v", ack.Payload, err)
	}
	h.waitDelivered(ctx)
	for i := range 100 {
		id := fmt.Sprintf("U1%04d", i)
		if n := count(texts(fs, fs.DMChannel(id)), "invited to join Paligo"); n != 1 {
			t.Errorf("%s got %d invitations", id, n)
		}
	}
	if sum := summaries(fs, "U0ADMIN"); len(sum) != 1 || sum[0].Text != "Invitations: 100 sent, 0 skipped, 0 failed" {
		t.Errorf("summaries = %+v", sum)
	}
	calls := fs.Calls("")
	// Method tiers are workspace-wide: the scope of a 429 is the method.
	limited := honoursRetryAfter(t, calls, func(c fakeslack.Call) string { return c.Method })
	if limited == 0 {
		t.Error("no call was rate limited: the test did not exercise the limits")
	}
	t.Logf("%d calls, %d answered 429", len(calls), limited)
}

// A DM Slack refuses for good fails that invitation with the reason (in
// the summary and the admin Home tab); a 5xx on another is retried and
// sent. The failed invitation does not block a new one.
func TestInviteDMRefusedIsReportedAndRetriesTransientErrors(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	fs.Inject("conversations.open", fakeslack.Fault{Error: "user_disabled", Match: func(c fakeslack.Call) bool { return strings.Contains(c.Arg("users"), "U0CARL") }})
	fs.Inject("chat.postMessage", fakeslack.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "<@U0CARL> <@U0DANA>")); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	inviteDM(t, fs, "U0DANA")
	sum := summaries(fs, "U0ADMIN")
	if len(sum) != 1 || sum[0].Text != "Invitations: 1 sent, 0 skipped, 1 failed" || !strings.Contains(blocksText(sum[0]), "<@U0CARL> failed: user_disabled") {
		t.Fatalf("summaries = %+v", sum)
	}
	if home := viewJSON(h.openHome(ctx, "U0ADMIN")); !strings.Contains(home, "<@U0CARL>, by <@U0ADMIN>: failed: `user_disabled`") {
		t.Errorf("admin Home tab: %s", home)
	}
	fs.ClearFaults()
	fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "<@U0CARL>"))
	h.waitDelivered(ctx)
	inviteDM(t, fs, "U0CARL")
}
