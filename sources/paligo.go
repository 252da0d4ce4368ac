package sources

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/paligo/paligo-slack/paligo"
)

// Paligo's outbound webhooks: PUBLISHED_EVENT, STATUS_SET_TO_RELEASED_EVENT
// and ASSIGNMENT_CREATED_EVENT. Paligo does not sign them; it can send a
// basic login (or an OAuth token), or be given a secret URL.

var paligoSender = &Sender{
	Name: "paligo", Title: "Paligo",
	Schemes: []Scheme{Basic, Bearer, Path},
	decode:  decodePaligo,
}

type paligoNotice struct {
	Event       string      `json:"event"`
	Data        *paligoData `json:"data"`
	WebhookName string      `json:"webhook_name"`
}

type paligoData struct {
	ResourceID     flexID `json:"resource_id"`
	ResourceTitle  string `json:"resource_title"`
	Format         string `json:"format"`
	ArchiveLink    string `json:"archive_link"`
	Language       string `json:"language"`
	AssignmentType string `json:"assignment_type"`
	StartTimestamp *int64 `json:"startdate_timestamp"`
	EndTimestamp   *int64 `json:"enddate_timestamp"`
	AssignmentLink string `json:"assignment_link"`
	// The documented field list is cut off after "api"; an assignee's
	// email is taken when one of these carries it.
	Assignee      string   `json:"assignee"`
	AssigneeEmail string   `json:"assignee_email"`
	Assignees     []string `json:"assignees"`
}

// PaligoWindow is how long a publication or release notice stands as one
// event: Paligo sends no id and no time, so the same notice within it is
// a re-send (stored once); after it, a new publish of the same thing.
const PaligoWindow = 10 * time.Minute

func decodePaligo(body []byte, r Request) ([]paligo.Event, error) {
	var n paligoNotice
	if err := json.Unmarshal(body, &n, lenient); err != nil {
		return nil, err
	}
	switch {
	case n.Event == "":
		return nil, bad("event", "is missing: this is not a Paligo webhook")
	case n.Data == nil:
		return nil, bad("data", "is missing")
	case ident(string(n.Data.ResourceID), maxSubjectID) == "":
		return nil, bad("data.resource_id", "is missing or blank")
	}
	d := n.Data
	resource := ident(string(d.ResourceID), maxSubjectID)
	bucket := strconv.FormatInt(r.Now.Unix()/int64(PaligoWindow/time.Second), 10)
	scope := []string{r.Scope, n.WebhookName, n.Event, resource}
	f := fields{}
	f.set("webhook", n.WebhookName)
	e := paligo.Event{}
	switch n.Event {
	case "PUBLISHED_EVENT":
		e.Type = "publication.ready"
		e.Subject = &paligo.Subject{Kind: "publication", ID: resource, Title: cut(d.ResourceTitle, maxTitle), URL: link(d.ArchiveLink)}
		e.ID = idOf("paligo", append(scope, d.Format, d.ArchiveLink, bucket)...)
		f.set("format", d.Format)
		f.set("output", link(d.ArchiveLink))
	case "STATUS_SET_TO_RELEASED_EVENT":
		e.Type = "release.status_changed"
		e.Subject = &paligo.Subject{Kind: "document", ID: resource, Title: cut(d.ResourceTitle, maxTitle)}
		e.ID = idOf("paligo", append(scope, bucket)...)
		f.set("status", "released")
	case "ASSIGNMENT_CREATED_EVENT":
		e.Type = "assignment.started"
		number, host := assignmentNumber(d.AssignmentLink)
		e.Subject = &paligo.Subject{Kind: "document", ID: resource, Title: cut(d.ResourceTitle, maxTitle), URL: link(d.AssignmentLink)}
		if number != "" {
			// One creation per assignment: its number names it.
			e.ID = idOf("paligo", r.Scope, n.WebhookName, "assignment", host, number)
			f.set("assignment_id", number)
		} else {
			e.ID = idOf("paligo", append(scope, d.AssignmentType, d.Language, bucket)...)
		}
		f.set("assignment", d.AssignmentType)
		f.set("language", d.Language)
		if d.StartTimestamp != nil {
			f.set("start", time.Unix(*d.StartTimestamp, 0).UTC().Format(time.RFC3339))
		}
		if d.EndTimestamp != nil {
			f.set("due", time.Unix(*d.EndTimestamp, 0).UTC().Format(time.RFC3339))
		}
		e.Recipients = emails(nil, append([]string{d.Assignee, d.AssigneeEmail}, d.Assignees...)...)
	default:
		return nil, bad("event", "is %q: PUBLISHED_EVENT, STATUS_SET_TO_RELEASED_EVENT or ASSIGNMENT_CREATED_EVENT", cut(n.Event, 60))
	}
	e.Fields = f
	return []paligo.Event{e}, nil
}

// assignmentNumber reads the assignment's number and the instance's host
// from its link (…/#/assignment/517).
func assignmentNumber(link string) (number, host string) {
	u, err := url.Parse(link)
	if err != nil {
		return "", ""
	}
	rest, ok := strings.CutPrefix(u.Fragment, "/assignment/")
	if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" {
		return "", ""
	}
	return rest, u.Host
}
