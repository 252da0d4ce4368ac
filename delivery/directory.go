package delivery

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
)

// The workspace directory: everyone in the workspace by email, so that
// matching a recipient to a Slack user costs no Slack call. Asking
// users.lookupByEmail (Tier 3, about 50 a minute, one email a call) for
// each stranger an event names would put a thousand strangers in front of
// the next person's critical alert for twenty minutes. users.list (Tier 2,
// about 20 a minute) carries 200 people a page with their emails: the
// directory is read at start and every DirectoryRefresh, page by page, and
// Slack's team_join and user_change events keep it fresh in between
// (handlers write them). Once this process has read it whole, an email it
// lacks is no one's; until then each unknown email is asked of Slack.

const directoryPage = 200

// directoryReady reports whether the directory was read whole recently
// enough (within two refreshes) to be believed about the emails it lacks.
func (sp *space) directoryReady(refresh time.Duration) bool {
	at := sp.directoryAt.Load()
	return at != nil && time.Since(*at) < 2*refresh
}

// keepDirectory reads the directory now and every DirectoryRefresh until
// ctx ends; a read that fails is tried again (Slack's 429s are waited out
// page by page).
func (w inWorkspace) keepDirectory(ctx context.Context) {
	d, sp := w.Deliverer, w.sp
	for try := 1; ; {
		wait := d.opts.DirectoryRefresh
		if err := w.readDirectory(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("workspace directory not read; emails are looked up one by one meanwhile", "team", sp.team, "err", err)
			wait = max(d.backoff.Delay(try), time.Minute)
			try++
		} else {
			try = 1
		}
		if bot.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// readDirectory reads users.list whole, paced at its tier, writing each
// page as it comes (memory stays one page whatever the workspace's size).
func (w inWorkspace) readDirectory(ctx context.Context) error {
	sp := w.sp
	start := time.Now()
	limiter := rate.NewLimiter(w.opts.DirectoryRate, 3)
	cursor, people, pages := "", 0, 0
	for try := 1; ; {
		var users []slack.User
		var next string
		err := w.call(ctx, "users.list", "", limiter, func(ctx context.Context, api DeliverySlack) (err error) {
			users, next, err = api.UsersPage(ctx, cursor, directoryPage)
			return err
		})
		var rl *slack.RateLimitedError
		switch {
		case errors.As(err, &rl):
			continue // the gate holds the next call for Retry-After
		case err != nil:
			if v, _ := bot.Classify(err); v != bot.Retry || try >= 5 || ctx.Err() != nil {
				return err
			}
			if bot.Sleep(ctx, w.backoff.Delay(try)) != nil {
				return ctx.Err()
			}
			try++
			continue
		}
		try = 1
		byEmail := make(map[string]string, len(users))
		roles := make(map[string]paligo.Role, len(users))
		for _, u := range users {
			roles[u.ID] = bot.RoleOf(u)
			email := strings.ToLower(u.Profile.Email)
			if email == "" {
				continue
			}
			id := ""
			if bot.Notifiable(u) {
				id = u.ID
			}
			byEmail[email] = id
		}
		if err := w.store.CacheDirectory(sp.scope, byEmail); err != nil {
			return err
		}
		if err := w.store.CacheRoles(sp.scope, roles); err != nil {
			return err
		}
		people += len(users)
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	now := time.Now()
	sp.directoryAt.Store(&now)
	if sp.scope == "" {
		w.m.directory.Set(float64(people))
	}
	w.log.Info("workspace directory read", "team", sp.team, "people", people, "pages", pages, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
