package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Delivery works in two durable steps. FanOutWith turns each accepted event,
// in arrival order, into jobs in the outbox: one per routed channel and one
// per person concerned. A delivery worker then takes a job, talks to Slack
// and calls Finish (which writes a receipt and removes the job in one
// transaction) or Fail (which moves it to the failed list with the reason).
// A crash between Slack's answer and Finish sends that job again on restart:
// at least once, never lost.

// JobKind says what a job delivers.
type JobKind string

const (
	JobChannel JobKind = "channel" // post the event to a routed channel
	JobPerson  JobKind = "person"  // notify one person (by email or user id)
	// JobInvite invites User (a run's entry); JobInviteSummary tells the
	// inviter (User) how the run went.
	JobInvite        JobKind = "invite"
	JobInviteSummary JobKind = "invite_summary"
	// JobParent brings a living message's parent up to date (chat.update);
	// JobNote replies in its thread with what a click did; JobCallback
	// tells the platform of a click (PALIGO_SLACK_ACTIONS_URL).
	JobParent   JobKind = "parent"
	JobNote     JobKind = "note"
	JobCallback JobKind = "callback"
)

// Job is one delivery waiting in the outbox.
type Job struct {
	Seq uint64 `json:"seq"` // outbox key, in creation order
	// Team is the workspace it is sent in: "" for the primary workspace
	// (SLACK_BOT_TOKEN's, as every job was before workspaces were
	// connected), else a connected workspace's team id. This is a scope
	// (Scope) throughout the store.
	Team    string  `json:"team,omitempty"`
	Event   uint64  `json:"event"` // the event's Seq
	Kind    JobKind `json:"kind"`
	Channel string  `json:"channel,omitempty"` // JobChannel: where to post
	// Named: a JobChannel only the event's own channels reach, no
	// subscription (a channel shared with other organizations refuses it
	// without an external=allow subscription there).
	Named bool   `json:"named,omitempty"`
	Email string `json:"email,omitempty"` // JobPerson: a recipient by email
	User  string `json:"user,omitempty"`  // JobPerson: a follower by Slack id; JobDigest: who
	// JobDigest: the events it sends, the window it is for and why.
	Items  []uint64  `json:"items,omitempty"`
	Window time.Time `json:"window,omitzero"`
	Reason string    `json:"reason,omitempty"`
	// JobInvite, JobInviteSummary: the invite run.
	Run uint64 `json:"run,omitempty"`
	// JobParent, JobNote, JobCallback: the living message; Note is the
	// thread reply of a JobNote; Callback what a JobCallback sends.
	Living   uint64                 `json:"living,omitempty"`
	Note     string                 `json:"note,omitempty"`
	Callback *paligo.ActionCallback `json:"callback,omitempty"`
	// TS is, for a JobCallback of a reply, the reply's ts (marked once
	// the platform took it).
	TS string `json:"ts,omitempty"`
	// Urgent goes ahead of its lane's waiting jobs (a click's update: the
	// person who clicked waits to see it). Not stored.
	Urgent bool `json:"-"`
}

// Receipt records how one event reached one target.
type Receipt struct {
	Outcome paligo.Outcome `json:"outcome"`
	User    string         `json:"user,omitempty"`
	Channel string         `json:"channel,omitempty"`
	TS      string         `json:"ts,omitempty"`
	// Thread is the parent's ts when the post is a reply in its thread.
	Thread string    `json:"thread,omitempty"`
	At     time.Time `json:"at"`
}

