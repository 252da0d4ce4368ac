package bot_test

import (
	"context"
	"slices"
	"testing"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
)

// A token's scopes are learnt from what Slack answers any call
// (X-OAuth-Scopes), at no call of their own, token by token.
func TestGrantedScopesComeWithTheAnswers(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Scopes: []string{"chat:write", "users:read"}})
	t.Cleanup(fs.Close)
	c := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	ctx := context.Background()
	if _, ok := c.GrantedScopes(ctx); ok {
		t.Fatal("scopes known before any answer")
	}
	if _, err := c.AuthTestContext(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := c.GrantedScopes(ctx); !ok || !slices.Equal(s, []string{"chat:write", "users:read"}) {
		t.Errorf("scopes %v %v", s, ok)
	}
	if _, ok := c.WithToken("xoxb-another").GrantedScopes(ctx); ok {
		t.Error("another token has the first one's scopes")
	}
	if n := len(fs.Calls("auth.test")); n != 1 {
		t.Errorf("%d calls of auth.test", n)
	}
}
