package views

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// Action IDs of a living message's buttons (the message's channel and ts
// say which living message a click is on).
const (
	ActionLivingMute = "living_mute"
	ActionLivingAck  = "living_ack"
	// ActionLivingPlatform + the action's id: one of the event's own.
	ActionLivingPlatform = "living_act:"
)

// MuteChoices are the Mute menu's options: the value is what
// /route-alerts mute takes.
var MuteChoices = []struct{ Value, Label string }{
	{"1h", "1 hour"}, {"1d", "1 day"}, {"1w", "1 week"}, {"forever", "Forever"},
}

// Parent is a living message's parent drawn: the latest event, its state,
// what clicks did, and the buttons.
type Parent struct {
	Event  paligo.Event
	Living paligo.Living
	// PlatformActions draws the event's own actions (only with a
	// callback URL to send them to).
	PlatformActions bool
	// MutedUntil, if not nil, is when the mute of the subject in this
	// channel ends (zero: never), set by MutedBy.
	MutedUntil *time.Time
	MutedBy    string
}

// ParentMessage draws p: fallback text and blocks.
func ParentMessage(p Parent) (string, []slack.Block) {
	e, l := p.Event, p.Living
	text, blocks := Message(Notification{Event: e})
	blocks = withoutActions(blocks)

	var state []string
	if l.Status != "" {
		first, size := utf8.DecodeRuneInString(l.Status)
		state = append(state, "*"+EscapedWithin(string(unicode.ToUpper(first))+l.Status[size:], 60)+"*")
	}
	if !l.Alone {
		n := "1 update"
		if l.Updates != 1 {
			n = strconv.Itoa(l.Updates) + " updates"
		}
		state = append(state, n, "last "+slackDate(l.LastAt))
	}
	if l.AckedBy != "" {
		state = append(state, ":white_check_mark: Acknowledged by <@"+l.AckedBy+"> "+slackDate(l.AckedAt))
	}
	if p.MutedUntil != nil {
		m := ":no_bell: Muted here"
		if p.MutedUntil.IsZero() {
			m += " for good"
		} else {
			m += " until " + slackDate(*p.MutedUntil)
		}
		if p.MutedBy != "" {
			m += " by <@" + p.MutedBy + ">"
		}
		state = append(state, m)
	}
	if len(state) > 0 {
		blocks = append(blocks, slack.NewContextBlock("living_state", mrkdwn(strings.Join(state, "  ·  "))))
	}
	for i, r := range l.Log {
		if line := resultLine(r); line != "" {
			blocks = append(blocks, slack.NewContextBlock("living_log_"+strconv.Itoa(i), mrkdwn(line)))
		}
	}
	if buttons := livingButtons(p); len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("living_actions", buttons...))
	}
	return text, blocks
}

