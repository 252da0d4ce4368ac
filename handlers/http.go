package handlers

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

// NewHTTP returns the listener's routes: GET /healthz and GET /metrics.
func NewHTTP(checks []HealthCheck, gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
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
