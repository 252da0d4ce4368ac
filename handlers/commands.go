package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// ephemeral is a slash command's ack payload: a message only the person who
// typed the command sees.
func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": text}
}

const notAdminText = "Only Slack workspace admins and owners, and the people listed as Paligo admins, can %s. Ask one of them, or ask whoever runs Paligo for Slack to add you to PALIGO_SLACK_ADMINS. Nothing was changed."

const roleUnknownText = "I couldn't check your Slack role just now, so nothing was changed. Try again in a moment."

// Command answers a slash command.
func (h *Router) Command(ctx context.Context, cmd slack.SlashCommand) bot.Reply {
	w, ok := h.enter(cmd.TeamID)
	if !ok {
		h.Log.Info("a command of a workspace not served", "team", cmd.TeamID, "command", cmd.Command)
		return bot.Reply{Ack: ephemeral("This workspace is not connected to Paligo any more: an admin can connect it again from Paligo's settings.")}
	}
	return w.command(ctx, cmd)
}

// RouteAlertsVerbs are the words /route-alerts takes after its name (and
// nothing: the routes form); the manifests' usage hints name each.
var RouteAlertsVerbs = []string{"subscribe", "unsubscribe", "mute", "unmute", "list", "help"}

func (h inWorkspace) command(ctx context.Context, cmd slack.SlashCommand) bot.Reply {
	switch cmd.Command {
	case "/route-alerts":
		// The verb is read in any case; what follows it (filter values)
		// keeps its case.
		verb, rest, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
		verb = strings.ToLower(verb)
		switch verb {
		case "subscribe", "unsubscribe", "mute", "unmute":
			return h.subscriptionCommand(ctx, cmd, verb, strings.TrimSpace(rest))
		case "list":
			if strings.EqualFold(strings.TrimSpace(rest), "all") {
				return h.routeAlerts(ctx, cmd, "list all")
			}
		}
		return h.routeAlerts(ctx, cmd, strings.ToLower(strings.TrimSpace(cmd.Text)))
	case "/paligo-invite":
		return h.paligoInvite(ctx, cmd)
	}
	h.Log.Warn("unknown slash command", "command", cmd.Command)
	return bot.Reply{Ack: ephemeral("I don't know the command " + cmd.Command + ".")}
}

func (h inWorkspace) routeAlerts(ctx context.Context, cmd slack.SlashCommand, sub string) bot.Reply {
	switch sub {
	case "help":
		return bot.Reply{Ack: ephemeral(routeAlertsHelp)}
	case "", "list", "list all":
	default:
		return bot.Reply{Ack: ephemeral("I don't know `/route-alerts " + views.EscapedWithin(sub, 100) + "`.\n" + routeAlertsHelp)}
	}
	admin, err := h.IsAdmin(ctx, cmd.UserID)
	if err != nil {
		h.Log.Warn("admin check", "user", cmd.UserID, "err", err)
		return bot.Reply{Ack: ephemeral(roleUnknownText)}
	}
	if !admin {
		return bot.Reply{Ack: ephemeral(fmt.Sprintf(notAdminText, "route alerts to channels"))}
	}
	if sub == "list" || sub == "list all" {
		channel, title := cmd.ChannelID, "*Subscriptions of this channel*\n"
		if sub == "list all" {
			channel, title = "", "*Subscriptions*\n"
		}
		subs, err := h.Store.Subscriptions(h.scope(), channel)
		if err != nil {
			h.Log.Error("read subscriptions", "err", err)
			return bot.Reply{Ack: ephemeral("I couldn't read the subscriptions just now. Try again in a moment.")}
		}
		mutes, err := h.Store.Mutes(channel)
		if err != nil {
			h.Log.Error("read mutes", "err", err)
			return bot.Reply{Ack: ephemeral("I couldn't read the subscriptions just now. Try again in a moment.")}
		}
		return bot.Reply{Ack: ephemeral(title + views.SubscriptionsTextWithin(subs, mutes, h.Store.Time(), views.MaxAnswerText-len(title)))}
	}
	subs, err := h.Store.Subscriptions(h.scope(), "")
	if err != nil {
		h.Log.Error("read subscriptions", "err", err)
		return bot.Reply{Ack: ephemeral("I couldn't read the routes just now. Try again in a moment.")}
	}
	routes := paligo.RoutesOf(subs)
	modal := views.RoutesModal(routes, slices.DeleteFunc(subs, paligo.Subscription.Plain))
	return bot.Reply{After: func(ctx context.Context) {
		// The trigger lives 3 s: no retry can help once Slack said no.
		if _, err := h.slack().OpenViewContext(ctx, cmd.TriggerID, modal); err != nil {
			h.Log.Error("open routes modal", "user", cmd.UserID, "err", err)
			h.slack().PostEphemeralContext(ctx, cmd.ChannelID, cmd.UserID,
				slack.MsgOptionText("I couldn't open the routing form ("+views.Escape(err.Error())+"). Please run `/route-alerts` again.", false))
		}
	}}
}

