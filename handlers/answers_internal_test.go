package handlers

import (
	"context"
	"log/slog"
	"testing"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/store/storetest"
)

// Slack's tokens in a message become what a reader of plain text expects.
func TestPlainText(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{{ID: "U0ADA", Name: "ada", RealName: "Ada Admin", Email: "ada@example.com"}}})
	t.Cleanup(fs.Close)
	r := &Router{Store: storetest.MustOpen(t), Slack: bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL()), Log: slog.New(slog.DiscardHandler)}
	h := answering{inWorkspace{Router: r}}
	for in, want := range map[string]string{
		"plain":                                  "plain",
		"<@U0ADA> and <@U0NOBODY>":               "@Ada Admin and @U0NOBODY",
		"<@U0ADA|ada>":                           "@ada",
		"in <#C0OPS|ops> and <#C0X>":             "in #ops and #C0X",
		"<!here> <!channel> <!subteam^S1|@sre>":  "@here @channel @sre",
		"<https://x.example/a?b=1&amp;c=2>":      "https://x.example/a?b=1&c=2",
		"<https://x.example|the docs>":           "the docs (https://x.example)",
		"<https://x.example|https://x.example>":  "https://x.example",
		"<mailto:bo@example.com|bo@example.com>": "bo@example.com",
		"a &lt;b&gt; &amp;&amp; c":               "a <b> && c",
		"<!date^1392734382^{date_short}|Feb 18>": "Feb 18",
	} {
		if got := h.plainText(context.Background(), in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
