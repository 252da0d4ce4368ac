package api

import (
	"log/slog"
	"net/http"

	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

// RouteTest answers POST /v1/routes/test: one event, signed and checked
// like an ingest request, is not stored and nothing is sent; the answer
// says which channels it would reach and by which subscriptions, which
// mute it, and what each recipient and follower would get.
type RouteTest struct {
	Store RouteTestRecords
	Keys  signing.Keys
	Log   *slog.Logger
	// Spec says the workspace whose followers and people are looked up,
	// and whether its directory has been read whole (then an email it does
	// not match is unmatched); false while delivery is not ready.
	Spec func() (store.FanOutSpec, bool)
}

func (h *RouteTest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := signer{keys: h.Keys, off: apiOff}.body(w, r, MaxIngestBody)
	if !ok {
		return
	}
	events, errs, more := DecodeEvents(body)
	if len(errs) == 0 && len(events) != 1 {
		errs = []FieldError{{Message: "test one event at a time: send one event object, not an array"}}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, ingestAnswer{Error: "invalid event: nothing was tested", Errors: errs, MoreErrors: more})
		return
	}
	spec, ok := h.Spec()
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "not connected to the Slack workspace yet; retry later"})
		return
	}
	if errs, _ := resolveWorkspaces(h.Store, events, &spec, false); len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, ingestAnswer{Error: "invalid event: nothing was tested", Errors: errs})
		return
	}
	t, err := h.Store.TestRoute(spec, events[0], h.Keys.Now())
	if err != nil {
		h.Log.Error("test route", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not read the subscriptions; retry later"})
		return
	}
	writeJSON(w, http.StatusOK, t)
}
