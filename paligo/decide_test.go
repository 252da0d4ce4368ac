package paligo

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	prefs := func(f Frequency, off ...Category) Prefs {
		p := DefaultPrefs()
		p.Frequency, p.Off = f, off
		return p
	}
	paused := func(f Frequency, until time.Time, off ...Category) Prefs {
		p := prefs(f, off...)
		p.PausedUntil = until
		return p
	}
	cases := []struct {
		p    Prefs
		kind Kind
		want Outcome
	}{
		{prefs(Instant), "comment.reply", Sent},
		{prefs(Hourly), "comment.reply", Digested},
		{prefs(Daily), "document.created", Digested},
		{prefs(Weekly), "run.succeeded", Digested},
		// Critical kinds go at once to digest users...
		{prefs(Daily), "run.failed", Sent},
		{prefs(Weekly), "publication.failed", Sent},
		{prefs(Hourly), "system.alert", Sent},
		{prefs(Daily), "data.alert", Sent},
		// ...unless the category or everything is off.
		{prefs(Daily, CatRuns), "run.failed", SkippedCat},
		{prefs(Off), "data.alert", SkippedOff},
		{prefs(Instant, CatReplies), "comment.reply", SkippedCat},
		{prefs(Instant, CatReplies), "review.mention", Sent},
		// invite.accepted has no category: it always tells the inviter now.
		{prefs(Weekly), "invite.accepted", Sent},
		{prefs(Off), "invite.accepted", SkippedOff},
		// A pause holds what is not critical, even for instant users...
		{paused(Instant, now.Add(time.Hour)), "comment.reply", Digested},
		{paused(Daily, now.Add(time.Hour)), "document.created", Digested},
		// ...but not critical kinds, nor a category turned off, nor off.
		{paused(Instant, now.Add(time.Hour)), "run.failed", Sent},
		{paused(Instant, now.Add(time.Hour), CatReplies), "comment.reply", SkippedCat},
		{paused(Off, now.Add(time.Hour)), "comment.reply", SkippedOff},
		// A pause that has ended holds nothing.
		{paused(Instant, now), "comment.reply", Sent},
		{paused(Instant, now.Add(-time.Minute)), "comment.reply", Sent},
	}
	for _, c := range cases {
		if got := Decide(c.p, c.kind, now); got != c.want {
			t.Errorf("Decide(%s, off %v, paused until %v, %s) = %s, want %s", c.p.Frequency, c.p.Off, c.p.PausedUntil, c.kind, got, c.want)
		}
	}
}
