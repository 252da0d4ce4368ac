package handlers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// publishHome draws the user's Home tab from what is stored now.
func (h inWorkspace) publishHome(ctx context.Context, team, user, notice string) {
	prefs, err := h.Store.Prefs(team, user)
	if err != nil {
		h.Log.Error("read prefs for home tab", "team", team, "user", user, "err", err)
		return
	}
	pending, err := h.Store.PendingDigest(team, user)
	if err != nil {
		h.Log.Error("count pending digest", "team", team, "user", user, "err", err)
	}
	home := views.Home{Prefs: prefs, Pending: pending, Notice: notice, CanSendNow: h.Digests != nil}
	if prefs.Paused(h.Store.Time()) {
		home.PausedUntil = prefs.PausedUntil
	}
	if admin, err := h.IsAdmin(ctx, user); err != nil {
		h.Log.Warn("admin check for home tab", "user", user, "err", err)
	} else if admin {
		if home.Admin, err = h.adminHome(ctx, team); err != nil {
			h.Log.Error("read admin home", "err", err)
		}
	}
	view := views.HomeView(home)
	err = callAgain(ctx, func(ctx context.Context) error {
		return h.slack().PublishHome(ctx, user, view)
	})
	if err != nil {
		h.Log.Error("publish home tab", "team", team, "user", user, "err", err)
	}
}

// homeActions saves a change made in the Home tab, then re-publishes it. The
// ack goes first and empty: Slack needs nothing back for a block action.
func (h inWorkspace) homeActions(cb slack.InteractionCallback) bot.Reply {
	team, user := teamOf(cb), cb.User.ID
	if user == "" || len(cb.ActionCallback.BlockActions) == 0 {
		h.Log.Warn("home action without user or action")
		return bot.Reply{}
	}
	actions := cb.ActionCallback.BlockActions
	return bot.Reply{After: func(ctx context.Context) {
		unlock := h.lockUser(team, user)
		defer unlock()
		var notice string
		for _, a := range actions {
			n, err := h.applyHomeAction(ctx, team, user, a)
			if err != nil {
				// A value Slack would not send from our own view: keep what is
				// stored, and the re-publish below puts the control back.
				h.Log.Warn("home action refused", "action_id", a.ActionID, "user", user, "err", err)
			}
			if n != "" {
				notice = n
			}
		}
		h.publishHome(ctx, team, user, notice)
	}}
}

func (h inWorkspace) applyHomeAction(ctx context.Context, team, user string, a *slack.BlockAction) (notice string, err error) {
	update := func(fn func(*paligo.Prefs) error) error {
		_, err := h.Store.UpdatePrefs(team, user, fn)
		return err
	}
	switch a.ActionID {
	case views.ActionFrequency:
		f := paligo.Frequency(a.SelectedOption.Value)
		if !f.Valid() {
			return "", fmt.Errorf("unknown frequency %q", f)
		}
		var was paligo.Frequency
		if err := update(func(p *paligo.Prefs) error { was, p.Frequency = p.Frequency, f; return nil }); err != nil {
			return "", err
		}
		return h.frequencyChanged(team, user, was, f)
	case views.ActionDigestTime:
		return "", update(func(p *paligo.Prefs) error { return p.SetDigestTime(a.SelectedTime) })
	case views.ActionWeekday:
		d, err := strconv.Atoi(a.SelectedOption.Value)
		if err != nil || d < 0 || d > 6 {
			return "", fmt.Errorf("unknown weekday %q", a.SelectedOption.Value)
		}
		return "", update(func(p *paligo.Prefs) error { p.Weekday = time.Weekday(d); return nil })
	case views.ActionCategories:
		on := make([]paligo.Category, 0, len(a.SelectedOptions))
		for _, o := range a.SelectedOptions {
			on = append(on, paligo.Category(o.Value))
		}
		return "", update(func(p *paligo.Prefs) error { return p.SetCategories(on) })
	case views.ActionUnfollow:
		var title string
		err := update(func(p *paligo.Prefs) error {
			for _, s := range p.Follows {
				if s.Key() == a.Value {
					title = s.Title
				}
			}
			p.Unfollow(a.Value)
			return nil
		})
		if err == nil && title != "" {
			notice = "You no longer follow " + title + "."
		}
		return notice, err
	case views.ActionRetry, views.ActionRetryAll:
		return h.retryFailed(ctx, user, a)
	case views.ActionDigestNow:
		return h.sendNow(team, user, paligo.DigestNow, "Your digest of %s is on its way.")
	case views.ActionPause:
		return h.pause(ctx, team, user, a.SelectedOption.Value)
	case views.ActionResume:
		if err := update(func(p *paligo.Prefs) error { p.PausedUntil = time.Time{}; return nil }); err != nil {
			return "", err
		}
		n, err := h.sendNow(team, user, paligo.DigestPauseEnded, "Notifications resumed: what waited during the pause, %s, comes in one digest now.")
		if n == "" || err != nil {
			n = "Notifications resumed."
		}
		return n, err
	default:
		return "", fmt.Errorf("unknown home action %q", a.ActionID)
	}
}

// frequencyChanged applies what a new frequency means for what is waiting:
// instant sends it now as one digest; off keeps it (the tab says so).
func (h inWorkspace) frequencyChanged(team, user string, was, now paligo.Frequency) (string, error) {
	switch {
	case was == now:
		return "", nil
	case now == paligo.Instant:
		n, err := h.sendNow(team, user, paligo.DigestInstant, "You get notifications as they happen now; the %s that were waiting come in one digest.")
		if n == "" && err == nil {
			n = "You get notifications as they happen now."
		}
		return n, err
	case now == paligo.Off:
		return "Notifications are off. Channel posts go on; nothing reaches you in DMs until you switch back.", nil
	}
	return "", nil
}

