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
// entry per person, each with the id its invitation will have) and one
// JobInvite per person into the outbox. Delivery reads the person from
// Slack (users.info) and either skips them with a reason or DMs them the
// link of their invitation; each entry ends sent, skipped or failed in the
// one transaction that records the Invite and removes its job.
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
		for i, e := range run.Entries {
			if e.Result != "" {
				continue
			}
			// The invitation's id is taken now: its link, sent by the job,
			// names it the same on every try.
			if run.Entries[i].Invite, err = tx.Bucket(bucketInvites).NextSequence(); err != nil {
				return err
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
// the summary job, if any.
func settleEntry(tx kvTx, job Job, result, reason string) ([]Job, error) {
	if err := takeJob(tx, job.Seq); err != nil {
		return nil, err
	}
	runs := tx.Bucket(bucketInviteRuns)
	var run paligo.InviteRun
	if err := getTx(runs, u64(job.Run), &run); err != nil {
		return nil, fmt.Errorf("invite run %d: %w", job.Run, err)
	}
	if e := run.Entry(job.User); e != nil {
		e.Result, e.Reason = result, reason
	}
	var jobs []Job
	if run.Settled() {
		j, err := queueSummary(tx, run, job.Team)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, putJSON(runs, u64(run.Seq), run)
}

// InviteJob is what an invite job needs, once Slack said the person's
// email: their invitation as its link names it (the id taken when the run
// was queued; expiring InviteTTL after the run was), the latest other
// invitation of the email in the workspace, and their DM channel.
type InviteJob struct {
	Invite paligo.Invite
	Prior  paligo.Invite
	// HasPrior: Prior is set.
	HasPrior bool
	DM       string
}

// ReadInviteJob reads, in one transaction, what invite job j needs to
// invite its person, whose Slack email is email.
func (s inviteRecords) ReadInviteJob(j Job, email string) (InviteJob, error) {
	if j.Kind != JobInvite {
		return InviteJob{}, ErrNotInviteJob
	}
	email = strings.ToLower(email)
	var r InviteJob
	err := s.db.view(func(tx kvTx) error {
		if tx.Bucket(bucketOutbox).Get(u64(j.Seq)) == nil {
			return ErrJobGone
		}
		var run paligo.InviteRun
		if err := getTx(tx.Bucket(bucketInviteRuns), u64(j.Run), &run); err != nil {
			return fmt.Errorf("invite run %d: %w", j.Run, err)
		}
		entry := run.Entry(j.User)
		if entry == nil || entry.Invite == 0 {
			return fmt.Errorf("invite run %d has no invitation for %s", j.Run, j.User)
		}
		invites := tx.Bucket(bucketInvites)
		var found bool
		var err error
		if r.Invite, found, err = getTxJSON[paligo.Invite](invites, u64(entry.Invite)); err != nil {
			return err
		}
		if !found || r.Invite.Email != email {
			r.Invite = paligo.Invite{ID: entry.Invite, Team: run.Team, Email: email, User: j.User, Inviter: run.Inviter,
				InviterEmail: run.InviterEmail, InviterName: run.InviterName, Note: run.Note, Run: run.Seq,
				Created: run.Created, Expires: run.Created.Add(paligo.InviteTTL), Status: paligo.InvitePending}
		}
		if id := tx.Bucket(bucketInviteEmails).Get(Scoped(j.Team, email)); id != nil && binary.BigEndian.Uint64(id) != entry.Invite {
			if r.Prior, r.HasPrior, err = getTxJSON[paligo.Invite](invites, id); err != nil {
				return err
			}
		}
		r.DM, _, err = getTxJSON[string](tx.Bucket(bucketSlackCache), Scoped(j.Team, "dm:"+j.User))
		return err
	})
	return r, err
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
// as the inviter is told). Invite, when set, is the invitation the DM was
// for (ReadInviteJob's), recorded with the result.
type InviteEnd struct {
	Result  string
	Reason  string
	Channel string
	TS      string
	Invite  *paligo.Invite
}

// EndInvite ends invite job j in one transaction: its entry in the run
// gets the result; the invitation the DM was for is recorded (pending once
// sent; failed with the reason) as the latest of its email, and a sent
// one's DM channel remembered. It returns the summary job if this was the
// run's last.
func (s inviteRecords) EndInvite(j Job, end InviteEnd) ([]Job, error) {
	if j.Kind != JobInvite {
		return nil, ErrNotInviteJob
	}
	var jobs []Job
	err := s.update(func(tx kvTx) error {
		var err error
		if jobs, err = settleEntry(tx, j, end.Result, end.Reason); err != nil {
			return err
		}
		if end.Result == paligo.InviteSent {
			if err := rememberDM(tx, j.Team, j.User, end.Channel); err != nil {
				return err
			}
		}
		if end.Invite == nil || end.Result == paligo.InviteSkipped {
			return nil
		}
		inv := *end.Invite
		switch end.Result {
		case paligo.InviteSent:
			inv.Status, inv.Channel, inv.TS = paligo.InvitePending, end.Channel, end.TS
		case paligo.InviteFailed:
			inv.Status, inv.Reason = paligo.InviteFailed, end.Reason
		}
		if err := putJSON(tx.Bucket(bucketInvites), u64(inv.ID), inv); err != nil {
			return err
		}
		return tx.Bucket(bucketInviteEmails).Put(Scoped(j.Team, inv.Email), u64(inv.ID))
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
