package bot_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
)

// PublishHome publishes what slack-go's PublishViewContext would, and fails
// the way it would: a 429 with its Retry-After, another status, an ok:false
// with Slack's error and messages.
func TestPublishHomeAnswersAsSlackGoWould(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{{ID: "U1"}}})
	defer fs.Close()
	c := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	ctx := context.Background()
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Hello*", false, false), nil, nil)}}}
	if err := c.PublishHome(ctx, "U1", view); err != nil {
		t.Fatal(err)
	}
	if v, ok := fs.HomeView("U1"); !ok || len(v.Body["blocks"].([]any)) != 1 {
		t.Fatalf("home view = %+v %v", v, ok)
	}
	fs.Inject("views.publish", fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second, Times: 1})
	var rl *slack.RateLimitedError
	if err := c.PublishHome(ctx, "U1", view); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Errorf("429: %v, want RateLimitedError of 2s", err)
	}
	fs.Inject("views.publish", fakeslack.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	var sc slack.StatusCodeError
	if err := c.PublishHome(ctx, "U1", view); !errors.As(err, &sc) || sc.Code != 503 {
		t.Errorf("503: %v, want StatusCodeError 503", err)
	} else if v, _ := bot.Classify(err); v != bot.Retry {
		t.Errorf("503 classified %v, want Retry", v)
	}
	fs.Inject("views.publish", fakeslack.Fault{Error: "invalid_blocks", Times: 1})
	err := c.PublishHome(ctx, "U1", view)
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err == "" {
		t.Errorf("a view Slack refuses: %v, want its ok:false error", err)
	} else if v, _ := bot.Classify(err); v != bot.Refused {
		t.Errorf("refused view classified %v", v)
	}
	if err := c.PublishHome(ctx, "", view); err == nil {
		t.Error("no user: no error")
	}
}
