package views

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// kindNouns name what one event of a kind is, singular and plural, for
// condensed digest lines ("3 replies from Bo, Ann and 1 other").
var kindNouns = map[paligo.Kind][2]string{
	"document.created":          {"new document", "new documents"},
	"document.title_changed":    {"rename", "renames"},
	"assignment.started":        {"assignment started", "assignments started"},
	"release.status_changed":    {"release status change", "release status changes"},
	"snapshot.created":          {"snapshot", "snapshots"},
	"review.mention":            {"mention", "mentions"},
	"comment.reply":             {"reply", "replies"},
	"document.shared":           {"share", "shares"},
	"publication.ready":         {"publication ready", "publications ready"},
	"publication.failed":        {"failed publication", "failed publications"},
	"assignment.status_changed": {"assignment update", "assignment updates"},
	"run.succeeded":             {"successful run", "successful runs"},
	"run.failed":                {"failed run", "failed runs"},
	"system.alert":              {"system alert", "system alerts"},
	"data.alert":                {"data alert", "data alerts"},
	"invite.accepted":           {"accepted invitation", "accepted invitations"},
}

// digestGroup is the items of one subject (or, without a subject, one kind).
type digestGroup struct {
	subject *paligo.Subject
	kind    paligo.Kind
	events  []*paligo.Event // newest first
}

// groupKey names a group: a subject's kind and id, or (subject false) a kind.
type groupKey struct {
	subject  bool
	kind, id string
}

// maxDigestGroups leaves room in a 50-block message for the header, the
// context line and the "more" line.
const maxDigestGroups = MaxMessageBlocks - 4

// Digest draws one digest of events (any order) as a DM: a header with the
// count, then one section per subject, newest first, each kind condensed
// with its actors. What does not fit is counted, with a link to moreURL if
// given. ok is false when there is nothing to send: never an empty digest.
// A large workspace's morning run draws one for each of its people, so the
// events are sorted and grouped by reference, not copied.
func Digest(events []paligo.Event, moreURL string) (fallback string, blocks []slack.Block, ok bool) {
	if len(events) == 0 {
		return "", nil, false
	}
	newest := make([]*paligo.Event, len(events))
	for i := range events {
		newest[i] = &events[i]
	}
	slices.SortStableFunc(newest, func(a, b *paligo.Event) int { return b.OccurredAt.Compare(a.OccurredAt) })
	var groups []*digestGroup
	index := make(map[groupKey]*digestGroup, len(events))
	for _, e := range newest {
		key := groupKey{kind: string(e.Type)}
		if e.Subject != nil {
			key = groupKey{subject: true, kind: e.Subject.Kind, id: e.Subject.ID}
		}
		g := index[key]
		if g == nil {
			g = &digestGroup{subject: e.Subject, kind: e.Type}
			index[key] = g
			groups = append(groups, g) // in order of their newest item
		}
		g.events = append(g.events, e)
	}

	n := len(events)
	first, last := newest[n-1].OccurredAt, newest[0].OccurredAt
	title := fmt.Sprintf("Your Paligo digest: %s", plural(n, "notification", "notifications"))
	fallback = title
	blocks = make([]slack.Block, 0, 3+min(len(groups), maxDigestGroups))
	blocks = append(blocks,
		slack.NewHeaderBlock(plain(Truncate(title, MaxHeaderText))),
		slack.NewContextBlock("digest_span", mrkdwn(fmt.Sprintf("From <!date^%d^{date_short_pretty} {time}|%s> to <!date^%d^{date_short_pretty} {time}|%s>",
			first.Unix(), first.UTC().Format("2006-01-02 15:04 UTC"),
			last.Unix(), last.UTC().Format("2006-01-02 15:04 UTC")))),
	)
	shown := groups[:min(len(groups), maxDigestGroups)]
	for _, g := range shown {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(groupText(g)), nil, nil))
	}
	if rest := groups[len(shown):]; len(rest) > 0 {
		items := 0
		for _, g := range rest {
			items += len(g.events)
		}
		noun := "notifications"
		if items == 1 {
			noun = "notification"
		}
		more := fmt.Sprintf("and %d more %s in %s", items, noun, plural(len(rest), "subject", "subjects"))
		if SafeURL(moreURL) != "" {
			more = Link(moreURL, more)
		}
		blocks = append(blocks, slack.NewContextBlock("digest_more", mrkdwn(more)))
	}
	return fallback, blocks, true
}

// maxGroupLines bounds the kinds listed for one subject; the section stays
// far inside 3000 characters.
const maxGroupLines = 8

func groupText(g *digestGroup) string {
	var b strings.Builder
	b.WriteByte('*')
	if g.subject != nil {
		b.WriteString(Link(g.subject.URL, Truncate(subjectTitle(*g.subject), 200)))
	} else {
		b.WriteString(Escape(KindLabel(g.kind)))
	}
	b.WriteByte('*')
	// One line per kind, the kind with the newest item first.
	type kindLine struct {
		kind   paligo.Kind
		count  int
		actors []string
	}
	var lines []*kindLine
	for _, e := range g.events {
		var l *kindLine
		for _, have := range lines {
			if have.kind == e.Type {
				l = have
				break
			}
		}
		if l == nil {
			l = &kindLine{kind: e.Type}
			lines = append(lines, l)
		}
		l.count++
		if e.Actor != nil {
			name := cmp.Or(e.Actor.Name, e.Actor.Email)
			if name != "" && !slices.Contains(l.actors, name) {
				l.actors = append(l.actors, name)
			}
		}
	}
	for i, l := range lines {
		b.WriteByte('\n')
		if i == maxGroupLines {
			rest := 0
			for _, r := range lines[i:] {
				rest += r.count
			}
			fmt.Fprintf(&b, "and %d more", rest)
			break
		}
		noun, ok := kindNouns[l.kind]
		if !ok {
			noun = [2]string{string(l.kind), string(l.kind)}
		}
		b.WriteString("• ")
		b.WriteString(plural(l.count, noun[0], noun[1]))
		if len(l.actors) > 0 {
			b.WriteString(" from ")
			b.WriteString(actorList(l.actors))
		}
	}
	return b.String()
}

// actorList names up to two actors and counts the rest: "Bo", "Bo and Ann",
// "Bo, Ann and 3 others".
func actorList(names []string) string {
	esc := func(s string) string { return EscapedWithin(s, 80) }
	switch len(names) {
	case 1:
		return esc(names[0])
	case 2:
		return esc(names[0]) + " and " + esc(names[1])
	}
	return esc(names[0]) + ", " + esc(names[1]) + " and " + plural(len(names)-2, "other", "others")
}
