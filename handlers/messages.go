package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// messageActions answers buttons on the bot's messages: Follow / Unfollow
// on a personal notification, and a living message's buttons (Open is a
// link; its click needs nothing).
func (h inWorkspace) messageActions(cb slack.InteractionCallback) bot.Reply {
	team, user := teamOf(cb), cb.User.ID
	channel, ts := cb.Channel.ID, cb.Message.Timestamp
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	if ts == "" {
		ts = cb.Container.MessageTs
	}
	var todo []*slack.BlockAction
	for _, a := range cb.ActionCallback.BlockActions {
		switch {
		case a.ActionID == views.ActionLivingMute || a.ActionID == views.ActionLivingAck || strings.HasPrefix(a.ActionID, views.ActionLivingPlatform):
			if user == "" || channel == "" || ts == "" {
				return bot.Reply{}
			}
			return h.livingAction(cb, channel, ts, a)
		case a.ActionID == views.ActionFollow, a.ActionID == views.ActionUnfollowNote:
			todo = append(todo, a)
		case a.ActionID == views.ActionOpen, a.ActionID == views.ActionInviteOpen:
		default:
			h.Log.Info("ignored message action", "action_id", a.ActionID)
		}
	}
	if len(todo) == 0 || user == "" {
		return bot.Reply{}
	}
	return bot.Reply{After: func(ctx context.Context) {
		unlock := h.lockUser(team, user)
		defer unlock()
		for _, a := range todo {
			if err := h.follow(ctx, team, user, channel, ts, a); err != nil {
				h.Log.Warn("follow button", "user", user, "action_id", a.ActionID, "err", err)
			}
		}
	}}
}

// follow changes the follow set from a notification's button, then redraws
// that notification with the opposite button.
func (h inWorkspace) follow(ctx context.Context, team, user, channel, ts string, a *slack.BlockAction) error {
	e, found, err := h.Store.Event(a.Value)
	if err != nil {
		return err
	}
	if !found || e.Subject == nil {
		return fmt.Errorf("no event %q with a subject", a.Value)
	}
	following := a.ActionID == views.ActionFollow
	_, err = h.Store.UpdatePrefs(team, user, func(p *paligo.Prefs) error {
		if following {
			p.Follow(*e.Subject)
		} else {
			p.Unfollow(e.Subject.Key())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if channel == "" || ts == "" {
		return nil
	}
	text, blocks := views.Message(views.Notification{Event: e, Personal: true, Following: following})
	return callAgain(ctx, func(ctx context.Context) error {
		_, _, _, err := h.slack().UpdateMessageContext(ctx, channel, ts,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}
