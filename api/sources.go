package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paligo/paligo-slack/sources"
)

// Sources answers POST /v1/sources/{name} (and /v1/sources/{name}/{token}
// for a sender given a secret URL): a platform's own webhook, taken as it
// sends it. Its credentials are checked (before the body is read, except
// for a signature of the body), the body becomes the product's events
// (package sources), and these go the ingest API's one durable way
// (Ingest.take): stored and fsynced before the 202, deduplicated, fanned
// out.
type Sources struct {
	Ingest *Ingest
	// Auth holds the senders turned on, by name; another answers 404.
	Auth map[string]sources.Auth
	// DBTCloudURL is the base of dbt Cloud's run links ("": the default).
	DBTCloudURL string
	Now         func() time.Time
	Log         *slog.Logger
	// Requests, if set, counts requests by source and answer's status.
	Requests *prometheus.CounterVec
}

// NewSourceRequestsCounter returns the counter Sources.Requests expects,
// registered with reg.
func NewSourceRequestsCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paligo_slack_source_requests_total",
		Help: "Webhooks posted to /v1/sources/NAME, by source and the answer's HTTP status.",
	}, []string{"source", "code"})
	reg.MustRegister(c)
	return c
}

func (h *Sources) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, token := r.PathValue("name"), r.PathValue("token")
	sender := sources.Lookup(name)
	auth, on := h.Auth[name]
	if sender == nil || !on || (token != "" && auth.Scheme != sources.Path) {
		var names []string
		for _, s := range sources.Senders {
			names = append(names, s.Name)
		}
		msg := "no such source: the sources are " + strings.Join(names, ", ")
		if sender != nil && !on {
			msg = sender.Title + " webhooks are off here: " + sender.Setting() + " is not set"
		} else if sender != nil {
			msg = "this source is not given a secret URL: post to /v1/sources/" + name
		}
		writeJSON(w, http.StatusNotFound, apiError{Error: msg})
		return
	}
	code := h.serve(w, r, sender, auth, token)
	if h.Requests != nil {
		h.Requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
	}
}

func (h *Sources) serve(w http.ResponseWriter, r *http.Request, sender *sources.Sender, auth sources.Auth, token string) int {
	refuse := func(status int, msg string) int {
		writeJSON(w, status, apiError{Error: msg})
		return status
	}
	if why := sender.Credentials(auth, r.Header, token); why != "" {
		if auth.Scheme == sources.Basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="paligo-slack", charset="UTF-8"`)
		}
		return refuse(http.StatusUnauthorized, string(why))
	}
	q := r.URL.Query()
	for k, v := range q {
		if k != "team" && k != "org" || len(v) != 1 {
			return refuse(http.StatusBadRequest, k+": not a parameter of this URL (team or org, once)")
		}
	}
	body, err := readBody(w, r, MaxIngestBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxIngestBody))
		}
		return refuse(http.StatusBadRequest, "could not read the body")
	}
	now := h.Now()
	if why := sender.Signature(auth, r.Header, body, now); why != "" {
		return refuse(http.StatusUnauthorized, string(why))
	}
	scope := ""
	if t := q.Get("team"); t != "" {
		scope = "team=" + t
	} else if o := q.Get("org"); o != "" {
		scope = "org=" + o
	}
	events, err := sender.Decode(body, sources.Request{Scope: scope, Now: now, DBTCloudURL: h.DBTCloudURL})
	if err != nil {
		be := &sources.BodyError{Message: err.Error()}
		errors.As(err, &be)
		fe := FieldError{Field: be.Field, Message: be.Message}
		h.Ingest.count("rejected", 1)
		// For the operator whose sender is set up wrong: what was refused,
		// never the body or the credentials.
		h.Log.Debug("source body refused", "source", sender.Name, "field", be.Field, "reason", be.Message)
		writeJSON(w, http.StatusBadRequest, ingestAnswer{Error: "not " + article(sender.Title) + " webhook: " + err.Error() + "; nothing was stored", Errors: []FieldError{fe}})
		return http.StatusBadRequest
	}
	for i := range events {
		events[i].Team, events[i].Org = q.Get("team"), q.Get("org")
	}
	return h.Ingest.take(w, events, nil, 0, true)
}

func article(title string) string {
	switch title[0] {
	case 'A', 'E', 'I', 'O', 'U':
		return "an " + title
	}
	return "a " + title
}
