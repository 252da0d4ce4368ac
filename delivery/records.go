package delivery

import (
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// What delivery reads and writes of the store, declared where it is used
// and grouped by what uses it (*store.Store has them all).

// Records is everything the Deliverer touches.
type Records interface {
	Time() time.Time
	Scope(team string) string
	SetPrimary(team string) error
	Installation(team string) (paligo.Installation, bool, error)
	Writable() error
	// Shared: replicas share the store, and lease the lanes.
	Shared() bool
	Loads
	Ends
	Directory
	Outbox
}

// Loads are the jobs' load stages: one read each.
type Loads interface {
	ReadPersonJob(job store.Job, team, user string) (store.PersonJob, error)
	ReadChannelJob(j store.Job, channel, team string) (store.ChannelJob, error)
	ReadLivingJob(j store.Job) (store.LivingJob, error)
	ReadDigestJob(team string, j store.Job) (store.DigestJob, error)
	ReadInviteSummaryJob(j store.Job) (store.InviteSummaryJob, error)
	ReadInviteJob(j store.Job, email string) (store.InviteJob, error)
	CachedDM(scope, user string) (string, bool, error)
	Living(id uint64) (paligo.Living, error)
}

// Ends are the jobs' record stages: one write each, that ends the job.
type Ends interface {
	Finish(job store.Job, team string, r store.Receipt, learned ...store.Match) (paligo.Outcome, error)
	FinishPost(job store.Job, r store.Receipt, p store.Post) (paligo.Living, []store.Job, error)
	FinishParentUpdate(job store.Job, shown uint64, ts string) ([]store.Job, error)
	FinishDigest(team string, j store.Job, channel, ts string) error
	FinishInviteSummary(job store.Job, channel, ts string) error
	EndInvite(j store.Job, end store.InviteEnd) ([]store.Job, error)
	SettleCallback(job store.Job, result paligo.ActionResult, note string) ([]store.Job, error)
	ResolveChannelJob(j store.Job, id string) (bool, error)
	EndJob(job store.Job) error
	Fail(job store.Job, team, reason string) error
}

// Directory is what Slack said, kept so as not to ask again: the
// workspace directory read whole, channel names and sharing.
type Directory interface {
	CacheDirectory(scope string, byEmail map[string]string) error
	CacheRoles(scope string, roles map[string]paligo.Role) error
	ChannelByName(scope, name string) (string, bool, error)
	CacheChannelNames(scope string, byName map[string]string) error
	CacheChannelShared(channel string, external bool) error
}

// Outbox is the queue the lanes run: fan-out, the jobs still pending, and
// the lanes' leases between replicas.
type Outbox interface {
	FanOutWith(spec store.FanOutSpec, max int) (store.FanOutResult, error)
	PendingJobsAfter(seq uint64, max int) ([]store.Job, error)
	StillPending(seqs []uint64) (map[uint64]bool, error)
	ClaimLanes(lanes []string, ttl time.Duration) (store.LaneClaim, error)
	RenewLanes(held []string, ttl time.Duration) ([]string, error)
	ReleaseLanes(lanes []string) error
}

// DigestRecords is what the digest loop touches: who may be due, the
// digests queued, people's time zones, and the lock that lets one
// replica run it at a time.
type DigestRecords interface {
	Time() time.Time
	DigestCandidates(team string, fn func(user string, p paligo.Prefs, st paligo.DigestState) error) error
	QueueDigests(team string, reqs []store.DigestRequest) ([]store.Job, error)
	CachedTZ(scope, user string) (store.UserTZ, bool, error)
	CacheTZ(scope, user string, z store.UserTZ) error
	Replica() string
	TryLock(name string) (*store.Lock, error)
}
