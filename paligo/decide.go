package paligo

import (
	"time"
)

// Outcome is how a job ended.
type Outcome string

const (
	Sent           Outcome = "sent"             // Slack answered ok; Channel and TS are set
	Digested       Outcome = "digest"           // queued for the user's digest
	SkippedOff     Outcome = "skipped_off"      // the user turned notifications off
	SkippedCat     Outcome = "skipped_category" // the user turned the category off
	SkippedActor   Outcome = "skipped_actor"    // the user did it themselves
	AlreadyHandled Outcome = "duplicate"        // this person already got this event
	Unmatched      Outcome = "unmatched"        // no Slack user has the email
)

// Decide says what a person's preferences make, at now, of an event of
// kind k: Sent (a DM now), Digested, SkippedOff or SkippedCat. Critical
// kinds go now even to digest users and through a pause, unless the user
// turned the category (or everything) off; other kinds wait in the digest
// queue while paused.
func Decide(p Prefs, k Kind, now time.Time) Outcome {
	info := Kinds[k]
	switch {
	case p.Frequency == Off:
		return SkippedOff
	case info.Category != "" && !p.Wants(info.Category):
		return SkippedCat
	case info.Critical || info.Category == "":
		return Sent
	case p.Paused(now):
		return Digested
	case p.Frequency == Instant:
		return Sent
	default:
		return Digested
	}
}
