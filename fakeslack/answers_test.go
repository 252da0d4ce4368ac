package fakeslack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/fakeslack"
)

// chat.unfurl, reactions.add and chat.getPermalink answer as Slack does,
// refusing what Slack refuses; a token without a method's scope is
// refused with missing_scope.
func TestAnsweringBackMethods(t *testing.T) {
	fs, api := newServer(t, fakeslack.Options{Channels: []fakeslack.Channel{{ID: "C1", Name: "ops"}}})
	ctx := context.Background()
	m, env, ok := fs.PostLinks("C1", "U1", "see <https://docs.example/a> and <https://other.example/b>", []string{"docs.example"})
	ev, _ := env.Payload.(map[string]any)["event"].(map[string]any)
	if !ok || ev["type"] != "link_shared" {
		t.Fatalf("link_shared: %v %+v", ok, env)
	}
	if links, _ := ev["links"].([]any); len(links) != 1 {
		t.Errorf("links %v: want the one on docs.example", links)
	}
	good := map[string]slack.Attachment{"https://docs.example/a": {Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*A*", false, false), nil, nil)}}}}
	if _, _, _, err := api.UnfurlMessageContext(ctx, "C1", m.TS, good); err != nil {
		t.Fatalf("unfurl: %v", err)
	}
	if u := fs.Unfurls("C1", m.TS); len(u) != 1 {
		t.Errorf("unfurls %v", u)
	}
	for name, c := range map[string]struct {
		ts      string
		unfurls map[string]slack.Attachment
		want    string
	}{
		"a URL the message does not hold": {m.TS, map[string]slack.Attachment{"https://docs.example/zzz": good["https://docs.example/a"]}, "cannot_unfurl_url"},
		"no message":                      {"1.000001", good, "cannot_find_message"},
		"bad blocks": {m.TS, map[string]slack.Attachment{"https://docs.example/a": {Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", strings.Repeat("x", 3001), false, false), nil, nil)}}}}, "invalid_blocks"},
	} {
		if _, _, _, err := api.UnfurlMessageContext(ctx, "C1", c.ts, c.unfurls); slackErr(err) != c.want {
			t.Errorf("%s: %v, want %s", name, err, c.want)
		}
	}
	item := slack.ItemRef{Channel: "C1", Timestamp: m.TS}
	if err := api.AddReactionContext(ctx, "incoming_envelope", item); err != nil {
		t.Fatal(err)
	}
	if err := api.AddReactionContext(ctx, "incoming_envelope", item); slackErr(err) != "already_reacted" {
		t.Errorf("twice: %v", err)
	}
	if err := api.AddReactionContext(ctx, ":bad name:", item); slackErr(err) != "invalid_name" {
		t.Errorf("a bad name: %v", err)
	}
	if err := api.AddReactionContext(ctx, "tada", slack.ItemRef{Channel: "C1", Timestamp: "9.000009"}); slackErr(err) != "message_not_found" {
		t.Errorf("no message: %v", err)
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: m.TS})
	if err != nil || !strings.HasPrefix(link, "https://fake.slack.com/archives/C1/p") {
		t.Errorf("permalink %q %v", link, err)
	}

	// A token that lacks links:write.
	fs2, api2 := newServer(t, fakeslack.Options{Channels: []fakeslack.Channel{{ID: "C1", Name: "ops"}}, Scopes: []string{"chat:write"}})
	m2, _, _ := fs2.PostLinks("C1", "U1", "<https://docs.example/a>", []string{"docs.example"})
	if _, _, _, err := api2.UnfurlMessageContext(ctx, "C1", m2.TS, good); slackErr(err) != "missing_scope" {
		t.Errorf("without links:write: %v", err)
	}
}
