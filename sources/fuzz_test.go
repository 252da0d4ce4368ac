package sources_test

import (
	"io/fs"
	"testing"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/sources"
)

// Each sender's decoder, fuzzed: any body is refused with a named reason,
// or becomes events the ingest API itself would take, with ids that stay
// the same for the same body and never exceed the API's length. It never
// panics.
func fuzzSender(f *testing.F, sender string, extra ...string) {
	paths, err := fs.Glob(sources.Samples, sender+"/*.json")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no samples of %s", sender)
	}
	for _, p := range paths {
		f.Add(sample(f, p))
	}
	for _, e := range extra {
		f.Add([]byte(e))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("\xff{"))
	s := sources.Lookup(sender)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := sources.Request{Now: now, Scope: "team=T1"}
		events, err := s.Decode(body, r)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		if len(events) == 0 {
			t.Fatal("no events and no error")
		}
		valid(t, events)
		again, err := s.Decode(body, r)
		if err != nil || len(again) != len(events) {
			t.Fatalf("the same body decoded twice: %v", err)
		}
		for i := range events {
			if events[i].ID != again[i].ID || events[i].Thread != again[i].Thread || len(events[i].ID) > api.MaxEventIDLen {
				t.Fatalf("id %q then %q", events[i].ID, again[i].ID)
			}
		}
	})
}

func FuzzPaligo(f *testing.F) {
	fuzzSender(f, "paligo", `{"event":"ASSIGNMENT_CREATED_EVENT","data":{"resource_id":"x\u202e","assignment_link":"https://h/#/assignment/1","assignee":"a@b.c"}}`)
}

func FuzzParadime(f *testing.F) {
	fuzzSender(f, "paradime", `{"event_type":"bolt.run.started","api_url":"u","schedule_run_id":12,"schedule_name":"nightly\u0000"}`)
}

func FuzzDBTCloud(f *testing.F) {
	fuzzSender(f, "dbt-cloud", `{"eventType":"job.run.completed","accountId":"1","data":{"jobId":1,"runId":2,"runStatusCode":30,"runReason":"by x@y.z","projectId":"3"}}`)
}

func FuzzAlertmanager(f *testing.F) {
	fuzzSender(f, "alertmanager", `{"version":"4","groupKey":"g","status":"resolved","alerts":[{"status":"resolved","startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z","labels":{"\u0007":"x"},"annotations":{"owner":"a@b.c, <c@d.e>"}}],"truncatedAlerts":5}`)
}

func FuzzGrafana(f *testing.F) {
	fuzzSender(f, "grafana", `{"version":"1","orgId":1,"state":"ok","groupKey":"g","status":"firing","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z","panelURL":"javascript:alert(1)"}]}`)
}
