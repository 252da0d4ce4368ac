package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

// Trace answers GET /v1/events/{id}: what became of one accepted event, for
// every channel and person (the answer to "why didn't I get this?"). It is
// signed like the ingest API, with the request path and query as the
// signed body.
type Trace struct {
	Store TraceRecords
	Keys  signing.Keys
	Log   *slog.Logger
}

type traceAnswer struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	ReceivedAt time.Time `json:"received_at"`
	// Source is where it came from: a sender's webhook (paligo,
	// dbt-cloud, alertmanager, …), or api.
	Source string `json:"source"`
	// Fields are its fields: for a sender's webhook, what the sender said
	// (labels, run, project, …) as the event keeps it.
	Fields map[string]string `json:"fields,omitempty"`
	// FannedOut is false while the event waits for its fan-out: its
	// targets are not known yet.
	FannedOut bool           `json:"fanned_out"`
	Targets   []store.Target `json:"targets"`
}

func (h *Trace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !(signer{keys: h.Keys, off: apiOff}).get(w, r) {
		return
	}
	for name := range r.URL.Query() {
		if name != "team" {
			writeJSON(w, http.StatusBadRequest, apiError{Error: name + ": not a parameter of this call (team)"})
			return
		}
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 4*MaxEventIDLen {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "id: an event id is 1 to 128 characters"})
		return
	}
	t, found, err := h.Store.TraceEvent(id)
	if err != nil {
		h.Log.Error("trace event", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not read the event; retry later"})
		return
	}
	team := r.URL.Query().Get("team")
	if !found || (team != "" && h.Store.Scope(team) != h.Store.Scope(t.Event.Team)) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no event with this id is kept: it was never accepted, or it is older than the retention period"})
		return
	}
	source, _ := t.Event.Field(paligo.FieldSource)
	a := traceAnswer{ID: t.Event.ID, Type: string(t.Event.Type), ReceivedAt: t.Event.ReceivedAt, Source: source, Fields: t.Event.Fields,
		FannedOut: t.FannedOut, Targets: t.Targets}
	if a.Targets == nil {
		a.Targets = []store.Target{}
	}
	writeJSON(w, http.StatusOK, a)
}
