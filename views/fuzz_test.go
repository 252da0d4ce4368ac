package views_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// markup is what views themselves put in mrkdwn: date tokens, http(s)
// links, mentions of Slack ids and channel links. Any other "<" in a text
// came from the input unescaped.
var markup = regexp.MustCompile(`<!date\^\d+\^[^|>]*\|[^>]*>|<(?i:https?)://[^|>]*\|[^>]*>|<(?i:https?)://[^|>]*>|<@[UW][A-Z0-9]+>|<#[CGD][A-Z0-9]+>`)

// texts collects every "text" string of a blocks JSON. A plain_text
// object's is marked with a leading \x00: Slack parses no markup in it.
func texts(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "text" {
				if x["type"] == "plain_text" {
					s = "\x00" + s
				}
				*out = append(*out, s)
			} else {
				texts(val, out)
			}
		}
	case []any:
		for _, val := range x {
			texts(val, out)
		}
	}
}

// checkBlocks fails when Slack would refuse blocks or when a text holds
// markup that the views did not make (a "<" outside it).
func checkBlocks(t *testing.T, what string, blocks any) {
	t.Helper()
	b, _ := json.Marshal(blocks)
	if errs := fakeslack.ValidateBlocksJSON(fakeslack.SurfaceMessage, string(b)); len(errs) > 0 {
		t.Fatalf("%s: Slack would refuse it: %v\n%s", what, errs, b)
	}
	var generic any
	json.Unmarshal(b, &generic)
	checkTexts(t, what, generic)
}

// checkTexts fails when a text holds markup that the views did not make
// (a "<" outside it).
func checkTexts(t *testing.T, what string, v any) {
	t.Helper()
	var all []string
	texts(v, &all)
	for _, s := range all {
		s, plainText := strings.CutPrefix(s, "\x00")
		// ">" alone is harmless (views quote with it); "<" opens Slack
		// markup, but not in plain_text.
		if rest := markup.ReplaceAllString(s, ""); !plainText && strings.Contains(rest, "<") {
			t.Fatalf("%s: unescaped markup in %q", what, s)
		}
		// Nothing that hides or reorders text reaches Slack.
		if i := strings.IndexFunc(s, func(r rune) bool { return r != '\n' && views.Clean(string(r)) != string(r) }); i >= 0 {
			t.Fatalf("%s: %q holds %U, which drawing cleans away", what, s, []rune(s[i:])[0])
		}
	}
}

