package views_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares v's JSON with testdata/name.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("%s differs from the golden file; if the change is meant, run go test ./views -update\n got: %s", path, got)
	}
}

// slackAccepts runs the view through the fake Slack's Block Kit checks.
func slackAccepts(t *testing.T, view any) {
	t.Helper()
	b, _ := json.Marshal(view)
	var generic any
	json.Unmarshal(b, &generic)
	if errs := fakeslack.ValidateView(generic); len(errs) > 0 {
		t.Errorf("Slack would reject the view: %v", errs)
	}
}

func TestHomeViewGolden(t *testing.T) {
	weekly := paligo.DefaultPrefs()
	weekly.Frequency = paligo.Weekly
	weekly.Weekday = time.Thursday
	weekly.DigestTime = "16:30"
	weekly.SetCategories([]paligo.Category{paligo.CatMentions, paligo.CatAlerts})
	weekly.Follow(paligo.Subject{Kind: "document", ID: "d-1", Title: "Install guide", URL: "https://paligo.example/d/1"})
	weekly.Follow(paligo.Subject{Kind: "schedule", ID: "nightly", Title: "Nightly <!channel> & run"})

	instant := paligo.DefaultPrefs()
	instant.Frequency = paligo.Instant
	instant.SetCategories(nil)

	off := paligo.DefaultPrefs()
	off.Frequency = paligo.Off

	cases := map[string]views.Home{
		"home_default":         {Prefs: paligo.DefaultPrefs()},
		"home_weekly_follows":  {Prefs: weekly, Pending: 3, CanSendNow: true, Notice: "You no longer follow <@U1>."},
		"home_instant_all_off": {Prefs: instant},
		"home_paused":          {Prefs: instant, Pending: 4, CanSendNow: true, PausedUntil: time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC)},
		"home_off_kept":        {Prefs: off, Pending: 12, CanSendNow: true},
		"home_admin": {Prefs: paligo.DefaultPrefs(), Pending: 2, Admin: &views.Admin{
			Routes:    map[paligo.Kind][]string{"run.failed": {"C0OPS", "C0DATA"}, "publication.ready": {"C0DOCS"}},
			Unmatched: []paligo.UnmatchedEmail{{Email: "ghost@example.com", Count: 3, LastEvent: "e1", LastAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}},
			Failed: []views.FailedLine{{Seq: 42, Where: "C0GONE", Headline: "Run failed: Nightly <!channel>", Reason: "channel_not_found",
				At: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)}},
			FailedTotal: 1,
			Invites: []views.InviteLine{
				{User: "U0NEW", Inviter: "U0ADMIN", Status: paligo.InvitePending, Expires: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)},
				{User: "U0JOINED", Inviter: "U0ADMIN", Status: paligo.InviteAccepted, At: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)},
				{User: "U0OLD", Inviter: "U0ADMIN", Status: paligo.InviteExpired},
				{User: "U0GONE", Inviter: "U0ADMIN", Status: paligo.InviteFailed, Reason: "cannot_dm_bot <@U1>"},
			},
		}},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			v := views.HomeView(h)
			slackAccepts(t, v)
			golden(t, name, v)
		})
	}
}

// The tab says what a pause and "off" mean for what is waiting.
func TestHomeViewPauseAndOff(t *testing.T) {
	instant := paligo.DefaultPrefs()
	instant.Frequency = paligo.Instant
	until := time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC)
	paused := viewText(views.HomeView(views.Home{Prefs: instant, Pending: 4, CanSendNow: true, PausedUntil: until}))
	for _, want := range []string{"*Paused* until <!date^1795539600^", views.ActionResume, "Waiting for the end of your pause:* 4 notifications", "alerts still reach you"} {
		if !strings.Contains(paused, want) {
			t.Errorf("paused tab lacks %q", want)
		}
	}
	if strings.Contains(paused, views.ActionPause+`"`) {
		t.Error("paused tab still offers a pause")
	}
	running := viewText(views.HomeView(views.Home{Prefs: instant}))
	if !strings.Contains(running, views.ActionPause) || strings.Contains(running, views.ActionResume) {
		t.Error("tab without a pause must offer one and no Resume")
	}
	off := paligo.DefaultPrefs()
	off.Frequency = paligo.Off
	kept := viewText(views.HomeView(views.Home{Prefs: off, Pending: 12, CanSendNow: true}))
	for _, want := range []string{"Kept while notifications are off:* 12 notifications", "Send them now"} {
		if !strings.Contains(kept, want) {
			t.Errorf("off tab lacks %q", want)
		}
	}
	if strings.Contains(kept, views.ActionPause) {
		t.Error("off tab offers a pause")
	}
}

func TestHomeViewStaysInsideLimits(t *testing.T) {
	p := paligo.DefaultPrefs()
	p.Frequency = paligo.Weekly
	long := strings.Repeat("Ü<>&", 2000)
	for i := range 1000 {
		p.Follow(paligo.Subject{Kind: strings.Repeat("k", 300), ID: fmt.Sprint(i, strings.Repeat("i", 3000)), Title: long, URL: "https://x.example/" + strings.Repeat("a", 2990)})
	}
	admin := &views.Admin{Routes: map[paligo.Kind][]string{}, FailedTotal: 5000}
	for _, k := range paligo.RoutableKinds() {
		for i := range views.MaxRouteChannels {
			admin.Routes[k] = append(admin.Routes[k], fmt.Sprintf("C%09d", i))
		}
	}
	for i := range 500 {
		admin.Unmatched = append(admin.Unmatched, paligo.UnmatchedEmail{Email: fmt.Sprintf("%s%d@example.com", strings.Repeat("x", 200), i), Count: i})
		admin.Failed = append(admin.Failed, views.FailedLine{Seq: uint64(i), Where: long, Headline: long, Reason: long})
		admin.Invites = append(admin.Invites, views.InviteLine{User: long, Inviter: long, Status: paligo.InviteFailed, Reason: long})
	}
	v := views.HomeView(views.Home{Prefs: p, Pending: 123456, CanSendNow: true, Notice: long, Admin: admin})
	slackAccepts(t, v)
	b, _ := json.Marshal(v)
	if !strings.Contains(string(b), fmt.Sprintf("and %d more", 1000-40)) {
		t.Error("follows beyond the budget are not counted")
	}
}

func TestEscapeAndLink(t *testing.T) {
	cases := []struct{ url, text, want string }{
		{"https://a.example/x", "Guide", "<https://a.example/x|Guide>"},
		{"https://a.example/x|y>z", "<!here>", "<https://a.example/x%7Cy%3Ez|&lt;!here&gt;>"},
		{"javascript:alert(1)", "click", "click"},
		{"ftp://a.example", "<@U123>", "&lt;@U123&gt;"},
		{"", "A & B", "A &amp; B"},
		{"//a.example/x", "rel", "rel"},
	}
	for _, c := range cases {
		if got := views.Link(c.url, c.text); got != c.want {
			t.Errorf("Link(%q, %q) = %q, want %q", c.url, c.text, got, c.want)
		}
	}
	if got := views.Truncate("héllo wörld", 5); got != "héll…" {
		t.Errorf("Truncate = %q", got)
	}
}

func viewText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return plainJSON(string(b))
}
