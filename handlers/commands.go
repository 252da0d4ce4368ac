package handlers

import (
	"context"
	"strings"

	"github.com/slack-go/slack"
)

// ephemeral is a slash command's ack payload: a message only the person who
// typed the command sees.
func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": text}
}

// Command answers a slash command.
func (h *Router) Command(ctx context.Context, cmd slack.SlashCommand) Reply {
	sub := strings.ToLower(strings.TrimSpace(cmd.Text))
	switch cmd.Command {
	case "/route-alerts":
		if sub == "help" || sub == "" {
			return Reply{Ack: ephemeral(routeAlertsHelp)}
		}
		return Reply{Ack: ephemeral("I don't know `/route-alerts " + sub + "`.\n" + routeAlertsHelp)}
	case "/paligo-invite":
		return Reply{Ack: ephemeral(inviteHelp)}
	}
	h.Log.Warn("unknown slash command", "command", cmd.Command)
	return Reply{Ack: ephemeral("I don't know the command " + cmd.Command + ".")}
}

const routeAlertsHelp = "*/route-alerts* chooses which channels get which Paligo and pipeline events (admins only).\n" +
	"• `/route-alerts` opens the routing form\n• `/route-alerts list` shows the current routes\n• `/route-alerts help` shows this help"

const inviteHelp = "*/paligo-invite* invites teammates to Paligo with a DM carrying a personal link (admins only).\n" +
	"• `/paligo-invite` opens the invite form\n• `/paligo-invite @alice @bob` invites them at once\n• `/paligo-invite help` shows this help"