// checkBudget bounds the conversations.info checks of a submission, which
// must be answered within Slack's 3 seconds.
const checkBudget = 1500 * time.Millisecond

// submitRoutes saves the /route-alerts modal, or answers with inline errors.
func (h inWorkspace) submitRoutes(ctx context.Context, cb slack.InteractionCallback) bot.Reply {
	first := views.RouteBlockID(paligo.RoutableKinds()[0])
	fail := func(errs map[string]string) bot.Reply {
		return bot.Reply{Ack: map[string]any{"response_action": "errors", "errors": errs}}
	}
	admin, err := h.isAdminNow(ctx, cb.User.ID)
	if err != nil {
		return fail(map[string]string{first: roleUnknownText})
	}
	if !admin {
		return fail(map[string]string{first: fmt.Sprintf(notAdminText, "route alerts to channels")})
	}
	current, err := h.Store.Routes(h.scope())
	if err != nil {
		return fail(map[string]string{first: "I couldn't read the current routes. Try again in a moment."})
	}
	routes := map[paligo.Kind][]string{}
	errs := map[string]string{}
	toCheck := map[string][]string{} // channel -> blocks choosing it
	for _, k := range paligo.RoutableKinds() {
		bid := views.RouteBlockID(k)
		chs := cb.View.State.Values[bid][views.ActionChannels].SelectedConversations
		if len(chs) > views.MaxRouteChannels {
			errs[bid] = fmt.Sprintf("Choose at most %d channels.", views.MaxRouteChannels)
			continue
		}
		for _, c := range chs {
			if !paligo.ChannelID(c) {
				errs[bid] = "Only channels can receive alerts; direct messages and group DMs cannot."
				break
			}
			if !slices.Contains(current[k], c) {
				toCheck[c] = append(toCheck[c], bid)
			}
		}
		routes[k] = chs
	}
	for c, msg := range h.checkChannels(ctx, toCheck) {
		for _, bid := range toCheck[c] {
			if _, taken := errs[bid]; !taken {
				errs[bid] = msg
			}
		}
	}
	// The filtered subscriptions: the ones to remove, and one to add.
	var remove [][2]string
	for _, o := range cb.View.State.Values[views.BlockSubsRemove][views.ActionSubsRemove].SelectedOptions {
		ch, text, ok := strings.Cut(o.Value, " ")
		if !ok {
			errs[views.BlockSubsRemove] = "That is not one of the subscriptions listed."
			break
		}
		remove = append(remove, [2]string{ch, text})
	}
	var add *paligo.Subscription
	addTo := cb.View.State.Values[views.BlockSubAddTo][views.ActionSubAddTo].SelectedConversation
	addText := strings.TrimSpace(cb.View.State.Values[views.BlockSubAdd][views.ActionSubAdd].Value)
	switch {
	case addTo == "" && addText != "":
		errs[views.BlockSubAddTo] = "Choose the channel this subscription is for."
	case addTo != "" && addText == "":
		errs[views.BlockSubAdd] = "Say which kinds, and filters if any: run.failed project=finance"
	case addTo != "" && !paligo.ChannelID(addTo):
		errs[views.BlockSubAddTo] = "Only channels can subscribe; direct messages and group DMs cannot."
	case addTo != "":
		sub, err := paligo.ParseSubscription(addTo, addText)
		if err != nil {
			errs[views.BlockSubAdd] = err.Error() + "."
		} else if msg := h.postable(ctx, addTo, sub.External); msg != "" {
			errs[views.BlockSubAddTo] = strings.ReplaceAll(msg, "`", "")
		} else {
			add = &sub
		}
	}
	if len(errs) > 0 {
		return fail(errs)
	}
	if err := h.Store.SetRoutes(h.scope(), routes); err != nil {
		h.Log.Error("save routes", "err", err)
		return fail(map[string]string{first: "I couldn't save the routes. Try again in a moment."})
	}
	for _, r := range remove {
		if _, err := h.Store.RemoveSubscription(h.scope(), r[0], r[1]); err != nil {
			h.Log.Error("remove subscription", "err", err)
			return fail(map[string]string{views.BlockSubsRemove: "I couldn't remove the subscriptions. Try again in a moment."})
		}
	}
	if add != nil {
		add.Team = h.scope()
		if _, err := h.Store.Subscribe(*add); errors.Is(err, store.ErrTooManySubscriptions) {
			return fail(map[string]string{views.BlockSubAddTo: fmt.Sprintf("This channel already has %d subscriptions, the most it can have.", paligo.MaxSubscriptionsPerChannel)})
		} else if err != nil {
			h.Log.Error("save subscription", "err", err)
			return fail(map[string]string{views.BlockSubAdd: "I couldn't save the subscription. Try again in a moment."})
		}
	}
	h.Log.Info("routes saved", "by", cb.User.ID, "routed_kinds", len(routes), "subscriptions_removed", len(remove), "subscription_added", add != nil)
	// The Home tab says what was understood.
	notice := "Routes saved."
	if len(remove) > 0 {
		notice += fmt.Sprintf(" %s removed.", views.Plural(len(remove), "filtered subscription", "filtered subscriptions"))
	}
	if add != nil {
		notice += " Subscribed " + add.Channel + " to `" + add.String() + "`."
	}
	team, user := teamOf(cb), cb.User.ID
	return bot.Reply{After: func(ctx context.Context) {
		unlock := h.lockUser(team, user)
		defer unlock()
		h.publishHome(ctx, team, user, notice)
	}}
}