func livingButtons(p Parent) []slack.BlockElement {
	e, l := p.Event, p.Living
	var out []slack.BlockElement
	if e.Subject != nil && SafeURL(e.Subject.URL) != "" {
		open := slack.NewButtonBlockElement(ActionOpen, e.ID, plain("Open"))
		open.URL = e.Subject.URL
		out = append(out, open)
	}
	// A critical state waits for someone to acknowledge it; an alert group
	// that resolved does not.
	if paligo.Kinds[e.Type].Critical && l.AckedBy == "" && paligo.Status(&e) != "resolved" {
		out = append(out, slack.NewButtonBlockElement(ActionLivingAck, e.ID, plain("Acknowledge")).WithStyle(slack.StylePrimary))
	}
	if p.PlatformActions {
		var seen []string
		for _, a := range e.Actions {
			// Ingest lets no event declare one twice; Slack refuses a
			// message that has two.
			if a.ID == "" || len(a.ID) > paligo.MaxActionIDLen || slices.Contains(seen, a.ID) || len(seen) == paligo.MaxActions {
				continue
			}
			seen = append(seen, a.ID)
			out = append(out, slack.NewButtonBlockElement(ActionLivingPlatform+a.ID, e.ID, plain(Truncate(a.Label, 30))))
		}
	}
	if e.Subject != nil {
		var opts []*slack.OptionBlockObject
		for _, c := range MuteChoices {
			opts = append(opts, slack.NewOptionBlockObject(c.Value, plain(c.Label), nil))
		}
		out = append(out, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Mute here…"), ActionLivingMute, opts...))
	}
	return out
}

// Acts reports whether a post of e alone has a button that acts on it
// (Mute, Acknowledge, a platform action), so that it needs a living
// message of its own; platformActions as in Parent.
func Acts(e paligo.Event, platformActions bool) bool {
	return e.Subject != nil || paligo.Kinds[e.Type].Critical || (platformActions && len(e.Actions) > 0)
}

// withoutActions drops the buttons Message draws for a single post.
func withoutActions(blocks []slack.Block) []slack.Block {
	out := blocks[:0:0]
	for _, b := range blocks {
		if _, ok := b.(*slack.ActionBlock); !ok {
			out = append(out, b)
		}
	}
	return out
}

// Reply draws an event posted in a living message's thread: the event,
// with only its Open link for buttons (the parent holds the others).
func Reply(e paligo.Event) (string, []slack.Block) {
	return Message(Notification{Event: e})
}

// ChannelPost is one post of an event to a channel: with NewParent, the
// first parent of a living message (Parent.Living: its state); else the
// event alone, as a post of its own or a reply in a living message's
// thread.
type ChannelPost struct {
	Parent
	NewParent bool
	// Mentions are the people the event is about, named on the post.
	Mentions []Mention
}

// Mention is a person a channel post names: as a Slack mention when
// User is known and they did not turn the bot off (Quiet), else by name.
type Mention struct {
	User, Name, Email string
	Quiet             bool
}

// DrawPost draws p: fallback text and blocks.
func DrawPost(p ChannelPost) (string, []slack.Block) {
	text, blocks := Reply(p.Event)
	if p.NewParent {
		text, blocks = ParentMessage(p.Parent)
	}
	if line := mentionLine(p.Mentions); line != "" {
		// Before the buttons: the people, then what to do.
		at := len(blocks)
		if at > 0 {
			if _, ok := blocks[at-1].(*slack.ActionBlock); ok {
				at--
			}
		}
		blocks = slices.Insert(blocks, at, slack.Block(slack.NewContextBlock("mentions", mrkdwn(line))))
	}
	return text, blocks
}

// mentionLine names ms: <@U…> for those who may be pinged, a name for
// the others. Never a group mention: what is drawn of a name is escaped.
func mentionLine(ms []Mention) string {
	var names []string
	for _, m := range ms {
		switch {
		case m.User != "" && !m.Quiet && slackUserID(m.User):
			names = append(names, "<@"+m.User+">")
		case m.Name != "":
			names = append(names, EscapedWithin(m.Name, 80))
		case m.Email != "":
			names = append(names, EscapedWithin(m.Email, 120))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return ":bust_in_silhouette: " + strings.Join(names, ", ")
}

// slackUserID reports whether s is a Slack user id (U… or W…, capitals
// and digits): what a mention may hold.
func slackUserID(s string) bool {
	if len(s) < 3 || len(s) > 20 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// resultLine tells what one click did, as the parent shows it.
func resultLine(r paligo.ActionResult) string {
	by := "<@" + r.By + ">"
	label := EscapedWithin(r.Label, 30)
	switch r.Action {
	case "acknowledge":
		if r.Outcome == "failed" {
			return ":warning: The platform was not told of " + by + "'s acknowledgement: " + EscapedWithin(r.Detail, 200)
		}
		return ""
	case "mute":
		return ":no_bell: " + label + " by " + by + " " + slackDate(r.At)
	}
	switch r.Outcome {
	case "pending":
		return ":hourglass_flowing_sand: " + label + " requested by " + by + ", sending to the platform…"
	case "requested":
		return ":arrow_forward: " + label + " requested by " + by + " " + slackDate(r.At)
	case "failed":
		return ":warning: " + label + " by " + by + " could not be requested: " + EscapedWithin(r.Detail, 200)
	}
	return ""
}

// NoteText is a living message's thread reply telling what a click did.
func NoteText(r paligo.ActionResult) string {
	by := "<@" + r.By + ">"
	label := EscapedWithin(r.Label, 30)
	switch {
	case r.Action == "acknowledge" && r.Outcome == "failed":
		return ":warning: The platform was not told that " + by + " acknowledged this: " + EscapedWithin(r.Detail, 200)
	case r.Action == "acknowledge":
		return ":white_check_mark: Acknowledged by " + by
	case r.Outcome == "requested":
		return ":arrow_forward: " + label + " requested by " + by
	case r.Outcome == "failed":
		return ":warning: " + label + " by " + by + " could not be requested: " + EscapedWithin(r.Detail, 200)
	}
	return ""
}

func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}
