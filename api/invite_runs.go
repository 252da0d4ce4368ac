package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/workspaces"
)

// PlatformInviter queues an invitation run as /paligo-invite does
// (handlers.Router has it).
type PlatformInviter interface {
	PlatformInvite(ctx context.Context, team, inviter string, users []string, note string) (uint64, error)
}

// InviteRuns answers POST /v1/invites (an invitation run started by the
// platform) and GET /v1/invites?run=ID (how it went). Signed like the
// ingest API: the body, or for the GET the path and query.
type InviteRuns struct {
	Store   InviteRunRecords
	Inviter PlatformInviter
	// Workspaces gives the named workspace (the run's team, the primary
	// when not given).
	Workspaces Workspaces
	Keys       signing.Keys
	Log        *slog.Logger
	// MaxPeople and MaxNote bound a run as the command bounds it.
	MaxPeople, MaxNote int
}

func (h *InviteRuns) signer() signer {
	return signer{keys: h.Keys, off: apiOff}
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

type inviteRequest struct {
	Team    string   `json:"team"`
	Inviter string   `json:"inviter"`
	People  []string `json:"people"`
	Note    string   `json:"note"`
}

// Post starts a run. People are Slack ids or emails; an email no Slack
// user has is answered in not_found and left out; the rest are invited
// (or skipped, as the command would skip them) and the inviter is DMed the
// summary.
func (h *InviteRuns) Post(w http.ResponseWriter, r *http.Request) {
	body, ok := h.signer().body(w, r, 64<<10)
	if !ok {
		return
	}
	var req inviteRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !utf8.Valid(body) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body: a JSON object of team, inviter, people and note"})
		return
	}
	bad := func(msg string) { writeJSON(w, http.StatusBadRequest, apiError{Error: msg}) }
	switch {
	case !validEmail(req.Inviter) && !slackUserID.MatchString(req.Inviter):
		bad("inviter: the email (or Slack id) of an admin")
		return
	case len(req.People) == 0 || len(req.People) > h.MaxPeople:
		bad(fmt.Sprintf("people: 1 to %d emails or Slack ids", h.MaxPeople))
		return
	case utf8.RuneCountInString(req.Note) > h.MaxNote:
		bad(fmt.Sprintf("note: at most %d characters", h.MaxNote))
		return
	}
	for i, p := range req.People {
		if !validEmail(p) && !slackUserID.MatchString(p) {
			bad(fmt.Sprintf("people[%d]: an email or a Slack id", i))
			return
		}
	}
	ws := workspaceOf(w, h.Workspaces, req.Team)
	if ws == nil {
		return
	}
	ctx := r.Context()
	inviter, err := h.user(ctx, ws, req.Inviter)
	if err != nil {
		h.slackDown(w, err)
		return
	}
	if inviter == "" {
		bad("inviter: no one in the workspace has this email")
		return
	}
	var users, notFound []string
	for _, p := range req.People {
		u, err := h.user(ctx, ws, p)
		if err != nil {
			h.slackDown(w, err)
			return
		}
		switch {
		case u == "":
			notFound = append(notFound, p)
		case !slices.Contains(users, u):
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		writeJSON(w, http.StatusBadRequest, struct {
			Error    string   `json:"error"`
			NotFound []string `json:"not_found"`
		}{"people: no one in the workspace has these emails", notFound})
		return
	}
	run, err := h.Inviter.PlatformInvite(ctx, ws.Team, inviter, users, strings.TrimSpace(req.Note))
	switch {
	case errors.Is(err, paligo.ErrNotAdmin):
		writeJSON(w, http.StatusForbidden, apiError{Error: "inviter: " + err.Error()})
		return
	case err != nil:
		h.Log.Error("platform invite", "err", err)
		h.slackDown(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, struct {
		Run      string   `json:"run"`
		People   int      `json:"people"`
		NotFound []string `json:"not_found"`
	}{strconv.FormatUint(run, 10), len(users), append([]string{}, notFound...)})
}

// user is the Slack id of who (a Slack id already, or an email: the
// directory's cache, else users.lookupByEmail); "" for no one.
func (h *InviteRuns) user(ctx context.Context, ws *workspaces.Workspace, who string) (string, error) {
	if slackUserID.MatchString(who) {
		return who, nil
	}
	if c, ok, err := h.Store.CachedUser(h.Store.Scope(ws.Team), who); err == nil && ok {
		return c.User, nil // "" for someone the directory says cannot be told
	}
	u, err := ws.Slack.GetUserByEmailContext(ctx, who)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "users_not_found" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !bot.Notifiable(*u) {
		return "", nil
	}
	return u.ID, nil
}

func (h *InviteRuns) slackDown(w http.ResponseWriter, err error) {
	if errors.Is(err, paligo.ErrInvitesOff) {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
		return
	}
	h.Log.Warn("invites: slack", "err", err)
	w.Header().Set("Retry-After", "5")
	writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not ask Slack just now; nothing was sent, retry later"})
}

// Get answers GET /v1/invites?run=ID: each person of the run with how it
// went (sent, skipped or failed with the reason, or "" while on its way)
// and, once opened, their invitation's status.
func (h *InviteRuns) Get(w http.ResponseWriter, r *http.Request) {
	if !h.signer().get(w, r) {
		return
	}
	q := r.URL.Query()
	for name := range q {
		if name != "run" && name != "team" {
			writeJSON(w, http.StatusBadRequest, apiError{Error: name + ": not a parameter of this call (run, team)"})
			return
		}
	}
	seq, err := strconv.ParseUint(q.Get("run"), 10, 64)
	if err != nil || seq == 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "run: the number POST /v1/invites answered"})
		return
	}
	run, found, err := h.Store.InviteRun(seq)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not read the run; retry later"})
		return
	}
	if t := q.Get("team"); !found || (t != "" && t != run.Team) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "run: no such invitation run is kept"})
		return
	}
	type person struct {
		User   string `json:"user"`
		Result string `json:"result"`
		Reason string `json:"reason,omitempty"`
		Status string `json:"status,omitempty"` // the invitation's, once opened
	}
	a := struct {
		Run     string   `json:"run"`
		Inviter string   `json:"inviter"`
		Done    bool     `json:"done"`
		People  []person `json:"people"`
	}{Run: strconv.FormatUint(run.Seq, 10), Inviter: run.Inviter, Done: true, People: []person{}}
	for _, e := range run.Entries {
		p := person{User: e.User, Result: e.Result, Reason: e.Reason}
		if p.Result == "" {
			a.Done = false
		}
		if e.Invite != 0 {
			if inv, ok, _ := h.Store.Invite(e.Invite); ok {
				p.Status = inv.State(h.Keys.Now())
			}
		}
		a.People = append(a.People, p)
	}
	writeJSON(w, http.StatusOK, a)
}
