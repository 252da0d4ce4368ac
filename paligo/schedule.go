package paligo

import (
	"time"
)

// DigestWindow returns the start of the digest window now falls in for a
// user with prefs p living in loc: the latest scheduled digest time at or
// before now. A digest is due when this is later than the window of the
// last digest sent, so downtime over many windows still gives one digest.
//
//   - hourly: the top of the local hour;
//   - daily: the chosen local time of day;
//   - weekly: the chosen weekday at that time.
//
// Local times that a daylight-saving jump skips are moved to the first
// valid minute after them (02:30 on a spring-forward night is 03:00); a
// repeated hour keeps its first occurrence, so it cannot send twice. ok is
// false for instant and off, which have no windows.
func DigestWindow(p Prefs, loc *time.Location, now time.Time) (start time.Time, ok bool) {
	local := now.In(loc)
	switch p.Frequency {
	case Hourly:
		t := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), 0, 0, 0, loc)
		if t.After(now) { // a 30- or 45-minute zone offset change can put it ahead
			t = t.Add(-time.Hour)
		}
		// A repeated hour (fall back) is one window, like a daily time in it.
		return earliest(t, loc), true
	case Daily, Weekly:
	default:
		return time.Time{}, false
	}
	mins, err := ParseClock(p.DigestTime)
	if err != nil {
		mins, _ = ParseClock(DefaultDigestTime)
	}
	// Walk back from today, local, to the latest scheduled time ≤ now.
	y, m, d := local.Date()
	for back := 0; back <= 8; back++ {
		day := time.Date(y, m, d-back, 12, 0, 0, 0, loc) // noon: never in a DST gap
		if p.Frequency == Weekly && day.Weekday() != p.Weekday {
			continue
		}
		t := scheduledAt(day, mins, loc)
		if !t.After(now) {
			return t, true
		}
	}
	return time.Time{}, false // unreachable: a week back always has one
}

// scheduledAt is the instant of local time mins (after midnight) on day's
// local date, or the first valid minute after it if a DST jump skipped it.
func scheduledAt(day time.Time, mins int, loc *time.Location) time.Time {
	y, m, d := day.Date()
	hh, mm := mins/60, mins%60
	t := time.Date(y, m, d, hh, mm, 0, 0, loc)
	if t.Hour() == hh && t.Minute() == mm {
		return earliest(t, loc)
	}
	// Skipped by a DST jump: time.Date normalised it to one side of the
	// gap. The answer is the transition: the first minute whose local clock
	// is past the wanted time while the minute before it is not.
	t = t.Truncate(time.Minute)
	for i := 0; i < 24*60 && clockOf(t.In(loc)) < mins; i++ {
		t = t.Add(time.Minute)
	}
	for i := 0; i < 24*60 && clockOf(t.Add(-time.Minute).In(loc)) > mins && t.Add(-time.Minute).In(loc).Day() == d; i++ {
		t = t.Add(-time.Minute)
	}
	return t
}

// earliest returns the first occurrence of t's local clock time when a
// fall-back repeats that hour.
func earliest(t time.Time, loc *time.Location) time.Time {
	for _, d := range []time.Duration{time.Hour, 30 * time.Minute} {
		if e := t.Add(-d).In(loc); clockOf(e) == clockOf(t.In(loc)) && e.Day() == t.In(loc).Day() {
			return e
		}
	}
	return t
}

func clockOf(t time.Time) int { return t.Hour()*60 + t.Minute() }

// DigestDue says whether a digest is due now for a user with prefs p, state
// st, living in loc, and for which window. Each rule gives a cutoff; a
// digest is due for the latest cutoff that is after the last window sent
// and at or after the oldest queued event, so an event queued after a
// window's start waits for the next window, and downtime gives one digest:
//
//   - hourly, daily, weekly: the current window (DigestWindow);
//   - instant: now (events left queued by a pause or a switch to instant);
//   - a pause that has ended: its end.
//
// Nothing is due while paused, with notifications off, with nothing
// queued, or with a digest job already waiting.
func DigestDue(p Prefs, st DigestState, loc *time.Location, now time.Time) (window time.Time, reason string, due bool) {
	if st.Pending == 0 || st.Job != 0 || p.Frequency == Off || p.Paused(now) {
		return time.Time{}, "", false
	}
	consider := func(c time.Time, why string) {
		if c.After(st.LastWindow) && !st.Oldest.After(c) && c.After(window) {
			window, reason, due = c, why, true
		}
	}
	if w, ok := DigestWindow(p, loc, now); ok {
		consider(w, DigestScheduled)
	}
	if p.Frequency == Instant {
		consider(now, DigestInstant)
	}
	if !p.PausedUntil.IsZero() {
		consider(p.PausedUntil, DigestPauseEnded)
	}
	return window, reason, due
}

// Why a digest was sent.
const (
	DigestScheduled  = "scheduled"   // the user's hourly, daily or weekly time
	DigestNow        = "now"         // "Send digest now" in the Home tab
	DigestInstant    = "instant"     // the user switched to instant, or an item was left
	DigestPauseEnded = "pause_ended" // a pause ended (or the user resumed)
)

// DigestState is what the bot keeps per user about digests.
type DigestState struct {
	Pending int       `json:"pending"`          // events in the queue
	Oldest  time.Time `json:"oldest,omitzero"`  // when the oldest of them was queued
	Job     uint64    `json:"job,omitempty"`    // digest job in the outbox, if any
	InJob   int       `json:"in_job,omitempty"` // how many of Pending that job sends
	// LastWindow is the window of the last digest Slack accepted; a digest
	// for it or an earlier one is never sent again.
	LastWindow  time.Time `json:"last_window,omitzero"`
	LastSentAt  time.Time `json:"last_sent_at,omitzero"`
	LastChannel string    `json:"last_channel,omitempty"`
	LastTS      string    `json:"last_ts,omitempty"`
}
