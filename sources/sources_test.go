package sources_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/sources"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(sources.Samples, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var now = time.Date(2026, 3, 2, 9, 45, 0, 0, time.UTC)

func decode(t *testing.T, sender, file string, r sources.Request) paligo.Event {
	t.Helper()
	events, err := sources.Lookup(sender).Decode(sample(t, file), r)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(events) != 1 {
		t.Fatalf("%s: %d events", file, len(events))
	}
	valid(t, events)
	return events[0]
}

// valid checks that events keep every rule of the ingest API: each,
// written as the API's JSON, is accepted by the API's own decoder.
func valid(t testing.TB, events []paligo.Event) {
	t.Helper()
	for _, e := range events {
		type apiEvent struct {
			ID         string            `json:"id"`
			Type       paligo.Kind       `json:"type"`
			OccurredAt string            `json:"occurred_at,omitempty"`
			Actor      *paligo.Person    `json:"actor,omitempty"`
			Subject    *paligo.Subject   `json:"subject,omitempty"`
			Recipients []string          `json:"recipients,omitempty"`
			Text       string            `json:"text,omitempty"`
			Fields     map[string]string `json:"fields,omitempty"`
			Thread     string            `json:"thread,omitempty"`
		}
		a := apiEvent{ID: e.ID, Type: e.Type, Actor: e.Actor, Subject: e.Subject, Recipients: e.Recipients, Text: e.Text, Fields: e.Fields, Thread: e.Thread}
		if !e.OccurredAt.IsZero() {
			a.OccurredAt = e.OccurredAt.Format(time.RFC3339Nano)
		}
		b, _ := json.Marshal(a)
		if _, errs, _ := api.DecodeEvents(b); len(errs) > 0 {
			t.Fatalf("the ingest API refuses an event a source made: %+v\n%s", errs, b)
		}
		if e.Fields[paligo.FieldSource] == "" {
			t.Fatalf("event %s has no source", e.ID)
		}
	}
}

