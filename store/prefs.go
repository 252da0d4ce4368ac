package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
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

// Subject is something in Paligo or the pipeline a user can follow: a
// document, a topic, a schedule.
type Subject struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Key identifies the subject regardless of its title or URL.
func (s Subject) Key() string { return s.Kind + ":" + s.ID }

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

func prefsKey(team, user string) []byte { return []byte(team + "/" + user) }

// Prefs returns the user's preferences, or DefaultPrefs if they never saved
// any.
func (s *Store) Prefs(team, user string) (Prefs, error) {
	var p Prefs
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = getPrefs(tx, team, user)
		return err
	})
	return p, err
}

// UpdatePrefs applies fn to the user's preferences and saves the result in
// one transaction. If fn returns an error nothing is saved.
func (s *Store) UpdatePrefs(team, user string, fn func(*Prefs) error) (Prefs, error) {
	var p Prefs
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if p, err = getPrefs(tx, team, user); err != nil {
			return err
		}
		before := followKeys(p.Follows) // fn may reuse the slice
		if err := fn(&p); err != nil {
			return err
		}
		p.UpdatedAt = s.Now().UTC()
		if err := indexFollows(tx, team, user, before, followKeys(p.Follows)); err != nil {
			return err
		}
		return putPrefs(tx, team, user, p)
	})
	if err != nil {
		return Prefs{}, err
	}
	return p, nil
}

func getPrefs(tx *bolt.Tx, team, user string) (Prefs, error) {
	v := tx.Bucket(bucketPrefs).Get(prefsKey(team, user))
	if v == nil {
		return DefaultPrefs(), nil
	}
	p := DefaultPrefs()
	if err := json.Unmarshal(v, &p); err != nil {
		return Prefs{}, fmt.Errorf("decode prefs of %s/%s: %w", team, user, err)
	}
	return p, nil
}

func putPrefs(tx *bolt.Tx, team, user string, p Prefs) error {
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode prefs: %w", err)
	}
	return tx.Bucket(bucketPrefs).Put(prefsKey(team, user), v)
}

func followKeys(ss []Subject) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Key()
	}
	return out
}

// followerKey is the followers index key: subject key, NUL, "team/user".
func followerKey(subject, teamUser string) []byte {
	return []byte(subject + "\x00" + teamUser)
}

// indexFollows brings the followers index from before to after.
func indexFollows(tx *bolt.Tx, team, user string, before, after []string) error {
	b, who := tx.Bucket(bucketFollowers), string(prefsKey(team, user))
	for _, k := range before {
		if !slices.Contains(after, k) {
			if err := b.Delete(followerKey(k, who)); err != nil {
				return err
			}
		}
	}
	for _, k := range after {
		if !slices.Contains(before, k) {
			if err := b.Put(followerKey(k, who), nil); err != nil {
				return err
			}
		}
	}
	return nil
}
