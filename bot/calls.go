package bot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// countCalls returns a RoundTripper that counts each Web API call by method
// and by Slack's answer. Answers are small JSON documents, so reading one
// to find "ok" and "error" costs little; the body is handed on unchanged.
func countCalls(calls *prometheus.CounterVec, base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		method := path.Base(r.URL.Path)
		resp, err := base.RoundTrip(r)
		if err != nil {
			calls.WithLabelValues(method, "network").Inc()
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			calls.WithLabelValues(method, "ratelimited").Inc()
		case resp.StatusCode >= 500:
			calls.WithLabelValues(method, "http_5xx").Inc()
		case resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
			calls.WithLabelValues(method, "http_"+http.StatusText(resp.StatusCode)).Inc()
		default:
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			var answer struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			switch {
			case rerr != nil || json.Unmarshal(body, &answer) != nil:
				calls.WithLabelValues(method, "unreadable").Inc()
			case answer.OK:
				calls.WithLabelValues(method, "ok").Inc()
			default:
				calls.WithLabelValues(method, answer.Error).Inc()
			}
		}
		return resp, nil
	})
}
