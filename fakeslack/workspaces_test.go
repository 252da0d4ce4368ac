package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/fakeslack"
)

// Several workspaces on one fake: each token is answered by its own
// workspace, people with the same user id are different people, each has
// its own messages, calls and limits, OAuth installs into the workspace
// asked for, and an envelope of one workspace acts on that workspace.
func TestSeveralWorkspaces(t *testing.T) {
	fs, first := newServer(t, fakeslack.Options{Users: []fakeslack.User{{ID: "U1", Email: "one@first.example", IsAdmin: true}}})
	second := fs.AddWorkspace(fakeslack.WorkspaceOptions{TeamID: "T0SECOND", TeamName: "Second",
		Users:       []fakeslack.User{{ID: "U1", Email: "one@second.example", IsAdmin: true}},
		Channels:    []fakeslack.Channel{{ID: "C2ND", Name: "general", BotIsMember: true}},
		ChannelRate: 1, ChannelBurst: 1})
	if second.URL() != fs.URL() || second.BotToken() == fs.BotToken() || second.TeamID() != "T0SECOND" {
		t.Fatalf("second: url %s token %s team %s", second.URL(), second.BotToken(), second.TeamID())
	}
	if w, ok := fs.Workspace("T0SECOND"); !ok || w != second {
		t.Fatal("Workspace does not find the second")
	}
	api2 := slack.New(second.BotToken(), slack.OptionAPIURL(second.URL()))
	for _, c := range []struct {
		api        *slack.Client
		team, mail string
	}{{first, "T0FAKE", "one@first.example"}, {api2, "T0SECOND", "one@second.example"}} {
		auth, err := c.api.AuthTest()
		if err != nil || auth.TeamID != c.team {
			t.Errorf("auth.test: %+v %v", auth, err)
		}
		u, err := c.api.GetUserInfo("U1")
		if err != nil || u.Profile.Email != c.mail || u.TeamID != c.team {
			t.Errorf("users.info U1 in %s: %+v %v", c.team, u, err)
		}
	}
	if _, _, err := api2.PostMessage("C2ND", slack.MsgOptionText("hello", false)); err != nil {
		t.Fatal(err)
	}
	var rl *slack.RateLimitedError
	if _, _, err := api2.PostMessage("C2ND", slack.MsgOptionText("too fast", false)); !errors.As(err, &rl) {
		t.Errorf("the second workspace's own channel rate: %v", err)
	}
	if _, _, err := first.PostMessage("C2ND", slack.MsgOptionText("x", false)); slackErr(err) != "channel_not_found" {
		t.Errorf("the first workspace posting to the second's channel: %v", err)
	}
	if n := len(second.Messages("C2ND")); n != 1 {
		t.Errorf("second has %d messages, want 1", n)
	}
	if n := len(fs.Messages("C2ND")); n != 0 {
		t.Errorf("first has %d messages in the second's channel", n)
	}
	if n := len(second.Calls("chat.postMessage")); n != 2 {
		t.Errorf("second's call log has %d posts, want 2", n)
	}
	if n := len(fs.Calls("chat.postMessage")); n != 1 {
		t.Errorf("first's call log has %d posts, want 1", n)
	}

	// OAuth into the second, by the authorize URL's team.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(fs.OAuthURL() + "?client_id=" + fs.ClientID() + "&scope=chat:write&team=T0SECOND&redirect_uri=https://app.example/cb&state=s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"code": {loc.Query().Get("code")}, "client_id": {fs.ClientID()}, "client_secret": {fs.ClientSecret()}, "redirect_uri": {"https://app.example/cb"}}
	r, err := http.PostForm(fs.URL()+"oauth.v2.access", form)
	if err != nil {
		t.Fatal(err)
	}
	var out slack.OAuthV2Response
	json.NewDecoder(r.Body).Decode(&out)
	r.Body.Close()
	if !out.Ok || out.Team.ID != "T0SECOND" {
		t.Fatalf("oauth.v2.access: %+v", out)
	}
	issued := slack.New(out.AccessToken, slack.OptionAPIURL(fs.URL()))
	if auth, err := issued.AuthTest(); err != nil || auth.TeamID != "T0SECOND" {
		t.Errorf("the issued token answers as %+v %v", auth, err)
	}

	// A slash command of the second, over HTTP: its answer lands there.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"text":"done"}`)
	}))
	defer app.Close()
	second.SetRequestURL(app.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := second.SlashCommand("U1", "C2ND", "/route-alerts", "")
	if p, _ := env.Payload.(map[string]any); p["team_id"] != "T0SECOND" {
		t.Errorf("the command names team %v", p["team_id"])
	}
	if _, err := second.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, func() bool { return len(second.Messages("C2ND")) == 2 }); err != nil {
		t.Errorf("the command's answer is not in the second workspace: %v", second.Messages("C2ND"))
	}
	if n := len(fs.Messages("C2ND")); n != 0 {
		t.Errorf("the first workspace got the second's answer")
	}
}

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
