package bot

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connected   prometheus.Gauge
	connections prometheus.Counter
	envelopes   *prometheus.CounterVec
	ackSeconds  *prometheus.HistogramVec
	panics      prometheus.Counter
	refused     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paligo_slack_socket_connected", Help: "1 while the Socket Mode connection is up.",
		}),
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_socket_connections_total", Help: "Socket Mode connections opened.",
		}),
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_envelopes_total", Help: "Requests from Slack received (Socket Mode envelopes and HTTP requests), by type.",
		}, []string{"type"}),
		ackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paligo_slack_ack_seconds", Help: "Time from receiving an envelope to acking it.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 3},
		}, []string{"type"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_handler_panics_total", Help: "Handlers that panicked (the envelope was still acked).",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_http_refused_total", Help: "Requests to the Slack HTTP endpoints refused, by reason (signature, replay).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.connected, m.connections, m.envelopes, m.ackSeconds, m.panics, m.refused)
	}
	return m
}
