package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/fakeslack"
)

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "slack", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidatorAcceptsRealSamples(t *testing.T) {
	var ack struct {
		Payload struct {
			View any `json:"view"`
		} `json:"payload"`
	}
	json.Unmarshal(sample(t, "05c_ack_view_submission_response_action_update.docs.json"), &ack)
	if errs := fakeslack.ValidateView(ack.Payload.View); errs != nil {
		t.Errorf("05c view rejected: %v", errs)
	}
	var home struct{ View map[string]any }
	json.Unmarshal(sample(t, "04_payload_block_actions_home_view.java-slack-sdk.json"), &home)
	if errs := fakeslack.ValidateView(home.View); errs != nil {
		t.Errorf("04 home view rejected: %v", errs)
	}
	var env struct {
		Payload struct{ View map[string]any }
	}
	json.Unmarshal(sample(t, "04b_envelope_interactive_block_actions_modal.python-slack-sdk.json"), &env)
	if errs := fakeslack.ValidateView(env.Payload.View); errs != nil {
		t.Errorf("04b modal rejected: %v", errs)
	}
}

func TestValidatorRejectsWhatSlackRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	section := func(text string) string {
		return `{"type":"section","text":{"type":"mrkdwn","text":"` + text + `"}}`
	}
	blocks := func(n int) string {
		var b []string
		for range n {
			b = append(b, `{"type":"divider"}`)
		}
		return "[" + strings.Join(b, ",") + "]"
	}
	button := func(extra string) string {
		return `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"Go"}` + extra + `}]}]`
	}
	cases := []struct {
		name, surface, blocks, want string
	}{
		{"51 blocks in a message", "message", blocks(51), "must be less than 51 items [json-pointer:/blocks]"},
		{"section text 3001", "message", "[" + section(long(3001)) + "]", "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"},
		{"empty section text", "message", "[" + section("") + "]", "must be more than 0 characters [json-pointer:/blocks/0/text/text]"},
		{"header 151", "message", `[{"type":"header","text":{"type":"plain_text","text":"` + long(151) + `"}}]`, "[json-pointer:/blocks/0/text/text]"},
		{"mrkdwn header", "message", `[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]`, "must be plain_text [json-pointer:/blocks/0/text/type]"},
		{"button text 76", "message", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"` + long(76) + `"}}]}]`, "[json-pointer:/blocks/0/elements/0/text/text]"},
		{"button value 2001", "message", button(`,"value":"` + long(2001) + `"`), "[json-pointer:/blocks/0/elements/0/value]"},
		{"bad button style", "message", button(`,"style":"loud"`), "[json-pointer:/blocks/0/elements/0/style]"},
		{"action_id 256", "message", `[{"type":"actions","elements":[{"type":"button","action_id":"` + long(256) + `","text":{"type":"plain_text","text":"x"}}]}]`, "[json-pointer:/blocks/0/elements/0/action_id]"},
		{"duplicate block_id", "message", `[{"type":"divider","block_id":"a"},{"type":"divider","block_id":"a"}]`, "duplicate block_id"},
		{"duplicate action_id", "message", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"}},{"type":"button","action_id":"a","text":{"type":"plain_text","text":"y"}}]}]`, "duplicate action_id"},
		{"unknown block", "message", `[{"type":"carousel"}]`, "unknown block type"},
		{"11 context elements", "message", `[{"type":"context","elements":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"x"},`, 11), ",") + `]}]`, "between 1 and 10"},
		{"initial option not an option", "message", `[{"type":"actions","elements":[{"type":"static_select","action_id":"s","options":[{"text":{"type":"plain_text","text":"A"},"value":"a"}],"initial_option":{"text":{"type":"plain_text","text":"B"},"value":"b"}}]}]`, "must match one of the options"},
		{"empty initial_options", "message", `[{"type":"actions","elements":[{"type":"checkboxes","action_id":"c","options":[{"text":{"type":"plain_text","text":"A"},"value":"a"}],"initial_options":[]}]}]`, "must provide at least 1 item"},
		{"11 checkboxes", "message", `[{"type":"actions","elements":[{"type":"checkboxes","action_id":"c","options":[` + strings.TrimSuffix(strings.Repeat(`{"text":{"type":"plain_text","text":"A"},"value":"a"},`, 11), ",") + `]}]}]`, "must be less than 11 items"},
		{"bad timepicker", "home", `[{"type":"actions","elements":[{"type":"timepicker","action_id":"t","initial_time":"9:00"}]}]`, "must be HH:mm"},
		{"input in home", "home", `[{"type":"input","label":{"type":"plain_text","text":"L"},"element":{"type":"plain_text_input","action_id":"i"}}]`, "not allowed in a Home tab"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := fakeslack.ValidateBlocks(c.surface, decode(t, c.blocks))
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, c.want) }) {
				t.Errorf("errors %q do not contain %q", errs, c.want)
			}
		})
	}
	if errs := fakeslack.ValidateBlocks("home", decode(t, blocks(100))); errs != nil {
		t.Errorf("100 blocks in a Home tab rejected: %v", errs)
	}
	if errs := fakeslack.ValidateBlocks("home", decode(t, blocks(101))); errs == nil {
		t.Error("101 blocks in a Home tab accepted")
	}
	modal := `{"type":"modal","title":{"type":"plain_text","text":"` + long(25) + `"},"blocks":[{"type":"input","label":{"type":"plain_text","text":"L"},"element":{"type":"plain_text_input","action_id":"i"}}],"private_metadata":"` + long(3001) + `"}`
	errs := fakeslack.ValidateView(decode(t, modal))
	for _, want := range []string{"/view/title/text", "/view/submit", "/view/private_metadata"} {
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("modal errors %q miss %s", errs, want)
		}
	}
}

