package sources

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/paligo/paligo-slack/paligo"
)

// Alertmanager's webhook_config receiver (format "4") and Grafana's webhook
// contact point (format "1", Alertmanager's body and more): one event per
// notification, that is per alert group and status. The group is the
// thread, so firing, repeats and resolved make one living message.

var alertmanagerSender = &Sender{
	Name: "alertmanager", Title: "Alertmanager",
	Schemes: []Scheme{Bearer, Basic, Path},
	decode:  func(body []byte, r Request) ([]paligo.Event, error) { return decodeAlerts("alertmanager", body, r) },
}

var grafanaSender = &Sender{
	Name: "grafana", Title: "Grafana",
	Schemes:    []Scheme{HMAC, Bearer, Basic, Path},
	hmacHeader: "X-Grafana-Alerting-Signature", timestampHeader: "X-Grafana-Alerting-Signature-Timestamp",
	decode: func(body []byte, r Request) ([]paligo.Event, error) { return decodeAlerts("grafana", body, r) },
}

type alertGroup struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []alert           `json:"alerts"`
	Reason            string            `json:"notification_reason"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           *string           `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	// Grafana's.
	OrgID flexID `json:"orgId"`
	State string `json:"state"`
	Title string `json:"title"`
}

type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana's.
	DashboardURL string `json:"dashboardURL"`
	PanelURL     string `json:"panelURL"`
}

// RepeatWindow is how long one notification's id stands: Alertmanager
// sends nothing that tells a retry (or a peer's copy) from a reminder of
// repeat_interval, and a retry stops within group_interval (5 minutes by
// default), a reminder comes after repeat_interval (4 hours by default).
// So the same notification within the hour is one event; a reminder is a
// new one, and goes quietly into the thread.
const RepeatWindow = time.Hour

// Labels and annotations that name the people an alert is about, by email.
var ownerKeys = []string{"owner", "owners", "owner_email", "slack_email", "email"}

func decodeAlerts(sender string, body []byte, r Request) ([]paligo.Event, error) {
	var g alertGroup
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, err
	}
	grafana := sender == "grafana"
	want := "4"
	if grafana {
		want = "1"
	}
	switch {
	case g.Version == nil:
		return nil, bad("version", "is missing: this is not a %s webhook notification", title(sender))
	case *g.Version != want && !grafana && *g.Version == "1" && g.State != "":
		return nil, bad("version", `is "1" with a Grafana state: this is Grafana's notification, send it to /v1/sources/grafana`)
	case *g.Version != want:
		return nil, bad("version", "is %q: %s sends format %q", *g.Version, title(sender), want)
	case g.GroupKey == "":
		return nil, bad("groupKey", "is missing: every notification names its alert group")
	case g.Status != "firing" && g.Status != "resolved":
		return nil, bad("status", "is %q: firing or resolved", cut(g.Status, 40))
	case len(g.Alerts) == 0:
		return nil, bad("alerts", "is empty: a notification carries its alerts")
	}
	var firing, resolved int
	var latest time.Time
	keys := make([]string, 0, len(g.Alerts))
	for i, a := range g.Alerts {
		path := "alerts[" + strconv.Itoa(i) + "]"
		switch a.Status {
		case "firing":
			firing++
		case "resolved":
			resolved++
		default:
			return nil, bad(path+".status", "is %q: firing or resolved", cut(a.Status, 40))
		}
		starts, err := time.Parse(time.RFC3339Nano, a.StartsAt)
		if err != nil {
			return nil, bad(path+".startsAt", "is not an RFC 3339 time")
		}
		ends, err := time.Parse(time.RFC3339Nano, a.EndsAt)
		if a.EndsAt != "" && err != nil {
			return nil, bad(path+".endsAt", "is not an RFC 3339 time")
		}
		at := starts
		if a.Status == "resolved" && ends.After(at) {
			at = ends
		}
		if at.After(latest) {
			latest = at
		}
		keys = append(keys, a.Fingerprint+"|"+a.Status+"|"+a.StartsAt+"|"+a.EndsAt)
	}
	slices.Sort(keys)

	e := paligo.Event{Type: "system.alert", OccurredAt: latest.UTC()}
	if c := g.CommonLabels["category"]; c == "data" {
		e.Type = "data.alert"
	}
	scope := []string{r.Scope, string(g.OrgID), g.GroupKey}
	e.Thread = idOf(sender, scope...)
	bucket := strconv.FormatInt(r.Now.Unix()/int64(RepeatWindow/time.Second), 10)
	e.ID = idOf(sender, append(append(scope, g.Status, g.Reason, bucket), keys...)...)

	f := fields{}
	f.set("status", g.Status)
	f.set("firing", strconv.Itoa(firing))
	if resolved > 0 {
		f.set("resolved", strconv.Itoa(resolved))
	}
	f.set("receiver", g.Receiver)
	f.set("reason", g.Reason)
	if grafana {
		f.set("org", string(g.OrgID))
	}
	if g.TruncatedAlerts > 0 {
		f.set("truncated", strconv.Itoa(g.TruncatedAlerts))
	}
	for _, k := range slices.Sorted(maps.Keys(g.CommonLabels)) {
		if _, ours := f[k]; !ours && k != "source" {
			f.set(k, g.CommonLabels[k])
		}
	}
	e.Fields = f

	e.Subject = &paligo.Subject{Kind: "alert", ID: groupName(g), Title: alertTitle(g)}
	e.Subject.URL = alertLink(g)

	var people []string
	for _, k := range ownerKeys {
		people = emails(people, g.CommonAnnotations[k], g.CommonLabels[k])
		for _, a := range g.Alerts {
			people = emails(people, a.Annotations[k], a.Labels[k])
		}
	}
	e.Recipients = people
	e.Text = alertLines(g, firing)
	return []paligo.Event{e}, nil
}

