package sources

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/paligo/paligo-slack/paligo"
)

// Paradime's Bolt webhooks: bolt.run.started and bolt.run.completed (one
// event for success and failure). Paradime documents no signature and no
// credentials; it is given a secret URL, or a bearer token when its screen
// offers one. Its documented example is cut off after "commands": the
// event type, the run's id and the schedule's name are taken under the
// names they are likely to have, and the run is told apart without them
// (docs/sources/paradime.md).

var paradimeSender = &Sender{
	Name: "paradime", Title: "Paradime",
	Schemes: []Scheme{Bearer, Path},
	decode:  decodeParadime,
}

type paradimeRun struct {
	APIURL   string            `json:"api_url"`
	Commands []paradimeCommand `json:"commands"`
	// Not in the visible part of Paradime's example; taken when present.
	Event         string `json:"event"`
	EventType     string `json:"event_type"`
	Type          string `json:"type"`
	RunID         flexID `json:"schedule_run_id"`
	RunID2        flexID `json:"run_id"`
	Schedule      string `json:"schedule_name"`
	BoltSchedule  string `json:"bolt_schedule_name"`
	Status        string `json:"status"`
	ScheduleOwner string `json:"owner_email"`
}

type paradimeCommand struct {
	ID         flexID `json:"id"`
	Command    string `json:"command"`
	Start      string `json:"start_dttm"`
	End        string `json:"end_dttm"`
	ReturnCode *int   `json:"return_code"`
	Status     string `json:"status"`
}

// paradimeTime is Paradime's "2026-03-02 06:00:04.118352": no zone, taken
// as UTC.
const paradimeTime = "2006-01-02 15:04:05.999999"

func decodeParadime(body []byte, r Request) ([]paligo.Event, error) {
	var p paradimeRun
	if err := json.Unmarshal(body, &p, lenient); err != nil {
		return nil, err
	}
	kind := ""
	for _, k := range []string{p.EventType, p.Event, p.Type} {
		if k == "bolt.run.started" || k == "bolt.run.completed" {
			kind = k
			break
		}
	}
	if kind == "" {
		if len(p.Commands) == 0 {
			return nil, bad("commands", "is missing or empty, and no event type names bolt.run.started: this is not a Paradime Bolt webhook")
		}
		kind = "bolt.run.completed"
	}
	if p.APIURL == "" {
		return nil, bad("api_url", "is missing: every Bolt webhook names its workspace's API")
	}
	runID := p.RunID
	if runID == "" {
		runID = p.RunID2
	}
	schedule := p.Schedule
	if schedule == "" {
		schedule = p.BoltSchedule
	}
	// The workspace, as the api_url names it: hashed, never shown (the URL
	// holds the workspace's token).
	ws := sha256.Sum256([]byte(p.APIURL))
	workspace := hex.EncodeToString(ws[:8])

	var ids []string
	failed := ""
	var first, last time.Time
	f := fields{}
	for i, c := range p.Commands {
		path := "commands[" + strconv.Itoa(i) + "]"
		if c.ID == "" {
			return nil, bad(path+".id", "is missing")
		}
		ids = append(ids, string(c.ID))
		ok := (c.Status == "" || c.Status == "succeeded" || c.Status == "success" || c.Status == "skipped") &&
			(c.ReturnCode == nil || *c.ReturnCode == 0)
		if !ok && failed == "" {
			failed = c.Command
			if c.ReturnCode != nil {
				f.set("return_code", strconv.Itoa(*c.ReturnCode))
			}
		}
		if t, err := time.Parse(paradimeTime, c.Start); err == nil && (first.IsZero() || t.Before(first)) {
			first = t
		}
		if t, err := time.Parse(paradimeTime, c.End); err == nil && t.After(last) {
			last = t
		}
	}
	if p.Status != "" && failed == "" && p.Status != "succeeded" && p.Status != "success" && kind == "bolt.run.completed" {
		failed = "(the run's status is " + cut(p.Status, 60) + ")"
	}

	e := paligo.Event{}
	thread := string(runID)
	if thread == "" && len(ids) > 0 {
		// Without a run id, the run is its first command.
		thread = "command:" + ids[0]
	}
	switch {
	case kind == "bolt.run.started":
		e.Type = "run.started"
		f.set("status", "running")
		e.OccurredAt = first
	case failed != "":
		e.Type = "run.failed"
		f.set("status", "failed")
		f.set("command", failed)
		e.OccurredAt = last
	default:
		e.Type = "run.succeeded"
		f.set("status", "succeeded")
		e.OccurredAt = last
	}
	if !first.IsZero() && last.After(first) && e.Type != "run.started" {
		f.set("duration", last.Sub(first).Round(time.Second).String())
	}
	switch {
	case thread != "":
		e.Thread = idOf("paradime", r.Scope, workspace, thread)
		slices.Sort(ids)
		e.ID = idOf("paradime", append([]string{r.Scope, workspace, thread, kind, string(runID)}, ids...)...)
	default:
		// A started run with no id: the body itself, within the window.
		bucket := strconv.FormatInt(r.Now.Unix()/int64(PaligoWindow/time.Second), 10)
		sum := sha256.Sum256(body)
		e.ID = idOf("paradime", r.Scope, hex.EncodeToString(sum[:]), bucket)
	}
	f.set("run", string(runID))
	f.set("schedule", schedule)
	f.set("commands", strconv.Itoa(len(p.Commands)))
	f.set("workspace", workspace)
	e.Fields = f
	if ident(schedule, maxSubjectID) != "" {
		e.Subject = &paligo.Subject{Kind: "schedule", ID: ident(schedule, maxSubjectID), Title: cut(schedule, maxTitle)}
	}
	if e.Type != "run.started" {
		e.Recipients = emails(nil, p.ScheduleOwner)
	}
	return []paligo.Event{e}, nil
}
