// Package api is the platform's HTTP front door: POST /v1/events (signed
// ingest: validated, fsynced before 202, then handed to delivery), GET
// /v1/events/{id} (what became of an event), GET
// /v1/invites/{token} (an invitation, for the platform's sign-up page),
// GET /healthz and GET /metrics. Slack's own front door is package bot.
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
}

// NewHTTP returns the listener's routes: POST /v1/events (ingest), GET
// /v1/events/{id} (what became of an event), POST /v1/routes/test (where
// an event would go), GET /v1/invites/{token} (invitation check), GET
// /healthz and GET /metrics.
func NewHTTP(ingest, invites, trace, routeTest http.Handler, checks []HealthCheck, gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/events", ingest)
	mux.Handle("GET /v1/events/{id}", trace)
	mux.Handle("POST /v1/routes/test", routeTest)
	mux.Handle("GET /v1/invites/{token}", invites)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status, out := http.StatusOK, map[string]string{}
		for _, c := range checks {
			if err := c.Check(); err != nil {
				status = http.StatusServiceUnavailable
				out[c.Name] = err.Error()
			} else {
				out[c.Name] = "ok"
			}
		}
		writeJSON(w, status, out)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}