func title(sender string) string {
	if sender == "grafana" {
		return "Grafana"
	}
	return "Alertmanager"
}

// groupName names the group as a subject id: its grouping labels' values
// ("HighErrorRate"), else its alert name.
func groupName(g alertGroup) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(g.GroupLabels)) {
		parts = append(parts, g.GroupLabels[k])
	}
	name := ident(strings.Join(parts, "/"), maxSubjectID)
	if name == "" {
		name = ident(g.CommonLabels["alertname"], maxSubjectID)
	}
	if name == "" {
		name = strings.TrimPrefix(idOf("", g.GroupKey), ":")
	}
	return name
}

func alertTitle(g alertGroup) string {
	for _, t := range []string{g.CommonAnnotations["summary"], g.CommonLabels["alertname"], g.GroupLabels["alertname"], g.Title} {
		if t = strings.TrimSpace(t); t != "" {
			return cut(t, maxTitle)
		}
	}
	return "Alert group " + cut(g.GroupKey, 100)
}

// alertLink is where Open goes: the first alert's dashboard or panel
// (Grafana), else its source (the rule's graph), else the sender itself.
func alertLink(g alertGroup) string {
	for _, a := range g.Alerts {
		for _, u := range []string{a.PanelURL, a.DashboardURL, a.GeneratorURL} {
			if l := link(u); l != "" {
				return l
			}
		}
	}
	return link(g.ExternalURL)
}

// maxAlertLines is how many alerts the text lists; the rest are counted.
const maxAlertLines = 20

// alertLines lists the group's alerts, firing first: what each is
// (summary or name) and where (instance).
func alertLines(g alertGroup, firing int) string {
	var b strings.Builder
	switch {
	case firing == 1:
		b.WriteString("1 alert firing")
	case firing > 1:
		fmt.Fprintf(&b, "%d alerts firing", firing)
	default:
		b.WriteString("All alerts resolved")
	}
	if n := len(g.Alerts) - firing; n > 0 && firing > 0 {
		fmt.Fprintf(&b, ", %d resolved", n)
	}
	order := slices.Clone(g.Alerts)
	slices.SortStableFunc(order, func(a, b alert) int { return strings.Compare(a.Status, b.Status) })
	for i, a := range order {
		if i == maxAlertLines {
			fmt.Fprintf(&b, "\n… and %d more", len(order)-i)
			break
		}
		what := a.Annotations["summary"]
		if what == "" {
			what = a.Labels["alertname"]
		}
		line := "\n• " + a.Status + ": " + cut(what, 200)
		if inst := a.Labels["instance"]; inst != "" {
			line += " (" + cut(inst, 100) + ")"
		}
		b.WriteString(line)
	}
	if g.TruncatedAlerts > 0 {
		fmt.Fprintf(&b, "\n%d more alerts were left out by the sender (max_alerts)", g.TruncatedAlerts)
	}
	return cut(b.String(), maxText)
}