func TestEachSampleBecomesTheProductsEvent(t *testing.T) {
	r := sources.Request{Now: now}
	cases := []struct {
		sender, file string
		kind         paligo.Kind
		status       string
		subject      string
		check        func(t *testing.T, e paligo.Event)
	}{
		{"paligo", "paligo/published.json", "publication.ready", "ready", "publication:2204871", func(t *testing.T, e paligo.Event) {
			if e.Fields["format"] != "pdf" || e.Subject.URL != "https://acme.paligoapp.com/path/to/installation-guide-pdf.zip" {
				t.Errorf("fields %v, subject %+v", e.Fields, e.Subject)
			}
		}},
		{"paligo", "paligo/published.no-archive-link.json", "publication.ready", "ready", "publication:", nil},
		{"paligo", "paligo/status_set_to_released.json", "release.status_changed", "released", "document:", nil},
		{"paligo", "paligo/assignment_created.json", "assignment.started", "", "document:2204890", func(t *testing.T, e paligo.Event) {
			if e.Fields["assignment_id"] != "517" || e.Fields["assignment"] != "review" || e.Fields["due"] != "2026-03-09T23:00:01Z" {
				t.Errorf("fields %v", e.Fields)
			}
		}},
		{"paradime", "paradime/bolt.run.completed.PARTIAL.json", "run.succeeded", "succeeded", "", func(t *testing.T, e paligo.Event) {
			if e.Fields["commands"] != "3" || e.Fields["duration"] != "2m37s" || e.Thread == "" {
				t.Errorf("fields %v, thread %q", e.Fields, e.Thread)
			}
			if strings.Contains(e.Text+strings.Join(mapValues(e.Fields), " "), "q7rk2nw8xz4tdm1c") {
				t.Error("the workspace's token from api_url is shown")
			}
		}},
		{"dbt-cloud", "dbt-cloud/job.run.started.json", "run.started", "running", "job:518203", func(t *testing.T, e paligo.Event) {
			if e.Fields["project"] != "finance-warehouse" || e.Fields["environment"] != "production" || e.Actor == nil || e.Actor.Email != "analyst@example.com" {
				t.Errorf("fields %v, actor %+v", e.Fields, e.Actor)
			}
			if e.Subject.URL != "https://cloud.getdbt.com/deploy/43786/projects/301877/runs/441209377" {
				t.Errorf("link %q", e.Subject.URL)
			}
		}},
		{"dbt-cloud", "dbt-cloud/job.run.completed.json", "run.succeeded", "succeeded", "job:518203", nil},
		{"dbt-cloud", "dbt-cloud/job.run.errored.json", "run.failed", "failed", "job:518203", nil},
		{"alertmanager", "alertmanager/firing.json", "system.alert", "firing", "alert:HighErrorRate", func(t *testing.T, e paligo.Event) {
			if e.Fields["firing"] != "2" || e.Fields["severity"] != "critical" || e.Fields["team"] != "platform" {
				t.Errorf("fields %v", e.Fields)
			}
			if !strings.Contains(e.Subject.URL, "&g0.tab=1") || e.Subject.Title != "High 5xx error rate" {
				t.Errorf("subject %+v", e.Subject)
			}
			if !strings.HasPrefix(e.Text, "2 alerts firing") || !strings.Contains(e.Text, "api-2:8080") {
				t.Errorf("text %q", e.Text)
			}
		}},
		{"alertmanager", "alertmanager/resolved.json", "system.alert", "resolved", "alert:HighErrorRate", func(t *testing.T, e paligo.Event) {
			if e.Fields["firing"] != "0" || e.Fields["resolved"] != "2" || !strings.HasPrefix(e.Text, "All alerts resolved") {
				t.Errorf("fields %v, text %q", e.Fields, e.Text)
			}
		}},
		{"grafana", "grafana/firing.json", "system.alert", "firing", "alert:", func(t *testing.T, e paligo.Event) {
			if e.Fields["org"] != "1" || e.Fields["grafana_folder"] != "Infrastructure" {
				t.Errorf("fields %v", e.Fields)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			e := decode(t, c.sender, c.file, r)
			if e.Type != c.kind || paligo.Status(&e) != c.status || e.Fields["source"] != c.sender {
				t.Errorf("type %s, status %q, source %q", e.Type, paligo.Status(&e), e.Fields["source"])
			}
			if c.subject != "" && (e.Subject == nil || !strings.HasPrefix(e.Subject.Key(), c.subject)) {
				t.Errorf("subject %+v, want %s…", e.Subject, c.subject)
			}
			if len(e.ID) > api.MaxEventIDLen || !strings.HasPrefix(e.ID, c.sender+":") {
				t.Errorf("id %q", e.ID)
			}
			if again := decode(t, c.sender, c.file, r); again.ID != e.ID || again.Thread != e.Thread {
				t.Errorf("a retry has another id or thread: %s %s, then %s %s", e.ID, e.Thread, again.ID, again.Thread)
			}
			other := decode(t, c.sender, c.file, sources.Request{Now: now, Scope: "team=T2"})
			if other.ID == e.ID {
				t.Error("the same delivery to two workspaces has one id")
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// One alert group is one thread whatever its status; each status (and a
// new firing of it) is an event of its own; a reminder after the repeat
// window is a new event, a re-send within it the same.
func TestAlertGroupIdsAndThread(t *testing.T) {
	r := sources.Request{Now: now}
	firing := decode(t, "alertmanager", "alertmanager/firing.json", r)
	resolved := decode(t, "alertmanager", "alertmanager/resolved.json", r)
	if firing.Thread != resolved.Thread || firing.ID == resolved.ID {
		t.Fatalf("firing %s/%s, resolved %s/%s", firing.ID, firing.Thread, resolved.ID, resolved.Thread)
	}
	later := decode(t, "alertmanager", "alertmanager/firing.json", sources.Request{Now: now.Add(sources.RepeatWindow)})
	if later.ID == firing.ID || later.Thread != firing.Thread {
		t.Error("a reminder after the repeat window is taken as a re-send")
	}
	refire := strings.Replace(string(sample(t, "alertmanager/firing.json")), "2026-03-02T09:41:15.482Z", "2026-03-02T11:00:00Z", 1)
	ev, err := sources.Lookup("alertmanager").Decode([]byte(refire), r)
	if err != nil || ev[0].ID == firing.ID || ev[0].Thread != firing.Thread {
		t.Errorf("a new firing of the group: %v, %+v", err, ev)
	}
	// A person named in an annotation is a recipient.
	owned := strings.Replace(string(sample(t, "alertmanager/firing.json")), `"summary": "High 5xx error rate"
  }`, `"summary": "High 5xx error rate", "owner": "sre-lead@example.com, not-an-email"
  }`, 1)
	ev, err = sources.Lookup("alertmanager").Decode([]byte(owned), r)
	if err != nil || len(ev[0].Recipients) != 1 || ev[0].Recipients[0] != "sre-lead@example.com" {
		t.Errorf("owner annotation: %v, %+v", err, ev)
	}
}

// dbt Cloud sends errored and then completed (code 20) for one failed
// run: one failure.
func TestDBTCloudFailureIsOneEvent(t *testing.T) {
	r := sources.Request{Now: now}
	errored := decode(t, "dbt-cloud", "dbt-cloud/job.run.errored.json", r)
	// The errored sample's run (441209412) completing in failure.
	completed := strings.Replace(string(sample(t, "dbt-cloud/job.run.completed.json")), `"runStatusCode": 10`, `"runStatusCode": 20`, 1)
	completed = strings.Replace(completed, `"Success"`, `"Errored"`, 1)
	completed = strings.Replace(completed, `"441209377"`, `"441209412"`, 1)
	ev, err := sources.Lookup("dbt-cloud").Decode([]byte(completed), r)
	if err != nil {
		t.Fatal(err)
	}
	if ev[0].Type != "run.failed" || ev[0].ID != errored.ID || ev[0].Thread != errored.Thread {
		t.Errorf("completed with code 20: %s %s, errored %s", ev[0].Type, ev[0].ID, errored.ID)
	}
	started := decode(t, "dbt-cloud", "dbt-cloud/job.run.started.json", r)
	succeeded := decode(t, "dbt-cloud", "dbt-cloud/job.run.completed.json", r)
	if started.Thread != succeeded.Thread || started.ID == succeeded.ID || started.Thread == errored.Thread {
		t.Error("started and completed of one run are not one thread of two events, or two runs share one")
	}
}

func TestBodiesThatAreNotTheSendersFormat(t *testing.T) {
	cases := []struct{ sender, body, want string }{
		{"alertmanager", `{"version":"4","status":"firing","alerts":[]}`, "groupKey: is missing"},
		{"alertmanager", `{"version":"4","groupKey":"g","status":"pending","alerts":[{}]}`, `status: is "pending"`},
		{"alertmanager", `{"version":"1","state":"alerting","groupKey":"g","status":"firing","alerts":[{}]}`, "/v1/sources/grafana"},
		{"alertmanager", `{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","startsAt":"yesterday"}]}`, "alerts[0].startsAt"},
		{"alertmanager", `{"version":"4","groupKey":"g","status":"firing","alerts":{"a":1}}`, "alerts"},
		{"alertmanager", `[1,2]`, "one JSON object"},
		{"alertmanager", `{"version":`, "not JSON"},
		{"alertmanager", `{} {}`, "more than one JSON value"},
		{"alertmanager", `{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"a":1}}]}`, "alerts[0].labels"},
		{"alertmanager", `{"a":[` + strings.Repeat(`1,`, sources.MaxValues) + `1]}`, "JSON values"},
		{"grafana", `{"version":"4","groupKey":"g","status":"firing","alerts":[{}]}`, `version: is "4"`},
		{"dbt-cloud", `{"eventType":"job.run.cancelled"}`, "eventType"},
		{"dbt-cloud", `{"eventType":"job.run.started","accountId":1,"data":{"jobId":"1"}}`, "data.runId"},
		{"dbt-cloud", `{"eventType":"job.run.started","accountId":true}`, "accountId"},
		{"paligo", `{"event":"DELETED_EVENT","data":{"resource_id":1}}`, "event: is \"DELETED_EVENT\""},
		{"paligo", `{"event":"PUBLISHED_EVENT"}`, "data: is missing"},
		{"paradime", `{"api_url":"https://api.paradime.io/x"}`, "commands"},
		{"paradime", `{"commands":[{"id":1}]}`, "api_url"},
	}
	for _, c := range cases {
		_, err := sources.Lookup(c.sender).Decode([]byte(c.body), sources.Request{Now: now})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %.60s: %v, want %q", c.sender, c.body, err, c.want)
		}
	}
}

func TestSettings(t *testing.T) {
	for _, c := range []struct{ sender, value, want string }{
		{"dbt-cloud", "basic:u:0123456789abcdef", "dbt Cloud can use hmac"},
		{"paradime", "hmac:0123456789abcdef", "Paradime can use bearer, path"},
		{"alertmanager", "bearer:short", "shorter than 16"},
		{"alertmanager", "path:has/slash-0123456789", "letters, digits"},
		{"paligo", "basic:nopassword", "basic:USER:PASSWORD"},
		{"paligo", "basic:user:short", "shorter than 16"},
		{"paligo", "0123456789abcdef", "SCHEME:SECRET"},
	} {
		_, err := sources.Lookup(c.sender).ParseAuth(c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.sender, c.value, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
	if s := sources.Lookup("dbt-cloud").Setting(); s != "PALIGO_SLACK_SOURCE_DBT_CLOUD" {
		t.Errorf("setting %s", s)
	}
}

// The senders' own worked examples, as their docs give them.
func TestSendersCredentials(t *testing.T) {
	auth := func(sender, v string) (*sources.Sender, sources.Auth) {
		s := sources.Lookup(sender)
		a, err := s.ParseAuth(v)
		if err != nil {
			t.Fatal(err)
		}
		return s, a
	}
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	// Basic, as Alertmanager's basic_auth sends it.
	s, a := auth("alertmanager", "basic:alertmanager:s3cr3t-webhook-pass")
	if r := s.Credentials(a, hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M="), ""); r != "" {
		t.Errorf("basic: %s", r)
	}
	for _, h := range []http.Header{hdr(), hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOndyb25n"), hdr("Authorization", "Bearer s3cr3t-webhook-pass")} {
		if r := s.Credentials(a, h, ""); r == "" {
			t.Errorf("basic took %v", h)
		}
	}
	// Bearer, with the scheme word in any case.
	s, a = auth("alertmanager", "bearer:tok_8c1f0e-0123456789")
	if r := s.Credentials(a, hdr("Authorization", "bearer tok_8c1f0e-0123456789"), ""); r != "" {
		t.Errorf("bearer: %s", r)
	}
	if r := s.Credentials(a, hdr("Authorization", "Token tok_8c1f0e-0123456789"), ""); r == "" {
		t.Error("bearer took another scheme")
	}
	// Path.
	s, a = auth("paradime", "path:Zq8r-secret-path-token")
	if s.Credentials(a, hdr(), "Zq8r-secret-path-token") != "" || s.Credentials(a, hdr(), "Zq8r-secret-path-tokem") == "" || s.Credentials(a, hdr(), "") == "" {
		t.Error("path token")
	}
	// dbt Cloud: the hex HMAC of the body in Authorization, nothing else.
	s, a = auth("dbt-cloud", "hmac:dbt-webhook-secret-3f9a1c")
	body := sample(t, "dbt-cloud/job.run.completed.json")
	good := "cbabb044fbe079dc75b974f52e5de8b8707851b31844f91b81f75bdda85840da"
	for _, c := range []struct {
		header string
		ok     bool
	}{
		{good, true}, {strings.ToUpper(good), true}, {"Bearer " + good, false}, {"sha256=" + good, false},
		{"46322984bccbafc2b8f217d179c0ccdbd889a7c50d5131f9ee37b62a09c7b198", false},
	} {
		h := hdr("Authorization", c.header)
		got := s.Credentials(a, h, "") == "" && s.Signature(a, h, body, now) == ""
		if got != c.ok {
			t.Errorf("dbt Cloud %.20s…: accepted %v", c.header, got)
		}
	}
	if s.Credentials(a, hdr(), "") == "" {
		t.Error("dbt Cloud without a signature")
	}
	reformatted := []byte(strings.ReplaceAll(string(body), "  ", " "))
	if s.Signature(a, hdr("Authorization", good), reformatted, now) == "" {
		t.Error("a re-serialized body kept its signature")
	}
	// Grafana, without and with its timestamp header.
	s, a = auth("grafana", "hmac:grafana-hmac-secret-71d2")
	body = sample(t, "grafana/firing.json")
	plain := hdr("X-Grafana-Alerting-Signature", "a37bc020add946fe575bf32058d4aa9997e678284d4ea1dd969556747ba0bcbb")
	stamped := hdr("X-Grafana-Alerting-Signature", "7349d92be2f8f4d05ee4f0f25059a4c4422249d517e90247c4e38db0654bbbaa",
		"X-Grafana-Alerting-Signature-Timestamp", "1772441460")
	at := time.Unix(1772441460, 0).Add(time.Minute)
	if s.Signature(a, plain, body, at) != "" || s.Signature(a, stamped, body, at) != "" {
		t.Error("Grafana's worked examples are refused")
	}
	if s.Signature(a, stamped, body, at.Add(10*time.Minute)) == "" {
		t.Error("a stale Grafana timestamp was taken")
	}
	mixed := hdr("X-Grafana-Alerting-Signature", "a37bc020add946fe575bf32058d4aa9997e678284d4ea1dd969556747ba0bcbb",
		"X-Grafana-Alerting-Signature-Timestamp", "1772441460")
	if s.Signature(a, mixed, body, at) == "" {
		t.Error("the body-only signature was taken with a timestamp")
	}
	if fmtA := strings.Join([]string{a.String(), a.GoString()}, " "); strings.Contains(fmtA, "71d2") {
		t.Error("Auth prints its secret")
	}
}
