package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/paligo/paligo-slack/paligo"
)

// Invitations. /paligo-invite writes an InviteRun (who asked, the note, one
// entry per person) and one JobInvite per person into the outbox. Delivery
// reads the person from Slack (users.info) and either skips them with a
// reason or opens an Invite record and DMs them the link; each entry ends
// sent, skipped or failed in the same transaction that removes its job.
// When the last entry ends, a JobInviteSummary is written that DMs the
// inviter what happened. An invite.accepted event marks the Invite accepted
// (AcceptEvents) and tells the inviter (FanOutWith).

// QueueInvites records an invite run and returns its jobs: one JobInvite
// per entry without a result, or, when every entry already has one (the
// handler skipped them all), the summary job. Entries must be distinct.
func (s inviteRecords) QueueInvites(run paligo.InviteRun) (paligo.InviteRun, []Job, error) {
	run.Created = s.Now().UTC()
	var jobs []Job
	err := s.update(func(tx kvTx) error {
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
			j := Job{Team: s.Scope(run.Team), Kind: JobInvite, User: e.User, Run: seq}
			if j.Seq, err = out.NextSequence(); err != nil {
				return err
			}
			if err := putJSON(out, u64(j.Seq), j); err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		if len(jobs) == 0 {
			j, err := queueSummary(tx, run, s.Scope(run.Team))
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return putJSON(runs, u64(seq), run)
	})
	if err != nil {
		return paligo.InviteRun{}, nil, fmt.Errorf("queue invites: %w", err)
	}
	return run, jobs, nil
}

func queueSummary(tx kvTx, run paligo.InviteRun, scope string) (Job, error) {
	out := tx.Bucket(bucketOutbox)
	seq, err := out.NextSequence()
	if err != nil {
		return Job{}, err
	}
	j := Job{Seq: seq, Team: scope, Kind: JobInviteSummary, User: run.Inviter, Run: run.Seq}
	return j, putJSON(out, u64(seq), j)
}

// InviteRun returns the invite run seq.
func (s inviteRecords) InviteRun(seq uint64) (paligo.InviteRun, bool, error) {
	return getJSON[paligo.InviteRun](s.Store, bucketInviteRuns, u64(seq))
}

// Invite returns the invitation id.
func (s inviteRecords) Invite(id uint64) (paligo.Invite, bool, error) {
	return getJSON[paligo.Invite](s.Store, bucketInvites, u64(id))
}

// RecentInvites returns the team's n newest invitations, newest first.
func (s inviteRecords) RecentInvites(team string, n int) ([]paligo.Invite, error) {
	var out []paligo.Invite
	err := s.db.view(func(tx kvTx) error {
		c := tx.Bucket(bucketInvites).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var inv paligo.Invite
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
func settleEntry(tx kvTx, job Job, result, reason string) ([]Job, uint64, error) {
	if err := takeJob(tx, job.Seq); err != nil {
		return nil, 0, err
	}
	runs := tx.Bucket(bucketInviteRuns)
	var run paligo.InviteRun
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
	if run.Settled() {
		j, err := queueSummary(tx, run, job.Team)
		if err != nil {
			return nil, 0, err
		}
		jobs = append(jobs, j)
	}
	return jobs, invite, putJSON(runs, u64(run.Seq), run)
}

// OpenInvite opens the invitation of job's person, whose Slack email is
// email, or returns the one it opened before (a retried job). Someone with
// an invitation still pending, or accepted, is not invited again: then
// skip says why, the job has ended and jobs holds the summary if it was
// the last.
func (s inviteRecords) OpenInvite(job Job, email string) (inv paligo.Invite, skip string, jobs []Job, err error) {
	if job.Kind != JobInvite {
		return paligo.Invite{}, "", nil, ErrNotInviteJob
	}
	email = strings.ToLower(email)
	now := s.Now().UTC()
	err = s.update(func(tx kvTx) error {
		inv, skip, jobs = paligo.Invite{}, "", nil
		if tx.Bucket(bucketOutbox).Get(u64(job.Seq)) == nil {
			return ErrJobGone
		}
		runs, invites, emails := tx.Bucket(bucketInviteRuns), tx.Bucket(bucketInvites), tx.Bucket(bucketInviteEmails)
		var run paligo.InviteRun
		if err := getTx(runs, u64(job.Run), &run); err != nil {
			return fmt.Errorf("invite run %d: %w", job.Run, err)
		}
		var entry *paligo.InviteEntry
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
		// The latest invitation of email in the workspace (an invitation
		// in another workspace is its own).
		emailKey := Scoped(job.Team, email)
		if id := emails.Get(emailKey); id != nil {
			var prev paligo.Invite
			if err := getTx(invites, id, &prev); err != nil {
				return err
			}
			switch prev.State(now) {
			case paligo.InviteAccepted:
				skip = "already accepted an invitation on " + prev.AcceptedAt.Format("2 Jan 2006")
			case paligo.InviteSending, paligo.InvitePending:
				skip = "already has a pending invitation (until " + prev.Expires.Format("2 Jan 2006") + ")"
			}
			if skip != "" {
				var err error
				jobs, _, err = settleEntry(tx, job, paligo.InviteSkipped, skip)
				return err
			}
		}
		id, err := invites.NextSequence()
		if err != nil {
			return err
		}
		inv = paligo.Invite{ID: id, Team: run.Team, Email: email, User: job.User, Inviter: run.Inviter,
			InviterEmail: run.InviterEmail, InviterName: run.InviterName, Note: run.Note, Run: run.Seq,
			Created: now, Expires: now.Add(paligo.InviteTTL), Status: paligo.InviteSending}
		if err := putJSON(invites, u64(id), inv); err != nil {
			return err
		}
		if err := emails.Put(emailKey, u64(id)); err != nil {
			return err
		}
		entry.Invite = id
		return putJSON(runs, u64(run.Seq), run)
	})
	if err != nil {
		return paligo.Invite{}, "", nil, err
	}
	return inv, skip, jobs, nil
}

func getTx(b kvBucket, k []byte, v any) error {
	raw := b.Get(k)
	if raw == nil {
		return fmt.Errorf("%x not found", k)
	}
	return json.Unmarshal(raw, v)
}

// InviteEnd is how an invite job ended: Result is paligo.InviteSent
// (Channel and TS: the DM), InviteSkipped or InviteFailed (Reason: why,
// as the inviter is told).
type InviteEnd struct {
	Result  string
	Reason  string
	Channel string
	TS      string
}

// EndInvite ends invite job j in one transaction: its entry in the run,
// and the invitation opened for it, get the result (a sent invitation is
// pending from then on; a failed one failed with the reason), and a sent
// one's DM channel is remembered. It returns the summary job if this was
// the run's last.
func (s inviteRecords) EndInvite(j Job, end InviteEnd) ([]Job, error) {
	if j.Kind != JobInvite {
		return nil, ErrNotInviteJob
	}
	var jobs []Job
	err := s.update(func(tx kvTx) error {
		var invite uint64
		var err error
		if jobs, invite, err = settleEntry(tx, j, end.Result, end.Reason); err != nil {
			return err
		}
		if end.Result == paligo.InviteSent {
			if err := rememberDM(tx, j.Team, j.User, end.Channel); err != nil {
				return err
			}
		}
		if invite == 0 {
			return nil
		}
		return updateInvite(tx, invite, func(inv *paligo.Invite) {
			switch {
			case end.Result == paligo.InviteSent:
				if inv.Status == paligo.InviteSending {
					inv.Status = paligo.InvitePending
				}
				inv.Channel, inv.TS = end.Channel, end.TS
			case end.Result == paligo.InviteFailed && inv.Status == paligo.InviteSending:
				inv.Status, inv.Reason = paligo.InviteFailed, end.Reason
			}
		})
	})
	return jobs, err
}

func updateInvite(tx kvTx, id uint64, fn func(*paligo.Invite)) error {
	b := tx.Bucket(bucketInvites)
	var inv paligo.Invite
	if err := getTx(b, u64(id), &inv); err != nil {
		return err
	}
	fn(&inv)
	return putJSON(b, u64(id), inv)
}

// FinishInviteSummary records the summary DM (channel, ts), remembers
// the DM channel, and ends its job.
func (s inviteRecords) FinishInviteSummary(job Job, channel, ts string) error {
	return s.update(func(tx kvTx) error {
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		if err := rememberDM(tx, job.Team, job.User, channel); err != nil {
			return err
		}
		runs := tx.Bucket(bucketInviteRuns)
		var run paligo.InviteRun
		if err := getTx(runs, u64(job.Run), &run); err != nil {
			return err
		}
		run.SummaryTS = ts
		return putJSON(runs, u64(run.Seq), run)
	})
}

// acceptInvite marks the invitation e names accepted, unless it already
// was (then the inviter is not told again).
func acceptInvite(tx kvTx, e paligo.Event) error {
	id, ok := paligo.InviteIDOf(e)
	if !ok {
		return nil
	}
	b := tx.Bucket(bucketInvites)
	if b.Get(u64(id)) == nil {
		return nil
	}
	return updateInvite(tx, id, func(inv *paligo.Invite) {
		if inv.Status != paligo.InviteAccepted {
			inv.Status, inv.AcceptedAt, inv.AcceptEvent, inv.Reason = paligo.InviteAccepted, e.OccurredAt, e.Seq, ""
		}
	})
}

// inviterJob is the job telling the inviter that the invitation e names
// was accepted, if e is the event that accepted it.
func inviterJob(tx kvTx, team string, e paligo.Event) (string, bool) {
	id, ok := paligo.InviteIDOf(e)
	if !ok {
		return "", false
	}
	var inv paligo.Invite
	if getTx(tx.Bucket(bucketInvites), u64(id), &inv) != nil || inv.AcceptEvent != e.Seq || inv.Inviter == "" || inv.Team != team {
		return "", false
	}
	return inv.Inviter, true
}
