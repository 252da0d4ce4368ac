package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Invitations. /paligo-invite writes an InviteRun (who asked, the note, one
// entry per person) and one JobInvite per person into the outbox. Delivery
// reads the person from Slack (users.info) and either skips them with a
// reason or opens an Invite record and DMs them the link; each entry ends
// sent, skipped or failed in the same transaction that removes its job.
// When the last entry ends, a JobInviteSummary is written that DMs the
// inviter what happened. An invite.accepted event marks the Invite accepted
// (AcceptEvents) and tells the inviter (FanOut).

// Invite statuses. Expired is not stored: a sending or pending invite past
// its Expires is expired.
const (
	InviteSending  = "sending"  // recorded; Slack has not confirmed the DM yet
	InvitePending  = "pending"  // the DM is out; waiting for the person
	InviteAccepted = "accepted" // the platform said invite.accepted
	InviteFailed   = "failed"   // the DM could not be sent (Reason)
	InviteExpired  = "expired"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// Invite is one invitation of one person.
type Invite struct {
	ID           uint64    `json:"id"`
	Team         string    `json:"team"`
	Email        string    `json:"email"`
	User         string    `json:"user"`
	Inviter      string    `json:"inviter"`
	InviterEmail string    `json:"inviter_email,omitempty"`
	InviterName  string    `json:"inviter_name,omitempty"`
	Note         string    `json:"note,omitempty"`
	Run          uint64    `json:"run"`
	Created      time.Time `json:"created"`
	Expires      time.Time `json:"expires"`
	Status       string    `json:"status"`
	Channel      string    `json:"channel,omitempty"` // the DM, once Slack said ok
	TS           string    `json:"ts,omitempty"`
	Reason       string    `json:"reason,omitempty"` // why it failed
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	// AcceptEvent is the invite.accepted event that accepted it: the one
	// that tells the inviter.
	AcceptEvent uint64 `json:"accept_event,omitempty"`
}

// State is the invite's status at now: Status, or expired.
func (i Invite) State(now time.Time) string {
	if (i.Status == InviteSending || i.Status == InvitePending) && !now.Before(i.Expires) {
		return InviteExpired
	}
	return i.Status
}

// Results of an invite run's entries.
const (
	InviteSent    = "sent"
	InviteSkipped = "skipped"
	// InviteFailed ("failed") is shared with the Invite status.
)

// InviteEntry is one person of an invite run and how it ended.
type InviteEntry struct {
	User   string `json:"user"`
	Invite uint64 `json:"invite,omitempty"` // the Invite opened for them
	Result string `json:"result,omitempty"` // "" while on its way; sent, skipped, failed
	Reason string `json:"reason,omitempty"`
}

// InviteRun is one /paligo-invite: who asked, the note, and each person.
type InviteRun struct {
	Seq          uint64        `json:"seq"`
	Team         string        `json:"team"`
	Inviter      string        `json:"inviter"`
	InviterEmail string        `json:"inviter_email,omitempty"`
	InviterName  string        `json:"inviter_name,omitempty"`
	Note         string        `json:"note,omitempty"`
	Created      time.Time     `json:"created"`
	Entries      []InviteEntry `json:"entries"`
	// SummaryTS is the summary DM's ts, once Slack said ok.
	SummaryTS string `json:"summary_ts,omitempty"`
}

// Counts returns how many entries were sent, skipped and failed.
func (r InviteRun) Counts() (sent, skipped, failed int) {
	for _, e := range r.Entries {
		switch e.Result {
		case InviteSent:
			sent++
		case InviteSkipped:
			skipped++
		case InviteFailed:
			failed++
		}
	}
	return
}

func (r InviteRun) settled() bool {
	for _, e := range r.Entries {
		if e.Result == "" {
			return false
		}
	}
	return true
}

// QueueInvites records an invite run and returns its jobs: one JobInvite
// per entry without a result, or, when every entry already has one (the
// handler skipped them all), the summary job. Entries must be distinct.
func (s *Store) QueueInvites(run InviteRun) (InviteRun, []Job, error) {
	run.Created = s.Now().UTC()
	var jobs []Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		runs, out := tx.Bucket(bucketInviteRuns), tx.Bucket(bucketOutbox)
		seq, err := runs.NextSequence()
		if err != nil {
			return err
		}
		run.Seq = seq
		for _, e := range run.Entries {
			if e.Result != "" {
				continue
			}
			j := Job{Kind: JobInvite, User: e.User, Run: seq}
			if j.Seq, err = out.NextSequence(); err != nil {
				return err
			}
			if err := putJSON(out, u64(j.Seq), j); err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		if len(jobs) == 0 {
			j, err := queueSummary(tx, run)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return putJSON(runs, u64(seq), run)
	})
	if err != nil {
		return InviteRun{}, nil, fmt.Errorf("queue invites: %w", err)
	}
	return run, jobs, nil
}

func queueSummary(tx *bolt.Tx, run InviteRun) (Job, error) {
	out := tx.Bucket(bucketOutbox)
	seq, err := out.NextSequence()
	if err != nil {
		return Job{}, err
	}
	j := Job{Seq: seq, Kind: JobInviteSummary, User: run.Inviter, Run: run.Seq}
	return j, putJSON(out, u64(seq), j)
}

// InviteRun returns the invite run seq.
func (s *Store) InviteRun(seq uint64) (InviteRun, bool, error) {
	return getJSON[InviteRun](s, bucketInviteRuns, u64(seq))
}

// Invite returns the invitation id.
func (s *Store) Invite(id uint64) (Invite, bool, error) {
	return getJSON[Invite](s, bucketInvites, u64(id))
}

// RecentInvites returns the team's n newest invitations, newest first.
func (s *Store) RecentInvites(team string, n int) ([]Invite, error) {
	var out []Invite
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInvites).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var inv Invite
			if err := json.Unmarshal(v, &inv); err != nil {
				return fmt.Errorf("decode invite %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if inv.Team == team {
				out = append(out, inv)
			}
		}
		return nil
	})
	return out, err
}

