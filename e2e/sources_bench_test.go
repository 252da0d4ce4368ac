package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/sources"
)

// alertBody is an Alertmanager notification of one group (n) of ten
// alerts, as Alertmanager writes it (compact, one line).
func alertBody(n int64) []byte {
	type alert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	group := "HighErrorRate" + strconv.FormatInt(n, 10)
	var alerts []alert
	for i := range 10 {
		alerts = append(alerts, alert{Status: "firing",
			Labels:      map[string]string{"alertname": group, "instance": fmt.Sprintf("api-%d:8080", i), "job": "api", "severity": "critical", "team": "platform"},
			Annotations: map[string]string{"summary": "High 5xx error rate", "description": fmt.Sprintf("7.%d%% of requests answered 5xx", i)},
			StartsAt:    "2026-03-02T09:41:15.482Z", EndsAt: "0001-01-01T00:00:00Z",
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=job%3Ahttp_5xx_ratio%3Arate5m+%3E+0.05&g0.tab=1",
			Fingerprint:  fmt.Sprintf("%016x", n*16+int64(i))})
	}
	b, _ := json.Marshal(map[string]any{"receiver": "slack-bot", "status": "firing", "alerts": alerts, "notification_reason": "first notification",
		"groupLabels": map[string]string{"alertname": group}, "commonLabels": map[string]string{"alertname": group, "job": "api", "severity": "critical", "team": "platform"},
		"commonAnnotations": map[string]string{"summary": "High 5xx error rate"}, "routeLabels": map[string]string{},
		"externalURL": "http://alertmanager.example.com:9093", "version": "4", "groupKey": `{}/{team="platform"}:{alertname="` + group + `"}`, "truncatedAlerts": 0})
	return append(b, '\n')
}

// BenchmarkSourcesBesideEvents drives the whole program over its listener
// with Alertmanager's notifications of ten alerts each at
// /v1/sources/alertmanager (basic auth), and, in the same run, with the
// very events these become posted to /v1/events (signed): 64 clients, one
// notification (one event) a request, the two loads taking turns in
// rounds of 2,000 requests. One op is one event of each. ratio is the
// sources' events/s over the ingest API's.
func BenchmarkSourcesBesideEvents(b *testing.B) {
	fs := newFake(b, fakeslack.Options{Users: benchUsers(1)})
	h := newHarness(b, fs, withSources)
	base := "http://" + h.main.Addr()
	const clients, round = 64, 2000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
	am := sources.Lookup("alertmanager")

	// Both loads' requests, made before the clock starts: n is the group.
	type load struct {
		name    string
		request func(n int64) *http.Request
		elapsed time.Duration
		lat     []time.Duration
	}
	now := time.Now()
	asSource := func(n int64) *http.Request {
		body := alertBody(n)
		req, _ := http.NewRequest("POST", base+"/v1/sources/alertmanager", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M=")
		return req
	}
	asEvent := func(n int64) *http.Request {
		// The event the adapter makes of the same notification, under
		// another id, as the platform would post it.
		events, err := am.Decode(alertBody(-n), sources.Request{Now: now})
		if err != nil {
			panic(err)
		}
		e := events[0]
		body, _ := json.Marshal(map[string]any{"id": e.ID, "type": e.Type, "occurred_at": e.OccurredAt, "subject": e.Subject,
			"text": e.Text, "fields": e.Fields, "thread": e.Thread})
		req, _ := http.NewRequest("POST", base+"/v1/events", bytes.NewReader(body))
		ts := time.Now().Unix()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Signature", signing.Sign([]byte(testIngestSecret), ts, body))
		return req
	}
	loads := []*load{{name: "source", request: asSource}, {name: "events", request: asEvent}}
	var next atomic.Int64
	run := func(l *load, n int) {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			reqs[i] = l.request(next.Add(1))
		}
		lat, elapsed, failed := postConcurrently(client, clients, n, func(_ int, k int64) *http.Request { return reqs[k] })
		l.elapsed += elapsed
		l.lat = append(l.lat, lat...)
		if failed > 0 {
			b.Fatalf("%s: %d of %d requests not accepted", l.name, failed, n)
		}
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		for _, l := range loads {
			run(l, min(round, b.N-done))
		}
	}
	b.StopTimer()
	rate := map[string]float64{}
	for _, l := range loads {
		slices.Sort(l.lat)
		rate[l.name] = float64(b.N) / l.elapsed.Seconds()
		b.ReportMetric(rate[l.name], l.name+"-events/s")
		b.ReportMetric(float64(l.lat[len(l.lat)*99/100])/float64(time.Millisecond), l.name+"-p99-ms")
	}
	b.ReportMetric(rate["source"]/rate["events"], "ratio")
	h.waitDelivered(ctxT(b))
	if n, _ := h.main.Store().EventCount(); n != 2*b.N {
		b.Fatalf("%d events stored, want %d", n, 2*b.N)
	}
}
