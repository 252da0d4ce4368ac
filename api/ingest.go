package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

// Ingest limits from the product contract.
const (
	MaxIngestBody = 1 << 20
	MaxBatch      = 1000
	MaxEventIDLen = 128
	MaxEventText  = 4000
)

// Ingest answers POST /v1/events: signed, validated, durably stored events.
type Ingest struct {
	Store IngestRecords
	// Keys check the requests' signatures: the ingest secret and, while
	// it is rotated, the one before.
	Keys signing.Keys
	Log  *slog.Logger
	// FanOut, if set, says how to fan events out in the transaction that
	// accepts them (false: not yet, delivery's own loop will).
	FanOut func() (store.FanOutSpec, bool)
	// Accepted, if set, is told of the new events stored (accepted) and of
	// what was fanned out with them: delivery takes it from there.
	Accepted func(accepted int, fanned store.FanOutResult)
	// Events, if set, counts events by result: accepted, duplicate,
	// rejected (every event of a refused request).
	Events *prometheus.CounterVec
	// Tokens checks the invitation token of invite.accepted events; nil
	// refuses them (invitations are off).
	Tokens *paligo.InviteTokens
	// NoPrimary says the deployment serves only the workspaces connected
	// through Connect (no SLACK_BOT_TOKEN): an event must name its own,
	// also before delivery has started.
	NoPrimary bool
}

// NewEventsCounter returns the counter Ingest.Events expects, registered
// with reg.
func NewEventsCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paligo_slack_events_total",
		Help: "Events posted to /v1/events, by result (accepted, duplicate, rejected).",
	}, []string{"result"})
	reg.MustRegister(c)
	return c
}

func (h *Ingest) count(result string, n int) {
	if h.Events != nil && n > 0 {
		h.Events.WithLabelValues(result).Add(float64(n))
	}
}

// FieldError is one invalid field of one event in a request.
type FieldError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

