package views_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

func slackAcceptsMessage(t *testing.T, blocks any) string {
	t.Helper()
	b, _ := json.Marshal(blocks)
	if errs := fakeslack.ValidateBlocksJSON(fakeslack.SurfaceMessage, string(b)); len(errs) > 0 {
		t.Errorf("Slack would reject the message: %v", errs)
	}
	return string(b)
}

var at = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestMessageGolden(t *testing.T) {
	runFailed := paligo.Event{
		ID: "evt_1", Type: "run.failed", OccurredAt: at,
		Actor:   &paligo.Person{Name: "Scheduler"},
		Subject: &paligo.Subject{Kind: "schedule", ID: "nightly", Title: "Nightly build", URL: "https://app.paradime.io/bolt/nightly"},
		Text:    "dbt run failed on model orders",
		Fields:  map[string]string{"error": "relation \"orders\" does not exist", "run": "4711", "schedule": "nightly", "duration": "3m2s"},
	}
	fallback, blocks := views.Message(views.Notification{Event: runFailed})
	slackAcceptsMessage(t, blocks)
	golden(t, "message_run_failed", map[string]any{"text": fallback, "blocks": blocks})

	reply := paligo.Event{
		ID: "evt_2", Type: "comment.reply", OccurredAt: at,
		Actor:   &paligo.Person{Email: "bo@example.com", Name: "Bo"},
		Subject: &paligo.Subject{Kind: "topic", ID: "t-42", Title: "Install guide", URL: "https://paligo.example/t/42"},
		Text:    "Looks good,\none typo in step 3",
	}
	fallback, blocks = views.Message(views.Notification{Event: reply, Personal: true})
	slackAcceptsMessage(t, blocks)
	golden(t, "message_reply_follow", map[string]any{"text": fallback, "blocks": blocks})
	_, blocks = views.Message(views.Notification{Event: reply, Personal: true, Following: true})
	if s := slackAcceptsMessage(t, blocks); !strings.Contains(s, views.ActionUnfollowNote) || strings.Contains(s, `"`+views.ActionFollow+`"`) {
		t.Errorf("a followed subject should offer Unfollow only: %s", s)
	}
}

func TestMessageEscapesInjection(t *testing.T) {
	evil := "<!channel> <!everyone> <@U0ADMIN> & <https://evil.example|click> *bold*"
	e := paligo.Event{
		ID: "evt_x", Type: "data.alert", OccurredAt: at,
		Actor:   &paligo.Person{Name: "<!here>"},
		Subject: &paligo.Subject{Kind: "monitor", ID: "m", Title: evil, URL: "javascript:alert(1)"},
		Text:    evil,
		Fields:  map[string]string{"<!channel>": evil, "": "empty key", "été": "ok"},
	}
	fallback, blocks := views.Message(views.Notification{Event: e, Personal: true})
	s := slackAcceptsMessage(t, blocks) + fallback
	for _, bad := range []string{"<!channel>", "<!everyone>", "<!here>", "<@U0ADMIN>", "<https://evil", "javascript:"} {
		if strings.Contains(s, bad) {
			t.Errorf("message contains %q unescaped: %s", bad, s)
		}
	}
	if !strings.Contains(s, "&lt;!channel&gt;") {
		t.Errorf("escaped text missing: %s", s)
	}
}

func TestMessageStaysInsideLimits(t *testing.T) {
	fields := map[string]string{}
	for i := range 30 {
		fields[strings.Repeat("k", 60)+string(rune('a'+i))] = strings.Repeat("<&>", 700)
	}
	e := paligo.Event{
		ID: strings.Repeat("i", 128), Type: "system.alert",
		Subject: &paligo.Subject{Kind: "s", ID: "1", Title: strings.Repeat("&", 500), URL: "https://x.example/" + strings.Repeat("a", 2900)},
		Text:    strings.Repeat("<>&\n", 1000),
		Actor:   &paligo.Person{Name: strings.Repeat("&", 200)},
		Fields:  fields,
	}
	_, blocks := views.Message(views.Notification{Event: e, Personal: true})
	s := slackAcceptsMessage(t, blocks)
	if !strings.Contains(s, "more fields") {
		t.Error("31 fields drawn without saying some were left out")
	}
	for _, n := range []int{0, 1, 5, 2999, 3000} {
		if got := views.EscapedWithin(strings.Repeat("&", 4000), n); utf8.RuneCountInString(got) > n || strings.Contains(got, "&am…") {
			t.Errorf("EscapedWithin(n=%d) = %d chars, broken entity: %q", n, utf8.RuneCountInString(got), got[max(0, len(got)-10):])
		}
	}
}

func TestRoutesModal(t *testing.T) {
	v := views.RoutesModal(map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "data.alert": {"C0DATA", "C0OPS"}}, nil)
	slackAccepts(t, v)
	golden(t, "modal_routes", v)
	b, _ := json.Marshal(v)
	for _, k := range paligo.RoutableKinds() {
		if !strings.Contains(string(b), `"block_id":"`+views.RouteBlockID(k)+`"`) {
			t.Errorf("no select for %s", k)
		}
	}
	if got := views.RoutesText(nil); !strings.Contains(got, "/route-alerts") {
		t.Errorf("empty routes text = %q", got)
	}
	if got := views.ChannelMention("C1<!here>"); strings.Contains(got, "<!here>") {
		t.Errorf("ChannelMention let markup through: %q", got)
	}
}
