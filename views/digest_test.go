package views_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

func TestDigestGolden(t *testing.T) {
	doc := &paligo.Subject{Kind: "topic", ID: "t-1", Title: "Install guide", URL: "https://paligo.example/t/1"}
	ev := func(id string, kind paligo.Kind, min int, actor string, s *paligo.Subject) paligo.Event {
		e := paligo.Event{ID: id, Type: kind, OccurredAt: at.Add(time.Duration(min) * time.Minute), Subject: s}
		if actor != "" {
			e.Actor = &paligo.Person{Name: actor}
		}
		return e
	}
	events := []paligo.Event{
		ev("1", "comment.reply", 1, "Bo", doc),
		ev("2", "comment.reply", 2, "Ann", doc),
		ev("3", "comment.reply", 3, "Cy", doc),
		ev("4", "comment.reply", 4, "Bo", doc),
		ev("5", "review.mention", 5, "Ann", doc),
		ev("6", "run.succeeded", 6, "", &paligo.Subject{Kind: "schedule", ID: "nightly", Title: "Nightly <!channel>"}),
		ev("7", "system.alert", 0, "", nil),
	}
	fallback, blocks, ok := views.Digest(events, "")
	if !ok {
		t.Fatal("no digest for 7 events")
	}
	s := plainJSON(slackAcceptsMessage(t, blocks))
	golden(t, "digest_small", map[string]any{"text": fallback, "blocks": blocks})
	for _, want := range []string{"7 notifications", "4 replies from Bo, Cy and 1 other", "1 mention from Ann", "Nightly &lt;!channel&gt;"} {
		if !strings.Contains(s+fallback, want) {
			t.Errorf("digest lacks %q: %s", want, s)
		}
	}
	// Newest first: the schedule (minute 6) before the topic (minute 5).
	if strings.Index(s, "Nightly") > strings.Index(s, "Install guide") {
		t.Error("groups are not newest first")
	}
	if _, _, ok := views.Digest(nil, ""); ok {
		t.Error("an empty digest would be sent")
	}
}

func TestDigestOf500ItemsFitsAndCountsTheRest(t *testing.T) {
	var events []paligo.Event
	for i := range 500 {
		s := &paligo.Subject{Kind: "document", ID: fmt.Sprint(i % 120), Title: strings.Repeat("<&>", 100), URL: "https://x.example/" + strings.Repeat("a", 1400)}
		events = append(events, paligo.Event{ID: fmt.Sprint(i), Type: paligo.Kind([]string{"comment.reply", "review.mention", "document.shared", "run.failed", "data.alert", "document.created", "snapshot.created", "publication.ready", "assignment.started", "release.status_changed"}[i%10]),
			OccurredAt: at.Add(time.Duration(i) * time.Second), Subject: s, Actor: &paligo.Person{Name: fmt.Sprint("person ", i%7, strings.Repeat("&", 100))}})
	}
	_, blocks, ok := views.Digest(events, "https://paligo.example/notifications")
	if !ok {
		t.Fatal("no digest")
	}
	s := plainJSON(slackAcceptsMessage(t, blocks))
	if len(blocks) > views.MaxMessageBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	// 120 subjects in order of their newest item: the first 46 are shown,
	// the items of the other 74 are counted.
	order, seen := []int{}, map[int]bool{}
	for i := 499; i >= 0; i-- {
		if !seen[i%120] {
			seen[i%120] = true
			order = append(order, i%120)
		}
	}
	shownSubj := map[int]bool{}
	for _, sub := range order[:46] {
		shownSubj[sub] = true
	}
	shown := 0
	for i := range 500 {
		if shownSubj[i%120] {
			shown++
		}
	}
	want := fmt.Sprintf("and %d more notifications in %d subjects", 500-shown, 120-46)
	if !strings.Contains(s, want) || !strings.Contains(s, "https://paligo.example/notifications") {
		t.Errorf("digest lacks %q with its link: %s", want, s[max(0, len(s)-400):])
	}
	var raw []map[string]any
	b, _ := json.Marshal(blocks)
	json.Unmarshal(b, &raw)
	if strings.Contains(s, "from , ") {
		t.Error("long actor names were cut to nothing")
	}
	if !strings.Contains(string(b), "500 notifications") {
		t.Error("header does not count all 500")
	}
}

// plainJSON undoes Go's HTML escaping of <, > and & in JSON text.
func plainJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}
