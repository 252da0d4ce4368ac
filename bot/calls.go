package bot

import (
	"bytes"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/prometheus/client_golang/prometheus"
)

// countCalls returns a RoundTripper that counts each Web API call by method
// and by Slack's answer; the body is handed on unchanged. Only the answer's
// "ok" and "error" are read, and reading stops at "ok": true: Slack writes
// "ok" first, and some answers (views.publish's) echo a whole view after it.
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
			switch ok, code, readable := answerOutcome(body); {
			case rerr != nil || !readable:
				calls.WithLabelValues(method, "unreadable").Inc()
			case ok:
				calls.WithLabelValues(method, "ok").Inc()
			default:
				calls.WithLabelValues(method, code).Inc()
			}
		}
		return resp, nil
	})
}

// answerOutcome reads a Web API answer's "ok" and, when it is not true,
// its "error". readable is false when body is not a JSON object with "ok".
func answerOutcome(body []byte) (ok bool, code string, readable bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false, "", false
	}
	seenOK := false
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return false, "", false
		}
		switch name.String() {
		case "ok":
			tok, err := dec.ReadToken()
			if err != nil {
				return false, "", false
			}
			if ok, seenOK = tok.Kind() == 't', true; ok {
				return true, "", true
			}
		case "error":
			tok, err := dec.ReadToken()
			if err != nil {
				return false, "", false
			}
			code = tok.String()
		default:
			if err := dec.SkipValue(); err != nil {
				return false, "", false
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil || !seenOK {
		return false, "", false
	}
	return false, code, true
}
