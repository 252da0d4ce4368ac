package sources

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

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

// alertGroup is a notification as read: the group's members, and its
// alerts summed up as they are read (a group of a thousand alerts is not
// a thousand records).
type alertGroup struct {
	Receiver          string
	Status            string
	Reason            string
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	ExternalURL       string
	Version           *string
	GroupKey          string
	TruncatedAlerts   int
	// Grafana's.
	OrgID string
	State string
	Title string

	// The alerts: how many, how many fire, when the latest started (or
	// resolved), the XOR of each one's hash (fingerprint, status, start,
	// end: the same set in any order hashes the same), the first link,
	// the lines the text shows, and the people their labels and
	// annotations name.
	Alerts, Firing int
	Latest         time.Time
	Digest         [sha256.Size]byte
	Link           string
	FiringLines    []string
	ResolvedLines  []string
	People         []string
	alertErr       error // the first alert's error
}

// alert is one alert while it is read.
type alert struct {
	status, startsAt, endsAt, fingerprint string
	what, instance                        string
}

// readGroup reads a notification in one pass over its tokens, keeping
// what the adapter uses and skipping the rest (unknown members too: the
// senders add some without notice). Member names are matched as sent
// (the senders never escape them).
func readGroup(body []byte) (g alertGroup, err error) {
	r := newReader(body)
	err = r.object("", func(name []byte) error {
		var err error
		switch string(name) {
		case `"receiver"`:
			g.Receiver, err = r.str("receiver")
		case `"status"`:
			g.Status, err = r.str("status")
		case `"notification_reason"`:
			g.Reason, err = r.str("notification_reason")
		case `"alerts"`:
			err = r.alerts(&g)
		case `"groupLabels"`:
			g.GroupLabels, err = r.strMap("groupLabels")
		case `"commonLabels"`:
			g.CommonLabels, err = r.strMap("commonLabels")
		case `"commonAnnotations"`:
			g.CommonAnnotations, err = r.strMap("commonAnnotations")
		case `"externalURL"`:
			g.ExternalURL, err = r.str("externalURL")
		case `"version"`:
			var v string
			if v, err = r.str("version"); err == nil {
				g.Version = &v
			}
		case `"groupKey"`:
			g.GroupKey, err = r.str("groupKey")
		case `"truncatedAlerts"`:
			g.TruncatedAlerts, err = r.int("truncatedAlerts")
		case `"orgId"`:
			g.OrgID, err = r.id("orgId")
		case `"state"`:
			g.State, err = r.str("state")
		case `"title"`:
			g.Title, err = r.str("title")
		default:
			err = r.dec.SkipValue()
		}
		return err
	})
	if err == nil {
		err = r.end()
	}
	return g, err
}

// alerts reads the alerts into g.
func (r *reader) alerts(g *alertGroup) error {
	if r.dec.PeekKind() != '[' {
		return r.wrongKind("alerts", "list")
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return err
	}
	for i := 0; r.dec.PeekKind() != ']'; i++ {
		var a alert
		at := func(member string) string { return "alerts[" + strconv.Itoa(i) + "]" + member }
		err := r.object(at(""), func(name []byte) error {
			var err error
			var member string
			switch string(name) {
			case `"status"`:
				member = ".status"
				a.status, err = r.str("")
			case `"labels"`:
				member = ".labels"
				err = r.alertLabels(&a, g)
			case `"annotations"`:
				member = ".annotations"
				err = r.alertLabels(&a, g)
			case `"startsAt"`:
				member = ".startsAt"
				a.startsAt, err = r.str("")
			case `"endsAt"`:
				member = ".endsAt"
				a.endsAt, err = r.str("")
			case `"fingerprint"`:
				member = ".fingerprint"
				a.fingerprint, err = r.str("")
			case `"panelURL"`, `"dashboardURL"`, `"generatorURL"`:
				member = "." + string(name[1:len(name)-1])
				if g.Link != "" {
					return r.dec.SkipValue()
				}
				var u string
				if u, err = r.str(""); err == nil {
					g.Link = link(u)
				}
			default:
				err = r.dec.SkipValue()
			}
			var be *BodyError
			if errors.As(err, &be) && be.Field == "" {
				be.Field = at(member)
			}
			return err
		})
		if err != nil {
			return err
		}
		// What is wrong with an alert is said after what is wrong with
		// the group (a body of another format fails there first).
		if err := g.add(a, at); err != nil && g.alertErr == nil {
			g.alertErr = err
		}
	}
	_, err := r.dec.ReadToken()
	return err
}

