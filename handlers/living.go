package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// memberMuteLimit is how long anyone in the channel may mute a subject
// from a message; longer, and forever, need an admin.
const memberMuteLimit = 24 * time.Hour

// livingAction answers a click on a living message's buttons: Mute,
// Acknowledge, or one of the platform's actions. The click is acked at
// once (bot.Reply); the work comes after, its result drawn on the message
// by delivery, and what cannot be done told to the person alone.
func (h inWorkspace) livingAction(cb slack.InteractionCallback, channel, ts string, a *slack.BlockAction) bot.Reply {
	user := cb.User.ID
	return bot.Reply{After: func(ctx context.Context) {
		team := teamOf(cb)
		if t := h.teamID(); t != "" {
			team = t
		}
		var why string
		var err error
		// On Enterprise Grid a person's home workspace may be another of
		// the same organization: only outside one is a stranger known.
		if cb.User.TeamID != "" && cb.User.TeamID != team && cb.Enterprise.ID == "" {
			why = "only people of this workspace can act on its alerts."
		} else {
			why, err = h.livingClick(ctx, team, user, channel, ts, a)
		}
		if err != nil {
			h.Log.Error("living message button", "action_id", a.ActionID, "channel", channel, "err", err)
			why = "that did not work just now; please try again in a moment."
		}
		if why != "" {
			h.tell(ctx, channel, user, why)
		}
	}}
}

// livingClick does what the button says for user of team (the
// workspace); why is what to tell the person when it cannot be done.
func (h inWorkspace) livingClick(ctx context.Context, team, user, channel, ts string, a *slack.BlockAction) (why string, err error) {
	l, found, err := h.Store.LivingAt(channel, ts)
	if err != nil || !found {
		return "I no longer know this message, so its buttons do nothing; the next alert about it comes with new ones.", err
	}
	e, err := h.Store.EventBySeq(l.Event)
	if err != nil {
		return "", err
	}
	now := h.Store.Time().UTC()
	switch {
	case a.ActionID == views.ActionLivingMute:
		return h.muteFromMessage(ctx, user, l, e, a.SelectedOption.Value, now)
	case a.ActionID == views.ActionLivingAck:
		if !paligo.Kinds[e.Type].Critical {
			return "only failures and alerts are acknowledged.", nil
		}
		c := store.Click{Living: l.ID, Result: paligo.ActionResult{Action: "acknowledge", Label: "Acknowledge", By: user, At: now, Outcome: "done"}}
		c.Note = views.NoteText(c.Result)
		if h.Callbacks {
			c.Callback = h.callback(ctx, team, user, "acknowledge", e, now)
		}
		c.Result.Action = "" // the state line shows it; the log, only a failure to tell the platform
		acked, jobs, err := h.Store.Acknowledge(c)
		if errors.Is(err, store.ErrAcknowledged) {
			return fmt.Sprintf("<@%s> acknowledged this already.", acked.AckedBy), nil
		}
		if err != nil {
			return "", err
		}
		h.enqueue(jobs)
		return "", nil
	case strings.HasPrefix(a.ActionID, views.ActionLivingPlatform):
		id := strings.TrimPrefix(a.ActionID, views.ActionLivingPlatform)
		var action *paligo.Action
		for i := range e.Actions {
			if e.Actions[i].ID == id {
				action = &e.Actions[i]
			}
		}
		switch {
		case !h.Callbacks:
			return "this bot is not connected to the platform's actions (PALIGO_SLACK_ACTIONS_URL), so nothing was requested.", nil
		case action == nil:
			return "this message has moved on: its latest alert has no such action, so nothing was requested.", nil
		}
		cbk := h.callback(ctx, team, user, id, e, now)
		_, jobs, err := h.Store.LogAction(store.Click{Living: l.ID, Callback: cbk,
			Result: paligo.ActionResult{Action: id, Label: action.Label, By: user, At: now, Outcome: "pending", Callback: cbk.ID}})
		if err != nil {
			return "", err
		}
		h.enqueue(jobs)
		return "", nil
	}
	return "", fmt.Errorf("unknown living message action %q", a.ActionID)
}

// muteFromMessage mutes the message's subject in its channel: the same
// mute as /route-alerts mute. Anyone may mute for up to a day; longer and
// forever need an admin, and no one shortens a mute already longer.
func (h inWorkspace) muteFromMessage(ctx context.Context, user string, l paligo.Living, e paligo.Event, choice string, now time.Time) (string, error) {
	if e.Subject == nil {
		return "this alert is about nothing that can be muted.", nil
	}
	d, forever, ok := muteLength(choice)
	if !ok {
		return "", fmt.Errorf("mute choice %q", choice)
	}
	if forever || d > memberMuteLimit {
		admin, err := h.isAdminNow(ctx, user)
		if err != nil {
			return "", err
		}
		if !admin {
			return "only a workspace admin can mute for longer than a day; anyone here can mute for 1 hour or 1 day.", nil
		}
	}
	m := paligo.Mute{Channel: l.Channel, Subject: e.Subject.Key(), By: user}
	label := "Muted here forever"
	if !forever {
		m.Until = now.Add(d)
		label = "Muted here for " + muteWords(choice)
	}
	mutes, err := h.Store.Mutes(l.Channel)
	if err != nil {
		return "", err
	}
	if old := paligo.MutedBy(&e, l.Channel, mutes, now); old != nil && (old.Until.IsZero() || (!m.Until.IsZero() && old.Until.After(m.Until))) {
		until := "for good"
		if !old.Until.IsZero() {
			until = "until " + old.Until.UTC().Format("2 Jan 15:04 UTC")
		}
		return "this is muted here " + until + " already.", nil
	}
	if err := h.Store.Mute(m); err != nil {
		return "", err
	}
	_, jobs, err := h.Store.LogAction(store.Click{Living: l.ID, Result: paligo.ActionResult{Action: "mute", Label: label, By: user, At: now, Outcome: "done"}})
	if err != nil {
		return "", err
	}
	h.enqueue(jobs)
	return "", nil
}

func muteWords(choice string) string {
	for _, c := range views.MuteChoices {
		if c.Value == choice {
			return c.Label
		}
	}
	return choice
}

// callback is the platform's callback for a click, with a new id that
// every try of it keeps.
func (h inWorkspace) callback(ctx context.Context, team, user, action string, e paligo.Event, now time.Time) *paligo.ActionCallback {
	// Who clicked is known by id; the email and name are extras.
	return &paligo.ActionCallback{ID: newCallbackID(), Type: "action", Action: action, Event: e.ID,
		Subject: e.Subject, By: answering{h}.clicker(ctx, user), Team: team, At: now.Format(time.RFC3339)}
}

// newCallbackID is a callback's id: random, kept by every try of it.
func newCallbackID() string {
	var id [12]byte
	rand.Read(id[:])
	return "cb_" + hex.EncodeToString(id[:])
}

func (h *Router) enqueue(jobs []store.Job) {
	if h.Delivery != nil {
		h.Delivery.Enqueue(jobs)
	}
}

// tell answers the person who clicked, and only them.
func (h inWorkspace) tell(ctx context.Context, channel, user, text string) {
	err := callAgain(ctx, func(ctx context.Context) error {
		_, err := h.slack().PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(":information_source: "+text, false))
		return err
	})
	if err != nil {
		h.Log.Warn("ephemeral answer", "channel", channel, "user", user, "err", err)
	}
}
