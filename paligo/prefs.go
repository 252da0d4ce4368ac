package paligo

import (
	"fmt"
	"slices"
	"time"
)

// Frequency is how often a user hears from the bot. The string values are
// part of the product contract (they are the Home tab's option values).
type Frequency string

const (
	Instant Frequency = "instant"
	Hourly  Frequency = "hourly"
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
	Off     Frequency = "off"
)

// Frequencies lists every frequency in the order the Home tab shows them.
var Frequencies = []Frequency{Instant, Hourly, Daily, Weekly, Off}

// Valid reports whether f is one of Frequencies.
func (f Frequency) Valid() bool { return slices.Contains(Frequencies, f) }

// Category is a personal notification category a user can turn off.
type Category string

const (
	CatFollowing    Category = "following"    // activity on followed subjects
	CatMentions     Category = "mentions"     // @mentions in reviews
	CatReplies      Category = "replies"      // replies in followed topics
	CatShares       Category = "shares"       // documents shared with you
	CatPublications Category = "publications" // publication ready / failed
	CatAssignments  Category = "assignments"  // assignment started / status
	CatRuns         Category = "runs"         // schedule run outcomes
	CatAlerts       Category = "alerts"       // system and data alerts
)

// Categories lists every category in the order the Home tab shows them.
var Categories = []Category{
	CatFollowing, CatMentions, CatReplies, CatShares,
	CatPublications, CatAssignments, CatRuns, CatAlerts,
}

// Valid reports whether c is one of Categories.
func (c Category) Valid() bool { return slices.Contains(Categories, c) }

// DefaultDigestTime is the local time of day of daily and weekly digests for
// a user who never chose one.
const DefaultDigestTime = "09:00"

// Prefs are one user's notification preferences.
type Prefs struct {
	Frequency  Frequency    `json:"frequency"`
	DigestTime string       `json:"digest_time"` // "HH:MM", the user's local time
	Weekday    time.Weekday `json:"weekday"`     // for weekly digests
	// Off holds the categories the user turned off. Storing the ones that are
	// off rather than on means a category added later starts on for everyone.
	Off     []Category `json:"off,omitempty"`
	Follows []Subject  `json:"follows,omitempty"`
	// PausedUntil, while in the future, holds every notification that is
	// not critical for one digest when the pause ends.
	PausedUntil time.Time `json:"paused_until,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// Paused reports whether notifications are paused at now.
func (p Prefs) Paused(now time.Time) bool { return now.Before(p.PausedUntil) }

// DefaultPrefs are the preferences of a user who never opened the Home tab:
// a daily digest at 09:00 local time (weekly ones on Monday), every category
// on.
func DefaultPrefs() Prefs {
	return Prefs{Frequency: Daily, DigestTime: DefaultDigestTime, Weekday: time.Monday}
}

// Wants reports whether the user wants notifications of category c.
func (p Prefs) Wants(c Category) bool { return !slices.Contains(p.Off, c) }

// SetCategories turns on exactly the categories in on.
func (p *Prefs) SetCategories(on []Category) error {
	for _, c := range on {
		if !c.Valid() {
			return fmt.Errorf("unknown category %q", c)
		}
	}
	p.Off = p.Off[:0]
	for _, c := range Categories {
		if !slices.Contains(on, c) {
			p.Off = append(p.Off, c)
		}
	}
	return nil
}

// SetDigestTime sets the time of day of daily and weekly digests.
func (p *Prefs) SetDigestTime(hhmm string) error {
	if _, err := ParseClock(hhmm); err != nil {
		return err
	}
	p.DigestTime = hhmm
	return nil
}

// ParseClock parses "HH:MM" (24-hour) into minutes after midnight.
func ParseClock(hhmm string) (int, error) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil || len(hhmm) != 5 {
		return 0, fmt.Errorf("time of day %q is not HH:MM", hhmm)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// FollowsKey reports whether the user follows the subject with key k.
func (p Prefs) FollowsKey(k string) bool {
	return slices.ContainsFunc(p.Follows, func(s Subject) bool { return s.Key() == k })
}

// Follow adds s to the followed subjects, refreshing its title and URL if it
// is already there.
func (p *Prefs) Follow(s Subject) {
	for i := range p.Follows {
		if p.Follows[i].Key() == s.Key() {
			p.Follows[i] = s
			return
		}
	}
	p.Follows = append(p.Follows, s)
}

// Unfollow removes the subject with key k. It reports whether it was there.
func (p *Prefs) Unfollow(k string) bool {
	n := len(p.Follows)
	p.Follows = slices.DeleteFunc(p.Follows, func(s Subject) bool { return s.Key() == k })
	return len(p.Follows) != n
}
