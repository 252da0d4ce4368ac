package views

import (
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// The /route-alerts modal.
const (
	CallbackRoutes = "route_alerts"
	ActionChannels = "channels"
	// MaxRouteChannels bounds the channels one kind goes to.
	MaxRouteChannels = 10
)

// The filtered subscriptions' part of the modal: remove some, add one.
const (
	BlockSubsRemove  = "subs_remove"
	ActionSubsRemove = "subs_remove"
	BlockSubAddTo    = "sub_add_channel"
	ActionSubAddTo   = "sub_add_channel"
	BlockSubAdd      = "sub_add"
	ActionSubAdd     = "sub_add"
)

// SubscriptionValue is the option value that names a filtered
// subscription in the modal's remove list (Slack allows 150 characters):
// its channel and a digest of how it is typed (paligo.Subscription.Digest).
func SubscriptionValue(s paligo.Subscription) string { return s.Channel + " " + s.Digest() }

// RouteBlockID is the input block of one kind in the routes modal.
func RouteBlockID(k paligo.Kind) string { return "route:" + string(k) }

// RoutesModal draws the /route-alerts modal: one multi-conversation select
// per routable kind, showing the current routes; then each channel's
// filtered subscriptions (the others), which can be removed, and a way to
// add one for a channel.
func RoutesModal(routes map[paligo.Kind][]string, filtered []paligo.Subscription) slack.ModalViewRequest {
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn("Choose the channels each kind of event is posted to. Private channels need @Paligo as a member first (`/invite @Paligo`). Leave a kind empty to post it nowhere."), nil, nil),
	}
	for _, k := range paligo.RoutableKinds() {
		sel := slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeConversations, plain("Channels"), ActionChannels)
		sel.InitialConversations = routes[k]
		max := MaxRouteChannels
		sel.MaxSelectedItems = &max
		sel.Filter = &slack.SelectBlockElementFilter{
			Include:                       []string{"public", "private"},
			ExcludeExternalSharedChannels: true,
			ExcludeBotUsers:               true,
		}
		in := slack.NewInputBlock(RouteBlockID(k), plain(KindLabel(k)), plain(string(k)), sel)
		in.Optional = true
		blocks = append(blocks, in)
	}
	blocks = append(blocks, slack.NewDividerBlock(),
		slack.NewSectionBlock(mrkdwn("*Filtered subscriptions*\n"+filteredList(filtered)), nil, nil))
	if len(filtered) > 0 {
		var opts []*slack.OptionBlockObject
		for i, sub := range filtered {
			if i == maxRemovable {
				break
			}
			label := sub.Channel + " · " + sub.String()
			if n := []rune(label); len(n) > 75 {
				label = string(n[:74]) + "…"
			}
			opts = append(opts, slack.NewOptionBlockObject(SubscriptionValue(sub), plain(label), nil))
		}
		rm := slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeStatic, plain("Subscriptions"), ActionSubsRemove, opts...)
		in := slack.NewInputBlock(BlockSubsRemove, plain("Remove"), nil, rm)
		in.Optional = true
		blocks = append(blocks, in)
	}
	to := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, plain("Channel"), ActionSubAddTo)
	to.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	addTo := slack.NewInputBlock(BlockSubAddTo, plain("Add a filtered subscription to"), nil, to)
	addTo.Optional = true
	text := slack.NewPlainTextInputBlockElement(plain("run.failed project=finance environment!=staging"), ActionSubAdd)
	max := 1500
	text.MaxLength = max
	add := slack.NewInputBlock(BlockSubAdd, plain("Kinds and filters"),
		plain("Kinds or groups first (runs, alerts, activity, publications, assignments, all), then filters: NAME=A,B or NAME!=A, * as a wildcard."), text)
	add.Optional = true
	blocks = append(blocks, addTo, add)
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: CallbackRoutes,
		Title:      plain("Route alerts"),
		Submit:     plain("Save"),
		Close:      plain("Cancel"),
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}

// maxRemovable bounds the remove list (a multi-select holds 100 options).
const maxRemovable = 100

// filteredList is the modal's list of filtered subscriptions by channel.
func filteredList(subs []paligo.Subscription) string {
	if len(subs) == 0 {
		return "None yet. Add one below, or type `/route-alerts subscribe …` in a channel."
	}
	return SubscriptionsText(subs, nil, time.Time{})
}
