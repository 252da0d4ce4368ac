package handlers

import (
	"context"
	"errors"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/workspaces"
)

// Every envelope is answered in its own workspace: the team it names is
// looked up once (Router.Workspaces), and its workspace rides the context
// of the handler and of the Reply's After work, so that every Slack call
// uses that workspace's token and every record read or written is that
// workspace's (a scope, store.Scope). Without Workspaces (tests of one
// workspace), the Router's Slack and Team serve.

// Workspaces is where the Router finds an envelope's workspace
// (*workspaces.Registry).
type Workspaces interface {
	Get(team string) (*workspaces.Workspace, error)
	Forget(team string)
}

type workspaceKey struct{}

// enter is ctx for an envelope of team; ok is false for a workspace this
// bot does not serve (the envelope is acked and dropped).
func (h *Router) enter(ctx context.Context, team string) (context.Context, bool) {
	if h.Workspaces == nil {
		return ctx, true
	}
	w, err := h.Workspaces.Get(team)
	if err != nil {
		if !errors.Is(err, workspaces.ErrUnknown) && !errors.Is(err, workspaces.ErrDisconnected) {
			h.Log.Error("read the workspace of an envelope", "team", team, "err", err)
		}
		return ctx, false
	}
	return context.WithValue(ctx, workspaceKey{}, w), true
}

// within carries ctx's workspace into r's After work.
func within(ctx context.Context, r bot.Reply) bot.Reply {
	w, ok := ctx.Value(workspaceKey{}).(*workspaces.Workspace)
	if !ok || r.After == nil {
		return r
	}
	after := r.After
	r.After = func(actx context.Context) { after(context.WithValue(actx, workspaceKey{}, w)) }
	return r
}

// workspace is ctx's workspace; nil with no Workspaces.
func workspace(ctx context.Context) *workspaces.Workspace {
	w, _ := ctx.Value(workspaceKey{}).(*workspaces.Workspace)
	return w
}

// slack is the Web API client of ctx's workspace.
func (h *Router) slack(ctx context.Context) Slack {
	if w := workspace(ctx); w != nil {
		return w.Slack
	}
	return h.Slack
}

// scope is the store scope of ctx's workspace: "" for the primary.
func scope(ctx context.Context) string {
	if w := workspace(ctx); w != nil && !w.Primary {
		return w.Team
	}
	return ""
}

// primary reports whether ctx's workspace is the primary one (whose extra
// admins are PALIGO_SLACK_ADMINS).
func primary(ctx context.Context) bool {
	w := workspace(ctx)
	return w == nil || w.Primary
}

// teamID is the team id of ctx's workspace, else the Router's Team.
func (h *Router) teamID(ctx context.Context) string {
	if w := workspace(ctx); w != nil {
		return w.Team
	}
	if h.Team != nil {
		return h.Team()
	}
	return ""
}
