package bot

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/store"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	prefs := func(f store.Frequency, off ...store.Category) store.Prefs {
		p := store.DefaultPrefs()
		p.Frequency, p.Off = f, off
		return p
	}
	paused := func(f store.Frequency, until time.Time, off ...store.Category) store.Prefs {
		p := prefs(f, off...)
		p.PausedUntil = until
		return p
	}
	cases := []struct {
		p    store.Prefs
		kind store.Kind
		want store.Outcome
	}{
		{prefs(store.Instant), "comment.reply", store.Sent},
		{prefs(store.Hourly), "comment.reply", store.Digested},
		{prefs(store.Daily), "document.created", store.Digested},
		{prefs(store.Weekly), "run.succeeded", store.Digested},
		// Critical kinds go at once to digest users...
		{prefs(store.Daily), "run.failed", store.Sent},
		{prefs(store.Weekly), "publication.failed", store.Sent},
		{prefs(store.Hourly), "system.alert", store.Sent},
		{prefs(store.Daily), "data.alert", store.Sent},
		// ...unless the category or everything is off.
		{prefs(store.Daily, store.CatRuns), "run.failed", store.SkippedCat},
		{prefs(store.Off), "data.alert", store.SkippedOff},
		{prefs(store.Instant, store.CatReplies), "comment.reply", store.SkippedCat},
		{prefs(store.Instant, store.CatReplies), "review.mention", store.Sent},
		// invite.accepted has no category: it always tells the inviter now.
		{prefs(store.Weekly), "invite.accepted", store.Sent},
		{prefs(store.Off), "invite.accepted", store.SkippedOff},
		// A pause holds what is not critical, even for instant users...
		{paused(store.Instant, now.Add(time.Hour)), "comment.reply", store.Digested},
		{paused(store.Daily, now.Add(time.Hour)), "document.created", store.Digested},
		// ...but not critical kinds, nor a category turned off, nor off.
		{paused(store.Instant, now.Add(time.Hour)), "run.failed", store.Sent},
		{paused(store.Instant, now.Add(time.Hour), store.CatReplies), "comment.reply", store.SkippedCat},
		{paused(store.Off, now.Add(time.Hour)), "comment.reply", store.SkippedOff},
		// A pause that has ended holds nothing.
		{paused(store.Instant, now), "comment.reply", store.Sent},
		{paused(store.Instant, now.Add(-time.Minute)), "comment.reply", store.Sent},
	}
	for _, c := range cases {
		if got := Decide(c.p, c.kind, now); got != c.want {
			t.Errorf("Decide(%s, off %v, paused until %v, %s) = %s, want %s", c.p.Frequency, c.p.Off, c.p.PausedUntil, c.kind, got, c.want)
		}
	}
}

func TestPermanentError(t *testing.T) {
	cases := []struct {
		err       error
		permanent bool
		reason    string
	}{
		{slack.SlackErrorResponse{Err: "channel_not_found"}, true, "channel_not_found"},
		{slack.SlackErrorResponse{Err: "not_in_channel"}, true, "not_in_channel"},
		{slack.SlackErrorResponse{Err: "is_archived"}, true, "is_archived"},
		{slack.SlackErrorResponse{Err: "invalid_blocks", ResponseMetadata: slack.ResponseMetadata{Messages: []string{"[ERROR] too long"}}}, true, "invalid_blocks: [ERROR] too long"},
		{fmt.Errorf("post: %w", slack.SlackErrorResponse{Err: "user_disabled"}), true, "user_disabled"},
		{slack.SlackErrorResponse{Err: "internal_error"}, false, ""},
		{slack.SlackErrorResponse{Err: "ratelimited"}, false, ""},
		{slack.SlackErrorResponse{Err: "token_revoked"}, false, ""}, // the bot stops; the jobs wait
		{&slack.RateLimitedError{RetryAfter: 1}, false, ""},
		{slack.StatusCodeError{Code: http.StatusBadGateway, Status: "502"}, false, ""},
		{errors.New("dial tcp: connection refused"), false, ""},
	}
	for _, c := range cases {
		reason, permanent := permanentError(c.err)
		if permanent != c.permanent || reason != c.reason {
			t.Errorf("permanentError(%v) = %q, %v; want %q, %v", c.err, reason, permanent, c.reason, c.permanent)
		}
	}
}
