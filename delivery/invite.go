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
// and DMs them the link; one write ends the job, whatever the ending, and
// queues the inviter's summary after the run's last person. Sending one
// takes a second write, before: the invitation is opened before its link
// leaves (a retry after a crash sends the same link, which works).
func (w inWorkspace) deliverInvite(ctx context.Context, job store.Job) (bool, error) {
	end, err := w.invite(ctx, job)
	if err != nil {
		return false, err
	}
	if end.Result == "" {
		return true, nil // ended meanwhile, or by OpenInvite (a skip)
	}
	var summary []store.Job
	write := func() (err error) {
		summary, err = w.store.EndInvite(job, end)
		return err
	}
	if end.Result == paligo.InviteSent {
		err = w.record(ctx, write) // Slack took it: the record is retried, not the DM
	} else {
		err = write()
	}
	switch {
	case errors.Is(err, store.ErrJobGone):
		return true, nil
	case err != nil:
		return false, err
	}
	w.m.invites.WithLabelValues(end.Result).Inc()
	if end.Result == paligo.InviteFailed {
		w.log.Warn("invitation failed", "user", job.User, "run", job.Run, "reason", end.Reason)
	}
	w.Enqueue(summary)
	return true, nil
}

// invite decides and sends one person's invitation and says how it ended
// (no Result: the job has ended already); err means try again later.
func (w inWorkspace) invite(ctx context.Context, job store.Job) (store.InviteEnd, error) {
	var u *slack.User
	err := w.call(ctx, "users.info", "", nil, func(ctx context.Context, api DeliverySlack) error {
		var err error
		u, err = api.GetUserInfoContext(ctx, job.User)
		return err
	})
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "user_not_found":
		return store.InviteEnd{Result: paligo.InviteSkipped, Reason: "is not in this workspace"}, nil
	case err != nil:
		return inviteFailed(err)
	}
	if reason := skipReason(u); reason != "" {
		return store.InviteEnd{Result: paligo.InviteSkipped, Reason: reason}, nil
	}
	inv, skip, jobs, err := w.store.OpenInvite(job, u.Profile.Email)
	switch {
	case errors.Is(err, store.ErrJobGone):
		return store.InviteEnd{}, nil
	case err != nil:
		return store.InviteEnd{}, err
	case skip != "":
		// OpenInvite ended the job (someone invited already).
		w.m.invites.WithLabelValues(paligo.InviteSkipped).Inc()
		w.Enqueue(jobs)
		return store.InviteEnd{}, nil
	case w.opts.InviteLink == nil:
		return store.InviteEnd{Result: paligo.InviteFailed, Reason: "invitations are off (PALIGO_SLACK_INVITE_URL is not set)"}, nil
	}
	// The DM channel a new person's invitation opens is remembered by the
	// write that records the invitation sent.
	dm, ok, err := w.store.CachedDM(w.sp.scope, job.User)
	if err != nil {
		return store.InviteEnd{}, err
	}
	if !ok {
		if dm, err = w.conversationsOpen(ctx, job.User); err != nil {
			return inviteFailed(err)
		}
	}
	text, blocks := views.InviteDM(inv, w.opts.InviteLink(inv))
	ch, ts, err := w.send(ctx, dm, text, blocks)
	if err != nil {
		return inviteFailed(err)
	}
	return store.InviteEnd{Result: paligo.InviteSent, Channel: ch, TS: ts}, nil
}

// inviteFailed retries what can succeed later; anything Slack refused for
// good ends the person's entry (and invitation) failed, with the reason,
// for the inviter's summary and the admin Home tab.
func inviteFailed(err error) (store.InviteEnd, error) {
	if verdict, reason := bot.Classify(err); verdict == bot.Refused {
		return store.InviteEnd{Result: paligo.InviteFailed, Reason: reason}, nil
	}
	return store.InviteEnd{}, err
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
