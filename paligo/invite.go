package paligo

import (
	"errors"
	"strconv"
	"time"
)

// Invite statuses. Expired is not stored: a sending or pending invite past
// its Expires is expired.
const (
	InviteSending  = "sending"  // recorded before its DM was sent (an older version did; no longer written)
	InvitePending  = "pending"  // the DM is out; waiting for the person
	InviteAccepted = "accepted" // the platform said invite.accepted
	InviteFailed   = "failed"   // the DM could not be sent (Reason)
	InviteExpired  = "expired"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// Invite is one invitation of one person.
type Invite struct {
	ID           uint64    `json:"id"`
	Team         string    `json:"team"`
	Email        string    `json:"email"`
	User         string    `json:"user"`
	Inviter      string    `json:"inviter"`
	InviterEmail string    `json:"inviter_email,omitempty"`
	InviterName  string    `json:"inviter_name,omitempty"`
	Note         string    `json:"note,omitempty"`
	Run          uint64    `json:"run"`
	Created      time.Time `json:"created"`
	Expires      time.Time `json:"expires"`
	Status       string    `json:"status"`
	Channel      string    `json:"channel,omitempty"` // the DM, once Slack said ok
	TS           string    `json:"ts,omitempty"`
	Reason       string    `json:"reason,omitempty"` // why it failed
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	// AcceptEvent is the invite.accepted event that accepted it: the one
	// that tells the inviter.
	AcceptEvent uint64 `json:"accept_event,omitempty"`
}

// Refusals of an invitation run asked for by the platform.
var (
	ErrInvitesOff = errors.New("invitations are off: PALIGO_SLACK_INVITE_URL is not set")
	ErrNotAdmin   = errors.New("not an admin (a Slack admin or owner, or in PALIGO_SLACK_ADMINS)")
)

// State is the invite's status at now: Status, or expired.
func (i Invite) State(now time.Time) string {
	if (i.Status == InviteSending || i.Status == InvitePending) && !now.Before(i.Expires) {
		return InviteExpired
	}
	return i.Status
}

// Blocks says why this invitation, the latest of an email, keeps a new one
// from being sent to it at now ("" when it does not): one accepted, or one
// still pending. A failed or expired invitation does not.
func (i Invite) Blocks(now time.Time) string {
	switch i.State(now) {
	case InviteAccepted:
		return "already accepted an invitation on " + i.AcceptedAt.Format("2 Jan 2006")
	case InviteSending, InvitePending:
		return "already has a pending invitation (until " + i.Expires.Format("2 Jan 2006") + ")"
	}
	return ""
}

// Results of an invite run's entries.
const (
	InviteSent    = "sent"
	InviteSkipped = "skipped"
	// InviteFailed ("failed") is shared with the Invite status.
)

// InviteEntry is one person of an invite run and how it ended.
type InviteEntry struct {
	User string `json:"user"`
	// Invite is the id of their invitation, taken when the run is queued
	// (its link names it, the same on every try); the Invite is recorded
	// once the DM is sent, or failed.
	Invite uint64 `json:"invite,omitempty"`
	Result string `json:"result,omitempty"` // "" while on its way; sent, skipped, failed
	Reason string `json:"reason,omitempty"`
}

// InviteRun is one /paligo-invite: who asked, the note, and each person.
type InviteRun struct {
	Seq          uint64        `json:"seq"`
	Team         string        `json:"team"`
	Inviter      string        `json:"inviter"`
	InviterEmail string        `json:"inviter_email,omitempty"`
	InviterName  string        `json:"inviter_name,omitempty"`
	Note         string        `json:"note,omitempty"`
	Created      time.Time     `json:"created"`
	Entries      []InviteEntry `json:"entries"`
	// SummaryTS is the summary DM's ts, once Slack said ok.
	SummaryTS string `json:"summary_ts,omitempty"`
}

// Entry is the entry of user still on its way (nil when none is).
func (r *InviteRun) Entry(user string) *InviteEntry {
	for i := range r.Entries {
		if r.Entries[i].User == user && r.Entries[i].Result == "" {
			return &r.Entries[i]
		}
	}
	return nil
}

// Counts returns how many entries were sent, skipped and failed.
func (r InviteRun) Counts() (sent, skipped, failed int) {
	for _, e := range r.Entries {
		switch e.Result {
		case InviteSent:
			sent++
		case InviteSkipped:
			skipped++
		case InviteFailed:
			failed++
		}
	}
	return
}

// Settled reports whether every entry of the run has its result.
func (r InviteRun) Settled() bool {
	for _, e := range r.Entries {
		if e.Result == "" {
			return false
		}
	}
	return true
}

// FieldInviteID is the event field that names the invitation an
// invite.accepted event accepts (the ingest API sets it from the token).
const FieldInviteID = "invite_id"

// InviteIDOf returns the invitation an invite.accepted event names.
func InviteIDOf(e Event) (uint64, bool) {
	id, err := strconv.ParseUint(e.Fields[FieldInviteID], 10, 64)
	return id, err == nil && id > 0
}

// Role is what the workspace directory (users.list, team_join,
// user_change) says of a person: for drawing the Home tab without asking
// users.info; a request that changes something asks Slack again.
type Role struct {
	Admin bool      `json:"admin,omitempty"` // a workspace admin or owner
	Email string    `json:"email,omitempty"`
	Name  string    `json:"name,omitempty"`
	At    time.Time `json:"at"`
}