// FuzzMessageBuilders feeds arbitrary titles, names, texts and field values
// to every builder of messages the bot posts.
func FuzzMessageBuilders(f *testing.F) {
	f.Add("Install guide", "Bo", "Looks good, one typo in step 3", "failed", "https://paligo.example/t/42")
	f.Add("<!channel> ping", "<@U123|boss>", "<!here> & <#C1> >quote\n*bold*", "<https://evil.example|click>", "javascript:alert(1)")
	f.Add("invoice\u202Efdp.exe", "B\x00o\x1b[31m", "a\u2028b\u0085c\u200b\u2066d\te", "\x7f", "https://paligo.example/a b")
	f.Add(strings.Repeat("é", 3000), strings.Repeat("&", 500), strings.Repeat("<", 5000), strings.Repeat("x", 2000), "https://a.example/"+strings.Repeat("a", 3000))
	f.Add("", "", "", "", "")
	f.Add("\x00\xff\xfe", "\u202e", "`code` ~strike~ _it_", "\n\n\n", "http://[::1]:80/|x>")
	f.Fuzz(func(t *testing.T, title, name, text, field, link string) {
		at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		for _, k := range []paligo.Kind{"comment.reply", "run.failed", "release.status_changed", "invite.accepted", "data.alert"} {
			e := paligo.Event{ID: "e1", Seq: 1, Type: k, OccurredAt: at,
				Actor:   &paligo.Person{Name: name, Email: "bo@example.com"},
				Subject: &paligo.Subject{Kind: "topic", ID: title, Title: title, URL: link},
				Text:    text, Fields: map[string]string{"status": field, "error": text, field: name}}
			for _, personal := range []bool{false, true} {
				fallback, blocks := views.Message(views.Notification{Event: e, Personal: personal})
				checkBlocks(t, string(k), blocks)
				if strings.Contains(markup.ReplaceAllString(fallback, ""), "<") {
					t.Fatalf("fallback %q", fallback)
				}
			}
			// A living message's parent with everything it can show: the
			// platform's actions (labels and ids from the platform),
			// results of clicks with the platform's answers, a mute.
			e.Actions = []paligo.Action{{ID: title, Label: name}, {ID: "rerun", Label: text}, {ID: field, Label: field}}
			l := paligo.Living{Status: field, Updates: 7, LastAt: at, AckedBy: "U0BOB", AckedAt: at}
			for _, r := range []paligo.ActionResult{{Action: title, Label: name, Outcome: "failed", Detail: text, By: "U1", At: at},
				{Action: "rerun", Label: text, Outcome: "requested", By: "U2", At: at}, {Action: "mute", Label: field, By: "U3", At: at},
				{Action: "acknowledge", Outcome: "failed", Detail: link, By: "U4", At: at}, {Action: field, Label: title, Outcome: "pending", By: "U5", At: at}} {
				l.Log = append(l.Log, r)
				if note := views.NoteText(r); len(note) > 4000 {
					t.Fatalf("note of %d bytes", len(note))
				}
			}
			for _, muted := range []*time.Time{nil, {}, &at} {
				_, blocks := views.ParentMessage(views.Parent{Event: e, Living: l, PlatformActions: true, MutedUntil: muted, MutedBy: "U0ADA"})
				checkBlocks(t, "parent "+string(k), blocks)
			}
		}
		var events []paligo.Event
		for i := range 120 {
			events = append(events, paligo.Event{ID: "d", Seq: uint64(i + 1), Type: "comment.reply", OccurredAt: at.Add(time.Duration(i) * time.Second),
				Actor:   &paligo.Person{Name: name + string(rune('a'+i%26))},
				Subject: &paligo.Subject{Kind: "topic", ID: title + string(rune('a'+i%60)), Title: title, URL: link}})
		}
		_, blocks, ok := views.Digest(events, link)
		if !ok {
			t.Fatal("a digest of 120 events was empty")
		}
		checkBlocks(t, "digest", blocks)

		inv := paligo.Invite{ID: 1, Inviter: "U0ADMIN", InviterName: name, Note: text, Expires: at}
		_, blocks = views.InviteDM(inv, link)
		checkBlocks(t, "invitation", blocks)
		run := paligo.InviteRun{Entries: []paligo.InviteEntry{{User: "U1", Result: paligo.InviteSent}, {User: name, Result: paligo.InviteSkipped, Reason: text}, {User: "U2", Result: paligo.InviteFailed, Reason: field}}}
		_, blocks = views.InviteSummary(run)
		checkBlocks(t, "summary", blocks)

		// The Home tab, an admin's: followed subjects, unmatched emails,
		// failed deliveries and invitations all carry outside text.
		p := paligo.DefaultPrefs()
		for i := range 60 {
			p.Follows = append(p.Follows, paligo.Subject{Kind: "topic", ID: fmt.Sprint(title, i), Title: title, URL: link})
		}
		admin := &views.Admin{Routes: map[paligo.Kind][]string{"run.failed": {"C0OPS", field}}, FailedTotal: 40}
		for i := range 20 {
			admin.Unmatched = append(admin.Unmatched, paligo.UnmatchedEmail{Email: fmt.Sprint(name, i), Count: i, LastEvent: text, LastAt: at})
			admin.Failed = append(admin.Failed, views.FailedLine{Seq: uint64(i + 1), Where: field, Headline: title, Reason: text, At: at})
			admin.Invites = append(admin.Invites, views.InviteLine{User: name, Inviter: field, Status: "failed", Created: at, Expires: at, Reason: text})
		}
		home := views.HomeView(views.Home{Prefs: p, Pending: 3, Notice: text, CanSendNow: true, PausedUntil: at, Admin: admin})
		b, _ := json.Marshal(home)
		var view map[string]any
		json.Unmarshal(b, &view)
		if errs := fakeslack.ValidateView(view); len(errs) > 0 {
			t.Fatalf("Home tab: Slack would refuse it: %v", errs)
		}
		checkTexts(t, "Home tab", view)
	})
}