func newServer(t *testing.T, opts fakeslack.Options) (*fakeslack.Server, *slack.Client) {
	if opts.Users == nil {
		opts.Users = []fakeslack.User{{ID: "U1", Email: "one@example.com", RealName: "One", TZ: "Asia/Kolkata"}, {ID: "U2", Deleted: true}}
	}
	if opts.Channels == nil {
		opts.Channels = []fakeslack.Channel{
			{ID: "C1", Name: "general"}, {ID: "C2", Name: "secret", IsPrivate: true},
			{ID: "C3", Name: "old", IsArchived: true}, {ID: "C4", Name: "ops", IsPrivate: true, BotIsMember: true},
		}
	}
	fs := fakeslack.New(opts)
	t.Cleanup(fs.Close)
	return fs, slack.New(fs.BotToken(), slack.OptionAPIURL(fs.URL()), slack.OptionAppLevelToken(fs.AppToken()))
}

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestWebAPIAnswersLikeSlack(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{})
	ctx := context.Background()

	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatalf("auth.test: %v", err)
	}
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(fs.URL()))
	if _, err := bad.AuthTestContext(ctx); slackErr(err) != "invalid_auth" {
		t.Errorf("wrong token: %v", err)
	}
	appOnly := slack.New(fs.AppToken(), slack.OptionAPIURL(fs.URL()))
	if _, err := appOnly.AuthTestContext(ctx); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("app token on a bot method: %v", err)
	}

	u, err := api.GetUserByEmailContext(ctx, "ONE@example.com")
	if err != nil || u.ID != "U1" || u.TZ != "Asia/Kolkata" || u.TZOffset != 19800 {
		t.Errorf("lookupByEmail = %+v, %v", u, err)
	}
	if _, err := api.GetUserByEmailContext(ctx, "nobody@example.com"); slackErr(err) != "users_not_found" {
		t.Errorf("unknown email: %v", err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U404"); slackErr(err) != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}

	for _, c := range []struct{ ch, want string }{{"C1", ""}, {"C2", "channel_not_found"}, {"C3", "is_archived"}, {"C4", ""}, {"C999", "channel_not_found"}} {
		_, _, err := api.PostMessageContext(ctx, c.ch, slack.MsgOptionText("hi", false))
		if slackErr(err) != c.want {
			t.Errorf("post to %s: err %v, want %q", c.ch, err, c.want)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, "C1"); slackErr(err) != "no_text" {
		t.Errorf("empty message: %v", err)
	}
	huge := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", strings.Repeat("x", 3001), false, false), nil, nil)
	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(huge), slack.MsgOptionText("fallback", false))
	if slackErr(err) != "invalid_blocks" {
		t.Errorf("oversized section: %v", err)
	}
	if got := len(fs.Messages("C1")); got != 1 {
		t.Errorf("%d messages in C1, want 1 (rejected ones are not posted)", got)
	}

	dm, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || dm.ID == "" || fs.DMChannel("U1") != dm.ID {
		t.Errorf("conversations.open = %v, %v", dm, err)
	}
	if _, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U2"}}); slackErr(err) != "user_disabled" {
		t.Errorf("DM to a deleted user: %v", err)
	}
	chans, _, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}})
	var ids []string
	for _, c := range chans {
		ids = append(ids, c.ID)
	}
	if err != nil || strings.Join(ids, ",") != "C1,C3,C4" {
		t.Errorf("conversations.list = %v, %v; want C1,C3,C4 (private only where the bot is)", ids, err)
	}
	if calls := fs.Calls("chat.postMessage"); len(calls) != 7 || calls[0].Arg("channel") != "C1" || calls[0].Form.Get("token") != "" {
		t.Errorf("recorded %d postMessage calls; first %+v (the token must not be recorded)", len(calls), calls[0])
	}
}

