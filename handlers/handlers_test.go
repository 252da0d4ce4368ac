package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/handlers"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
	"github.com/paligo/paligo-slack/workspaces"
)

// newRouter is a Router of one workspace (fs) on a store of its own.
func newRouter(t *testing.T, fs *fakeslack.Server) (*handlers.Router, *store.Store) {
	t.Helper()
	st := storetest.MustOpen(t)
	client := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	return &handlers.Router{Store: st, Slack: client, Log: slog.New(slog.DiscardHandler),
		Team: func() string { return fs.TeamID() }}, st
}

func command(user, channel, text string) slack.SlashCommand {
	return slack.SlashCommand{Command: "/route-alerts", Text: text, UserID: user, ChannelID: channel, TeamID: "T0FAKE", TriggerID: "1.2.3"}
}

func ackText(t *testing.T, r bot.Reply) string {
	t.Helper()
	m, ok := r.Ack.(map[string]any)
	if !ok {
		t.Fatalf("ack %#v is not a message", r.Ack)
	}
	return m["text"].(string)
}

// /route-alerts answers in the ack: help for anyone, a subscription for
// an admin (asked of Slack), a refusal naming why for anyone else, which
// saves nothing.
func TestRouteAlertsCommand(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{
		Users:    []fakeslack.User{{ID: "U0ADA", Name: "ada", Email: "ada@example.com", IsAdmin: true}, {ID: "U0BO", Name: "bo", Email: "bo@example.com"}},
		Channels: []fakeslack.Channel{{ID: "C0OPS", Name: "ops", BotIsMember: true}},
	})
	t.Cleanup(fs.Close)
	h, st := newRouter(t, fs)
	ctx := context.Background()
	if got := ackText(t, h.Command(ctx, command("U0BO", "C0OPS", "help"))); !strings.Contains(got, "subscribe") {
		t.Errorf("help: %s", got)
	}
	if got := ackText(t, h.Command(ctx, command("U0BO", "C0OPS", "subscribe runs"))); !strings.Contains(got, "Only Slack workspace admins") {
		t.Errorf("a non-admin's subscribe: %s", got)
	}
	if subs, _ := st.Subscriptions("", ""); len(subs) != 0 {
		t.Fatalf("a refused subscribe saved %v", subs)
	}
	if got := ackText(t, h.Command(ctx, command("U0ADA", "C0OPS", "subscribe runs project=finance"))); !strings.Contains(got, "Subscribed <#C0OPS> to `runs project=finance`") {
		t.Errorf("an admin's subscribe: %s", got)
	}
	subs, _ := st.Subscriptions("", "C0OPS")
	if len(subs) != 1 || subs[0].String() != "runs project=finance" || subs[0].Channel != "C0OPS" {
		t.Errorf("saved %+v", subs)
	}
	if got := ackText(t, h.Command(ctx, command("U0ADA", "C0OPS", "list"))); !strings.Contains(got, "1. `runs project=finance`") {
		t.Errorf("list: %s", got)
	}
}

// unserved is a registry that serves no workspace.
type unserved struct{}

func (unserved) Get(team string) (*workspaces.Workspace, error) { return nil, workspaces.ErrUnknown }
func (unserved) Forget(string)                                  {}
func (unserved) Expired(context.Context, *workspaces.Workspace) (*workspaces.Workspace, error) {
	return nil, errors.New("not served")
}

// An envelope of a workspace the bot does not serve is answered without
// acting anywhere: a command is told the workspace is not connected, and
// no Slack call is made (not in the primary workspace either).
func TestAnEnvelopeOfAWorkspaceNotServedActsNowhere(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{{ID: "U0ADA", Name: "ada", Email: "ada@example.com", IsAdmin: true}}})
	t.Cleanup(fs.Close)
	h, st := newRouter(t, fs)
	h.Workspaces = unserved{}
	ctx := context.Background()
	mark := fs.Mark()
	r := h.Command(ctx, command("U0ADA", "C0OPS", "subscribe runs"))
	if got := ackText(t, r); !strings.Contains(got, "not connected") {
		t.Errorf("a command of a workspace not served: %s", got)
	}
	if r.After != nil {
		r.After(ctx)
	}
	ev := h.Interaction(ctx, slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, Team: slack.Team{ID: "T0ELSE"}, User: slack.User{ID: "U0ADA"}})
	if ev.Ack != nil || ev.After != nil {
		t.Errorf("an interaction of a workspace not served: %+v", ev)
	}
	if calls := fs.CallsSince(mark); len(calls) != 0 {
		t.Errorf("%d Slack calls for a workspace not served, e.g. %s", len(calls), calls[0].Method)
	}
	if subs, _ := st.Subscriptions("", ""); len(subs) != 0 {
		t.Errorf("saved %v", subs)
	}
}
