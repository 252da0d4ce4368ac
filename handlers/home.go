package handlers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// publishHome draws the user's Home tab from what is stored now.
func (h *Router) publishHome(ctx context.Context, team, user, notice string) {
	prefs, err := h.Store.Prefs(team, user)
	if err != nil {
		h.Log.Error("read prefs for home tab", "team", team, "user", user, "err", err)
		return
	}
	view := views.HomeView(views.Home{Prefs: prefs, Notice: notice})
	err = retrySlack(ctx, func(ctx context.Context) error {
		_, err := h.Slack.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view})
		return err
	})
	if err != nil {
		h.Log.Error("publish home tab", "team", team, "user", user, "err", err)
	}
}

// homeActions saves a change made in the Home tab, then re-publishes it. The
// ack goes first and empty: Slack needs nothing back for a block action.
func (h *Router) homeActions(cb slack.InteractionCallback) Reply {
	team, user := teamOf(cb), cb.User.ID
	if user == "" || len(cb.ActionCallback.BlockActions) == 0 {
		h.Log.Warn("home action without user or action")
		return Reply{}
	}
	actions := cb.ActionCallback.BlockActions
	return Reply{After: func(ctx context.Context) {
		unlock := h.lockUser(team, user)
		defer unlock()
		var notice string
		for _, a := range actions {
			n, err := h.applyHomeAction(team, user, a)
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

func (h *Router) applyHomeAction(team, user string, a *slack.BlockAction) (notice string, err error) {
	update := func(fn func(*store.Prefs) error) error {
		_, err := h.Store.UpdatePrefs(team, user, fn)
		return err
	}
	switch a.ActionID {
	case views.ActionFrequency:
		f := store.Frequency(a.SelectedOption.Value)
		if !f.Valid() {
			return "", fmt.Errorf("unknown frequency %q", f)
		}
		return "", update(func(p *store.Prefs) error { p.Frequency = f; return nil })
	case views.ActionDigestTime:
		return "", update(func(p *store.Prefs) error { return p.SetDigestTime(a.SelectedTime) })
	case views.ActionWeekday:
		d, err := strconv.Atoi(a.SelectedOption.Value)
		if err != nil || d < 0 || d > 6 {
			return "", fmt.Errorf("unknown weekday %q", a.SelectedOption.Value)
		}
		return "", update(func(p *store.Prefs) error { p.Weekday = time.Weekday(d); return nil })
	case views.ActionCategories:
		on := make([]store.Category, 0, len(a.SelectedOptions))
		for _, o := range a.SelectedOptions {
			on = append(on, store.Category(o.Value))
		}
		return "", update(func(p *store.Prefs) error { return p.SetCategories(on) })
	case views.ActionUnfollow:
		var title string
		err := update(func(p *store.Prefs) error {
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
	case views.ActionDigestNow:
		return "Nothing is waiting: you are all caught up.", nil
	default:
		return "", fmt.Errorf("unknown home action %q", a.ActionID)
	}
}
