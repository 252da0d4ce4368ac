package paligo

import (
	"reflect"
	"testing"
	"time"
)

type fakeRecords struct {
	inviter   string
	followers map[string][]string
	people    map[string]string // email -> user ("" user: no one has it)
	prefs     map[string]Prefs
	read      bool
}

func (r fakeRecords) Inviter(*Event) string             { return r.inviter }
func (r fakeRecords) Followers(subject string) []string { return r.followers[subject] }
func (r fakeRecords) Person(email string) (string, bool) {
	u, ok := r.people[email]
	return u, ok
}
func (r fakeRecords) DirectoryRead() bool { return r.read }
func (r fakeRecords) Prefs(user string) Prefs {
	if p, ok := r.prefs[user]; ok {
		return p
	}
	return DefaultPrefs()
}

func TestRouteListsEachOnceInOrder(t *testing.T) {
	doc := &Subject{Kind: "topic", ID: "t1"}
	r := fakeRecords{inviter: "U0INV", followers: map[string][]string{"topic:t1": {"U0F1", "U0INV", "U0F2"}}}
	cases := []struct {
		name string
		e    Event
		want []Target
	}{
		{"channels, recipients by email once whatever their case, then followers",
			Event{Type: "review.requested", Recipients: []string{"Ada@x.io", "ada@X.io", "bo@x.io"}, Subject: doc},
			[]Target{{Channel: "C1"}, {Email: "ada@x.io"}, {Email: "bo@x.io"}, {User: "U0F1"}, {User: "U0INV"}, {User: "U0F2"}}},
		{"a reply with recipients reaches them, not the followers",
			Event{Type: "comment.reply", Recipients: []string{"ada@x.io"}, Subject: doc},
			[]Target{{Channel: "C1"}, {Email: "ada@x.io"}}},
		{"a reply without recipients reaches the followers",
			Event{Type: "comment.reply", Subject: doc},
			[]Target{{Channel: "C1"}, {User: "U0F1"}, {User: "U0INV"}, {User: "U0F2"}}},
		{"an accepted invitation reaches its inviter, once though they follow",
			Event{Type: "invite.accepted", Subject: doc},
			[]Target{{Channel: "C1"}, {User: "U0INV"}, {User: "U0F1"}, {User: "U0F2"}}},
		{"no subject: no followers",
			Event{Type: "run.failed"},
			[]Target{{Channel: "C1"}}},
	}
	for _, c := range cases {
		if got := Route(&c.e, []string{"C1"}, r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestExplainSaysWhatEachWouldGet(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	subs := []Subscription{
		{Channel: "C0ALL", Kinds: []Kind{"review.requested"}},
		{Channel: "C0MUTED", Kinds: []Kind{"review.requested"}},
		{Channel: "C0OTHER", Kinds: []Kind{"run.failed"}},
	}
	mutes := []Mute{{Channel: "C0MUTED", Subject: "topic:t1"}}
	e := Event{Type: "review.requested", Subject: &Subject{Kind: "topic", ID: "t1"},
		Actor:      &Person{Email: "actor@x.io"},
		Recipients: []string{"actor@x.io", "now@x.io", "nobody@x.io", "never@x.io"}}
	r := fakeRecords{
		people: map[string]string{"actor@x.io": "U0ACT", "now@x.io": "U0NOW", "nobody@x.io": ""},
		prefs:  map[string]Prefs{"U0NOW": {Frequency: Instant}},
	}
	got := Explain(&e, subs, mutes, []string{"C0NAMED"}, r, now)
	want := RouteTest{
		Channels: []ChannelTest{
			{Channel: "C0ALL", By: []string{subs[0].String()}},
			{Channel: "C0MUTED", By: []string{subs[1].String()}, Muted: &mutes[0]},
			{Channel: "C0NAMED", By: []string{"named by the event"}},
		},
		People: []PersonTest{
			{User: "U0ACT", Email: "actor@x.io", Outcome: string(SkippedActor)},
			{User: "U0NOW", Email: "now@x.io", Outcome: "now"},
			{Email: "nobody@x.io", Outcome: string(Unmatched)},
			{Email: "never@x.io", Outcome: "unknown"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// Once the directory is read whole, an email never looked up is no one's.
	r.read = true
	if got := Explain(&e, subs, mutes, nil, r, now); got.People[3].Outcome != string(Unmatched) {
		t.Errorf("with the directory read, never@x.io: %+v", got.People[3])
	}
}
