package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
)

// Invites answers GET /v1/invites/{token}: the Paligo side checks the token
// of an invitation link. The request is signed like the ingest API, with
// the request path (/v1/invites/{token}) as the signed body.
type Invites struct {
	Store  InviteRecords
	Tokens *paligo.InviteTokens // nil: invitations are off
	// Keys check the signature: the ingest secret and, while it is
	// rotated, the one before.
	Keys signing.Keys
	Log  *slog.Logger
}

type inviteAnswer struct {
	Error      string        `json:"error,omitempty"`
	ID         string        `json:"id,omitempty"`
	Status     string        `json:"status,omitempty"`
	Email      string        `json:"email,omitempty"`
	SlackUser  string        `json:"slack_user,omitempty"`
	Inviter    *inviterField `json:"inviter,omitempty"`
	Note       string        `json:"note,omitempty"`
	CreatedAt  *time.Time    `json:"created_at,omitempty"`
	ExpiresAt  *time.Time    `json:"expires_at,omitempty"`
	AcceptedAt *time.Time    `json:"accepted_at,omitempty"`
}

type inviterField struct {
	SlackUser string `json:"slack_user"`
	Email     string `json:"email,omitempty"`
	Name      string `json:"name,omitempty"`
}

func (h *Invites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.Keys.Set() || h.Tokens == nil {
		writeJSON(w, http.StatusServiceUnavailable, inviteAnswer{Error: "invitations are off: PALIGO_SLACK_INGEST_SECRET and PALIGO_SLACK_INVITE_URL must be set"})
		return
	}
	if msg := h.Keys.Verify(r.Header, []byte(r.URL.EscapedPath())); msg != "" {
		writeJSON(w, http.StatusUnauthorized, inviteAnswer{Error: msg})
		return
	}
	inv, status, msg := CheckInviteToken(h.Store, h.Tokens, r.PathValue("token"), h.Keys.Now())
	if status != http.StatusOK {
		a := inviteAnswer{Error: msg}
		if status == http.StatusGone {
			a.ID, a.Status = strconv.FormatUint(inv.ID, 10), inv.State(h.Keys.Now())
			a.ExpiresAt = &inv.Expires
			if !inv.AcceptedAt.IsZero() {
				a.AcceptedAt = &inv.AcceptedAt
			}
		}
		writeJSON(w, status, a)
		return
	}
	writeJSON(w, http.StatusOK, inviteAnswer{
		ID: strconv.FormatUint(inv.ID, 10), Status: inv.State(h.Keys.Now()), Email: inv.Email, SlackUser: inv.User,
		Inviter: &inviterField{SlackUser: inv.Inviter, Email: inv.InviterEmail, Name: inv.InviterName},
		Note:    inv.Note, CreatedAt: &inv.Created, ExpiresAt: &inv.Expires,
	})
}

// CheckInviteToken finds the invitation a token names and says whether it
// can still be used: 200; 404 for a token this bot did not sign (tampered
// or made up) or an invitation it does not have; 410 for one that expired,
// was used (accepted) or never reached the person; 503 if the store fails.
func CheckInviteToken(st InviteRecords, tokens *paligo.InviteTokens, token string, now time.Time) (paligo.Invite, int, string) {
	id, _, ok := tokens.Parse(token)
	if !ok {
		return paligo.Invite{}, http.StatusNotFound, "unknown invitation token"
	}
	inv, found, err := st.Invite(id)
	switch {
	case err != nil:
		return paligo.Invite{}, http.StatusServiceUnavailable, "could not read the invitation; retry later"
	case !found:
		return paligo.Invite{}, http.StatusNotFound, "unknown invitation token"
	}
	switch inv.State(now) {
	case paligo.InviteExpired:
		return inv, http.StatusGone, "the invitation expired; an admin can send a new one with /paligo-invite"
	case paligo.InviteAccepted:
		return inv, http.StatusGone, "the invitation was already used"
	case paligo.InviteFailed:
		return inv, http.StatusGone, "the invitation never reached the person"
	}
	return inv, http.StatusOK, ""
}