// FailedJob is a job Slack refused for a reason retrying cannot fix.
type FailedJob struct {
	Job    Job       `json:"job"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// DigestItem is one event waiting for a user's digest.
type DigestItem struct {
	Event    uint64    `json:"event"`
	QueuedAt time.Time `json:"queued_at"`
}

var keyFanoutCursor = []byte("fanout_cursor")

// Routes returns the channels each routable kind is sent to by a plain
// subscription (a route of the /route-alerts modal: one kind, no filters)
// in the workspace of scope.
func (s ruleRecords) Routes(scope string) (map[paligo.Kind][]string, error) {
	subs, err := s.Subscriptions(scope, "")
	if err != nil {
		return nil, err
	}
	return paligo.RoutesOf(subs), nil
}

// readRoutes reads the routes bucket of the schema before v6 (the
// migration to subscriptions empties it).
func readRoutes(tx kvTx) (map[paligo.Kind][]string, error) {
	out := map[paligo.Kind][]string{}
	err := eachJSON(tx.Bucket(bucketRoutes), func(k []byte, chs []string) error {
		out[paligo.Kind(k)] = chs
		return nil
	})
	return out, err
}

// eachJSON calls fn with each key of b and its value decoded as T, in key
// order.
func eachJSON[T any](b kvBucket, fn func(k []byte, v T) error) error {
	return b.ForEach(func(k, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
		return fn(k, v)
	})
}

// listJSON decodes every value of b as T, in key order.
func listJSON[T any](b kvBucket) ([]T, error) {
	var out []T
	err := eachJSON(b, func(_ []byte, v T) error { out = append(out, v); return nil })
	return out, err
}

// SetRoutes replaces every route of the workspace of scope with routes:
// its plain subscriptions are replaced, the filtered ones stay. Kinds that
// are not routable are refused and nothing changes.
func (s ruleRecords) SetRoutes(scope string, routes map[paligo.Kind][]string) error {
	for k := range routes {
		if !paligo.Kinds[k].Routable {
			return fmt.Errorf("%q cannot be routed to channels", k)
		}
	}
	return s.changeRules(func(tx kvTx) error {
		b := tx.Bucket(bucketSubscriptions)
		var doomed [][]byte
		err := eachJSON(b, func(k []byte, sub paligo.Subscription) error {
			if sub.Plain() && sub.Team == scope {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(routes)) {
			for _, ch := range slices.Compact(slices.Sorted(slices.Values(routes[k]))) {
				if err := putSubscription(b, paligo.Subscription{Team: scope, Channel: ch, Kinds: []paligo.Kind{k}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Followers returns the users of team who follow the subject with key k.
func (s ruleRecords) Followers(team, k string) ([]string, error) {
	var out []string
	err := s.db.view(func(tx kvTx) error {
		out = followersOf(tx, team, k)
		return nil
	})
	return out, err
}

func followersOf(tx kvTx, team, k string) []string {
	var out []string
	prefix := followerKey(k, team+"/")
	tx.Bucket(bucketFollowers).ScanPrefix(prefix, func(key, _ []byte) error {
		out = append(out, string(key[len(prefix):]))
		return nil
	})
	return out
}

// FanOutResult is what one fan-out did.
type FanOutResult struct {
	Jobs      []Job // new jobs in the outbox
	Unmatched int   // recipients ended unmatched without a job
	Events    int   // events fanned out; max means more may be waiting
}

// FanOutWith turns up to max accepted events that have not been fanned out
// yet into outbox jobs, in arrival order, for the workspace spec says (whose
// followers are looked up); with spec.DirectoryRead, a recipient email the
// workspace's directory does not match ends unmatched right here rather
// than as a job. The jobs and the cursor are written in one transaction,
// so each event is fanned out exactly once.
func (s outboxRecords) FanOutWith(spec FanOutSpec, max int) (FanOutResult, error) {
	now := s.Now().UTC()
	var r FanOutResult
	err := s.update(func(tx kvTx) error {
		r = FanOutResult{}
		meta := tx.Bucket(bucketMeta)
		var cursor uint64
		if v := meta.Get(keyFanoutCursor); v != nil {
			cursor = binary.BigEndian.Uint64(v)
		}
		rules, err := s.rulesOf(tx)
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(cursor + 1)); k != nil && r.Events < max; k, v = c.Next() {
			e, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			if err := fanOutEvent(tx, spec, &e, rules, now, &r); err != nil {
				return err
			}
			cursor = e.Seq
		}
		return meta.Put(keyFanoutCursor, u64(cursor))
	})
	if err != nil {
		return FanOutResult{}, fmt.Errorf("fan out events: %w", err)
	}
	return r, nil
}

// FanOutSpec is what fanning an event out needs to know beyond the store:
// the primary workspace (an event that names no workspace is its), and
// whether a workspace's directory has been read whole (then an email it
// does not match ends unmatched at once).
type FanOutSpec struct {
	// Team is the primary workspace's team id (SLACK_BOT_TOKEN's; "" when
	// there is none).
	Team string
	// DirectoryRead says it of the primary workspace, Read (when set) of
	// any.
	DirectoryRead bool
	Read          func(team string) bool
}

// teamOf is the team id of the workspace event e is for.
func (spec FanOutSpec) teamOf(e *paligo.Event) string {
	if e.Team != "" {
		return e.Team
	}
	return spec.Team
}

// scopeOf is the scope of e's workspace: "" for the primary, else its team.
func (spec FanOutSpec) scopeOf(e *paligo.Event) string {
	if t := spec.teamOf(e); t != spec.Team {
		return t
	}
	return ""
}

func (spec FanOutSpec) directoryRead(team string) bool {
	if spec.Read != nil {
		return spec.Read(team)
	}
	return team == spec.Team && spec.DirectoryRead
}

// fanOutEvent writes event e's jobs (and, with the directory read, the
// unmatched receipts of its strangers) and counts them in r; the caller
// advances the cursor.
func fanOutEvent(tx kvTx, spec FanOutSpec, e *paligo.Event, rules fanOutRules, now time.Time, r *FanOutResult, pre ...[]string) error {
	out, cache := tx.Bucket(bucketOutbox), tx.Bucket(bucketSlackCache)
	// The channels its subscriptions reach (matched by the caller, when it
	// could, outside the writer), then the ones it names.
	team, scope := spec.teamOf(e), spec.scopeOf(e)
	var subscribed []string
	if len(pre) > 0 {
		subscribed = pre[0]
	} else {
		subscribed = rules.reached(e, scope, nil, now)
	}
	channels := subscribed
	if len(e.Channels) > 0 {
		channels = rules.addNamed(e, slices.Clone(subscribed), namedChannels(cache, scope, e.Channels), now)
	}
	read := spec.directoryRead(team)
	for _, j := range jobsFor(tx, team, e, channels) {
		j.Team = scope
		if j.Kind == JobChannel && len(e.Channels) > 0 && !slices.Contains(subscribed, j.Channel) {
			j.Named = true
		}
		if read && j.Kind == JobPerson && j.User == "" {
			m, _, err := getTxJSON[SlackUser](cache, emailKey(scope, j.Email))
			if err != nil {
				return err
			}
			if m.User == "" {
				if err := noteUnmatched(tx, j, e.ID, now); err != nil {
					return err
				}
				if err := putJSON(tx.Bucket(bucketReceipts), receiptKey(j.Event, emailTarget(scope, j.Email)), Receipt{Outcome: paligo.Unmatched, At: now}); err != nil {
					return err
				}
				r.Unmatched++
				continue
			}
		}
		seq, err := out.NextSequence()
		if err != nil {
			return err
		}
		j.Seq = seq
		if err := putJSON(out, u64(seq), j); err != nil {
			return err
		}
		r.Jobs = append(r.Jobs, j)
	}
	r.Events++
	return nil
}

// jobsFor turns paligo.Route's targets for e into jobs, reading the
// records it asks for in tx, of the workspace team.
func jobsFor(tx kvTx, team string, e *paligo.Event, channels []string) []Job {
	targets := paligo.Route(e, channels, routeRecords{tx: tx, team: team})
	jobs := make([]Job, 0, len(targets))
	for _, t := range targets {
		switch {
		case t.Channel != "":
			jobs = append(jobs, Job{Event: e.Seq, Kind: JobChannel, Channel: t.Channel})
		case t.Email != "":
			jobs = append(jobs, Job{Event: e.Seq, Kind: JobPerson, Email: t.Email})
		default:
			jobs = append(jobs, Job{Event: e.Seq, Kind: JobPerson, User: t.User})
		}
	}
	return jobs
}

// routeRecords are the records paligo.Route reads, in one transaction.
type routeRecords struct {
	tx   kvTx
	team string
}

func (r routeRecords) Inviter(e *paligo.Event) string {
	u, _ := inviterJob(r.tx, r.team, *e)
	return u
}

func (r routeRecords) Followers(subject string) []string { return followersOf(r.tx, r.team, subject) }

// EventBySeq returns the event with store sequence seq.
func (s eventRecords) EventBySeq(seq uint64) (paligo.Event, error) {
	var e paligo.Event
	err := s.db.view(func(tx kvTx) (err error) {
		v := tx.Bucket(bucketEvents).Get(u64(seq))
		if v == nil {
			return fmt.Errorf("event %d not found", seq)
		}
		e, err = decodeEvent(u64(seq), v)
		return err
	})
	return e, err
}

// PendingJobs returns every job in the outbox, oldest first.
func (s outboxRecords) PendingJobs() ([]Job, error) {
	var jobs []Job
	err := s.db.view(func(tx kvTx) (err error) {
		jobs, err = listJSON[Job](tx.Bucket(bucketOutbox))
		return err
	})
	return jobs, err
}

func receiptKey(event uint64, target string) []byte {
	return append(u64(event), target...)
}

// Receipt returns how event reached target (a channel id or a user id).
func (s outboxRecords) Receipt(event uint64, target string) (Receipt, bool, error) {
	return getJSON[Receipt](s.Store, bucketReceipts, receiptKey(event, target))
}

// Receipts returns every receipt of event, by target.
func (s outboxRecords) Receipts(event uint64) (map[string]Receipt, error) {
	out := map[string]Receipt{}
	err := s.db.view(func(tx kvTx) error {
		prefix := u64(event)
		c := tx.Bucket(bucketReceipts).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r Receipt
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out[string(k[8:])] = r
		}
		return nil
	})
	return out, err
}

// ErrJobGone means the job is no longer in the outbox.
var ErrJobGone = errors.New("job is no longer in the outbox")

// takeJob removes the job seq from the outbox, or says ErrJobGone when it
// is not there (a worker that got there first finished or failed it).
func takeJob(tx kvTx, seq uint64) error {
	out := tx.Bucket(bucketOutbox)
	if out.Get(u64(seq)) == nil {
		return ErrJobGone
	}
	return out.Delete(u64(seq))
}

// Finish ends a job with receipt r, durably, in one transaction:
//   - the receipt is stored under the job's target (the channel, or the
//     person's "team/user"; for Unmatched, the email);
//   - Digested also queues the event for the person's digest;
//   - Unmatched also lists the email for admins;
//   - what lookups learned for the job (learned) is remembered, as
//     CacheUser would, and a person's DM channel once one was sent.
//
// If the person already has a receipt for this event (reached both by email
// and as a follower) the first one stands and Finish reports AlreadyHandled.
func (s outboxRecords) Finish(job Job, team string, r Receipt, learned ...Match) (paligo.Outcome, error) {
	r.At = s.Now().UTC()
	outcome := r.Outcome
	err := s.batch(func(tx kvTx) error {
		outcome = r.Outcome
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		for _, m := range learned {
			if err := rememberUser(tx, job.Team, m, r.At); err != nil {
				return err
			}
		}
		target := job.Channel
		switch {
		case job.Kind == JobChannel:
		case r.Outcome == paligo.Unmatched:
			target = emailTarget(job.Team, job.Email)
			if err := noteUnmatched(tx, job, "", r.At); err != nil {
				return err
			}
		default:
			target = team + "/" + r.User
		}
		if job.Kind == JobPerson && r.Outcome == paligo.Sent && r.Channel != "" {
			if err := rememberDM(tx, job.Team, r.User, r.Channel); err != nil {
				return err
			}
		}
		rb := tx.Bucket(bucketReceipts)
		if job.Kind == JobPerson && r.Outcome != paligo.Unmatched && rb.Get(receiptKey(job.Event, target)) != nil {
			outcome = paligo.AlreadyHandled
			return nil
		}
		if r.Outcome == paligo.Digested {
			if err := queueDigestItem(tx, team, r.User, job.Event, r.At); err != nil {
				return err
			}
		}
		return putJSON(rb, receiptKey(job.Event, target), r)
	})
	return outcome, err
}

// noteUnmatched counts job's email on the unmatched list; eventID is the
// id of the job's event ("" to read it from the store).
func noteUnmatched(tx kvTx, job Job, eventID string, at time.Time) error {
	b := tx.Bucket(bucketUnmatched)
	var u paligo.UnmatchedEmail
	key := Scoped(job.Team, job.Email)
	if v := b.Get(key); v != nil {
		json.Unmarshal(v, &u)
	}
	u.Email, u.Count, u.LastAt = job.Email, u.Count+1, at
	if eventID == "" {
		if ev := tx.Bucket(bucketEvents).Get(u64(job.Event)); ev != nil {
			var e struct {
				ID string `json:"id"`
			}
			json.Unmarshal(ev, &e)
			eventID = e.ID
		}
	}
	u.LastEvent = eventID
	return putJSON(b, key, u)
}

// emailTarget is the receipt target of an email no one in the workspace
// of scope has.
func emailTarget(scope, email string) string {
	if scope != "" {
		return "email:" + scope + "/" + email
	}
	return "email:" + email
}

// Unmatched lists the recipient emails no Slack user of the workspace of
// scope has, most recent first.
func (s outboxRecords) Unmatched(scope string) ([]paligo.UnmatchedEmail, error) {
	var out []paligo.UnmatchedEmail
	err := s.db.view(func(tx kvTx) error {
		return eachJSON(tx.Bucket(bucketUnmatched), func(k []byte, u paligo.UnmatchedEmail) error {
			if inScope(k, scope) {
				out = append(out, u)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b paligo.UnmatchedEmail) int { return b.LastAt.Compare(a.LastAt) })
	return out, err
}

// Fail moves a job to the failed list with the reason.
func (s outboxRecords) Fail(job Job, team, reason string) error {
	return s.batch(func(tx kvTx) error {
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		if job.Kind == JobDigest {
			if err := releaseDigestJob(tx, team, job.User, job.Seq); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketFailed), u64(job.Seq), FailedJob{Job: job, Reason: reason, At: s.Now().UTC()})
	})
}

// Failed lists the failed jobs of every workspace, oldest first.
func (s outboxRecords) Failed() ([]FailedJob, error) {
	out, _, err := s.FailedFirst(AllScopes, -1)
	return out, err
}

// AllScopes, given as a scope to FailedFirst, takes every workspace's.
const AllScopes = "\x00all"

// FailedFirst returns the n oldest failed jobs of the workspace of scope
// (all when n < 0) and how many it has in all. Beyond the first n, a job
// is read for its workspace alone (every workspace's: not read at all).
func (s outboxRecords) FailedFirst(scope string, n int) ([]FailedJob, int, error) {
	var out []FailedJob
	total := 0
	err := s.db.view(func(tx kvTx) error {
		b := tx.Bucket(bucketFailed)
		if scope == AllScopes {
			total = b.KeyN()
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			full := n < 0 || len(out) < n
			if scope == AllScopes && !full {
				break
			}
			if scope != AllScopes && !full {
				var f struct {
					Job struct {
						Team string `json:"team"`
					} `json:"job"`
				}
				if err := json.Unmarshal(v, &f); err != nil {
					return fmt.Errorf("decode failed job %d: %w", binary.BigEndian.Uint64(k), err)
				}
				if f.Job.Team == scope {
					total++
				}
				continue
			}
			var f FailedJob
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode failed job %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if scope != AllScopes && f.Job.Team != scope {
				continue
			}
			out = append(out, f)
			if scope != AllScopes {
				total++
			}
		}
		return nil
	})
	return out, total, err
}

// RetryFailed moves failed jobs of the workspace of scope back to the
// outbox: the one with outbox sequence seq, or all of them when seq is 0.
// It returns the jobs moved.
func (s outboxRecords) RetryFailed(scope string, seq uint64) ([]Job, error) {
	var jobs []Job
	err := s.update(func(tx kvTx) error {
		jobs = nil
		fb, out := tx.Bucket(bucketFailed), tx.Bucket(bucketOutbox)
		var keys [][]byte
		if seq != 0 {
			if fb.Get(u64(seq)) != nil {
				keys = append(keys, u64(seq))
			}
		} else {
			fb.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
		}
		for _, k := range keys {
			var f FailedJob
			if err := json.Unmarshal(fb.Get(k), &f); err != nil {
				return err
			}
			if scope != AllScopes && f.Job.Team != scope {
				continue // another workspace's
			}
			if err := putJSON(out, k, f.Job); err != nil {
				return err
			}
			if err := fb.Delete(k); err != nil {
				return err
			}
			jobs = append(jobs, f.Job)
		}
		return nil
	})
	return jobs, err
}

func digestPrefix(team, user string) []byte { return []byte(team + "/" + user + "\x00") }

// SlackUser is what the bot remembers of a users.lookupByEmail answer.
type SlackUser struct {
	User      string    `json:"user"` // "" when no Slack user has the email
	CheckedAt time.Time `json:"checked_at"`
}

// CachedUser returns what users.lookupByEmail last said of email in the
// workspace of scope.
func (s directoryRecords) CachedUser(scope, email string) (SlackUser, bool, error) {
	return getJSON[SlackUser](s.Store, bucketSlackCache, emailKey(scope, email))
}

// CacheUser remembers that email belongs to user ("" for no one) in the
// workspace of scope. A match takes the email off its unmatched list.
func (s directoryRecords) CacheUser(scope, email, user string) error {
	return s.CacheDirectory(scope, map[string]string{email: user})
}

// CacheDirectory remembers a page of the workspace directory: each email's
// user ("" for someone deactivated or a bot), in one transaction. A match
// takes the email off the unmatched list.
func (s directoryRecords) CacheDirectory(scope string, byEmail map[string]string) error {
	now := s.Now().UTC()
	return s.batch(func(tx kvTx) error {
		for email, user := range byEmail {
			if err := rememberUser(tx, scope, Match{Email: email, User: user}, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Match is what a lookup by email learned: the Slack user who has it (""
// for no one, a bot or someone deactivated).
type Match struct {
	Email string
	User  string
}

// rememberUser is CacheUser in tx, at now: a match takes the email off
// the unmatched list.
func rememberUser(tx kvTx, scope string, m Match, now time.Time) error {
	if m.User != "" {
		if err := tx.Bucket(bucketUnmatched).Delete(Scoped(scope, strings.ToLower(m.Email))); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketSlackCache), emailKey(scope, m.Email), SlackUser{User: m.User, CheckedAt: now})
}

// CacheRoles remembers the roles of a page of the directory, by user id.
func (s directoryRecords) CacheRoles(scope string, roles map[string]paligo.Role) error {
	now := s.Now().UTC()
	return s.batch(func(tx kvTx) error {
		b := tx.Bucket(bucketSlackCache)
		for user, r := range roles {
			r.At = now
			if err := putJSON(b, Scoped(scope, "role:"+user), r); err != nil {
				return err
			}
		}
		return nil
	})
}

// CachedRole returns what the directory of the workspace of scope last
// said of user.
func (s directoryRecords) CachedRole(scope, user string) (paligo.Role, bool, error) {
	return getJSON[paligo.Role](s.Store, bucketSlackCache, Scoped(scope, "role:"+user))
}

// CachedDM returns the DM channel opened with user, if known.
func (s directoryRecords) CachedDM(scope, user string) (string, bool, error) {
	return getJSON[string](s.Store, bucketSlackCache, Scoped(scope, "dm:"+user))
}

// CacheDM remembers the DM channel opened with user.
func (s directoryRecords) CacheDM(scope, user, channel string) error {
	return s.batch(func(tx kvTx) error { return rememberDM(tx, scope, user, channel) })
}

// rememberDM is CacheDM in tx: the write that records a DM sent remembers
// the channel it went to.
func rememberDM(tx kvTx, scope, user, channel string) error {
	b, k := tx.Bucket(bucketSlackCache), Scoped(scope, "dm:"+user)
	if v := b.Get(k); v != nil {
		var known string
		if json.Unmarshal(v, &known) == nil && known == channel {
			return nil // known already: the page is not written again
		}
	}
	return putJSON(b, k, channel)
}

// getJSON reads the value at key in bucket, decoded as T; found is false
// when there is none.
func getJSON[T any](s *Store, bucket, key []byte) (v T, found bool, err error) {
	err = s.db.view(func(tx kvTx) (err error) {
		v, found, err = getTxJSON[T](tx.Bucket(bucket), key)
		return err
	})
	return v, found, err
}

func putJSON(b kvBucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// Backlog counts what is not delivered yet: accepted events not fanned out,
// and jobs in the outbox. Zero means every accepted event has ended
// delivered, digested, skipped, unmatched or failed.
func (s outboxRecords) Backlog() (events, jobs int, err error) {
	err = s.db.view(func(tx kvTx) error {
		var cursor uint64
		if v := tx.Bucket(bucketMeta).Get(keyFanoutCursor); v != nil {
			cursor = binary.BigEndian.Uint64(v)
		}
		c := tx.Bucket(bucketEvents).Cursor()
		for k, _ := c.Seek(u64(cursor + 1)); k != nil; k, _ = c.Next() {
			events++
		}
		jobs = tx.Bucket(bucketOutbox).KeyN()
		return nil
	})
	return events, jobs, err
}
