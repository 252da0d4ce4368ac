package store

import (
	"slices"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

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
	Muted *paligo.Mute `json:"muted,omitempty"`
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

// TestRoute says, without storing or sending anything, what e would
// become in spec's workspace at now.
func (s ruleRecords) TestRoute(spec FanOutSpec, e paligo.Event, now time.Time) (RouteTest, error) {
	team, scope := spec.teamOf(&e), spec.scopeOf(&e)
	t := RouteTest{Channels: []ChannelTest{}, People: []PersonTest{}}
	err := s.db.view(func(tx kvTx) error {
		all, err := listJSON[paligo.Subscription](tx.Bucket(bucketSubscriptions))
		if err != nil {
			return err
		}
		subs := slices.DeleteFunc(all, func(sub paligo.Subscription) bool { return sub.Team != scope })
		mutes, err := listJSON[paligo.Mute](tx.Bucket(bucketMutes))
		if err != nil {
			return err
		}
		// The channels it reaches are paligo.Reached's, as in the
		// fan-out; each is told with the subscriptions that take the event
		// there, or as named by the event; a channel its subscriptions or
		// its name would reach but a mute keeps out is told with the mute.
		cache := tx.Bucket(bucketSlackCache)
		named := namedChannels(cache, scope, e.Channels)
		reached := paligo.Reached(&e, subs, mutes, named, now)
		index := map[string]int{}
		note := func(ch, by string) {
			i, ok := index[ch]
			if !ok {
				i = len(t.Channels)
				index[ch] = i
				t.Channels = append(t.Channels, ChannelTest{Channel: ch, By: []string{}})
				if !slices.Contains(reached, ch) {
					t.Channels[i].Muted = paligo.MutedBy(&e, ch, mutes, now)
				}
			}
			t.Channels[i].By = append(t.Channels[i].By, by)
		}
		for _, sub := range subs {
			if sub.Matches(&e) {
				note(sub.Channel, sub.String())
			}
		}
		for _, ch := range named {
			note(ch, "named by the event")
		}
		var actor string
		if e.Actor != nil && e.Actor.Email != "" {
			m, _, err := getTxJSON[SlackUser](cache, emailKey(scope, e.Actor.Email))
			if err != nil {
				return err
			}
			actor = m.User
		}
		for _, j := range jobsFor(tx, team, e, nil) {
			p := PersonTest{User: j.User, Email: j.Email}
			if p.User == "" {
				m, found, err := getTxJSON[SlackUser](cache, emailKey(scope, j.Email))
				if err != nil {
					return err
				}
				switch {
				case !found && !spec.directoryRead(team):
					p.Outcome = "unknown"
				case !found:
					p.Outcome = string(paligo.Unmatched)
				case m.User == "":
					p.Outcome = string(paligo.Unmatched)
				}
				p.User = m.User
			}
			if p.Outcome == "" {
				prefs, err := getPrefs(tx, team, p.User)
				if err != nil {
					return err
				}
				switch o := paligo.Decide(prefs, e.Type, now); {
				case actor != "" && actor == p.User:
					p.Outcome = string(paligo.SkippedActor)
				case o == paligo.Sent:
					p.Outcome = "now"
				default:
					p.Outcome = string(o)
				}
			}
			t.People = append(t.People, p)
		}
		return nil
	})
	return t, err
}