// ErrNotInviteJob is returned for a job of another kind.
var ErrNotInviteJob = errors.New("not an invite job")

// settleEntry ends job's entry of its run with result and reason, removes
// the job, and queues the summary when it was the last entry. It returns
// the summary job, if any, and the invitation the entry opened (0: none).
func settleEntry(tx *bolt.Tx, job Job, result, reason string) ([]Job, uint64, error) {
	if err := takeJob(tx, job.Seq); err != nil {
		return nil, 0, err
	}
	runs := tx.Bucket(bucketInviteRuns)
	var run InviteRun
	if err := getTx(runs, u64(job.Run), &run); err != nil {
		return nil, 0, fmt.Errorf("invite run %d: %w", job.Run, err)
	}
	var invite uint64
	for i := range run.Entries {
		if run.Entries[i].User == job.User && run.Entries[i].Result == "" {
			run.Entries[i].Result, run.Entries[i].Reason = result, reason
			invite = run.Entries[i].Invite
			break
		}
	}
	var jobs []Job
	if run.settled() {
		j, err := queueSummary(tx, run)
		if err != nil {
			return nil, 0, err
		}
		jobs = append(jobs, j)
	}
	return jobs, invite, putJSON(runs, u64(run.Seq), run)
}

// SkipInvite ends an invite job without inviting anyone (a bot, a deleted
// user, no email…), with the reason the inviter is told.
func (s *Store) SkipInvite(job Job, reason string) ([]Job, error) {
	if job.Kind != JobInvite {
		return nil, ErrNotInviteJob
	}
	var jobs []Job
	err := s.db.Update(func(tx *bolt.Tx) (err error) {
		jobs, _, err = settleEntry(tx, job, InviteSkipped, reason)
		return err
	})
	return jobs, err
}

// OpenInvite opens the invitation of job's person, whose Slack email is
// email, or returns the one it opened before (a retried job). Someone with
// an invitation still pending, or accepted, is not invited again: then
// skip says why, the job has ended and jobs holds the summary if it was
// the last.
func (s *Store) OpenInvite(job Job, email string) (inv Invite, skip string, jobs []Job, err error) {
	if job.Kind != JobInvite {
		return Invite{}, "", nil, ErrNotInviteJob
	}
	email = strings.ToLower(email)
	now := s.Now().UTC()
	err = s.db.Update(func(tx *bolt.Tx) error {
		inv, skip, jobs = Invite{}, "", nil
		if tx.Bucket(bucketOutbox).Get(u64(job.Seq)) == nil {
			return ErrJobGone
		}
		runs, invites, emails := tx.Bucket(bucketInviteRuns), tx.Bucket(bucketInvites), tx.Bucket(bucketInviteEmails)
		var run InviteRun
		if err := getTx(runs, u64(job.Run), &run); err != nil {
			return fmt.Errorf("invite run %d: %w", job.Run, err)
		}
		var entry *InviteEntry
		for i := range run.Entries {
			if run.Entries[i].User == job.User {
				entry = &run.Entries[i]
			}
		}
		if entry == nil {
			return fmt.Errorf("invite run %d has no entry for %s", job.Run, job.User)
		}
		if entry.Invite != 0 { // opened before a crash or a retry
			return getTx(invites, u64(entry.Invite), &inv)
		}
		if id := emails.Get([]byte(email)); id != nil {
			var prev Invite
			if err := getTx(invites, id, &prev); err != nil {
				return err
			}
			switch prev.State(now) {
			case InviteAccepted:
				skip = "already accepted an invitation on " + prev.AcceptedAt.Format("2 Jan 2006")
			case InviteSending, InvitePending:
				skip = "already has a pending invitation (until " + prev.Expires.Format("2 Jan 2006") + ")"
			}
			if skip != "" {
				var err error
				jobs, _, err = settleEntry(tx, job, InviteSkipped, skip)
				return err
			}
		}
		id, err := invites.NextSequence()
		if err != nil {
			return err
		}
		inv = Invite{ID: id, Team: run.Team, Email: email, User: job.User, Inviter: run.Inviter,
			InviterEmail: run.InviterEmail, InviterName: run.InviterName, Note: run.Note, Run: run.Seq,
			Created: now, Expires: now.Add(InviteTTL), Status: InviteSending}
		if err := putJSON(invites, u64(id), inv); err != nil {
			return err
		}
		if err := emails.Put([]byte(email), u64(id)); err != nil {
			return err
		}
		entry.Invite = id
		return putJSON(runs, u64(run.Seq), run)
	})
	if err != nil {
		return Invite{}, "", nil, err
	}
	return inv, skip, jobs, nil
}

