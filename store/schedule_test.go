package store_test

import (
	"testing"
	"time"

	"github.com/paligo/paligo-slack/store"
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
	prefs := func(f store.Frequency, at string, wd time.Weekday) store.Prefs {
		p := store.DefaultPrefs()
		p.Frequency, p.DigestTime, p.Weekday = f, at, wd
		return p
	}
	daily := func(at string) store.Prefs { return prefs(store.Daily, at, time.Monday) }
	cases := []struct {
		name string
		p    store.Prefs
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
		{"hourly LA", prefs(store.Hourly, "09:00", 0), "America/Los_Angeles", "2026-11-23T17:59:00Z", "2026-11-23T17:00:00Z"},
		{"hourly Kolkata is the local top of the hour", prefs(store.Hourly, "09:00", 0), "Asia/Kolkata", "2026-11-23T10:45:00Z", "2026-11-23T10:30:00Z"},
		{"hourly Chatham", prefs(store.Hourly, "09:00", 0), "Pacific/Chatham", "2026-11-23T10:14:00Z", "2026-11-23T09:15:00Z"},
		{"weekly Monday from a Wednesday", prefs(store.Weekly, "09:00", time.Monday), "America/Los_Angeles", "2026-11-25T20:00:00Z", "2026-11-23T17:00:00Z"},
		{"weekly Monday, Monday before the time", prefs(store.Weekly, "09:00", time.Monday), "America/Los_Angeles", "2026-11-23T16:00:00Z", "2026-11-16T17:00:00Z"},
		{"weekly Sunday Kolkata", prefs(store.Weekly, "18:30", time.Sunday), "Asia/Kolkata", "2026-11-23T03:00:00Z", "2026-11-22T13:00:00Z"},
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
		got, ok := store.DigestWindow(c.p, mustLoc(t, c.tz), utc(c.now))
		if !ok || !got.Equal(utc(c.want)) {
			t.Errorf("%s: window at %s = %s (%v), want %s", c.name, c.now, got.UTC().Format(time.RFC3339), ok, c.want)
		}
	}
	for _, f := range []store.Frequency{store.Instant, store.Off} {
		if _, ok := store.DigestWindow(prefs(f, "09:00", 0), time.UTC, time.Now()); ok {
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
			p := store.DefaultPrefs()
			p.DigestTime = at
			var last time.Time
			changes := 0
			from := utc("2026-01-01T00:00:00Z")
			for now := from; now.Before(from.AddDate(1, 0, 0)); now = now.Add(5 * time.Minute) {
				w, _ := store.DigestWindow(p, loc, now)
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