// sendNow queues a digest of what the user has waiting; notice has one %s
// for "N notifications".
func (h inWorkspace) sendNow(team, user, reason, notice string) (string, error) {
	if h.Digests == nil {
		return "", nil
	}
	n, err := h.Digests.SendNow(team, user, reason)
	if err != nil {
		return "I couldn't queue your digest just now; try again in a moment.", err
	}
	if n == 0 {
		if reason == paligo.DigestNow {
			return "Nothing is waiting: you are all caught up.", nil
		}
		return "", nil
	}
	return fmt.Sprintf(notice, views.Plural(n, "notification", "notifications")), nil
}

// pause holds the user's non-critical notifications until the chosen end:
// an hour from now, 09:00 tomorrow in their own time zone, or a week.
func (h inWorkspace) pause(ctx context.Context, team, user, choice string) (string, error) {
	now := h.Store.Time()
	var until time.Time
	switch choice {
	case views.PauseHour:
		until = now.Add(time.Hour)
	case views.PauseWeek:
		until = now.AddDate(0, 0, 7)
	case views.PauseTomorrow:
		loc := time.UTC
		if h.Digests != nil {
			l, err := h.Digests.Location(ctx, team, user)
			if err != nil {
				return "I couldn't read your time zone from Slack just now; try again in a moment.", err
			}
			loc = l
		}
		y, m, d := now.In(loc).Date()
		until = time.Date(y, m, d+1, 9, 0, 0, 0, loc)
	default:
		return "", fmt.Errorf("unknown pause %q", choice)
	}
	_, err := h.Store.UpdatePrefs(team, user, func(p *paligo.Prefs) error { p.PausedUntil = until.UTC(); return nil })
	if err != nil {
		return "", err
	}
	return "Paused. Urgent alerts still reach you; everything else waits for one digest when the pause ends.", nil
}

// adminHome gathers what an admin's Home tab shows.
func (h inWorkspace) adminHome(ctx context.Context, team string) (*views.Admin, error) {
	var a views.Admin
	var err error
	subs, err := h.Store.Subscriptions(h.scope(), "")
	if err != nil {
		return nil, err
	}
	a.Routes = paligo.RoutesOf(subs)
	for _, s := range subs {
		if !s.Plain() {
			if a.Filtered == nil {
				a.Filtered = map[string]int{}
			}
			a.Filtered[s.Channel]++
		}
	}
	if a.Unmatched, err = h.Store.Unmatched(h.scope()); err != nil {
		return nil, err
	}
	failed, total, err := h.Store.FailedFirst(h.scope(), 10)
	if err != nil {
		return nil, err
	}
	a.FailedTotal = total
	if granted, ok := h.slack().GrantedScopes(ctx); ok {
		a.Reinstall = views.MissingFeatures(granted)
	}
	invites, err := h.Store.RecentInvites(team, 10)
	if err != nil {
		return nil, err
	}
	now := h.Store.Time()
	for _, inv := range invites {
		a.Invites = append(a.Invites, views.InviteLine{User: inv.User, Inviter: inv.Inviter, Status: inv.State(now),
			Created: inv.Created, Expires: inv.Expires, At: inv.AcceptedAt, Reason: inv.Reason})
	}
	for _, f := range failed {
		line := views.FailedLine{Seq: f.Job.Seq, Reason: f.Reason, At: f.At}
		switch {
		case f.Job.Kind == store.JobCallback && f.Job.Callback != nil && f.Job.Callback.By != nil:
			what := f.Job.Callback.Action
			if what == "" {
				what = f.Job.Callback.Type // a reply, a message sent with the shortcut
			}
			line.Where = "the platform (" + what + " by " + f.Job.Callback.By.SlackUser + ")"
		case f.Job.Kind == store.JobCallback && f.Job.Callback != nil:
			line.Where = "the platform (" + f.Job.Callback.Type + " " + f.Job.Callback.Team + ")"
		case f.Job.Kind == store.JobChannel || f.Job.Kind == store.JobParent || f.Job.Kind == store.JobNote:
			line.Where = f.Job.Channel
		case f.Job.User != "":
			line.Where = f.Job.User
		default:
			line.Where = f.Job.Email
		}
		if e, err := h.Store.EventBySeq(f.Job.Event); err == nil {
			line.Headline = views.Headline(e)
		}
		a.Failed = append(a.Failed, line)
	}
	return &a, nil
}

// retryFailed puts failed deliveries back in the outbox (admins only).
func (h inWorkspace) retryFailed(ctx context.Context, user string, a *slack.BlockAction) (string, error) {
	admin, err := h.isAdminNow(ctx, user)
	if err != nil {
		return "I couldn't check your Slack role just now; try again in a moment.", err
	}
	if !admin {
		return "Only admins can retry deliveries.", fmt.Errorf("%s is not an admin", user)
	}
	var seq uint64
	if a.ActionID == views.ActionRetry {
		if seq, err = strconv.ParseUint(a.Value, 10, 64); err != nil || seq == 0 {
			return "", fmt.Errorf("bad retry value %q", a.Value)
		}
	}
	jobs, err := h.Store.RetryFailed(h.scope(), seq)
	if err != nil {
		return "", err
	}
	if h.Delivery != nil {
		h.Delivery.Enqueue(jobs)
	}
	if len(jobs) == 0 {
		return "That delivery was already retried.", nil
	}
	return fmt.Sprintf("Retrying %d %s.", len(jobs), map[bool]string{true: "delivery", false: "deliveries"}[len(jobs) == 1]), nil
}
