package store

import (
	"slices"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// TestRoute says, without storing or sending anything, what e would
// become in spec's workspace at now: paligo.Explain, with the workspace's
// subscriptions, mutes and people read in one transaction.
func (s ruleRecords) TestRoute(spec FanOutSpec, e paligo.Event, now time.Time) (paligo.RouteTest, error) {
	team, scope := spec.teamOf(&e), spec.scopeOf(&e)
	var t paligo.RouteTest
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
		cache := tx.Bucket(bucketSlackCache)
		p := &peopleRecords{routeRecords: routeRecords{tx: tx, team: team}, cache: cache, scope: scope, read: spec.directoryRead(team)}
		t = paligo.Explain(&e, subs, mutes, namedChannels(cache, scope, e.Channels), p, now)
		return p.err
	})
	return t, err
}

// peopleRecords are the records paligo.Explain reads of a workspace's
// people, in one transaction; err is the first read that failed.
type peopleRecords struct {
	routeRecords
	cache kvBucket
	scope string
	read  bool
	err   error
}

func (p *peopleRecords) Person(email string) (string, bool) {
	m, found, err := getTxJSON[SlackUser](p.cache, emailKey(p.scope, email))
	if err != nil && p.err == nil {
		p.err = err
	}
	return m.User, found
}

func (p *peopleRecords) Prefs(user string) paligo.Prefs {
	prefs, err := getPrefs(p.tx, p.team, user)
	if err != nil && p.err == nil {
		p.err = err
	}
	return prefs
}

func (p *peopleRecords) DirectoryRead() bool { return p.read }
