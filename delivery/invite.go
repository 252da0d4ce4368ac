package delivery

import (
	"context"
	"errors"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// skipReason says why a Slack user is not invited, or "".
func skipReason(u *slack.User) string {
	switch {
	case u.IsBot || u.IsAppUser || u.ID == "USLACKBOT":
		return "is a bot"
	case u.Deleted:
		return "is deactivated in Slack"
	case u.Profile.Email == "":
		return "has no email address in Slack"
	}
	return ""
}

// inviteJob is one person of an invite run: read from Slack (users.info),
// then skipped with the reason, or DMed the link of their invitation. One
// write ends the job, whatever the ending, records the invitation, and
// queues the inviter's summary after the run's last person. The
// invitation's id was taken when the run was queued, so a retry (after a
// crash between the DM and its record) sends the same link.
type inviteJob struct {
	base
	skip string // why the person is not invited, as Slack shows them
	r    store.InviteJob
	text string
	blk  []slack.Block
	end  store.InviteEnd
}

// load reads the person from Slack, then, in one store read, their
// invitation, the latest other one of their email, and their DM channel.
func (j *inviteJob) load(ctx context.Context) error {
	w := j.w
	var u *slack.User
	err := w.call(ctx, "users.info", "", nil, func(ctx context.Context, api DeliverySlack) error {
		var err error
		u, err = api.GetUserInfoContext(ctx, j.job.User)
		return err
	})
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "user_not_found":
		j.skip = "is not in this workspace"
		return nil
	case err != nil:
		return err
	}
	if j.skip = skipReason(u); j.skip != "" {
		return nil
	}
	j.r, err = w.store.ReadInviteJob(j.job, u.Profile.Email)
	return err
}

// decide skips a person Slack does not have, a bot, someone deactivated
// or without an email, or someone whose email has an invitation pending
// or accepted (paligo.Invite.Blocks); anyone else is invited.
func (j *inviteJob) decide(ctx context.Context) (bool, error) {
	w := j.w
	if j.skip == "" && j.r.HasPrior {
		j.skip = j.r.Prior.Blocks(w.store.Time())
	}
	switch {
	case j.skip != "":
		j.end = store.InviteEnd{Result: paligo.InviteSkipped, Reason: j.skip}
		return false, nil
	case w.opts.InviteLink == nil:
		j.end = store.InviteEnd{Result: paligo.InviteFailed, Reason: "invitations are off (PALIGO_SLACK_INVITE_URL is not set)"}
		return false, nil
	}
	j.end.Invite = &j.r.Invite
	if j.r.DM == "" { // remembered by the write that records the invitation sent
		var err error
		j.r.DM, err = w.conversationsOpen(ctx, j.job.User)
		return err == nil, err
	}
	return true, nil
}

func (j *inviteJob) draw() {
	j.text, j.blk = views.InviteDM(j.r.Invite, j.w.opts.InviteLink(j.r.Invite))
}

func (j *inviteJob) send(ctx context.Context) error {
	ch, ts, err := j.w.send(ctx, j.r.DM, j.text, j.blk)
	j.end.Result, j.end.Channel, j.end.TS = paligo.InviteSent, ch, ts
	return err
}

// record ends the person's entry in the run and records their invitation
// (store.EndInvite), and hands on the summary when the run is over.
func (j *inviteJob) record(context.Context) error {
	w := j.w
	summary, err := w.store.EndInvite(j.job, j.end)
	if err != nil {
		return err
	}
	w.m.invites.WithLabelValues(j.end.Result).Inc()
	if j.end.Result == paligo.InviteFailed {
		w.log.Warn("invitation failed", "user", j.job.User, "run", j.job.Run, "reason", j.end.Reason)
	}
	w.Enqueue(summary)
	return nil
}

// fail: anything Slack refused for good ends the person's entry (and
// invitation, once it was decided) failed, with the reason, for the
// inviter's summary and the admin Home tab.
func (j *inviteJob) fail(reason string) error {
	j.end.Result, j.end.Reason = paligo.InviteFailed, reason
	return j.record(context.Background())
}

// summaryJob DMs the inviter how the run went.
type summaryJob struct {
	base
	r    store.InviteSummaryJob
	text string
	blk  []slack.Block
	ch   string
	ts   string
}

func (j *summaryJob) load(context.Context) (err error) {
	j.r, err = j.w.store.ReadInviteSummaryJob(j.job)
	return err
}

func (j *summaryJob) decide(ctx context.Context) (bool, error) {
	if !j.r.RunFound {
		return false, slack.SlackErrorResponse{Err: "invite_run_not_found"}
	}
	if j.r.DM == "" { // remembered by the write that records the summary sent
		var err error
		j.r.DM, err = j.w.conversationsOpen(ctx, j.job.User)
		return err == nil, err
	}
	return true, nil
}

func (j *summaryJob) draw() { j.text, j.blk = views.InviteSummary(j.r.Run) }

func (j *summaryJob) send(ctx context.Context) (err error) {
	j.ch, j.ts, err = j.w.send(ctx, j.r.DM, j.text, j.blk)
	return err
}

func (j *summaryJob) record(context.Context) error {
	return j.w.store.FinishInviteSummary(j.job, j.ch, j.ts)
}
