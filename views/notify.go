package views

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// Action IDs of the buttons on notifications.
const (
	ActionFollow       = "notif_follow"
	ActionUnfollowNote = "notif_unfollow"
	ActionOpen         = "notif_open" // a link button; Slack still sends a block action
)

// kindLook is how one event kind is drawn: an emoji, what happened, and the
// fields that matter most (shown first, in this order).
type kindLook struct {
	emoji, what string
	fields      []string
}

var kindLooks = map[paligo.Kind]kindLook{
	"document.created":          {":page_facing_up:", "Document created", nil},
	"document.title_changed":    {":pencil2:", "Document renamed", []string{"old_title", "new_title"}},
	"assignment.started":        {":clipboard:", "Assignment started", []string{"assignee", "due"}},
	"release.status_changed":    {":package:", "Release status changed", []string{"status", "previous_status", "release"}},
	"snapshot.created":          {":camera:", "Snapshot created", []string{"snapshot"}},
	"review.mention":            {":speech_balloon:", "You were mentioned in a review", nil},
	"comment.reply":             {":leftwards_arrow_with_hook:", "New reply", nil},
	"document.shared":           {":handshake:", "Document shared with you", []string{"permission"}},
	"publication.ready":         {":white_check_mark:", "Publication ready", []string{"format", "output"}},
	"publication.failed":        {":x:", "Publication failed", []string{"format", "error"}},
	"assignment.status_changed": {":clipboard:", "Assignment status changed", []string{"status", "previous_status", "assignee"}},
	"run.started":               {":arrow_forward:", "Run started", []string{"schedule", "job", "run", "project", "environment"}},
	"run.succeeded":             {":large_green_circle:", "Run succeeded", []string{"schedule", "job", "run", "duration", "project", "environment"}},
	"run.failed":                {":red_circle:", "Run failed", []string{"schedule", "job", "run", "error", "command", "project", "environment"}},
	"system.alert":              {":rotating_light:", "System alert", []string{"firing", "resolved", "severity", "component", "env"}},
	"data.alert":                {":warning:", "Data alert", []string{"firing", "resolved", "severity", "monitor", "model"}},
	"invite.accepted":           {":tada:", "Invitation accepted", nil},
}

// Headline is the one-line summary of an event, as plain text (for
// notification previews and the digest).
func Headline(e paligo.Event) string {
	look := lookOf(e.Type)
	s := look.what
	if e.Type == "invite.accepted" && e.Subject == nil && e.Actor != nil {
		who := e.Actor.Name
		if who == "" {
			who = e.Actor.Email
		}
		if who != "" {
			return s + ": " + who + " joined Paligo"
		}
	}
	if e.Subject != nil {
		s += ": " + subjectTitle(*e.Subject)
	}
	return s
}

func lookOf(k paligo.Kind) kindLook {
	if l, ok := kindLooks[k]; ok {
		return l
	}
	return kindLook{":bell:", string(k), nil}
}

func subjectTitle(s paligo.Subject) string {
	if s.Title != "" {
		return s.Title
	}
	return s.Kind + " " + s.ID
}

// Notification is one event drawn as a Slack message.
type Notification struct {
	Event paligo.Event
	// Personal adds Follow/Unfollow (for DMs about a subject).
	Personal  bool
	Following bool
}

// Message draws the notification: fallback text (what a phone shows) and
// blocks. All text from the event is escaped; only http(s) URLs become
// links.
func Message(n Notification) (string, []slack.Block) {
	e := n.Event
	look := lookOf(e.Type)
	fallback := Escape(Truncate(Headline(e), 300))

	head := look.emoji + " *" + look.what + "*"
	if e.Subject != nil {
		head += "  " + Link(e.Subject.URL, Truncate(subjectTitle(*e.Subject), 300))
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil)}

	var ctx []slack.MixedElement
	if e.Actor != nil && (e.Actor.Name != "" || e.Actor.Email != "") {
		who := e.Actor.Name
		if who == "" {
			who = e.Actor.Email
		}
		ctx = append(ctx, mrkdwn("by "+EscapedWithin(who, 200)))
	}
	if !e.OccurredAt.IsZero() {
		// Slack shows <!date…> in each reader's own time zone.
		ctx = append(ctx, mrkdwn(fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>",
			e.OccurredAt.Unix(), e.OccurredAt.UTC().Format("2006-01-02 15:04 UTC"))))
	}
	if len(ctx) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", ctx...))
	}

	if fields := fieldTexts(e.Fields, look.fields); len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if e.Text != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(quote(e.Text)), nil, nil))
	}

	var buttons []slack.BlockElement
	if e.Subject != nil && SafeURL(e.Subject.URL) != "" {
		open := slack.NewButtonBlockElement(ActionOpen, e.ID, plain("Open in Paligo"))
		if strings.HasPrefix(string(e.Type), "run.") || strings.HasSuffix(string(e.Type), ".alert") {
			open.Text = plain("Open")
		}
		open.URL = e.Subject.URL
		buttons = append(buttons, open)
	}
	if n.Personal && e.Subject != nil {
		if n.Following {
			buttons = append(buttons, slack.NewButtonBlockElement(ActionUnfollowNote, e.ID, plain("Unfollow")))
		} else {
			buttons = append(buttons, slack.NewButtonBlockElement(ActionFollow, e.ID, plain("Follow")))
		}
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("notif_actions", buttons...))
	}
	return fallback, blocks
}

// maxFields is Block Kit's limit of fields in one section.
const maxFields = 10

// fieldTexts draws the event's fields: the important ones first, then the
// rest by name; at most 10 (the last says how many more there were).
func fieldTexts(fields map[string]string, first []string) []*slack.TextBlockObject {
	var keys []string
	for _, k := range first {
		if _, ok := fields[k]; ok {
			keys = append(keys, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var out []*slack.TextBlockObject
	for i, k := range keys {
		if i == maxFields-1 && len(keys) > maxFields {
			out = append(out, mrkdwn(fmt.Sprintf("_and %d more fields_", len(keys)-i)))
			break
		}
		label := []rune(strings.ReplaceAll(k, "_", " "))
		if len(label) > 0 {
			label[0] = unicode.ToUpper(label[0])
		}
		out = append(out, mrkdwn("*"+EscapedWithin(string(label), 100)+"*\n"+EscapedWithin(fields[k], 1800)))
	}
	return out
}

// quote draws untrusted text as an mrkdwn block quote, escaped and cut to
// fit one section.
func quote(text string) string {
	lines := strings.Split(EscapedWithin(text, MaxSectionText-200), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return Truncate(strings.Join(lines, "\n"), MaxSectionText)
}

// EscapedWithin escapes s and, if the result is longer than n characters,
// cuts it (never inside an entity such as &amp;) to at most n, ending with
// "…".
func EscapedWithin(s string, n int) string {
	esc := Escape(s)
	if utf8.RuneCountInString(esc) <= n {
		return esc
	}
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		e := Escape(string(r))
		w := utf8.RuneCountInString(e)
		if used+w > n-1 {
			break
		}
		b.WriteString(e)
		used += w
	}
	b.WriteString("…")
	return b.String()
}
