package paligo

import (
	"slices"
	"strings"
	"time"
)

// Records is what routing reads of the records kept, in the workspace of
// the event routed.
type Records interface {
	// Inviter is the Slack id of who sent the invitation e accepts, ""
	// when no such invitation of this workspace is known.
	Inviter(e *Event) string
	// Followers are the Slack ids of the people following a subject (by
	// Subject.Key).
	Followers(subject string) []string
}

// Target is one of those an event reaches: a channel, a person by email
// or a person by Slack id (exactly one is set).
type Target struct {
	Channel string
	Email   string
	User    string
}

// Route lists who gets e: the channels it reaches (Reached), its
// recipients, the inviter of an accepted invitation, and the followers of
// its subject (a comment.reply reaches the followers only when it has no
// recipients). Emails are compared case-insensitively and each person is
// listed once; a person reached both by email and as a follower is told
// once when the notifications are sent (their email is matched then).
func Route[R Records](e *Event, channels []string, r R) []Target {
	out := make([]Target, 0, len(channels)+len(e.Recipients))
	for _, ch := range channels {
		out = append(out, Target{Channel: ch})
	}
	inviter := e.Type == "invite.accepted"
	followers := e.Subject != nil && !(e.Type == "comment.reply" && len(e.Recipients) > 0)
	if len(e.Recipients) == 0 && !inviter && !followers {
		return out
	}
	seen := make(map[string]bool, len(e.Recipients))
	for _, email := range e.Recipients {
		email = strings.ToLower(email)
		if !seen[email] {
			seen[email] = true
			out = append(out, Target{Email: email})
		}
	}
	if inviter {
		if u := r.Inviter(e); u != "" && !seen[u] {
			seen[u] = true
			out = append(out, Target{User: u})
		}
	}
	if followers {
		for _, u := range r.Followers(e.Subject.Key()) {
			if !seen[u] {
				seen[u] = true
				out = append(out, Target{User: u})
			}
		}
	}
	return out
}

// RouteTest is what an event would become, were it accepted now: which
// channels it reaches and by which subscriptions, which channels mute it,
// and what each person would get.
type RouteTest struct {
	Channels []ChannelTest `json:"channels"`
	People   []PersonTest  `json:"people"`
}

// ChannelTest is one channel an event would reach or that mutes it.
type ChannelTest struct {
	Channel string `json:"channel"`
	// By lists the subscriptions that take the event, as typed, and
	// "named by the event" when its channels name this one.
	By []string `json:"by"`
	// Muted, when set, is the mute that keeps the event out (the channel
	// is not reached).
	Muted *Mute `json:"muted,omitempty"`
}

// PersonTest is what one person (a recipient or a follower) would get:
// now (a DM at once), digest, skipped_off, skipped_category,
// skipped_actor, unmatched (no Slack user has the email) or unknown (the
// email was never looked up and the directory is not read yet: delivery
// would ask Slack).
type PersonTest struct {
	User    string `json:"user,omitempty"`
	Email   string `json:"email,omitempty"`
	Outcome string `json:"outcome"`
}

// People is what explaining a route reads of the workspace's people.
type People interface {
	Records
	// Person is the Slack id with this email: found says whether the
	// email was ever looked up ("" found: no one has it).
	Person(email string) (user string, found bool)
	// Prefs are a person's preferences.
	Prefs(user string) Prefs
	// DirectoryRead says whether the whole directory was read, so that
	// an email never looked up is no one's.
	DirectoryRead() bool
}

// Explain says what e would become at now, with these subscriptions and
// mutes of its workspace and the channels it names (their ids): the
// channels as Reached finds them, each with the subscriptions that take
// the event there or as named by the event, and a channel a mute keeps
// out with the mute; then each person Route lists, with what Decide would
// do for them.
func Explain(e *Event, subs []Subscription, mutes []Mute, named []string, p People, now time.Time) RouteTest {
	t := RouteTest{Channels: []ChannelTest{}, People: []PersonTest{}}
	reached := Reached(e, subs, mutes, named, now)
	index := map[string]int{}
	note := func(ch, by string) {
		i, ok := index[ch]
		if !ok {
			i = len(t.Channels)
			index[ch] = i
			t.Channels = append(t.Channels, ChannelTest{Channel: ch, By: []string{}})
			if !slices.Contains(reached, ch) {
				t.Channels[i].Muted = MutedBy(e, ch, mutes, now)
			}
		}
		t.Channels[i].By = append(t.Channels[i].By, by)
	}
	for _, sub := range subs {
		if sub.Matches(e) {
			note(sub.Channel, sub.String())
		}
	}
	for _, ch := range named {
		note(ch, "named by the event")
	}
	var actor string
	if e.Actor != nil && e.Actor.Email != "" {
		actor, _ = p.Person(e.Actor.Email)
	}
	for _, to := range Route(e, nil, p) {
		pt := PersonTest{User: to.User, Email: to.Email}
		if pt.User == "" {
			user, found := p.Person(to.Email)
			switch {
			case !found && !p.DirectoryRead():
				pt.Outcome = "unknown"
			case user == "":
				pt.Outcome = string(Unmatched)
			}
			pt.User = user
		}
		if pt.Outcome == "" {
			switch o := Decide(p.Prefs(pt.User), e.Type, now); {
			case actor != "" && actor == pt.User:
				pt.Outcome = string(SkippedActor)
			case o == Sent:
				pt.Outcome = "now"
			default:
				pt.Outcome = string(o)
			}
		}
		t.People = append(t.People, pt)
	}
	return t
}