type ingestAnswer struct {
	Accepted   *int `json:"accepted,omitempty"`
	Duplicates *int `json:"duplicates,omitempty"`
	// IDs are the events' ids, when the bot derived them (a sender's
	// webhook): GET /v1/events/{id} traces each.
	IDs    []string     `json:"ids,omitempty"`
	Error  string       `json:"error,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
	// MoreErrors counts the errors found beyond the MaxErrors listed.
	MoreErrors int `json:"more_errors,omitempty"`
}

// MaxErrors is how many field errors one answer lists; the rest are
// counted (more_errors), so that a hostile body cannot make a huge answer.
const MaxErrors = 100

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := signer{keys: h.Keys, off: "ingest is disabled: PALIGO_SLACK_INGEST_SECRET is not set"}
	body, ok := s.body(w, r, MaxIngestBody)
	if !ok {
		return
	}
	events, errs, more := DecodeEvents(body)
	h.take(w, events, errs, more, false)
}

// take answers a request whose body became events (or errs): checked
// against the workspaces and invitations they name, then stored, durably,
// in one transaction with their fan-out, and handed to delivery. Every
// event the bot accepts, from the platform or a sender's webhook, goes
// this one way. It returns the answer's status. withIDs lists the events'
// ids in a 202 (a sender's webhook: the ids were derived here).
func (h *Ingest) take(w http.ResponseWriter, events []paligo.Event, errs []FieldError, more int, withIDs bool) int {
	var fan *store.FanOutSpec
	if h.FanOut != nil {
		if spec, ok := h.FanOut(); ok {
			fan = &spec
		}
	}
	if len(errs) == 0 {
		var unknown bool
		if errs, unknown = resolveWorkspaces(h.Store, events, fan, h.NoPrimary); unknown {
			w.Header().Set("Retry-After", "5")
			writeJSON(w, http.StatusServiceUnavailable, ingestAnswer{Error: "the bot has not reached its workspace yet, so events naming one cannot be checked; nothing was stored, retry later"})
			return http.StatusServiceUnavailable
		}
	}
	if len(errs) == 0 {
		errs = h.resolveInvites(events)
		if len(errs) > MaxErrors {
			errs, more = errs[:MaxErrors], len(errs)-MaxErrors
		}
	}
	if len(errs) > 0 {
		h.count("rejected", max(len(events), 1))
		writeJSON(w, http.StatusBadRequest, ingestAnswer{Error: "invalid events: nothing was stored", Errors: errs, MoreErrors: more})
		return http.StatusBadRequest
	}
	res, fanned, err := h.Store.AcceptAndFanOut(events, fan)
	if err != nil {
		h.Log.Error("store events", "err", err, "events", len(events))
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, ingestAnswer{Error: "could not store the events; nothing was stored, retry later"})
		return http.StatusServiceUnavailable
	}
	h.count("accepted", res.Accepted)
	h.count("duplicate", res.Duplicates)
	if res.Accepted > 0 && h.Accepted != nil {
		h.Accepted(res.Accepted, fanned)
	}
	if !withIDs {
		// The answer to nearly every request, written without reflection
		// (encoding/json took 4% of a single event's CPU for it).
		b := make([]byte, 0, 48)
		b = append(b, `{"accepted":`...)
		b = strconv.AppendInt(b, int64(res.Accepted), 10)
		b = append(b, `,"duplicates":`...)
		b = strconv.AppendInt(b, int64(res.Duplicates), 10)
		b = append(b, "}\n"...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write(b)
		return http.StatusAccepted
	}
	a := ingestAnswer{Accepted: &res.Accepted, Duplicates: &res.Duplicates}
	for _, e := range events {
		a.IDs = append(a.IDs, e.ID)
	}
	writeJSON(w, http.StatusAccepted, a)
	return http.StatusAccepted
}

// resolveWorkspaces checks the workspace each event names (team, or org:
// the org of a Connect link): the primary workspace (fan's team) or one
// connected and not disconnected. unknown is true when the primary is not
// known yet and an event names one. An event that names none is for the
// primary; where there is none (noPrimary, or fan's team empty) it is
// refused.
func resolveWorkspaces(st Installations, events []paligo.Event, fan *store.FanOutSpec, noPrimary bool) (errs []FieldError, unknown bool) {
	// A batch names the same few workspaces again and again: each is read
	// once per request.
	type lookup struct {
		in    paligo.Installation
		found bool
	}
	byOrg, byTeam := map[string]lookup{}, map[string]lookup{}
	read := func(m map[string]lookup, key string, get func(string) (paligo.Installation, bool, error)) (paligo.Installation, bool) {
		l, ok := m[key]
		if !ok {
			in, found, err := get(key)
			l = lookup{in, found && err == nil}
			m[key] = l
		}
		return l.in, l.found
	}
	for i := range events {
		e := &events[i]
		fail := func(field, msg string) { errs = append(errs, FieldError{Index: i, Field: field, Message: msg}) }
		switch {
		case e.Team == "" && e.Org == "" && (noPrimary || fan != nil && fan.Team == "") && e.Type != "invite.accepted":
			// No SLACK_BOT_TOKEN: the workspaces are the connected ones.
			fail("team", "is required: this deployment serves the workspaces connected through Connect (give team or org)")
			continue
		case fan == nil && (e.Team != "" || e.Org != ""):
			return nil, true
		case fan == nil:
			continue
		case e.Team == "" && e.Org == "":
			continue
		}
		if e.Org != "" {
			in, found := read(byOrg, e.Org, st.InstallationOfOrg)
			switch {
			case !found:
				fail("org", "is not connected: no workspace was connected for it with the Connect link")
				continue
			case in.Disconnected != "":
				fail("org", "its workspace was disconnected ("+in.Disconnected+")")
				continue
			case e.Team != "" && e.Team != in.Team:
				fail("team", "is not the workspace connected for org "+e.Org)
				continue
			}
			e.Team = in.Team
		}
		if e.Team != fan.Team {
			in, found := read(byTeam, e.Team, st.Installation)
			switch {
			case !found:
				fail("team", "is not a workspace this bot serves")
			case in.Disconnected != "":
				fail("team", "was disconnected ("+in.Disconnected+")")
			}
		}
	}
	return errs, false
}

// resolveInvites ties each invite.accepted event to its invitation: the
// token of the invitation link (fields.token) or the invitation's id
// (fields.invite_id, as GET /v1/invites/{token} answers it). The token is
// not stored; the id is. An event without an actor gets the invitee's
// email as its actor.
func (h *Ingest) resolveInvites(events []paligo.Event) []FieldError {
	var errs []FieldError
	for i := range events {
		e := &events[i]
		if e.Type != "invite.accepted" {
			continue
		}
		fail := func(field, msg string) { errs = append(errs, FieldError{Index: i, Field: field, Message: msg}) }
		if h.Tokens == nil {
			fail("type", "invitations are off here (PALIGO_SLACK_INVITE_URL is not set)")
			continue
		}
		var id uint64
		switch token, idText := e.Fields["token"], e.Fields[paligo.FieldInviteID]; {
		case token != "":
			var ok bool
			if id, _, ok = h.Tokens.Parse(token); !ok {
				fail("fields.token", "is not a valid invitation token")
				continue
			}
		case idText != "":
			var err error
			if id, err = strconv.ParseUint(idText, 10, 64); err != nil || id == 0 {
				fail("fields."+paligo.FieldInviteID, "must be an invitation id")
				continue
			}
		default:
			fail("fields.token", "is required for invite.accepted: the token of the invitation link (or fields.invite_id)")
			continue
		}
		inv, found, err := h.Store.Invite(id)
		if err != nil || !found {
			fail("fields.token", "names no invitation of this workspace")
			continue
		}
		// The invitation says whose it is: the event is that workspace's.
		switch {
		case e.Team == "":
			e.Team = inv.Team
		case e.Team != inv.Team:
			fail("team", "is not the workspace the invitation was sent in")
			continue
		}
		fields := make(map[string]string, len(e.Fields))
		for k, v := range e.Fields {
			if k != "token" {
				fields[k] = v
			}
		}
		fields[paligo.FieldInviteID] = strconv.FormatUint(id, 10)
		e.Fields = fields
		if e.Actor == nil {
			e.Actor = &paligo.Person{Email: inv.Email}
		}
	}
	return errs
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= limit {
		// Read in one go, not grown from 512 bytes up.
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}