func TestFaultInjection(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{})
	ctx := context.Background()
	fs.Inject("chat.postMessage", fakeslack.Fault{Status: 429, RetryAfter: 2 * time.Second, Times: 1})
	fs.Inject("chat.postMessage", fakeslack.Fault{Status: 503, Times: 1})
	fs.Inject("chat.postMessage", fakeslack.Fault{Error: "not_in_channel", Times: 1, Match: func(c fakeslack.Call) bool { return c.Arg("channel") == "C4" }})

	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("a", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("first call: %v, want 429 with Retry-After 2s", err)
	}
	_, _, err = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("b", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 503 {
		t.Errorf("second call: %v, want 503", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("c", false)); err != nil {
		t.Errorf("third call to C1: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C4", slack.MsgOptionText("d", false)); slackErr(err) != "not_in_channel" {
		t.Errorf("C4: %v", err)
	}
	calls := fs.Calls("chat.postMessage")
	if calls[0].Status != 429 || calls[0].RetryAfter != 2*time.Second || calls[1].Status != 503 || !calls[2].OK() {
		t.Errorf("recorded outcomes wrong: %+v", calls[:3])
	}

	// A share of calls, repeatably.
	fs.ClearFaults()
	fs.Inject("users.info", fakeslack.Fault{Status: 429, RetryAfter: time.Second, Rate: 0.3})
	limited := 0
	for range 200 {
		if _, err := api.GetUserInfoContext(ctx, "U1"); err != nil {
			limited++
		}
	}
	if limited < 30 || limited > 90 {
		t.Errorf("Rate 0.3 limited %d of 200 calls", limited)
	}

	// Latency.
	fs.Inject("auth.test", fakeslack.Fault{Latency: 100 * time.Millisecond, Times: 1})
	start := time.Now()
	api.AuthTestContext(ctx)
	if time.Since(start) < 100*time.Millisecond {
		t.Error("latency not applied")
	}
}

func TestViewsOpenNeedsAFreshTrigger(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{TriggerTTL: 50 * time.Millisecond})
	ctx := context.Background()
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "Hi", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}
	if _, err := api.OpenViewContext(ctx, "made-up", modal); slackErr(err) != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %v", err)
	}
	env := fs.SlashCommand("U1", "C1", "/x", "")
	trig := env.Payload.(map[string]any)["trigger_id"].(string)
	if _, err := api.OpenViewContext(ctx, trig, modal); err != nil {
		t.Errorf("fresh trigger: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, trig, modal); slackErr(err) != "expired_trigger_id" {
		t.Errorf("reused trigger: %v", err)
	}
	env = fs.SlashCommand("U1", "C1", "/x", "")
	time.Sleep(60 * time.Millisecond) // the fake's clock is the wall clock; 50ms TTL
	if _, err := api.OpenViewContext(ctx, env.Payload.(map[string]any)["trigger_id"].(string), modal); slackErr(err) != "expired_trigger_id" {
		t.Errorf("stale trigger: %v", err)
	}
}

