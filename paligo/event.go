package paligo

import (
	"net/mail"
	"slices"
	"time"
)

// Kind is an event type from the product contract's table.
type Kind string

// KindInfo is what the product contract says of one kind.
type KindInfo struct {
	Routable bool     // can be sent to channels with /route-alerts
	Category Category // personal category; "" when the kind has none
	Critical bool     // sent at once even to digest users
}

// Kinds is the product contract's event table.
var Kinds = map[Kind]KindInfo{
	"document.created":          {Routable: true, Category: CatFollowing},
	"document.title_changed":    {Routable: true, Category: CatFollowing},
	"assignment.started":        {Routable: true, Category: CatAssignments},
	"release.status_changed":    {Routable: true, Category: CatFollowing},
	"snapshot.created":          {Routable: true, Category: CatFollowing},
	"review.mention":            {Category: CatMentions},
	"comment.reply":             {Category: CatReplies},
	"document.shared":           {Category: CatShares},
	"publication.ready":         {Routable: true, Category: CatPublications},
	"publication.failed":        {Routable: true, Category: CatPublications, Critical: true},
	"assignment.status_changed": {Routable: true, Category: CatAssignments},
	"run.started":               {Routable: true},
	"run.succeeded":             {Routable: true, Category: CatRuns},
	"run.failed":                {Routable: true, Category: CatRuns, Critical: true},
	"system.alert":              {Routable: true, Category: CatAlerts, Critical: true},
	"data.alert":                {Routable: true, Category: CatAlerts, Critical: true},
	"invite.accepted":           {},
}

// RoutableKinds lists the kinds /route-alerts can route, sorted.
func RoutableKinds() []Kind {
	var out []Kind
	for k, info := range Kinds {
		if info.Routable {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Person is someone in Paligo, known by email.
type Person struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Event is one notification from the platform, as accepted by the ingest API.
type Event struct {
	ID         string            `json:"id"`
	Type       Kind              `json:"type"`
	OccurredAt time.Time         `json:"occurred_at"`
	Actor      *Person           `json:"actor,omitempty"`
	Subject    *Subject          `json:"subject,omitempty"`
	Recipients []string          `json:"recipients,omitempty"`
	Text       string            `json:"text,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
	// Channels are destinations the event names itself: channel ids, or
	// names as #name (resolved when it is delivered).
	Channels []string `json:"channels,omitempty"`
	// Team or Org name the event's workspace: a Slack team id, or the
	// platform's org of a Connect link (docs/events.md).
	Team string `json:"team,omitempty"`
	Org  string `json:"org,omitempty"`
	// Thread groups the event's channel posts into one living message
	// (a run id, say); empty means its subject's key (see ThreadKey).
	Thread string `json:"thread,omitempty"`
	// Actions are the platform's buttons on its channel posts.
	Actions []Action `json:"actions,omitempty"`

	// Seq is the store's sequence number, set when accepted. The store
	// keeps it as the record's key (records written before issue 15 also
	// carry it in their JSON).
	Seq        uint64    `json:"seq,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// FieldSource is the field that says where an event came from: the
// sender of a webhook (paligo, paradime, dbt-cloud, alertmanager, grafana),
// or SourceAPI for an event posted to the ingest API.
const (
	FieldSource = "source"
	SourceAPI   = "api"
)

// Field is the event's field name as subscriptions filter it: its
// fields, where an event that names no source came through the ingest
// API.
func (e *Event) Field(name string) (string, bool) {
	v, ok := e.Fields[name]
	if !ok && name == FieldSource {
		return SourceAPI, true
	}
	return v, ok
}

// MentionFields are the fields whose email names a person an event is
// about, beside its actor: an assignment's assignee, a run's or an
// alert's owner.
var MentionFields = []string{"assignee", "owner", "assignee_email", "owner_email"}

// MaxMentions is how many people one channel post names.
const MaxMentions = 5

// MentionedPeople are the people a channel post about e names: its actor,
// then the emails of its MentionFields, each once, at most MaxMentions.
func MentionedPeople(e *Event) []Person {
	var out []Person
	add := func(p Person) {
		if !ValidEmail(p.Email) || len(out) == MaxMentions || slices.ContainsFunc(out, func(q Person) bool { return q.Email == p.Email }) {
			return
		}
		out = append(out, p)
	}
	if e.Actor != nil {
		add(*e.Actor)
	}
	for _, f := range MentionFields {
		if v := e.Fields[f]; v != "" {
			add(Person{Email: v})
		}
	}
	return out
}

// ValidEmail reports whether s is one bare email address.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// MaxEventChannels is how many channels an event may name.
const MaxEventChannels = 10

// UnmatchedEmail is a recipient email no Slack user has.
type UnmatchedEmail struct {
	Email     string    `json:"email"`
	Count     int       `json:"count"`
	LastEvent string    `json:"last_event"`
	LastAt    time.Time `json:"last_at"`
}

// Subject is something in Paligo or the pipeline a user can follow: a
// document, a topic, a schedule.
type Subject struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Key identifies the subject regardless of its title or URL.
func (s Subject) Key() string { return s.Kind + ":" + s.ID }
