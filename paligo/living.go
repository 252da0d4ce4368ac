package paligo

import (
	"strings"
	"time"
)

// Living messages: posts about one thing form one thread per channel, under
// a parent that shows the thing's latest state (docs/living-messages.md).

// Action is a button the platform declares on an event's channel posts;
// a click is sent back to the platform (PALIGO_SLACK_ACTIONS_URL).
type Action struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Limits of an event's thread and actions.
const (
	MaxThreadLen    = 128
	MaxActions      = 3
	MaxActionIDLen  = 64
	MaxActionLabel  = 30
	ThreadLifetime  = 24 * time.Hour // after it, the next event starts a new parent
	MaxActionLogLen = 5              // results of clicks a parent shows
)

// ThreadKey is what groups e's channel posts: its "thread", else its
// subject's key; "" when it has neither (then every post stands alone).
func ThreadKey(e *Event) string {
	if e.Thread != "" {
		return "thread:" + e.Thread
	}
	if e.Subject != nil {
		return e.Subject.Key()
	}
	return ""
}

// Status is the state e reports: its "status" field when it has one, else
// the outcome its kind names (run.failed: "failed", publication.ready:
// "ready"); "" when neither says.
func Status(e *Event) string {
	if s := strings.TrimSpace(e.Fields["status"]); s != "" {
		return strings.ToLower(s)
	}
	switch _, outcome, _ := strings.Cut(string(e.Type), "."); outcome {
	case "failed", "succeeded", "ready":
		return outcome
	case "started":
		if e.Type == "run.started" {
			return "running"
		}
	case "alert":
		return "alerting"
	}
	return ""
}

// Living is one living message: a parent post in a channel and what its
// thread has taken since.
type Living struct {
	ID uint64 `json:"id"`
	// Team is the workspace whose bot posted it ("" for the primary
	// workspace of SLACK_BOT_TOKEN).
	Team    string `json:"team,omitempty"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`  // the parent's ts
	Key     string `json:"key"` // ThreadKey, or "event:ID" for a post that stands alone
	// Alone: a post of a threads=off subscription (or of an event with no
	// key): its buttons act, but no other event joins its thread.
	Alone     bool      `json:"alone,omitempty"`
	StartedAt time.Time `json:"started_at"` // when the parent was posted
	// Event is the latest event's store sequence: the parent draws it.
	Event   uint64    `json:"event"`
	Status  string    `json:"status,omitempty"`
	Updates int       `json:"updates"` // events in the thread, the parent's own included
	LastAt  time.Time `json:"last_at"`
	// AckedBy (a Slack user id) acknowledged the current state at AckedAt;
	// a change of state clears it.
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	// Log is what clicks did, newest last (at most MaxActionLogLen).
	Log []ActionResult `json:"log,omitempty"`
	// Version counts changes; Shown is the version the parent in Slack
	// draws. Shown < Version means an update is due.
	Version uint64 `json:"version"`
	Shown   uint64 `json:"shown"`
	// UpdateJob is the outbox job that will bring the parent up to date
	// (0: none waiting), so that replies waiting together share one update.
	UpdateJob uint64 `json:"update_job,omitempty"`
}

// Open reports whether an event at now may still join l's thread.
func (l *Living) Open(now time.Time) bool {
	return !l.Alone && now.Sub(l.StartedAt) < ThreadLifetime
}

// ActionResult is what one click on a living message came to.
type ActionResult struct {
	Action string    `json:"action"` // "acknowledge", "mute", or a platform action's id
	Label  string    `json:"label"`
	By     string    `json:"by"` // Slack user id
	At     time.Time `json:"at"`
	// Outcome is "requested" (the platform said 2xx), "pending" (sent,
	// not yet answered), "failed" (Detail says why) or "done".
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
	// Callback is the id of the callback to the platform, if one was sent.
	Callback string `json:"callback,omitempty"`
}

// ActionCallback is what the platform is sent when someone clicks
// Acknowledge or one of its actions (docs/living-messages.md).
type ActionCallback struct {
	ID string `json:"id"`
	// Type is "action", "reply" (a person's reply in a living message's
	// thread), "message" (a message sent with the Send to Paligo
	// shortcut), or "disconnected" (a workspace was).
	Type    string   `json:"type"`
	Action  string   `json:"action,omitempty"` // the action's id, or "acknowledge"
	Event   string   `json:"event,omitempty"`  // the event's id
	Subject *Subject `json:"subject,omitempty"`
	By      *Clicker `json:"by,omitempty"`
	Team    string   `json:"team"`
	// Org is the platform's org of a disconnected workspace.
	Org string `json:"org,omitempty"`
	// Text is a reply's or a message's text, as plain text: Slack's
	// mention and link tokens turned into names and URLs.
	Text string `json:"text,omitempty"`
	// Author wrote the message a shortcut sends (By sent it).
	Author *Clicker `json:"author,omitempty"`
	// Permalink is the reply's or the message's link in Slack.
	Permalink string `json:"permalink,omitempty"`
	// Note is what the person added with the shortcut.
	Note string `json:"note,omitempty"`
	At   string `json:"at"` // RFC 3339
}

// Clicker is who clicked, as the platform is told.
type Clicker struct {
	SlackUser string `json:"slack_user"`
	Email     string `json:"email,omitempty"`
	Name      string `json:"name,omitempty"`
}
