package demo

import (
	"encoding/json"
	"io/fs"
	"strings"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/sources"
)

// senderSample is one of a sender's own webhook bodies, as the sender
// sends it (sources.Samples).
type senderSample struct {
	Sender, Name, Body string
}

// senderSamples are the senders' samples the picker offers, in the order
// a story reads: an alert group firing then resolved, a dbt Cloud run
// started then completed (or errored), Paligo's notices, Paradime's run.
func senderSamples() []senderSample {
	var out []senderSample
	for _, f := range []string{
		"alertmanager/firing.json", "alertmanager/resolved.json", "grafana/firing.json",
		"dbt-cloud/job.run.started.json", "dbt-cloud/job.run.completed.json", "dbt-cloud/job.run.errored.json",
		"paligo/published.json", "paligo/status_set_to_released.json", "paligo/assignment_created.json",
		"paradime/bolt.run.completed.PARTIAL.json",
	} {
		b, err := fs.ReadFile(sources.Samples, f)
		if err != nil {
			panic(err) // embedded: a missing one is a build mistake
		}
		sender, file, _ := strings.Cut(f, "/")
		name := sources.Lookup(sender).Title + ": " + strings.TrimSuffix(strings.TrimSuffix(file, ".json"), ".PARTIAL")
		out = append(out, senderSample{Sender: sender, Name: name, Body: string(b)})
	}
	return out
}

// samples are the "send a sample event" panel's events, one per kind, with
// the person using the page as the recipient. An id ending in "_NEW" is
// replaced by a fresh one each time the page sends it.
func samples(as fakeslack.User, extra map[string]any) map[string]string {
	me := []string{as.Email}
	bo := map[string]string{"email": "bo@paligo.example", "name": "Bo Writer"}
	cy := map[string]string{"email": "cy@paligo.example", "name": "Cy Reviewer"}
	doc := func(id, title string) map[string]string {
		return map[string]string{"kind": "document", "id": id, "title": title, "url": "https://paligo.example/documents/" + id}
	}
	schedule := map[string]string{"kind": "schedule", "id": "nightly-dbt", "title": "Nightly dbt build", "url": "https://app.paradime.example/schedules/nightly-dbt"}
	events := map[string]map[string]any{
		"run.failed": {"subject": schedule, "recipients": me, "fields": map[string]string{
			"status": "failed", "run_id": "1042", "project": "finance", "environment": "production", "error": "model orders_daily failed: relation \"raw.orders\" does not exist", "duration": "4m12s"},
			"actions": []map[string]string{{"id": "rerun", "label": "Re-run"}}},
		"run.succeeded": {"subject": schedule, "recipients": me, "fields": map[string]string{"status": "succeeded", "run_id": "1043", "duration": "3m58s"}},
		"data.alert": {"subject": map[string]string{"kind": "monitor", "id": "orders-freshness", "title": "orders freshness", "url": "https://app.paradime.example/monitors/orders-freshness"},
			"recipients": me, "fields": map[string]string{"severity": "high", "message": "orders_daily is 26 hours old (limit 24)"}},
		"system.alert": {"subject": map[string]string{"kind": "system", "id": "warehouse", "title": "Warehouse connection"},
			"fields": map[string]string{"severity": "critical", "message": "Snowflake refused the connection: password expired"}},
		"document.created": {"actor": bo, "subject": doc("d-311", "Install guide v3"), "recipients": me},
		"release.status_changed": {"actor": bo, "subject": map[string]string{"kind": "release", "id": "r-26.4", "title": "Release 26.4", "url": "https://paligo.example/releases/r-26.4"},
			"recipients": me, "fields": map[string]string{"status": "published"}},
		"review.mention": {"actor": cy, "subject": doc("d-311", "Install guide v3"), "recipients": me, "text": "Could you check step 3 before we publish?"},
		"comment.reply": {"actor": cy, "subject": map[string]string{"kind": "topic", "id": "t-42", "title": "Step 3: configure the proxy", "url": "https://paligo.example/topics/t-42"},
			"recipients": me, "text": "Fixed the typo, thanks!"},
		"document.shared":    {"actor": bo, "subject": doc("d-77", "Style guide"), "recipients": me},
		"publication.failed": {"subject": map[string]string{"kind": "publication", "id": "p-9", "title": "HTML5 help center", "url": "https://paligo.example/publications/p-9"}, "recipients": me, "fields": map[string]string{"error": "missing image: screenshots/setup.png"}},
		"assignment.started": {"actor": bo, "subject": doc("d-311", "Install guide v3"), "recipients": me, "fields": map[string]string{"assignment": "Review", "due": "Friday"}},
	}
	out := map[string]string{}
	for kind, e := range events {
		e["id"] = "evt_" + kind + "_NEW"
		e["type"] = kind
		for k, v := range extra {
			e[k] = v // the workspace it is for
		}
		b, _ := json.MarshalIndent(e, "", "  ")
		out[kind] = string(b)
	}
	return out
}