func TestSocketModeFramesFollowTheSamples(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{PingInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := slack.New(fs.BotToken(), slack.OptionAPIURL(fs.URL()), slack.OptionAppLevelToken(fs.BotToken())).StartSocketModeContext(ctx); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("apps.connections.open with the bot token: %v", err)
	}
	_, url, err := api.StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pinged := make(chan struct{}, 1)
	ws.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})

	keys := func(b []byte) []string {
		var m map[string]any
		json.Unmarshal(b, &m)
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	_, hello, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(hello), keys(sample(t, "01_hello.slack-go.json")); !slices.Equal(got, want) {
		t.Errorf("hello keys %v, sample has %v", got, want)
	}
	// A second dial with the same ticket is refused: tickets are single use.
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reused ticket: %v", err)
	}

	id, err := fs.Post(ctx, fs.SlashCommand("U1", "C1", "/cmd", "text"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-ctx.Done():
		t.Fatal("no ping from the server")
	}
	// Compare the envelope with the real sample's shape.
	env := fs.SlashCommand("U1", "C1", "/cmd", "text")
	frame, _ := json.Marshal(map[string]any{"envelope_id": "x", "payload": env.Payload, "type": env.Type, "accepts_response_payload": env.AcceptsResponsePayload})
	var got, want struct {
		Payload map[string]any `json:"payload"`
	}
	json.Unmarshal(frame, &got)
	json.Unmarshal(sample(t, "03_envelope_slash_commands.python-slack-sdk.json"), &want)
	for k := range want.Payload {
		if _, ok := got.Payload[k]; !ok {
			t.Errorf("slash command payload lacks %q", k)
		}
	}
	if err := ws.WriteJSON(map[string]any{"envelope_id": id, "payload": map[string]any{"text": "ok"}}); err != nil {
		t.Fatal(err)
	}
	a, err := fs.WaitAck(ctx, id)
	if err != nil || string(a.Payload) != `{"text":"ok"}` {
		t.Errorf("ack = %+v, %v", a, err)
	}
}

func TestChatUpdateConversationsInfoAndChannelRate(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{ChannelRate: 5, ChannelBurst: 2, Channels: []fakeslack.Channel{
		{ID: "C1", Name: "general"},
		{ID: "C2", Name: "secret", IsPrivate: true},
	}})
	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("first", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("second", false)); err != nil {
		t.Fatal(err)
	}
	if m := fs.Messages("C1"); len(m) != 1 || m[0].Text != "second" || m[0].Edits != 1 {
		t.Errorf("after chat.update: %+v", m)
	}
	if _, _, _, err := api.UpdateMessage(ch, "1.000", slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("update of a missing message: %v", err)
	}
	info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C1"})
	if err != nil || info.Name != "general" || info.IsPrivate {
		t.Errorf("conversations.info C1 = %+v, %v", info, err)
	}
	if _, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C2"}); slackErr(err) != "channel_not_found" {
		t.Errorf("a private channel the bot is not in: %v", err)
	}
	// Burst 2 with one used: one more goes, the next is limited for 1 s.
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("b", false)); err != nil {
		t.Fatal(err)
	}
	_, _, err = api.PostMessage("C1", slack.MsgOptionText("c", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("third message in a burst of 2: %v, want 429 Retry-After 1", err)
	}
	// Other channels have their own allowance.
	if _, _, err := api.PostMessage("U1", slack.MsgOptionText("dm", false)); err != nil {
		t.Errorf("one channel's limit applied to another: %v", err)
	}
}