// alertLabels reads an alert's labels or annotations, keeping the few the
// adapter reads.
func (r *reader) alertLabels(a *alert, g *alertGroup) error {
	return r.object("", func(name []byte) error {
		key := ""
		switch string(name) {
		case `"alertname"`, `"summary"`, `"instance"`:
			key = string(name)
		case `"owner"`, `"owners"`, `"owner_email"`, `"slack_email"`, `"email"`:
			key = "owner"
		}
		v, err := r.dec.ReadValue()
		switch {
		case err != nil:
			return err
		case v.Kind() != '"':
			return &BodyError{Message: "must be an object of strings"}
		case key == `"alertname"` && a.what == "":
			a.what = unquote(v)
		case key == `"summary"`:
			a.what = unquote(v)
		case key == `"instance"`:
			a.instance = unquote(v)
		case key == "owner":
			g.People = emails(g.People, unquote(v))
		}
		return nil
	})
}

// add sums one alert up into g.
func (g *alertGroup) add(a alert, at func(string) string) error {
	switch a.status {
	case "firing":
		g.Firing++
	case "resolved":
	default:
		return bad(at(".status"), "is %q: firing or resolved", cut(a.status, 40))
	}
	g.Alerts++
	starts, err := time.Parse(time.RFC3339Nano, a.startsAt)
	if err != nil {
		return bad(at(".startsAt"), "is not an RFC 3339 time")
	}
	ends, err := time.Parse(time.RFC3339Nano, a.endsAt)
	if a.endsAt != "" && err != nil {
		return bad(at(".endsAt"), "is not an RFC 3339 time")
	}
	t := starts
	if a.status == "resolved" && ends.After(t) {
		t = ends
	}
	if t.After(g.Latest) {
		g.Latest = t
	}
	h := sha256.Sum256([]byte(a.fingerprint + "|" + a.status + "|" + a.startsAt + "|" + a.endsAt))
	for i := range h {
		g.Digest[i] ^= h[i]
	}
	lines := &g.FiringLines
	if a.status == "resolved" {
		lines = &g.ResolvedLines
	}
	if len(*lines) < maxAlertLines {
		line := "• " + a.status + ": " + cut(a.what, 200)
		if a.instance != "" {
			line += " (" + cut(a.instance, 100) + ")"
		}
		*lines = append(*lines, line)
	}
	return nil
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
	g, err := readGroup(body)
	if err != nil {
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
	case g.alertErr != nil:
		return nil, g.alertErr
	case g.Alerts == 0:
		return nil, bad("alerts", "is missing or empty: a notification carries its alerts")
	}
	firing, resolved := g.Firing, g.Alerts-g.Firing
	latest := g.Latest

	e := paligo.Event{Type: "system.alert", OccurredAt: latest.UTC()}
	if c := g.CommonLabels["category"]; c == "data" {
		e.Type = "data.alert"
	}
	scope := []string{r.Scope, string(g.OrgID), g.GroupKey}
	e.Thread = idOf(sender, scope...)
	bucket := strconv.FormatInt(r.Now.Unix()/int64(RepeatWindow/time.Second), 10)
	e.ID = idOf(sender, append(scope, g.Status, g.Reason, bucket, strconv.Itoa(g.Alerts), string(g.Digest[:]))...)

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
	e.Subject.URL = g.Link
	if e.Subject.URL == "" {
		e.Subject.URL = link(g.ExternalURL)
	}
	people := g.People
	for _, k := range ownerKeys {
		people = emails(people, g.CommonAnnotations[k], g.CommonLabels[k])
	}
	e.Recipients = people
	e.Text = alertLines(g)
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

// maxAlertLines is how many alerts the text lists; the rest are counted.
const maxAlertLines = 20

// alertLines lists the group's alerts, firing first: what each is
// (summary or name) and where (instance).
func alertLines(g alertGroup) string {
	var b strings.Builder
	switch {
	case g.Firing == 1:
		b.WriteString("1 alert firing")
	case g.Firing > 1:
		fmt.Fprintf(&b, "%d alerts firing", g.Firing)
	default:
		b.WriteString("All alerts resolved")
	}
	if n := g.Alerts - g.Firing; n > 0 && g.Firing > 0 {
		fmt.Fprintf(&b, ", %d resolved", n)
	}
	shown := 0
	for _, l := range append(g.FiringLines, g.ResolvedLines...) {
		if shown == maxAlertLines {
			break
		}
		b.WriteString("\n" + l)
		shown++
	}
	if shown < g.Alerts {
		fmt.Fprintf(&b, "\n… and %d more", g.Alerts-shown)
	}
	if g.TruncatedAlerts > 0 {
		fmt.Fprintf(&b, "\n%d more alerts were left out by the sender (max_alerts)", g.TruncatedAlerts)
	}
	return cut(b.String(), maxText)
}
