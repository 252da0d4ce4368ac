// Package handlers decides what happens when Slack speaks to the bot: an
// event (the Home tab opened), an interaction (a click, a modal submitted), a
// slash command (/route-alerts, /paligo-invite). Each answer is a bot.Reply:
// what goes back in the ack, and the slower work to do after it. The
// platform's HTTP API is package api.
package handlers

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// Slack is the part of the Slack Web API the handlers call.
type Slack interface {
	PublishHome(ctx context.Context, user string, view slack.HomeTabViewRequest) error
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
	GetConversationInfoContext(ctx context.Context, input *slack.GetConversationInfoInput) (*slack.Channel, error)
	// Answering back: a message's link, and link previews.
	GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (string, error)
	UnfurlMessageContext(ctx context.Context, channelID, timestamp string, unfurls map[string]slack.Attachment, options ...slack.MsgOption) (string, string, string, error)
	// GrantedScopes are the bot token's scopes, if Slack said them.
	GrantedScopes(ctx context.Context) ([]string, bool)
}

// Delivery is the delivery loop, as far as handlers need it.
type Delivery interface {
	// Enqueue hands jobs put back in the outbox (retried) to delivery.
	Enqueue(jobs []store.Job)
	// Forget drops what delivery holds of a workspace disconnected.
	Forget(team string)
}

// Digests is the digest loop, as far as handlers need it.
type Digests interface {
	// SendNow queues a digest of everything the user has waiting and says
	// how many notifications it holds (0: nothing waits).
	SendNow(team, user, reason string) (int, error)
	// Location is the Slack time zone of user of workspace team.
	Location(ctx context.Context, team, user string) (*time.Location, error)
}

// Router answers every envelope the bot receives.
type Router struct {
	Store Records
	Slack Slack
	Log   *slog.Logger
	// Admins are the extra admins (PALIGO_SLACK_ADMINS): user ids or emails.
	Admins []string
	// Delivery receives retried jobs; nil in tests that do not deliver.
	Delivery Delivery
	// Digests sends digests on demand; nil in tests that do not deliver.
	Digests Digests
	// InviteURL is the invitation page (PALIGO_SLACK_INVITE_URL); empty
	// turns invitations off.
	InviteURL string
	// Callbacks: clicks on Acknowledge and the platform's actions are sent
	// to the platform (PALIGO_SLACK_ACTIONS_URL is set).
	Callbacks bool
	// Team is the workspace's id ("" while unknown): a click from another
	// organization's person (a shared channel) is refused. With
	// Workspaces, the envelope's workspace says it.
	Team func() string
	// Workspaces finds each envelope's workspace (workspaces.go); nil
	// serves Slack's one workspace.
	Workspaces Workspaces
	// UnfurlDomains are the hosts whose links unfurl
	// (PALIGO_SLACK_UNFURL_DOMAINS); none unfurls nothing.
	UnfurlDomains []string

	admins  adminCache
	unfurls unfurled

	// userLocks serialise the read-save-publish of one user's Home tab, so
	// two quick clicks cannot publish the older state last.
	userLocks [64]sync.Mutex
}

// Commands are the slash commands the Router answers (the manifest must
// declare exactly these).
var Commands = []string{"/route-alerts", "/paligo-invite"}

// Events are the Events API events the Router answers.
var Events = []string{string(slackevents.AppHomeOpened), string(slackevents.TeamJoin), string(slackevents.UserChange),
	string(slackevents.AppUninstalled), string(slackevents.TokensRevoked),
	// Replies in threads (of public and private channels), and links to
	// the platform's subjects.
	"message.channels", "message.groups", string(slackevents.LinkShared)}

func (h *Router) lockUser(team, user string) func() {
	f := fnv.New32a()
	f.Write([]byte(team + "/" + user))
	m := &h.userLocks[f.Sum32()%uint32(len(h.userLocks))]
	m.Lock()
	return m.Unlock
}

// Event answers an Events API event, in its workspace.
func (h *Router) Event(ctx context.Context, ev slackevents.EventsAPIEvent) bot.Reply {
	switch ev.InnerEvent.Data.(type) {
	case *slackevents.AppUninstalledEvent, *slackevents.TokensRevokedEvent:
		// Of a workspace that may be served no more: acted on by its team.
		return inWorkspace{Router: h}.event(ctx, ev)
	}
	w, ok := h.enter(ev.TeamID)
	if !ok {
		h.Log.Info("an event of a workspace not served", "team", ev.TeamID, "event_type", ev.InnerEvent.Type)
		return bot.Reply{}
	}
	return w.event(ctx, ev)
}

