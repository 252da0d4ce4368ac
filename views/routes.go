package views

import (
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

// RouteBlockID is the input block of one kind in the routes modal.
func RouteBlockID(k paligo.Kind) string { return "route:" + string(k) }

// RoutesModal draws the /route-alerts modal: one multi-conversation select
// per routable kind, showing the current routes.
func RoutesModal(routes map[paligo.Kind][]string) slack.ModalViewRequest {
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
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: CallbackRoutes,
		Title:      plain("Route alerts"),
		Submit:     plain("Save"),
		Close:      plain("Cancel"),
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}
