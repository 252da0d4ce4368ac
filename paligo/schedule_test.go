package paligo_test

import (
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDigestWindow(t *testing.T) {
	prefs := func(f paligo.Frequency, at string, wd time.Weekday) paligo.Prefs {
		p := paligo.DefaultPrefs()
		p.Frequency, p.DigestTime, p.Weekday = f, at, wd
		return p
	}
	daily := func(at string) paligo.Prefs { return prefs(paligo.Daily, at, time.Monday) }
	cases := []struct {
		name string
		p    paligo.Prefs
		tz   string
		now  string
		want string
	}{
		{"LA 09:00 on the minute", daily("09:00"), "America/Los_Angeles", "2026-11-23T17:00:00Z", "2026-11-23T17:00:00Z"},
		{"LA one minute early", daily("09:00"), "America/Los_Angeles", "2026-11-23T16:59:59Z", "2026-11-22T17:00:00Z"},
		{"Kolkata +05:30", daily("09:00"), "Asia/Kolkata", "2026-11-23T03:30:00Z", "2026-11-23T03:30:00Z"},
		{"Kolkata before", daily("09:00"), "Asia/Kolkata", "2026-11-23T03:29:00Z", "2026-11-22T03:30:00Z"},
		{"Chatham +13:45 (summer)", daily("09:00"), "Pacific/Chatham", "2026-11-23T19:15:00Z", "2026-11-23T19:15:00Z"},
		{"Chatham +12:45 (winter)", daily("09:00"), "Pacific/Chatham", "2026-06-23T20:15:00Z", "2026-06-23T20:15:00Z"},
		{"hourly LA", prefs(paligo.Hourly, "09:00", 0), "America/Los_Angeles", "2026-11-23T17:59:00Z", "2026-11-23T17:00:00Z"},
		{"hourly Kolkata is the local top of the hour", prefs(paligo.Hourly, "09:00", 0), "Asia/Kolkata", "2026-11-23T10:45:00Z", "2026-11-23T10:30:00Z"},
		{"hourly Chatham", prefs(paligo.Hourly, "09:00", 0), "Pacific/Chatham", "2026-11-23T10:14:00Z", "2026-11-23T09:15:00Z"},
		{"weekly Monday from a Wednesday", prefs(paligo.Weekly, "09:00", time.Monday), "America/Los_Angeles", "2026-11-25T20:00:00Z", "2026-11-23T17:00:00Z"},
		{"weekly Monday, Monday before the time", prefs(paligo.Weekly, "09:00", time.Monday), "America/Los_Angeles", "2026-11-23T16:00:00Z", "2026-11-16T17:00:00Z"},
		{"weekly Sunday Kolkata", prefs(paligo.Weekly, "18:30", time.Sunday), "Asia/Kolkata", "2026-11-23T03:00:00Z", "2026-11-22T13:00:00Z"},
		// Spring forward (LA, 2026-03-08 02:00 → 03:00): 09:00 stays 09:00.
		{"09:00 before spring forward", daily("09:00"), "America/Los_Angeles", "2026-03-07T17:00:00Z", "2026-03-07T17:00:00Z"},
		{"09:00 after spring forward", daily("09:00"), "America/Los_Angeles", "2026-03-08T16:00:00Z", "2026-03-08T16:00:00Z"},
		// 02:30 does not exist that night: the next valid minute, 03:00 PDT.
		{"skipped 02:30 sent at 03:00", daily("02:30"), "America/Los_Angeles", "2026-03-08T10:00:00Z", "2026-03-08T10:00:00Z"},
		{"skipped 02:30, a minute before", daily("02:30"), "America/Los_Angeles", "2026-03-08T09:59:00Z", "2026-03-07T10:30:00Z"},
		// Fall back (LA, 2026-11-01 02:00 → 01:00): 01:30 happens twice; the
		// window is the first, so the second cannot start another.
		{"repeated 01:30, first", daily("01:30"), "America/Los_Angeles", "2026-11-01T08:30:00Z", "2026-11-01T08:30:00Z"},
		{"repeated 01:30, second", daily("01:30"), "America/Los_Angeles", "2026-11-01T09:45:00Z", "2026-11-01T08:30:00Z"},
		{"09:00 after fall back", daily("09:00"), "America/Los_Angeles", "2026-11-01T17:00:00Z", "2026-11-01T17:00:00Z"},
	}
	for _, c := range cases {
		got, ok := paligo.DigestWindow(c.p, mustLoc(t, c.tz), utc(c.now))
		if !ok || !got.Equal(utc(c.want)) {
			t.Errorf("%s: window at %s = %s (%v), want %s", c.name, c.now, got.UTC().Format(time.RFC3339), ok, c.want)
		}
	}
	for _, f := range []paligo.Frequency{paligo.Instant, paligo.Off} {
		if _, ok := paligo.DigestWindow(prefs(f, "09:00", 0), time.UTC, time.Now()); ok {
			t.Errorf("%s has a digest window", f)
		}
	}
}

// Over a whole year, minute by minute in three zones, a daily digest's
// window changes exactly once per local day: never twice, never skipped.
func TestDigestWindowOncePerDayThroughAYear(t *testing.T) {
	for _, tz := range []string{"America/Los_Angeles", "Pacific/Chatham", "Europe/London"} {
		loc := mustLoc(t, tz)
		for _, at := range []string{"01:30", "02:30", "09:00"} {
			p := paligo.DefaultPrefs()
			p.DigestTime = at
			var last time.Time
			changes := 0
			from := utc("2026-01-01T00:00:00Z")
			for now := from; now.Before(from.AddDate(1, 0, 0)); now = now.Add(5 * time.Minute) {
				w, _ := paligo.DigestWindow(p, loc, now)
				if !w.Equal(last) {
					if !last.IsZero() && !w.After(last) {
						t.Fatalf("%s %s: window went back from %s to %s at %s", tz, at, last, w, now)
					}
					changes++
					last = w
				}
			}
			if changes < 365 || changes > 366 {
				t.Errorf("%s %s: %d windows in a year", tz, at, changes)
			}
		}
	}
}

func TestDigestDue(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	daily := paligo.DefaultPrefs() // 09:00
	instant := paligo.DefaultPrefs()
	instant.Frequency = paligo.Instant
	paused := func(p paligo.Prefs, until string) paligo.Prefs { p.PausedUntil = utc(until); return p }
	off := paligo.DefaultPrefs()
	off.Frequency = paligo.Off
	st := func(pending int, oldest, last string) paligo.DigestState {
		s := paligo.DigestState{Pending: pending}
		if oldest != "" {
			s.Oldest = utc(oldest)
		}
		if last != "" {
			s.LastWindow = utc(last)
		}
		return s
	}
	// 09:00 in Los Angeles on 2026-11-23 is 17:00Z.
	cases := []struct {
		name   string
		p      paligo.Prefs
		st     paligo.DigestState
		now    string
		window string // "" = not due
		reason string
	}{
		{"due on the minute", daily, st(3, "2026-11-23T10:00:00Z", "2026-11-22T17:00:00Z"), "2026-11-23T17:00:00Z", "2026-11-23T17:00:00Z", paligo.DigestScheduled},
		{"not a minute early", daily, st(3, "2026-11-23T10:00:00Z", "2026-11-22T17:00:00Z"), "2026-11-23T16:59:00Z", "", ""},
		{"queued after the window waits for the next", daily, st(1, "2026-11-23T17:30:00Z", "2026-11-22T17:00:00Z"), "2026-11-23T20:00:00Z", "", ""},
		{"never twice for a window", daily, st(2, "2026-11-23T10:00:00Z", "2026-11-23T17:00:00Z"), "2026-11-23T17:05:00Z", "", ""},
		{"downtime: one catch-up for the latest window", daily, st(9, "2026-11-19T10:00:00Z", "2026-11-18T17:00:00Z"), "2026-11-23T19:00:00Z", "2026-11-23T17:00:00Z", paligo.DigestScheduled},
		{"nothing queued", daily, st(0, "", ""), "2026-11-23T17:00:00Z", "", ""},
		{"a digest job waits already", daily, paligo.DigestState{Pending: 2, Oldest: utc("2026-11-23T10:00:00Z"), Job: 7}, "2026-11-23T17:00:00Z", "", ""},
		{"off keeps what waits", off, st(4, "2026-11-23T10:00:00Z", ""), "2026-11-23T17:00:00Z", "", ""},
		{"paused holds the digest", paused(daily, "2026-11-24T17:00:00Z"), st(4, "2026-11-23T10:00:00Z", ""), "2026-11-23T17:00:00Z", "", ""},
		{"pause ended: one digest at its end", paused(instant, "2026-11-23T15:00:00Z"), st(4, "2026-11-23T14:10:00Z", ""), "2026-11-23T15:00:00Z", "2026-11-23T15:00:00Z", paligo.DigestInstant},
		{"pause ended for a daily user", paused(daily, "2026-11-23T18:00:00Z"), st(4, "2026-11-23T16:10:00Z", "2026-11-22T17:00:00Z"), "2026-11-23T18:00:00Z", "2026-11-23T18:00:00Z", paligo.DigestPauseEnded},
		{"an old pause does not send later items", paused(daily, "2026-11-20T18:00:00Z"), st(1, "2026-11-23T18:10:00Z", "2026-11-23T17:00:00Z"), "2026-11-23T19:00:00Z", "", ""},
		{"instant with an item left sends it", instant, st(1, "2026-11-23T14:10:00Z", ""), "2026-11-23T14:11:00Z", "2026-11-23T14:11:00Z", paligo.DigestInstant},
	}
	for _, c := range cases {
		w, reason, due := paligo.DigestDue(c.p, c.st, la, utc(c.now))
		switch {
		case c.window == "" && due:
			t.Errorf("%s: due (%s, %s), want not due", c.name, w.UTC().Format(time.RFC3339), reason)
		case c.window != "" && (!due || !w.Equal(utc(c.window)) || reason != c.reason):
			t.Errorf("%s: = %s %q %v, want %s %q", c.name, w.UTC().Format(time.RFC3339), reason, due, c.window, c.reason)
		}
	}
}

// A simulated month around each DST change, minute by minute: a user who
// gets a new notification every 20 minutes receives exactly one digest per
// local day (per local hour for hourly), each at its local time (or the
// first valid minute after one a jump skipped), never within the same
// window twice.
func TestDigestDueThroughDSTChanges(t *testing.T) {
	type zoneCase struct {
		tz, at string
		freq   paligo.Frequency
		from   string
		days   int
	}
	cases := []zoneCase{
		{"America/Los_Angeles", "09:00", paligo.Daily, "2026-03-01T00:00:00Z", 14}, // spring forward 03-08
		{"America/Los_Angeles", "02:30", paligo.Daily, "2026-03-01T00:00:00Z", 14}, // skipped that night
		{"America/Los_Angeles", "01:30", paligo.Daily, "2026-10-25T00:00:00Z", 14}, // repeated on 11-01
		{"America/Los_Angeles", "09:00", paligo.Weekly, "2026-10-01T00:00:00Z", 42},
		{"Pacific/Chatham", "09:00", paligo.Daily, "2026-04-01T00:00:00Z", 14}, // +13:45 → +12:45 on 04-05
		{"Pacific/Chatham", "02:45", paligo.Daily, "2026-09-20T00:00:00Z", 14}, // 02:45 → 03:45 on 09-27
		{"Asia/Kolkata", "09:00", paligo.Daily, "2026-11-01T00:00:00Z", 14},
		{"America/Los_Angeles", "", paligo.Hourly, "2026-10-31T00:00:00Z", 3},
		{"Pacific/Chatham", "", paligo.Hourly, "2026-04-04T00:00:00Z", 3},
	}
	for _, c := range cases {
		loc := mustLoc(t, c.tz)
		p := paligo.DefaultPrefs()
		p.Frequency = c.freq
		if c.at != "" {
			p.DigestTime = c.at
		}
		var st paligo.DigestState
		from := utc(c.from)
		sent := map[string]int{}
		var sends []time.Time
		for now := from; now.Before(from.AddDate(0, 0, c.days)); now = now.Add(time.Minute) {
			if now.Minute()%20 == 7 { // a notification is queued
				if st.Pending == 0 {
					st.Oldest = now
				}
				st.Pending++
			}
			w, _, due := paligo.DigestDue(p, st, loc, now)
			if !due {
				continue
			}
			if now.Sub(w) >= time.Minute {
				t.Errorf("%s %s %s: digest for %s sent late at %s", c.tz, c.freq, c.at, w, now)
			}
			key := w.In(loc).Format("2006-01-02")
			if c.freq == paligo.Hourly {
				key = w.UTC().Format(time.RFC3339)
			}
			sent[key]++
			sends = append(sends, now)
			st = paligo.DigestState{LastWindow: w}
		}
		for k, n := range sent {
			if n != 1 {
				t.Errorf("%s %s %s: %d digests for %s", c.tz, c.freq, c.at, n, k)
			}
		}
		want := c.days
		switch c.freq {
		case paligo.Weekly:
			want = c.days / 7
		case paligo.Hourly:
			// Every hour but the repeated hour of the fall-back night,
			// which is one window, and a first window starting with the
			// run (nothing was queued before it).
			want = c.days*24 - 1
			if from.In(loc).Minute() == 0 {
				want--
			}
		}
		if len(sends) < want-1 || len(sends) > want+1 || (c.freq == paligo.Hourly && len(sends) != want) {
			t.Errorf("%s %s %s: %d digests in %d days, want about %d", c.tz, c.freq, c.at, len(sends), c.days, want)
		}
		if c.freq == paligo.Daily {
			mins, _ := paligo.ParseClock(c.at)
			for _, s := range sends {
				l := s.In(loc)
				if got := l.Hour()*60 + l.Minute(); got != mins {
					// Only a time a DST jump skipped may move, and only to the jump.
					if before := s.Add(-time.Minute).In(loc); before.Hour()*60+before.Minute() >= mins || got < mins {
						t.Errorf("%s daily %s: sent at local %s", c.tz, c.at, l.Format("2006-01-02 15:04 MST"))
					}
				}
			}
		}
	}
}