// channelProblem is why the bot cannot post to a channel, as
// conversations.info tells it.
type channelProblem int

const (
	channelPostable channelProblem = iota
	channelNotFound                // not there, or private without the bot
	channelUnknown                 // Slack could not be asked
	channelArchived
	channelPrivate // private, and the bot is not a member
	channelShared  // shared with other organizations
)

// whyNotPostable reads conversations.info's answer (info, err).
func whyNotPostable(info *slack.Channel, err error) channelProblem {
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "channel_not_found":
		return channelNotFound
	case err != nil:
		return channelUnknown
	case info.IsArchived:
		return channelArchived
	case info.IsPrivate && !info.IsMember:
		return channelPrivate
	case info.IsExtShared:
		return channelShared
	}
	return channelPostable
}

// checkChannels asks Slack about newly chosen channels, in parallel and
// within checkBudget, and returns a message for each one the bot cannot
// post to. A channel Slack could not be asked about in time is accepted: a
// post there that fails ends in the failed list with the reason.
func (h inWorkspace) checkChannels(ctx context.Context, chans map[string][]string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, checkBudget)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]string{}
	for c := range chans {
		wg.Go(func() {
			info, err := h.slack().GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: c})
			var msg string
			// Slack shows these inline errors as plain text: no <#C…> links,
			// no `code`. (The form's channel pickers leave out shared
			// channels.)
			switch whyNotPostable(info, err) {
			case channelNotFound:
				msg = "I can't see one of these channels (" + c + "). If it is private, add @Paligo to it first: type /invite @Paligo in it."
			case channelUnknown:
				h.Log.Warn("conversations.info during routes check", "channel", c, "err", err)
			case channelArchived:
				msg = "#" + info.Name + " is archived."
			case channelPrivate:
				msg = "#" + info.Name + " is private and @Paligo is not in it: add @Paligo to it first (type /invite @Paligo in it)."
			}
			if msg != "" {
				mu.Lock()
				out[c] = msg
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

const routeAlertsHelp = "*/route-alerts* chooses which channels get which Paligo and pipeline events (admins only).\n" +
	"• `/route-alerts` opens the routing form\n" +
	"• `/route-alerts subscribe run.failed,run.succeeded project=finance environment!=staging` subscribes this channel: kinds or groups (activity, publications, assignments, runs, alerts, all), then filters (`NAME=A,B`, `NAME!=A`, `*` globs; subject=KIND:ID, title=, actor=, or any field), then `threads=off`\n" +
	"• `/route-alerts unsubscribe 2` removes this channel's subscription 2\n" +
	"• `/route-alerts mute schedule:nightly-dbt 1d` stops posts about that subject here for 1h, 1d, 1w or forever; `unmute` ends it\n" +
	"• `/route-alerts list` shows this channel's subscriptions and mutes, `list all` every channel's\n• `/route-alerts help` shows this help"

const inviteHelp = "*/paligo-invite* invites teammates to Paligo with a DM carrying a personal link (admins only).\n" +
	"• `/paligo-invite` opens the invite form\n• `/paligo-invite @alice @bob Welcome aboard!` invites them at once, with an optional note\n• `/paligo-invite help` shows this help\n" +
	"Each person gets a DM with a personal link that works once, for 7 days. Bots, deactivated people, people without an email and people with a pending invitation are skipped; you get a DM saying who was invited, who was skipped and why."
