package api

import (
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// What each handler of the platform's API reads and writes of the store,
// declared where it is used (*store.Store has them all).

// Installations is how a request's workspace is resolved: the installations
// of the connected workspaces, by team and by the platform's org.
type Installations interface {
	Installation(team string) (paligo.Installation, bool, error)
	InstallationOfOrg(org string) (paligo.Installation, bool, error)
}

// IngestRecords is what POST /v1/events keeps: the events, accepted and
// fanned out in one commit.
type IngestRecords interface {
	Installations
	InviteRecords
	AcceptAndFanOut(events []paligo.Event, fan *store.FanOutSpec) (store.AcceptResult, store.FanOutResult, error)
}

// TraceRecords is what GET /v1/events/{id} reads: an event and what
// became of it.
type TraceRecords interface {
	Scope(team string) string
	TraceEvent(id string) (store.Trace, bool, error)
}

// RouteTestRecords is what a route test reads to say what an event would
// become.
type RouteTestRecords interface {
	Installations
	TestRoute(spec store.FanOutSpec, e paligo.Event, now time.Time) (paligo.RouteTest, error)
}

// InviteRecords is what an invitation's link is checked against.
type InviteRecords interface {
	Invite(id uint64) (paligo.Invite, bool, error)
}

// InviteRunRecords is what the invitation runs of the API read.
type InviteRunRecords interface {
	InviteRecords
	Scope(team string) string
	CachedUser(scope, email string) (store.SlackUser, bool, error)
	InviteRun(seq uint64) (paligo.InviteRun, bool, error)
}
