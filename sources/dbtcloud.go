package sources

import (
	"regexp"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/paligo/paligo-slack/paligo"
)

// dbt Cloud's job webhooks: job.run.started, job.run.completed and
// job.run.errored, signed with the webhook's secret in Authorization.

var dbtCloudSender = &Sender{
	Name: "dbt-cloud", Title: "dbt Cloud",
	Schemes:    []Scheme{HMAC},
	hmacHeader: "Authorization",
	decode:     decodeDBTCloud,
}

// DBTCloudURL is where a run's link points unless the request says
// otherwise: dbt Cloud's North American multi-tenant access URL (the
// webhook does not say which one an account uses;
// PALIGO_SLACK_DBT_CLOUD_URL sets another).
const DBTCloudURL = "https://cloud.getdbt.com"

type dbtEvent struct {
	AccountID   flexID   `json:"accountId"`
	WebhooksID  string   `json:"webhooksID"`
	EventID     string   `json:"eventId"`
	Timestamp   string   `json:"timestamp"`
	EventType   string   `json:"eventType"`
	WebhookName string   `json:"webhookName"`
	Data        *dbtData `json:"data"`
}

type dbtData struct {
	JobID            flexID `json:"jobId"`
	JobName          string `json:"jobName"`
	RunID            flexID `json:"runId"`
	EnvironmentID    flexID `json:"environmentId"`
	EnvironmentName  string `json:"environmentName"`
	DBTVersion       string `json:"dbtVersion"`
	ProjectName      string `json:"projectName"`
	ProjectID        flexID `json:"projectId"`
	RunStatus        string `json:"runStatus"`
	RunStatusCode    *int   `json:"runStatusCode"`
	RunStatusMessage string `json:"runStatusMessage"`
	RunReason        string `json:"runReason"`
	RunStartedAt     string `json:"runStartedAt"`
	RunFinishedAt    string `json:"runFinishedAt"`
	RunErroredAt     string `json:"runErroredAt"`
	// Not in dbt's documented payload; taken when a sender adds them.
	Owner      string `json:"owner"`
	OwnerEmail string `json:"ownerEmail"`
}

// The run status codes of dbt Cloud's Admin API.
const (
	dbtSuccess   = 10
	dbtError     = 20
	dbtCancelled = 30
)

// kickedOffBy finds the person in "Kicked off from UI by x@example.com".
var kickedOffBy = regexp.MustCompile(`\bby (\S+@\S+)$`)

func decodeDBTCloud(body []byte, r Request) ([]paligo.Event, error) {
	var d dbtEvent
	if err := json.Unmarshal(body, &d, lenient); err != nil {
		return nil, err
	}
	switch {
	case d.EventType == "":
		return nil, bad("eventType", "is missing: this is not a dbt Cloud job webhook")
	case d.EventType != "job.run.started" && d.EventType != "job.run.completed" && d.EventType != "job.run.errored":
		return nil, bad("eventType", "is %q: job.run.started, job.run.completed or job.run.errored", cut(d.EventType, 60))
	case d.AccountID == "":
		return nil, bad("accountId", "is missing")
	case d.Data == nil:
		return nil, bad("data", "is missing: it is the run")
	case d.Data.RunID == "":
		return nil, bad("data.runId", "is missing")
	case ident(string(d.Data.JobID), maxSubjectID) == "":
		return nil, bad("data.jobId", "is missing or blank")
	}
	run := d.Data
	code := 0
	if run.RunStatusCode != nil {
		code = *run.RunStatusCode
	}
	e := paligo.Event{}
	var outcome string // what the id is made of: one event per outcome of a run
	switch {
	case d.EventType == "job.run.started":
		e.Type, outcome = "run.started", "running"
	case d.EventType == "job.run.errored":
		e.Type, outcome = "run.failed", "failed"
	case code == dbtSuccess || run.RunStatus == "Success":
		e.Type, outcome = "run.succeeded", "succeeded"
	case code == dbtCancelled || run.RunStatus == "Cancelled":
		e.Type, outcome = "run.failed", "cancelled"
	default:
		// A failed run sends completed (code 20) after errored: both are
		// the one failure, and the second is a duplicate.
		e.Type, outcome = "run.failed", "failed"
	}
	scope := []string{r.Scope, string(d.AccountID), string(run.RunID)}
	e.Thread = idOf("dbt-cloud", scope...)
	e.ID = idOf("dbt-cloud", append(scope, outcome)...)

	started := parseTime(run.RunStartedAt)
	ended := parseTime(run.RunFinishedAt)
	if errored := parseTime(run.RunErroredAt); !errored.IsZero() {
		ended = errored
	}
	switch {
	case e.Type != "run.started" && !ended.IsZero():
		e.OccurredAt = ended
	case !started.IsZero() && e.Type == "run.started":
		e.OccurredAt = started
	default:
		e.OccurredAt = parseTime(d.Timestamp)
	}

	f := fields{}
	f.set("status", outcome)
	f.set("job", run.JobName)
	f.set("run", string(run.RunID))
	f.set("project", slug(run.ProjectName))
	f.set("environment", slug(run.EnvironmentName))
	f.set("project_name", run.ProjectName)
	f.set("environment_name", run.EnvironmentName)
	f.set("account", string(d.AccountID))
	f.set("job_id", string(run.JobID))
	f.set("project_id", string(run.ProjectID))
	f.set("environment_id", string(run.EnvironmentID))
	f.set("dbt_version", run.DBTVersion)
	f.set("reason", run.RunReason)
	if run.RunStatusMessage != "" && run.RunStatusMessage != "None" {
		f.set("error", run.RunStatusMessage)
	}
	if !started.IsZero() && ended.After(started) {
		f.set("duration", ended.Sub(started).String())
	}
	f.set("event_id", d.EventID)
	f.set("webhook", d.WebhookName)
	e.Fields = f

	e.Subject = &paligo.Subject{Kind: "job", ID: ident(string(run.JobID), maxSubjectID), Title: cut(run.JobName, maxTitle)}
	if run.ProjectID != "" {
		base := r.DBTCloudURL
		if base == "" {
			base = DBTCloudURL
		}
		e.Subject.URL = link(strings.TrimSuffix(base, "/") + "/deploy/" + string(d.AccountID) + "/projects/" + string(run.ProjectID) + "/runs/" + string(run.RunID))
	}
	if m := kickedOffBy.FindStringSubmatch(run.RunReason); m != nil && paligo.ValidEmail(m[1]) {
		e.Actor = &paligo.Person{Email: m[1]}
	}
	if e.Type != "run.started" {
		e.Recipients = emails(nil, run.Owner, run.OwnerEmail)
	}
	return []paligo.Event{e}, nil
}

// parseTime reads an RFC 3339 time; zero when it is not one.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
