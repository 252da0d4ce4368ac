package handlers

import (
	"context"
	"errors"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/workspaces"
)

// Every envelope is answered in its own workspace: the team it names is
// looked up once (Router.Workspaces), and the handler runs on an
// inWorkspace that holds it, passed by hand into the Reply's After work
// too, so that every Slack call uses that workspace's token and every
// record read or written is that workspace's (a scope, store.Scope).
// Without Workspaces (tests of one workspace), the Router's Slack and Team
// serve.

// Workspaces is where the Router finds an envelope's workspace
// (*workspaces.Registry).
type Workspaces interface {
	Get(team string) (*workspaces.Workspace, error)
	Forget(team string)
	Expired(ctx context.Context, w *workspaces.Workspace) (*workspaces.Workspace, error)
}

// inWorkspace is the Router at work for one envelope's workspace: every
// Slack call, record and admin check of a handler is that workspace's,
// passed by hand (never read from a context, never another's).
type inWorkspace struct {
	*Router
	ws *workspaces.Workspace // nil without Workspaces (one workspace)
}

// enter is the Router at work in team; ok is false for a workspace this
// bot does not serve (the envelope is acked and dropped).
func (h *Router) enter(team string) (inWorkspace, bool) {
	if h.Workspaces == nil {
		return inWorkspace{Router: h}, true
	}
	w, err := h.Workspaces.Get(team)
	if err != nil {
		if !errors.Is(err, workspaces.ErrUnknown) && !errors.Is(err, workspaces.ErrDisconnected) {
			h.Log.Error("read the workspace of an envelope", "team", team, "err", err)
		}
		return inWorkspace{}, false
	}
	return inWorkspace{Router: h, ws: w}, true
}

// slack is the Web API client of the workspace: for a connected one, a
// call Slack answers token_expired refreshes the token and is made again.
func (h inWorkspace) slack() Slack {
	w := h.ws
	switch {
	case w == nil && h.Workspaces != nil:
		// A call that lost its workspace fails: it never acts in another.
		return nowhere{}
	case w == nil:
		return h.Slack
	case w.Primary:
		return w.Slack
	}
	return &renewing{reg: h.Workspaces, w: w}
}

// renewing is a connected workspace's client that refreshes an expired
// token once and makes the call again.
type renewing struct {
	reg Workspaces
	w   *workspaces.Workspace
}

func (r *renewing) do(ctx context.Context, call func(Slack) error) error {
	err := call(r.w.Slack)
	if !bot.TokenExpired(err) {
		return err
	}
	w, rerr := r.reg.Expired(ctx, r.w)
	if rerr != nil {
		return err
	}
	r.w = w
	return call(w.Slack)
}

func (r *renewing) PublishHome(ctx context.Context, user string, view slack.HomeTabViewRequest) error {
	return r.do(ctx, func(s Slack) error { return s.PublishHome(ctx, user, view) })
}

func (r *renewing) OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (out *slack.ViewResponse, err error) {
	err = r.do(ctx, func(s Slack) (err error) { out, err = s.OpenViewContext(ctx, triggerID, view); return err })
	return out, err
}

func (r *renewing) PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (ts string, err error) {
	err = r.do(ctx, func(s Slack) (err error) {
		ts, err = s.PostEphemeralContext(ctx, channelID, userID, options...)
		return err
	})
	return ts, err
}

func (r *renewing) UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (ch, ts, text string, err error) {
	err = r.do(ctx, func(s Slack) (err error) {
		ch, ts, text, err = s.UpdateMessageContext(ctx, channelID, timestamp, options...)
		return err
	})
	return ch, ts, text, err
}

func (r *renewing) GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (u *slack.User, err error) {
	err = r.do(ctx, func(s Slack) (err error) { u, err = s.GetUserInfoContext(ctx, user, options...); return err })
	return u, err
}

func (r *renewing) GetConversationInfoContext(ctx context.Context, input *slack.GetConversationInfoInput) (c *slack.Channel, err error) {
	err = r.do(ctx, func(s Slack) (err error) { c, err = s.GetConversationInfoContext(ctx, input); return err })
	return c, err
}

func (r *renewing) GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (link string, err error) {
	err = r.do(ctx, func(s Slack) (err error) { link, err = s.GetPermalinkContext(ctx, params); return err })
	return link, err
}

func (r *renewing) UnfurlMessageContext(ctx context.Context, channelID, timestamp string, unfurls map[string]slack.Attachment, options ...slack.MsgOption) (a, b, c string, err error) {
	err = r.do(ctx, func(s Slack) (err error) {
		a, b, c, err = s.UnfurlMessageContext(ctx, channelID, timestamp, unfurls, options...)
		return err
	})
	return a, b, c, err
}

func (r *renewing) GrantedScopes(ctx context.Context) ([]string, bool) {
	return r.w.Slack.GrantedScopes(ctx)
}

// scope is the store scope of the workspace: "" for the primary.
func (h inWorkspace) scope() string {
	if w := h.ws; w != nil && !w.Primary {
		return w.Team
	}
	return ""
}

// primary reports whether the workspace is the primary one (whose extra
// admins are PALIGO_SLACK_ADMINS).
func (h inWorkspace) primary() bool {
	w := h.ws
	return w == nil || w.Primary
}

// teamID is the team id of the workspace, else the Router's Team.
func (h inWorkspace) teamID() string {
	if w := h.ws; w != nil {
		return w.Team
	}
	if h.Team != nil {
		return h.Team()
	}
	return ""
}

// errNoWorkspace fails a Slack call made with no workspace in its context
// where there are several: a bug, said rather than acted on in the wrong
// workspace.
var errNoWorkspace = errors.New("no workspace named for this Slack call")

// nowhere is the Slack of a context that names no workspace.
type nowhere struct{}

func (nowhere) PublishHome(context.Context, string, slack.HomeTabViewRequest) error {
	return errNoWorkspace
}

func (nowhere) OpenViewContext(context.Context, string, slack.ModalViewRequest) (*slack.ViewResponse, error) {
	return nil, errNoWorkspace
}

func (nowhere) PostEphemeralContext(context.Context, string, string, ...slack.MsgOption) (string, error) {
	return "", errNoWorkspace
}

func (nowhere) UpdateMessageContext(context.Context, string, string, ...slack.MsgOption) (string, string, string, error) {
	return "", "", "", errNoWorkspace
}

func (nowhere) GetUserInfoContext(context.Context, string, ...slack.GetUserInfoOption) (*slack.User, error) {
	return nil, errNoWorkspace
}

func (nowhere) GetConversationInfoContext(context.Context, *slack.GetConversationInfoInput) (*slack.Channel, error) {
	return nil, errNoWorkspace
}

func (nowhere) GrantedScopes(context.Context) ([]string, bool) { return nil, false }

func (nowhere) GetPermalinkContext(context.Context, *slack.PermalinkParameters) (string, error) {
	return "", errNoWorkspace
}

func (nowhere) UnfurlMessageContext(context.Context, string, string, map[string]slack.Attachment, ...slack.MsgOption) (string, string, string, error) {
	return "", "", "", errNoWorkspace
}
