package handlers

import (
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// Records is what the handlers keep and read of the store, by what they
// answer (*store.Store has them all).
type Records interface {
	// Time is the store's clock, which tests move.
	Time() time.Time
	Scope(team string) string
	PersonRecords
	ChannelRecords
	LivingRecords
	AdminRecords
	AnswerRecords
}

// PersonRecords: a person's preferences and what waits for their digest
// (the Home tab, /paligo commands).
type PersonRecords interface {
	Prefs(team, user string) (paligo.Prefs, error)
	UpdatePrefs(team, user string, fn func(*paligo.Prefs) error) (paligo.Prefs, error)
	PendingDigest(team, user string) (int, error)
}

// ChannelRecords: a channel's subscriptions and mutes, and the routes
// (/route-alerts).
type ChannelRecords interface {
	Subscribe(sub paligo.Subscription) (added bool, err error)
	Subscriptions(scope, channel string) ([]paligo.Subscription, error)
	Unsubscribe(scope, channel string, n int) (paligo.Subscription, bool, error)
	RemoveSubscription(scope, channel, digest string) (bool, error)
	Mute(m paligo.Mute) error
	Unmute(channel, subject string) (bool, error)
	Mutes(channel string) ([]paligo.Mute, error)
	Routes(scope string) (map[paligo.Kind][]string, error)
	SetRoutes(scope string, routes map[paligo.Kind][]string) error
}

// LivingRecords: the living messages a click is on, their events, and
// what the clicks did.
type LivingRecords interface {
	LivingAt(channel, ts string) (paligo.Living, bool, error)
	Event(id string) (paligo.Event, bool, error)
	EventBySeq(seq uint64) (paligo.Event, error)
	Acknowledge(c store.Click) (paligo.Living, []store.Job, error)
	LogAction(c store.Click) (paligo.Living, []store.Job, error)
	QueueCallback(cb *paligo.ActionCallback) (store.Job, error)
}

// AdminRecords: who is an admin, what failed and who is unmatched,
// invitations, and disconnecting a workspace (the admin's Home tab,
// /paligo-invite).
type AdminRecords interface {
	CachedRole(scope, user string) (paligo.Role, bool, error)
	CacheRoles(scope string, roles map[string]paligo.Role) error
	CacheUser(scope, email, user string) error
	FailedFirst(scope string, n int) ([]store.FailedJob, int, error)
	RetryFailed(scope string, seq uint64) ([]store.Job, error)
	Unmatched(scope string) ([]paligo.UnmatchedEmail, error)
	QueueInvites(run paligo.InviteRun) (paligo.InviteRun, []store.Job, error)
	RecentInvites(team string, n int) ([]paligo.Invite, error)
	Disconnect(team, reason string) (paligo.Installation, bool, error)
}