func (h inWorkspace) event(ctx context.Context, ev slackevents.EventsAPIEvent) bot.Reply {
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab != "home" || e.User == "" {
			return bot.Reply{} // the Messages tab; nothing to draw
		}
		team := ev.TeamID
		return bot.Reply{After: func(ctx context.Context) {
			unlock := h.lockUser(team, e.User)
			defer unlock()
			h.publishHome(ctx, team, e.User, "")
		}}
	case *slackevents.TeamJoinEvent, *slackevents.UserChangeEvent:
		// slack-go's user_change drops the profile's email: read the user
		// from the event as Slack sent it.
		cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
		if !ok || cb.InnerEvent == nil {
			return bot.Reply{}
		}
		var inner struct {
			User slack.User `json:"user"`
		}
		if err := json.Unmarshal(*cb.InnerEvent, &inner); err != nil {
			h.Log.Warn("unreadable user event", "event_type", ev.InnerEvent.Type, "err", err)
			return bot.Reply{}
		}
		return h.learnPerson(inner.User)
	case *slackevents.MessageEvent:
		return answering{h}.threadReply(e)
	case *slackevents.LinkSharedEvent:
		return answering{h}.unfurl(e)
	case *slackevents.AppUninstalledEvent:
		return h.disconnected(ev.TeamID, "app_uninstalled")
	case *slackevents.TokensRevokedEvent:
		if len(e.Tokens.Bot) == 0 {
			return bot.Reply{} // a user token; the bot's still works
		}
		return h.disconnected(ev.TeamID, "tokens_revoked")
	default:
		h.Log.Info("ignored event", "event_type", ev.InnerEvent.Type)
		return bot.Reply{}
	}
}

// disconnected marks a connected workspace's installation disconnected
// (the app uninstalled, its bot token revoked) and, with callbacks, tells
// the platform: {"type": "disconnected", "team", "org"}.
func (h *Router) disconnected(team, reason string) bot.Reply {
	return bot.Reply{After: func(context.Context) {
		if h.Workspaces != nil {
			defer h.Workspaces.Forget(team)
		}
		if h.Delivery != nil {
			defer h.Delivery.Forget(team)
		}
		in, found, err := h.Store.Disconnect(team, reason)
		if err != nil {
			h.Log.Error("disconnect", "team", team, "reason", reason, "err", err)
			return
		}
		if !found {
			return // not a connected workspace (or told already)
		}
		h.Log.Info("workspace disconnected", "team", team, "reason", reason)
		if !h.Callbacks {
			return
		}
		job, err := h.Store.QueueCallback(&paligo.ActionCallback{ID: newCallbackID(), Type: "disconnected",
			Team: team, Org: in.Org, At: h.Store.Time().UTC().Format(time.RFC3339)})
		if err != nil {
			h.Log.Error("queue the disconnected callback", "team", team, "err", err)
			return
		}
		h.enqueue([]store.Job{job})
	}}
}

// Interaction answers a block action, a view submission or a view
// closing, in its workspace.
func (h *Router) Interaction(ctx context.Context, cb slack.InteractionCallback) bot.Reply {
	w, ok := h.enter(teamOf(cb))
	if !ok {
		h.Log.Info("an interaction of a workspace not served", "team", teamOf(cb))
		return bot.Reply{}
	}
	return w.interaction(ctx, cb)
}

func (h inWorkspace) interaction(ctx context.Context, cb slack.InteractionCallback) bot.Reply {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if cb.View.Type == slack.VTHomeTab {
			return h.homeActions(cb)
		}
		if cb.Container.Type == "message" || cb.Message.Timestamp != "" {
			return h.messageActions(cb)
		}
	case slack.InteractionTypeViewSubmission:
		switch cb.View.CallbackID {
		case views.CallbackRoutes:
			return h.submitRoutes(ctx, cb)
		case views.CallbackInvite:
			return h.submitInvite(ctx, cb)
		case views.CallbackSendToPaligo:
			return answering{h}.submitSendToPaligo(cb)
		}
	case slack.InteractionTypeMessageAction:
		if cb.CallbackID == views.CallbackSendToPaligo {
			return answering{h}.sendToPaligo(cb)
		}
	case slack.InteractionTypeBlockSuggestion:
		if cb.View.CallbackID == views.CallbackSendToPaligo {
			return answering{h}.suggestSubjects(cb)
		}
	case slack.InteractionTypeViewClosed:
		return bot.Reply{}
	}
	h.Log.Info("ignored interaction", "interaction_type", cb.Type, "view_type", cb.View.Type, "callback_id", cb.View.CallbackID)
	return bot.Reply{}
}

// learnPerson keeps the workspace directory fresh between its reads
// (delivery reads users.list whole once a day): someone who joined, changed
// their email, or was deactivated or made a bot, who is then no one to
// notify.
func (h inWorkspace) learnPerson(u slack.User) bot.Reply {
	email := u.Profile.Email
	if email == "" || u.ID == "" {
		return bot.Reply{}
	}
	user := ""
	if bot.Notifiable(u) {
		user = u.ID
	}
	return bot.Reply{After: func(ctx context.Context) {
		if err := h.Store.CacheUser(h.scope(), email, user); err != nil {
			h.Log.Error("keep the workspace directory", "user", u.ID, "err", err)
		}
		if err := h.Store.CacheRoles(h.scope(), map[string]paligo.Role{u.ID: bot.RoleOf(u)}); err != nil {
			h.Log.Error("keep the workspace directory", "user", u.ID, "err", err)
		}
		h.admins.forget(h.scope(), u.ID) // the next drawing reads the new role
	}}
}

func teamOf(cb slack.InteractionCallback) string {
	if cb.Team.ID != "" {
		return cb.Team.ID
	}
	return cb.User.TeamID
}

// callAgain runs a Slack call made while someone waits for its result (a
// Home tab, an answer in the channel): a few tries, after Slack's
// Retry-After when it is rate limiting.
func callAgain(ctx context.Context, call func(context.Context) error) error {
	return bot.CallAgain(ctx, bot.Backoff{Min: 400 * time.Millisecond, Max: 4 * time.Second}, 4, call)
}
