// Package api is the platform's HTTP front door, every request signed with
// the ingest secret (signed.go): POST /v1/events (ingest: validated,
// fsynced before 202, then handed to delivery), GET /v1/events/{id} (what
// became of an event), POST /v1/routes/test (where an event would go),
// GET /v1/channels and GET /v1/people (the platform's pickers), POST and
// GET /v1/invites (invitation runs), GET /v1/invites/{token} (an
// invitation, for the platform's sign-up page), GET and DELETE
// /v1/connections (the workspaces connected: package connect); and,
// POST /v1/sources/{name} (the platforms' own webhooks, each with its
// sender's credentials); unsigned, GET /healthz, GET /readyz, GET /metrics
// and GET /v1/openapi.json (openapi.yaml describes every route). Slack's
// own front door is package bot.
package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthCheck reports one dependency's health: nil when healthy.
type HealthCheck struct {
	Name  string
	Check func() error
	// Info, instead of Check, reports a fact (the database, the digest
	// lock's holder) that does not make the bot unhealthy.
	Info func() string
}

// Endpoints are the platform API's handlers.
type Endpoints struct {
	Ingest http.Handler // POST /v1/events
	// Sources takes the platforms' own webhooks: POST /v1/sources/{name}
	// and /v1/sources/{name}/{token}.
	Sources   http.Handler
	Trace     http.Handler // GET /v1/events/{id}: what became of an event
	RouteTest http.Handler // POST /v1/routes/test: where an event would go
	Invites   http.Handler // GET /v1/invites/{token}: an invitation
	// POST /v1/invites starts an invitation run; GET /v1/invites?run= says
	// how it went.
	StartInvites, InviteRun http.Handler
	Channels                http.Handler // GET /v1/channels: where the bot can post
	People                  http.Handler // GET /v1/people: who can be invited
	// Slack serves Slack's HTTP requests under /slack/ (bot.HTTPHandler),
	// with SLACK_SIGNING_SECRET; nil serves none.
	Slack http.Handler
	// Connect serves GET /slack/install and GET /slack/oauth/callback, and
	// Connections GET /v1/connections and DELETE /v1/connections/{team}
	// (package connect), with SLACK_CLIENT_ID.
	Connect, Connections http.Handler
	// Version is the program's, for the OpenAPI document's info.version.
	Version string
}

// route is one pattern of the listener and its handler (nil: not served).
type route struct {
	pattern string
	handler http.Handler
}

// routes are every route the listener can serve, in the order the OpenAPI
// document lists them.
func (e Endpoints) routes(checks []HealthCheck, gatherer prometheus.Gatherer) []route {
	var metrics http.Handler
	if gatherer != nil {
		metrics = promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})
	}
	return []route{
		{"POST /v1/events", e.Ingest}, {"GET /v1/events/{id}", e.Trace}, {"POST /v1/routes/test", e.RouteTest},
		{"GET /v1/channels", e.Channels}, {"GET /v1/people", e.People},
		{"POST /v1/invites", e.StartInvites}, {"GET /v1/invites", e.InviteRun}, {"GET /v1/invites/{token}", e.Invites},
		{"GET /v1/connections", e.Connections}, {"DELETE /v1/connections/{team}", e.Connections},
		{"POST /v1/sources/{name}", e.Sources}, {"POST /v1/sources/{name}/{token}", e.Sources},
		{"POST /slack/events", e.Slack}, {"POST /slack/interactions", e.Slack}, {"POST /slack/commands", e.Slack},
		{"GET /slack/install", e.Connect}, {"GET /slack/oauth/callback", e.Connect},
		{"GET /healthz", health(checks, true)},
		// Ready: the checks alone (a load balancer or Kubernetes sends
		// traffic only to a replica whose store and Slack connection are up).
		{"GET /readyz", health(checks, false)},
		{"GET /metrics", metrics}, {"GET /v1/openapi.json", openAPIHandler(e.Version)},
	}
}

// Patterns are the listener's routes as ServeMux patterns ("POST
// /v1/events"), whether or not their feature is on: the OpenAPI document
// describes exactly these.
func Patterns() []string {
	var ps []string
	for _, r := range (Endpoints{}).routes(nil, nil) {
		ps = append(ps, r.pattern)
	}
	return ps
}

// NewHTTP returns the listener's routes: the endpoints (a nil one answers
// 404), GET /healthz (the checks and the facts), GET /readyz (the checks
// alone), GET /metrics and GET /v1/openapi.json.
func NewHTTP(e Endpoints, checks []HealthCheck, gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	for _, r := range e.routes(checks, gatherer) {
		if r.handler != nil {
			mux.Handle(r.pattern, r.handler)
		}
	}
	return mux
}

// health answers the checks: 200 when every one passes, else 503 with the
// reasons; withInfo adds the facts (the database, the build, …).
func health(checks []HealthCheck, withInfo bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, out := http.StatusOK, map[string]string{}
		for _, c := range checks {
			if c.Info != nil {
				if withInfo {
					out[c.Name] = c.Info()
				}
				continue
			}
			if err := c.Check(); err != nil {
				status = http.StatusServiceUnavailable
				out[c.Name] = err.Error()
			} else {
				out[c.Name] = "ok"
			}
		}
		writeJSON(w, status, out)
	}
}
