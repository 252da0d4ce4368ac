// Package handlers decides what happens when Slack or the platform speaks to
// the bot: an event (the Home tab opened), an interaction (a click, a modal
// submitted), a slash command. Each answer is a Reply: what goes back in the
// Socket Mode ack, and the slower work to do after it.
package handlers

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// Reply is a handler's answer to one envelope.
type Reply struct {
	// Ack is the payload of the Socket Mode ack (a modal's response_action,
	// a slash command's ephemeral answer); nil acks with no payload.
	Ack any
	// After, if set, runs once the ack has been sent: Slack calls and other
	// work that must not delay the ack past Slack's 3 seconds.
	After func(ctx context.Context)
}

// Slack is the part of the Slack Web API the handlers call.
type Slack interface {
	PublishViewContext(ctx context.Context, req slack.PublishViewContextRequest) (*slack.ViewResponse, error)
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
	GetConversationInfoContext(ctx context.Context, input *slack.GetConversationInfoInput) (*slack.Channel, error)
}

// Delivery is the delivery loop, as far as handlers need it.
type Delivery interface {
	// Enqueue hands jobs put back in the outbox (retried) to delivery.
	Enqueue(jobs []store.Job)
}

// Digests is the digest loop, as far as handlers need it.
type Digests interface {
	// SendNow queues a digest of everything the user has waiting and says
	// how many notifications it holds (0: nothing waits).
	SendNow(team, user, reason string) (int, error)
	// Location is the user's Slack time zone.
	Location(ctx context.Context, user string) (*time.Location, error)
}

// Router answers every envelope the bot receives.
type Router struct {
	Store *store.Store
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

	admins adminCache

	// userLocks serialise the read-save-publish of one user's Home tab, so
	// two quick clicks cannot publish the older state last.
	userLocks [64]sync.Mutex
}

// Commands are the slash commands the Router answers (the manifest must
// declare exactly these).
var Commands = []string{"/route-alerts", "/paligo-invite"}

// Events are the Events API events the Router answers.
var Events = []string{string(slackevents.AppHomeOpened)}

func (h *Router) lockUser(team, user string) func() {
	f := fnv.New32a()
	f.Write([]byte(team + "/" + user))
	m := &h.userLocks[f.Sum32()%uint32(len(h.userLocks))]
	m.Lock()
	return m.Unlock
}

// Event answers an Events API event.
func (h *Router) Event(ctx context.Context, ev slackevents.EventsAPIEvent) Reply {
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab != "home" || e.User == "" {
			return Reply{} // the Messages tab; nothing to draw
		}
		team := ev.TeamID
		return Reply{After: func(ctx context.Context) {
			unlock := h.lockUser(team, e.User)
			defer unlock()
			h.publishHome(ctx, team, e.User, "")
		}}
	default:
		h.Log.Info("ignored event", "event_type", ev.InnerEvent.Type)
		return Reply{}
	}
}

// Interaction answers a block action, a view submission or a view closing.
func (h *Router) Interaction(ctx context.Context, cb slack.InteractionCallback) Reply {
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
		}
	case slack.InteractionTypeViewClosed:
		return Reply{}
	}
	h.Log.Info("ignored interaction", "interaction_type", cb.Type, "view_type", cb.View.Type, "callback_id", cb.View.CallbackID)
	return Reply{}
}

func teamOf(cb slack.InteractionCallback) string {
	if cb.Team.ID != "" {
		return cb.Team.ID
	}
	return cb.User.TeamID
}

// retrySlack runs call, retrying a few times when Slack is rate limiting
// (after its Retry-After) or briefly unreachable; ok:false errors are final.
func retrySlack(ctx context.Context, call func(context.Context) error) error {
	backoff := 200 * time.Millisecond
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if err = call(ctx); err == nil {
			return nil
		}
		wait := backoff
		var rl *slack.RateLimitedError
		var sc slack.StatusCodeError
		var ne net.Error
		switch {
		case errors.As(err, &rl):
			wait = rl.RetryAfter
		case errors.As(err, &sc) && sc.Code >= 500:
		case errors.As(err, &ne):
		default:
			return err
		}
		backoff *= 2
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	return err
}