func TestMethodRatesAnswer429WithRetryAfter(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{MethodRates: map[string]fakeslack.MethodRate{"users.info": {PerSecond: 0.5, Burst: 2}},
		Users: []fakeslack.User{{ID: "U1", Name: "one"}}})
	for range 2 {
		if _, err := api.GetUserInfo("U1"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := api.GetUserInfo("U1")
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("third call in the burst = %v, want 429 with Retry-After 2s (one call per 2 s)", err)
	}
	if _, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C1"}); errors.As(err, &rl) {
		t.Error("a method without a rate was limited")
	}
	calls := fs.Calls("users.info")
	if last := calls[len(calls)-1]; last.Status != 429 || last.RetryAfter != 2*time.Second {
		t.Errorf("recorded call = %+v", last)
	}
}

// Threads and updates follow Slack's rules: a reply names a parent that
// exists and is not a reply itself; only the app's own messages can be
// updated, by channel id; a deleted message is not found.
func TestThreadsAndUpdatesFollowSlacksRules(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{})
	ch, parent, err := api.PostMessage("C1", slack.MsgOptionText("parent", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessage("C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("loud", false), slack.MsgOptionTS(parent), slack.MsgOptionBroadcast()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false), slack.MsgOptionTS(reply)); slackErr(err) != "invalid_thread_ts" {
		t.Errorf("a reply to a reply: %v, want invalid_thread_ts", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001")); slackErr(err) != "thread_not_found" {
		t.Errorf("a reply to no message: %v, want thread_not_found", err)
	}
	p, replies, ok := fs.Thread(ch, parent)
	if !ok || p.ReplyCount != 2 || len(replies) != 2 || replies[0].Text != "reply" || replies[0].Broadcast || !replies[1].Broadcast {
		t.Fatalf("thread = %+v %+v %v", p, replies, ok)
	}
	if v := fs.ChannelView(ch); len(v) != 2 || v[0].TS != parent || v[1].Text != "loud" {
		t.Errorf("channel view = %+v, want the parent and the broadcast reply", v)
	}
	// Updates: by channel id only; never a person's message.
	if _, _, _, err := api.UpdateMessage("U1", parent, slack.MsgOptionText("x", false)); slackErr(err) != "channel_not_found" {
		t.Errorf("update by user id: %v, want channel_not_found", err)
	}
	human := fs.PostAsUser(ch, "U1", "hello")
	if _, _, _, err := api.UpdateMessage(ch, human.TS, slack.MsgOptionText("x", false)); slackErr(err) != "cant_update_message" {
		t.Errorf("update of a person's message: %v, want cant_update_message", err)
	}
	if _, _, _, err := api.UpdateMessage(ch, reply, slack.MsgOptionText("edited", false)); err != nil {
		t.Errorf("update of the bot's reply: %v", err)
	}
	fs.DeleteMessage(ch, parent)
	if _, _, _, err := api.UpdateMessage(ch, parent, slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("update of a deleted message: %v, want message_not_found", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false), slack.MsgOptionTS(parent)); slackErr(err) != "thread_not_found" {
		t.Errorf("a reply to a deleted parent: %v, want thread_not_found", err)
	}
	// The other refusals are injected, as for any method.
	fs.Inject("chat.update", fakeslack.Fault{Error: "edit_window_closed", Times: 1})
	if _, _, _, err := api.UpdateMessage(ch, reply, slack.MsgOptionText("x", false)); slackErr(err) != "edit_window_closed" {
		t.Errorf("injected edit_window_closed: %v", err)
	}
}

// OAuth v2 as Slack runs it: the authorize page sends the browser back with
// a single-use code; oauth.v2.access takes the app's credentials; with
// rotation a token expires and a refresh token gives the next one, once;
// auth.revoke revokes.
func TestOAuthV2(t *testing.T) {
	fs, _ := newServer(t, fakeslack.Options{TokenRotation: true, TokenLifetime: 200 * time.Millisecond,
		Users: []fakeslack.User{{ID: "U1", Email: "one@example.com"}, {ID: "U9", Email: "boss@example.com", IsAdmin: true}}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func() (code, state string) {
		t.Helper()
		resp, err := noRedirect.Get(fs.OAuthURL() + "?client_id=" + fs.ClientID() + "&scope=chat:write&redirect_uri=https://app.example/cb&state=s1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Host != "app.example" {
			t.Fatalf("authorize = %d %s", resp.StatusCode, loc)
		}
		return loc.Query().Get("code"), loc.Query().Get("state")
	}
	code, state := authorize()
	if code == "" || state != "s1" {
		t.Fatalf("code %q state %q", code, state)
	}
	access := func(form url.Values) (*slack.OAuthV2Response, error) {
		resp, err := http.PostForm(fs.URL()+"oauth.v2.access", form)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out slack.OAuthV2Response
		json.NewDecoder(resp.Body).Decode(&out)
		if !out.Ok {
			return &out, errors.New(out.Error)
		}
		return &out, nil
	}
	creds := url.Values{"client_id": {fs.ClientID()}, "client_secret": {fs.ClientSecret()}, "redirect_uri": {"https://app.example/cb"}}
	withCode := func(c string) url.Values {
		v := url.Values{"code": {c}}
		for k, vs := range creds {
			v[k] = vs
		}
		return v
	}
	bad := withCode(code)
	bad.Set("client_secret", "wrong")
	if _, err := access(bad); err == nil || err.Error() != "bad_client_secret" {
		t.Errorf("a wrong client secret: %v", err)
	}
	got, err := access(withCode(code))
	if err != nil || got.Team.ID != "T0FAKE" || got.AuthedUser.ID != "U9" || got.RefreshToken == "" || got.ExpiresIn == 0 {
		t.Fatalf("exchange: %+v %v", got, err)
	}
	if _, err := access(withCode(code)); err == nil || err.Error() != "invalid_code" {
		t.Errorf("a code used twice: %v", err)
	}
	api := slack.New(got.AccessToken, slack.OptionAPIURL(fs.URL()))
	if u, err := api.GetUserInfo("U9"); err != nil || u.Profile.Email != "boss@example.com" {
		t.Errorf("users.info with the issued token: %+v %v", u, err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := api.GetUserInfo("U9"); slackErr(err) != "token_expired" {
		t.Errorf("an expired token: %v", err)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got.RefreshToken}, "client_id": {fs.ClientID()}, "client_secret": {fs.ClientSecret()}}
	next, err := access(refresh)
	if err != nil || next.AccessToken == got.AccessToken || next.RefreshToken == got.RefreshToken {
		t.Fatalf("refresh: %+v %v", next, err)
	}
	if _, err := access(refresh); err == nil || err.Error() != "invalid_refresh_token" {
		t.Errorf("a refresh token used twice: %v", err)
	}
	api = slack.New(next.AccessToken, slack.OptionAPIURL(fs.URL()))
	if _, err := api.AuthTest(); err != nil {
		t.Errorf("the refreshed token: %v", err)
	}
	if _, err := api.SendAuthRevoke(""); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AuthTest(); slackErr(err) != "token_revoked" || !fs.Revoked(next.AccessToken) {
		t.Errorf("a revoked token: %v", err)
	}
	// Cancel on the authorize page.
	fs.DenyInstall()
	resp, _ := noRedirect.Get(fs.OAuthURL() + "?client_id=" + fs.ClientID() + "&scope=chat:write&redirect_uri=https://app.example/cb&state=s2")
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" {
		t.Errorf("a denied install came back to %s", loc)
	}
}