func getTx(b *bolt.Bucket, k []byte, v any) error {
	raw := b.Get(k)
	if raw == nil {
		return fmt.Errorf("%x not found", k)
	}
	return json.Unmarshal(raw, v)
}

// FinishInvite records that Slack took the invitation DM (channel, ts) and
// ends the job; it returns the summary job if this was the run's last.
func (s *Store) FinishInvite(job Job, invite uint64, channel, ts string) ([]Job, error) {
	var jobs []Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if jobs, _, err = settleEntry(tx, job, InviteSent, ""); err != nil {
			return err
		}
		return updateInvite(tx, invite, func(inv *Invite) {
			if inv.Status == InviteSending {
				inv.Status = InvitePending
			}
			inv.Channel, inv.TS = channel, ts
		})
	})
	return jobs, err
}

// FailInvite ends an invite job Slack refused for good: the entry and the
// invitation (if one was opened) are failed with the reason.
func (s *Store) FailInvite(job Job, reason string) ([]Job, error) {
	var jobs []Job
	err := s.db.Update(func(tx *bolt.Tx) error {
		var invite uint64
		var err error
		if jobs, invite, err = settleEntry(tx, job, InviteFailed, reason); err != nil || invite == 0 {
			return err
		}
		return updateInvite(tx, invite, func(inv *Invite) {
			if inv.Status == InviteSending {
				inv.Status, inv.Reason = InviteFailed, reason
			}
		})
	})
	return jobs, err
}

func updateInvite(tx *bolt.Tx, id uint64, fn func(*Invite)) error {
	b := tx.Bucket(bucketInvites)
	var inv Invite
	if err := getTx(b, u64(id), &inv); err != nil {
		return err
	}
	fn(&inv)
	return putJSON(b, u64(id), inv)
}

// FinishInviteSummary records the summary DM and ends its job.
func (s *Store) FinishInviteSummary(job Job, ts string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		runs := tx.Bucket(bucketInviteRuns)
		var run InviteRun
		if err := getTx(runs, u64(job.Run), &run); err != nil {
			return err
		}
		run.SummaryTS = ts
		return putJSON(runs, u64(run.Seq), run)
	})
}

// FieldInviteID is the event field that names the invitation an
// invite.accepted event accepts (the ingest API sets it from the token).
const FieldInviteID = "invite_id"

// InviteIDOf returns the invitation an invite.accepted event names.
func InviteIDOf(e Event) (uint64, bool) {
	id, err := strconv.ParseUint(e.Fields[FieldInviteID], 10, 64)
	return id, err == nil && id > 0
}

// acceptInvite marks the invitation e names accepted, unless it already
// was (then the inviter is not told again).
func acceptInvite(tx *bolt.Tx, e Event) error {
	id, ok := InviteIDOf(e)
	if !ok {
		return nil
	}
	b := tx.Bucket(bucketInvites)
	if b.Get(u64(id)) == nil {
		return nil
	}
	return updateInvite(tx, id, func(inv *Invite) {
		if inv.Status != InviteAccepted {
			inv.Status, inv.AcceptedAt, inv.AcceptEvent, inv.Reason = InviteAccepted, e.OccurredAt, e.Seq, ""
		}
	})
}

// inviterJob is the job telling the inviter that the invitation e names
// was accepted, if e is the event that accepted it.
func inviterJob(tx *bolt.Tx, team string, e Event) (string, bool) {
	id, ok := InviteIDOf(e)
	if !ok {
		return "", false
	}
	var inv Invite
	if getTx(tx.Bucket(bucketInvites), u64(id), &inv) != nil || inv.AcceptEvent != e.Seq || inv.Inviter == "" || inv.Team != team {
		return "", false
	}
	return inv.Inviter, true
}
