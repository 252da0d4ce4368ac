package sources_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/sources"
)

// tenAlerts is an Alertmanager notification of ten alerts, compact, as
// Alertmanager writes it.
func tenAlerts() []byte {
	var alerts []map[string]any
	for i := range 10 {
		alerts = append(alerts, map[string]any{"status": "firing",
			"labels":      map[string]string{"alertname": "HighErrorRate", "instance": fmt.Sprintf("api-%d:8080", i), "job": "api", "severity": "critical", "team": "platform"},
			"annotations": map[string]string{"summary": "High 5xx error rate", "description": fmt.Sprintf("7.%d%% of requests answered 5xx", i)},
			"startsAt":    "2026-03-02T09:41:15.482Z", "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3Ahttp_5xx_ratio%3Arate5m+%3E+0.05&g0.tab=1",
			"fingerprint":  fmt.Sprintf("%016x", i)})
	}
	b, _ := json.Marshal(map[string]any{"receiver": "slack-bot", "status": "firing", "alerts": alerts, "notification_reason": "first notification",
		"groupLabels": map[string]string{"alertname": "HighErrorRate"}, "commonLabels": map[string]string{"alertname": "HighErrorRate", "job": "api", "severity": "critical", "team": "platform"},
		"commonAnnotations": map[string]string{"summary": "High 5xx error rate"}, "routeLabels": map[string]string{},
		"externalURL": "http://alertmanager.example.com:9093", "version": "4", "groupKey": `{}/{team="platform"}:{alertname="HighErrorRate"}`, "truncatedAlerts": 0})
	return b
}

// BenchmarkDecode: a notification of ten alerts through its adapter,
// beside the event it becomes through the ingest API's decoder.
func BenchmarkDecode(b *testing.B) {
	body := tenAlerts()
	am := sources.Lookup("alertmanager")
	events, err := am.Decode(body, sources.Request{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	e := events[0]
	asEvent, _ := json.Marshal(map[string]any{"id": e.ID, "type": e.Type, "occurred_at": e.OccurredAt, "subject": e.Subject, "text": e.Text, "fields": e.Fields, "thread": e.Thread})
	b.Run("alertmanager", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := am.Decode(body, sources.Request{Now: now}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("events", func(b *testing.B) {
		b.SetBytes(int64(len(asEvent)))
		for b.Loop() {
			if _, errs, _ := api.DecodeEvents(asEvent); len(errs) > 0 {
				b.Fatal(errs)
			}
		}
	})
}
