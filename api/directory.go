package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/paligo/paligo-slack/signing"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
)

// Slack is the part of the Web API the platform API reads through.
type Slack interface {
	ChannelsPage(ctx context.Context, cursor string, limit int) ([]slack.Channel, string, error)
	UsersPage(ctx context.Context, cursor string, limit int) ([]slack.User, string, error)
}

// Directory answers GET /v1/channels (the channels the bot can post to,
// for the platform's channel picker) and GET /v1/people (the people who
// can be invited), a page at a time, read from Slack. Both are signed like
// the ingest API, with the request path and query as the signed body.
type Directory struct {
	// Workspaces gives the named workspace's client.
	Workspaces Workspaces
	Keys       signing.Keys
	Log        *slog.Logger
}

// A channel as GET /v1/channels lists it.
type ChannelEntry struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Private bool   `json:"private"`
	Members int    `json:"members"`
}

// A person as GET /v1/people lists them.
type PersonEntry struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name,omitempty"`
	Email    string `json:"email"`
}

type pageAnswer[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// page checks the signature and the parameters shared by both calls:
// team (the primary workspace when not given), cursor, limit (1 to 200,
// default 100). It writes the refusal itself and says false.
func (h *Directory) page(w http.ResponseWriter, r *http.Request) (api Slack, cursor string, limit int, ok bool) {
	if !(signer{keys: h.Keys, off: apiOff}).get(w, r) {
		return nil, "", 0, false
	}
	q := r.URL.Query()
	for name := range q {
		if name != "team" && name != "cursor" && name != "limit" {
			writeJSON(w, http.StatusBadRequest, apiError{Error: name + ": not a parameter of this call (team, cursor, limit)"})
			return nil, "", 0, false
		}
	}
	limit = 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "limit: a number from 1 to 200"})
			return nil, "", 0, false
		}
		limit = n
	}
	ws := workspaceOf(w, h.Workspaces, q.Get("team"))
	if ws == nil {
		return nil, "", 0, false
	}
	return ws.Slack, q.Get("cursor"), limit, true
}

// slackFailed answers a Slack call that failed: 503 to retry (after
// Slack's Retry-After when it gave one), 400 for a cursor Slack refused.
func (h *Directory) slackFailed(w http.ResponseWriter, what string, err error) {
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(rl.RetryAfter.Seconds()))))
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "Slack asked us to slow down; retry later"})
	case errors.As(err, &se) && se.Err == "invalid_cursor":
		writeJSON(w, http.StatusBadRequest, apiError{Error: "cursor: not a cursor of this list (start again without one)"})
	default:
		v, reason := bot.Classify(err)
		h.Log.Warn(what, "err", err)
		if v != bot.Retry && reason != "" {
			writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "Slack refused: " + reason})
			return
		}
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not reach Slack; retry later"})
	}
}

// Channels answers GET /v1/channels: public channels, and private ones
// the bot is in; archived ones left out.
func (h *Directory) Channels(w http.ResponseWriter, r *http.Request) {
	api, cursor, limit, ok := h.page(w, r)
	if !ok {
		return
	}
	chs, next, err := api.ChannelsPage(r.Context(), cursor, limit)
	if err != nil {
		h.slackFailed(w, "conversations.list for /v1/channels", err)
		return
	}
	a := pageAnswer[ChannelEntry]{Items: []ChannelEntry{}, NextCursor: next}
	for _, c := range chs {
		if c.IsArchived || (c.IsPrivate && !c.IsMember) {
			continue
		}
		a.Items = append(a.Items, ChannelEntry{ID: c.ID, Name: c.Name, Private: c.IsPrivate, Members: c.NumMembers})
	}
	writeJSON(w, http.StatusOK, a)
}

// People answers GET /v1/people: the people who can be invited (not bots,
// not deactivated, with an email). A page can hold fewer than limit: the
// others on Slack's page were left out.
func (h *Directory) People(w http.ResponseWriter, r *http.Request) {
	api, cursor, limit, ok := h.page(w, r)
	if !ok {
		return
	}
	users, next, err := api.UsersPage(r.Context(), cursor, limit)
	if err != nil {
		h.slackFailed(w, "users.list for /v1/people", err)
		return
	}
	a := pageAnswer[PersonEntry]{Items: []PersonEntry{}, NextCursor: next}
	for _, u := range users {
		if !bot.Notifiable(u) || u.Profile.Email == "" || u.ID == "USLACKBOT" {
			continue
		}
		a.Items = append(a.Items, PersonEntry{ID: u.ID, Name: u.Name, RealName: u.RealName, Email: u.Profile.Email})
	}
	writeJSON(w, http.StatusOK, a)
}
