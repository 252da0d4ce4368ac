package views

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// Action IDs of the admin part of the Home tab.
const (
	ActionRetry    = "admin_retry"     // value: the failed job's sequence
	ActionRetryAll = "admin_retry_all" // value: "all"
)

// Admin is what an admin's Home tab shows besides their own settings.
type Admin struct {
	Routes map[paligo.Kind][]string
	// Filtered are the subscriptions beyond the routes (filters or
	// options), counted per channel.
	Filtered  map[string]int
	Unmatched []paligo.UnmatchedEmail
	Failed    []FailedLine // the oldest first, as many as Home shows
	// FailedTotal counts every failed delivery, shown or not.
	FailedTotal int
	// Invites are the newest invitations, newest first.
	Invites []InviteLine
	// Reinstall lists what the app cannot do until it is installed again
	// with the scopes it now asks for (MissingFeatures).
	Reinstall []string
}

// scopeFeatures are the features that need a scope the first versions of
// the app did not ask for.
var scopeFeatures = []struct {
	feature string
	scopes  []string
}{
	{"people's thread replies sent to the platform (`channels:history`, `groups:history`)", []string{"channels:history", "groups:history"}},
	{"link previews (`links:read`, `links:write`)", []string{"links:read", "links:write"}},
	{"the mark on replies the platform took (`reactions:write`)", []string{"reactions:write"}},
}

// MissingFeatures names the features granted (the token's scopes) lacks a
// scope of.
func MissingFeatures(granted []string) []string {
	var out []string
	for _, f := range scopeFeatures {
		for _, s := range f.scopes {
			if !slices.Contains(granted, s) {
				out = append(out, f.feature)
				break
			}
		}
	}
	return out
}

// FailedLine is one failed delivery as the admin sees it.
type FailedLine struct {
	Seq      uint64
	Where    string // a channel id, or a person
	Headline string // what the event was
	Reason   string
	At       time.Time
}

// Admin lists are cut to these lengths so that the Home tab stays inside its
// 100 blocks; the rest are counted.
const (
	maxFailedShown    = 10
	maxUnmatchedShown = 15
)

// ChannelMention draws a channel id as Slack's channel link. Ids come from
// Slack's own selects, but they are checked: anything but a conversation id
// (C…, G… or D…) is escaped text.
func ChannelMention(id string) string {
	if !slackID(id) || !strings.ContainsAny(id[:1], "CGD") {
		return Escape(id)
	}
	return "<#" + id + ">"
}

// slackID reports whether s looks like a Slack id: a letter for its kind
// and at least one more, capital letters and digits only, so it cannot
// carry markup.
func slackID(s string) bool {
	return len(s) >= 2 && strings.IndexFunc(s, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') }) < 0
}

// RoutesText lists the routes as mrkdwn, one line per routed kind.
func RoutesText(routes map[paligo.Kind][]string) string {
	var lines []string
	for _, k := range paligo.RoutableKinds() {
		chs := routes[k]
		if len(chs) == 0 {
			continue
		}
		var ms []string
		for _, c := range chs {
			ms = append(ms, ChannelMention(c))
		}
		lines = append(lines, "• *"+KindLabel(k)+"* (`"+string(k)+"`) → "+strings.Join(ms, ", "))
	}
	if len(lines) == 0 {
		return "No event kinds are routed to channels yet. Run `/route-alerts` to choose some."
	}
	return strings.Join(lines, "\n")
}

// filteredText counts the filtered subscriptions per channel, the busiest
// first, at most maxFilteredShown channels named.
func filteredText(counts map[string]int) string {
	if len(counts) == 0 {
		return ""
	}
	var chans []string
	total := 0
	for ch, n := range counts {
		chans = append(chans, ch)
		total += n
	}
	slices.SortFunc(chans, func(a, b string) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, ch := range chans {
		if i == maxFilteredShown {
			parts = append(parts, fmt.Sprintf("%d more channels", len(chans)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", ChannelMention(ch), counts[ch]))
	}
	return fmt.Sprintf("\n*Filtered subscriptions*: %d (%s). `/route-alerts list all` shows them.", total, strings.Join(parts, ", "))
}

const maxFilteredShown = 10

// KindLabel names an event kind for people.
func KindLabel(k paligo.Kind) string { return lookOf(k).what }

func adminBlocks(a *Admin) []slack.Block {
	blocks := []slack.Block{
		slack.NewDividerBlock(),
		slack.NewHeaderBlock(plain("Admin")),
		slack.NewSectionBlock(mrkdwn("*Channel routes*\n"+RoutesText(a.Routes)+filteredText(a.Filtered)), nil, nil),
	}
	if len(a.Reinstall) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(":warning: *Install the app again to turn on:* "+strings.Join(a.Reinstall, "; ")+
			". Everything else works as it is: a workspace admin re-installs from the app's settings (OAuth & Permissions), or through the platform's Connect."), nil, nil))
	}

	if len(a.Unmatched) > 0 {
		var lines []string
		for i, u := range a.Unmatched {
			if i == maxUnmatchedShown {
				lines = append(lines, fmt.Sprintf("and %d more", len(a.Unmatched)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("• %s: %s, last %s", EscapedWithin(u.Email, 200),
				plural(u.Count, "notification", "notifications"), u.LastAt.UTC().Format("2006-01-02 15:04 UTC")))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(
			"*Emails no one in Slack has*\nNotifications for these addresses were not delivered. Give the people a Slack account with the same email, or fix the email in Paligo.\n"+
				strings.Join(lines, "\n")), nil, nil))
	}

	blocks = append(blocks, invitesBlocks(a.Invites)...)

	if a.FailedTotal == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Failed deliveries:* none"), nil, nil))
		return blocks
	}
	all := slack.NewButtonBlockElement(ActionRetryAll, "all", plain("Retry all"))
	blocks = append(blocks, slack.NewSectionBlock(
		mrkdwn(fmt.Sprintf("*Failed deliveries:* %d. Slack refused these for a reason retrying alone won't fix; fix it (invite @Paligo, unarchive, reroute), then retry.", a.FailedTotal)),
		nil, slack.NewAccessory(all)))
	for i, f := range a.Failed {
		if i == maxFailedShown {
			break
		}
		where := f.Where
		switch {
		case strings.HasPrefix(where, "C") || strings.HasPrefix(where, "G"):
			where = ChannelMention(where)
		case (strings.HasPrefix(where, "U") || strings.HasPrefix(where, "W")) && slackID(where):
			where = "<@" + where + ">" // a mention in the Home tab notifies no one
		default:
			where = EscapedWithin(where, 200)
		}
		line := fmt.Sprintf("%s → %s\n`%s` · %s", EscapedWithin(f.Headline, 300), where,
			EscapedWithin(f.Reason, 500), f.At.UTC().Format("2006-01-02 15:04 UTC"))
		btn := slack.NewButtonBlockElement(ActionRetry, fmt.Sprint(f.Seq), plain("Retry"))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(line), nil, slack.NewAccessory(btn)))
	}
	if shown := min(len(a.Failed), maxFailedShown); a.FailedTotal > shown {
		blocks = append(blocks, slack.NewContextBlock("failed_more", mrkdwn(fmt.Sprintf("and %d more", a.FailedTotal-shown))))
	}
	return blocks
}
