package delivery

import (
	"context"
	"errors"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
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

// deliverInvite does one person of an invite run: reads them from Slack
// (users.info), then skips them with the reason or opens their invitation
// and DMs them the link. Each ends the job in one transaction, which queues
// the inviter's summary after the run's last person. Sending one takes two
// writes: the invitation is opened before its link leaves (a retry after a
// crash sends the same link, which works), and recorded sent after.
func (w inWorkspace) deliverInvite(ctx context.Context, job store.Job) (bool, error) {
	var u *slack.User
	err := w.call(ctx, "users.info", "", nil, func(ctx context.Context, api DeliverySlack) error {
		var err error
		u, err = api.GetUserInfoContext(ctx, job.User)
		return err
	})
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "user_not_found":
		return w.inviteSkipped(w.store.SkipInvite(job, "is not in this workspace"))
	case err != nil:
		return w.settleInvite(job, err)
	}
	if reason := skipReason(u); reason != "" {
		return w.inviteSkipped(w.store.SkipInvite(job, reason))
	}
	inv, skip, jobs, err := w.store.OpenInvite(job, u.Profile.Email)
	if err != nil {
		return w.inviteEnded(jobs, err)
	}
	if skip != "" {
		return w.inviteSkipped(jobs, nil)
	}
	if w.opts.InviteLink == nil {
		return w.inviteEnded(w.store.FailInvite(job, "invitations are off (PALIGO_SLACK_INVITE_URL is not set)"))
	}
	// The DM channel a new person's invitation opens is remembered by the
	// write that records the invitation sent.
	dm, ok, err := w.store.CachedDM(w.sp.scope, job.User)
	if err != nil {
		return false, err
	}
	if !ok {
		if dm, err = w.conversationsOpen(ctx, job.User); err != nil {
			return w.settleInvite(job, err)
		}
	}
	text, blocks := views.InviteDM(inv, w.opts.InviteLink(inv))
	var summary []store.Job
	err = w.postBlocks(ctx, dm, text, blocks, func(ch, ts string) (err error) {
		summary, err = w.store.FinishInvite(job, inv.ID, ch, ts)
		return err
	})
	if err == nil {
		w.m.invites.WithLabelValues(paligo.InviteSent).Inc()
		w.Enqueue(summary)
		return true, nil
	}
	if errors.Is(err, store.ErrJobGone) {
		return true, nil
	}
	return w.settleInvite(job, err)
}

// inviteEnded hands the summary job on, if the run is over.
func (w inWorkspace) inviteEnded(jobs []store.Job, err error) (bool, error) {
	d := w.Deliverer
	if errors.Is(err, store.ErrJobGone) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	d.Enqueue(jobs)
	return true, nil
}

func (w inWorkspace) inviteSkipped(jobs []store.Job, err error) (bool, error) {
	d := w.Deliverer
	if err == nil {
		d.m.invites.WithLabelValues(paligo.InviteSkipped).Inc()
	}
	return w.inviteEnded(jobs, err)
}

// settleInvite retries what can succeed later; anything Slack refused for
// good ends the person's entry (and invitation) failed, with the reason,
// for the inviter's summary and the admin Home tab.
func (w inWorkspace) settleInvite(job store.Job, err error) (bool, error) {
	d := w.Deliverer
	verdict, reason := bot.Classify(err)
	if verdict != bot.Refused {
		return false, err
	}
	d.m.invites.WithLabelValues(paligo.InviteFailed).Inc()
	d.log.Warn("invitation failed", "user", job.User, "run", job.Run, "reason", reason)
	return w.inviteEnded(d.store.FailInvite(job, reason))
}

// deliverInviteSummary DMs the inviter how the run went.
func (w inWorkspace) deliverInviteSummary(ctx context.Context, job store.Job) (bool, error) {
	r, err := w.store.ReadInviteSummaryJob(job)
	if err != nil {
		return false, err
	}
	if !r.RunFound {
		return w.settle(job, slack.SlackErrorResponse{Err: "invite_run_not_found"})
	}
	dm := r.DM
	if dm == "" {
		if dm, err = w.conversationsOpen(ctx, job.User); err != nil {
			return w.settle(job, err)
		}
	}
	text, blocks := views.InviteSummary(r.Run)
	err = w.postBlocks(ctx, dm, text, blocks, func(ch, ts string) error { return w.store.FinishInviteSummary(job, ch, ts) })
	if errors.Is(err, store.ErrJobGone) {
		return true, nil
	}
	return w.settle(job, err)
}
