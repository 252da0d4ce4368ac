package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// subscriptionCommand answers `/route-alerts subscribe|unsubscribe|mute|
// unmute ...`, typed in the channel it is about. Every one changes
// something, so the admin check asks Slack afresh. A refusal says what is
// wrong and saves nothing; an acceptance repeats what was understood.
func (h inWorkspace) subscriptionCommand(ctx context.Context, cmd slack.SlashCommand, verb, rest string) bot.Reply {
	admin, err := h.isAdminNow(ctx, cmd.UserID)
	if err != nil {
		h.Log.Warn("admin check", "user", cmd.UserID, "err", err)
		return bot.Reply{Ack: ephemeral(roleUnknownText)}
	}
	if !admin {
		return bot.Reply{Ack: ephemeral(fmt.Sprintf(notAdminText, "subscribe channels"))}
	}
	ch := cmd.ChannelID
	refuse := func(format string, a ...any) bot.Reply {
		return bot.Reply{Ack: ephemeral("Nothing was saved: " + fmt.Sprintf(format, a...))}
	}
	failed := func(what string, err error) bot.Reply {
		h.Log.Error(what, "channel", ch, "err", err)
		return bot.Reply{Ack: ephemeral("I couldn't save that just now, so nothing was changed. Try again in a moment.")}
	}
	switch verb {
	case "subscribe":
		if !paligo.ChannelID(ch) {
			return refuse("subscriptions are for channels; type it in the channel that should get the events.")
		}
		sub, err := paligo.ParseSubscription(ch, rest)
		if err != nil {
			return refuse("%s.", views.EscapedWithin(err.Error(), 400))
		}
		if msg := h.postable(ctx, ch, sub.External); msg != "" {
			return refuse("%s", msg)
		}
		sub.Team = h.scope()
		added, err := h.Store.Subscribe(sub)
		if errors.Is(err, store.ErrTooManySubscriptions) {
			return refuse("this channel already has %d subscriptions, the most it can have. `/route-alerts list` shows them.", paligo.MaxSubscriptionsPerChannel)
		}
		if err != nil {
			return failed("save subscription", err)
		}
		h.Log.Info("subscribed", "channel", ch, "by", cmd.UserID, "subscription", sub.Digest(), "kinds", kindsOf(sub))
		if !added {
			return bot.Reply{Ack: ephemeral(fmt.Sprintf("<#%s> already has `%s`.", ch, views.EscapedWithin(sub.String(), 1000)))}
		}
		return bot.Reply{Ack: ephemeral(fmt.Sprintf("Subscribed <#%s> to `%s`.", ch, views.EscapedWithin(sub.String(), 1000)))}
	case "unsubscribe":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			return refuse("say which subscription by its number: `/route-alerts unsubscribe 2` (`/route-alerts list` numbers them).")
		}
		sub, found, err := h.Store.Unsubscribe(h.scope(), ch, n)
		if err != nil {
			return failed("remove subscription", err)
		}
		if !found {
			return refuse("<#%s> has no subscription %d; `/route-alerts list` numbers them.", ch, n)
		}
		h.Log.Info("unsubscribed", "channel", ch, "by", cmd.UserID, "subscription", sub.Digest(), "kinds", kindsOf(sub))
		return bot.Reply{Ack: ephemeral(fmt.Sprintf("Unsubscribed <#%s> from `%s`.", ch, views.EscapedWithin(sub.String(), 1000)))}
	case "mute":
		subject, length, _ := strings.Cut(rest, " ")
		if !validSubjectKey(subject) {
			return refuse("say which subject as KIND:ID, then for how long: `/route-alerts mute schedule:nightly-dbt 1d`.")
		}
		d, forever, ok := muteLength(strings.TrimSpace(length))
		if !ok {
			return refuse("say for how long: 1h, 1d, 1w (or a number of them: 3d) or forever.")
		}
		now := h.Store.Time()
		m := paligo.Mute{Channel: ch, Subject: subject, By: cmd.UserID}
		until := "forever"
		if !forever {
			m.Until = now.Add(d).UTC()
			until = "until " + m.Until.Format("2 Jan 15:04 UTC")
		}
		if err := h.Store.Mute(m); err != nil {
			return failed("save mute", err)
		}
		return bot.Reply{Ack: ephemeral(fmt.Sprintf("Muted `%s` in <#%s> %s. `/route-alerts unmute %s` ends it.", views.EscapedWithin(subject, 300), ch, until, views.EscapedWithin(subject, 300)))}
	default: // unmute
		if !validSubjectKey(rest) {
			return refuse("say which subject as KIND:ID: `/route-alerts unmute schedule:nightly-dbt`.")
		}
		found, err := h.Store.Unmute(ch, rest)
		if err != nil {
			return failed("remove mute", err)
		}
		if !found {
			return refuse("`%s` is not muted in <#%s>.", views.EscapedWithin(rest, 300), ch)
		}
		return bot.Reply{Ack: ephemeral(fmt.Sprintf("`%s` is no longer muted in <#%s>.", views.EscapedWithin(rest, 300), ch))}
	}
}

// postable says why the bot cannot post to channel ("" when it can, or
// when Slack could not be asked in time: a post that fails there ends in
// the failed list with the reason). A channel shared with other
// organizations needs external=allow.
func (h inWorkspace) postable(ctx context.Context, channel string, external bool) string {
	ctx, cancel := context.WithTimeout(ctx, checkBudget)
	defer cancel()
	info, err := h.slack().GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
	switch whyNotPostable(info, err) {
	case channelNotFound:
		return "I can't see this channel. If it is private, add @Paligo to it first: type `/invite @Paligo` here."
	case channelUnknown:
		h.Log.Warn("conversations.info for a subscription", "channel", channel, "err", err)
	case channelArchived:
		return "this channel is archived."
	case channelPrivate:
		return "this channel is private and @Paligo is not in it: type `/invite @Paligo` here first."
	case channelShared:
		if !external {
			return "this channel is shared with other organizations, so events would reach people outside this workspace. Add `external=allow` to the subscription if that is meant."
		}
	}
	return ""
}

func validSubjectKey(s string) bool {
	kind, id, ok := strings.Cut(s, ":")
	return ok && kind != "" && id != "" && len(s) <= 300 && !strings.ContainsAny(s, " \t\n`")
}

// muteLength reads 1h, 3d, 1w or forever.
func muteLength(s string) (d time.Duration, forever, ok bool) {
	if s == "forever" {
		return 0, true, true
	}
	if len(s) < 2 {
		return 0, false, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 || n > 1000 {
		return 0, false, false
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, false, false
	}
	return time.Duration(n) * unit, false, true
}

// kindsOf names a subscription's kinds, for logs: its filters, which may
// name people, are not logged.
func kindsOf(s paligo.Subscription) string {
	kinds := make([]string, len(s.Kinds))
	for i, k := range s.Kinds {
		kinds[i] = string(k)
	}
	return strings.Join(kinds, ",")
}
