package api

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/paligo/paligo-slack/store"
)

// RouteTest answers POST /v1/routes/test: one event, signed and checked
// like an ingest request, is not stored and nothing is sent; the answer
// says which channels it would reach and by which subscriptions, which
// mute it, and what each recipient and follower would get.
type RouteTest struct {
	Store    *store.Store
	Secret   []byte
	Previous []byte
	Now      func() time.Time
	Log      *slog.Logger
	// Spec says the workspace whose followers and people are looked up,
	// and whether its directory has been read whole (then an email it does
	// not match is unmatched); false while delivery is not ready.
	Spec func() (store.FanOutSpec, bool)
}

func (h *RouteTest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.Secret) == 0 {
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "the platform API is off: PALIGO_SLACK_INGEST_SECRET is not set"})
		return
	}
	ts, msg := signatureTimestamp(r.Header, h.Now())
	if msg != "" {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: msg})
		return
	}
	body, err := readBody(w, r, MaxIngestBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("body larger than %d bytes", MaxIngestBody)})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: "could not read the body"})
		return
	}
	if !signatureMatches(r.Header, ts, body, h.Secret, h.Previous) {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: badSignature})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "Content-Type must be application/json"})
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
	t, err := h.Store.TestRoute(spec, events[0], h.Now())
	if err != nil {
		h.Log.Error("test route", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not read the subscriptions; retry later"})
		return
	}
	writeJSON(w, http.StatusOK, t)
}
