package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// Digest tests move the program's clock by hand and run the digest loop's
// work (RunOnce) at the times they choose: no sleeping, no waiting for a
// real minute to pass.

var digestUsers = []fakeslack.User{
	{ID: "U0LA", Name: "la", Email: "la@example.com", TZ: "America/Los_Angeles"},
	{ID: "U0IN", Name: "in", Email: "in@example.com", TZ: "Asia/Kolkata"},
	{ID: "U0CH", Name: "ch", Email: "ch@example.com", TZ: "Pacific/Chatham"},
	{ID: "U0HR", Name: "hr", Email: "hr@example.com", TZ: "Europe/Paris"},
	{ID: "U0WK", Name: "wk", Email: "wk@example.com", TZ: "America/Los_Angeles"},
	{ID: "U0ADMIN", Name: "ada", RealName: "Ada Admin", Email: "ada@example.com", IsAdmin: true},
}

// runDigests does one digest run at the clock's time and waits until every
// digest it queued has been delivered. It returns how many it queued.
func (h *harness) runDigests(ctx context.Context) int {
	h.t.Helper()
	n, err := h.main.DigestLoop().RunOnce(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	h.waitDelivered(ctx)
	return n
}

// digestDMs returns the digests user received, oldest first.
func digestDMs(fs *fakeslack.Server, user string) []fakeslack.Message {
	var out []fakeslack.Message
	ch := fs.DMChannel(user)
	if ch == "" {
		return nil
	}
	for _, m := range fs.Messages(ch) {
		if strings.HasPrefix(m.Text, "Your Paligo digest") {
			out = append(out, m)
		}
	}
	return out
}

// replies makes n comment.reply events for email, occurring at t.
func replies(prefix, email string, n int, t time.Time) []any {
	var out []any
	for i := range n {
		out = append(out, event(fmt.Sprintf("%s-%d", prefix, i), "comment.reply", map[string]any{
			"recipients":  []string{email},
			"subject":     subject("t-"+prefix, "Install guide "+prefix),
			"actor":       map[string]any{"name": []string{"Bo", "Ann", "Cy"}[i%3], "email": "writer@paligo.example"},
			"occurred_at": t.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			"text":        "reply",
		}))
	}
	return out
}

func utcT(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Daily users in Los Angeles, Kolkata (+05:30) and Chatham (+13:45 in
// November) each get their digest at 09:00 their time, not a minute
// before, once; an hourly user at the top of each hour; a weekly user on
// the chosen day and time. Running again at the same time sends nothing.
func TestDigestsArriveAtEachUsersLocalTime(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: digestUsers})
	t0 := utcT("2026-11-23T00:00:30Z") // Monday
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	h.setPrefs("U0HR", func(p *paligo.Prefs) { p.Frequency = paligo.Hourly })
	h.setPrefs("U0WK", func(p *paligo.Prefs) { p.Frequency, p.Weekday, p.DigestTime = paligo.Weekly, time.Tuesday, "07:15" })
	var batch []any
	for _, u := range digestUsers[:5] {
		batch = append(batch, replies(u.ID, u.Email, 3, t0.Add(-time.Hour))...)
	}
	// A critical kind reaches a digest user at once.
	batch = append(batch, event("crit", "run.failed", map[string]any{"recipients": []string{"la@example.com"},
		"subject": map[string]any{"kind": "schedule", "id": "nightly", "title": "Nightly"}}))
	h.post(batch)
	h.waitDelivered(ctx)
	if got := texts(fs, fs.DMChannel("U0LA")); len(got) != 1 || !strings.Contains(got[0], "Nightly") {
		t.Fatalf("LA user's DMs before any digest = %q, want just the failed run", got)
	}

	steps := []struct {
		at   string
		gets []string // users whose digest this run sends
	}{
		{"2026-11-23T00:59:00Z", nil},
		{"2026-11-23T01:00:00Z", []string{"U0HR"}}, // 02:00 in Paris
		{"2026-11-23T03:29:00Z", nil},
		{"2026-11-23T03:30:00Z", []string{"U0IN"}}, // 09:00 in Kolkata
		{"2026-11-23T03:30:40Z", nil},              // the same window again
		{"2026-11-23T16:59:59Z", nil},
		{"2026-11-23T17:00:00Z", []string{"U0LA"}}, // 09:00 in Los Angeles
		{"2026-11-23T19:14:00Z", nil},
		{"2026-11-23T19:15:00Z", []string{"U0CH"}}, // 09:00 in Chatham
		{"2026-11-24T15:14:00Z", nil},
		{"2026-11-24T15:15:00Z", []string{"U0WK"}}, // Tuesday 07:15 in Los Angeles
		{"2026-11-25T15:15:00Z", nil},
	}
	for _, s := range steps {
		h.clock.Set(utcT(s.at))
		if n := h.runDigests(ctx); n != len(s.gets) {
			t.Errorf("at %s: %d digests queued, want %d (%v)", s.at, n, len(s.gets), s.gets)
		}
		for _, u := range digestUsers[:5] {
			want := 0
			for _, st := range steps {
				if st.at > s.at {
					break
				}
				for _, g := range st.gets {
					if g == u.ID {
						want = 1
					}
				}
			}
			if got := len(digestDMs(fs, u.ID)); got != want {
				t.Fatalf("at %s: %s (%s) has %d digests, want %d", s.at, u.ID, u.TZ, got, want)
			}
		}
	}
	for _, u := range digestUsers[:5] {
		d := digestDMs(fs, u.ID)[0]
		body := unescaped(d.Blocks)
		for _, want := range []string{"Your Paligo digest: 3 notifications", "Install guide " + u.ID, "3 replies from Cy, Ann and 1 other"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s's digest lacks %q: %s", u.ID, want, body)
			}
		}
		if n, _ := h.main.Store().PendingDigest(fs.TeamID(), u.ID); n != 0 {
			t.Errorf("%s still has %d pending after the digest", u.ID, n)
		}
		st, _ := h.main.Store().DigestState(fs.TeamID(), u.ID)
		if st.LastTS != d.TS || st.LastChannel != d.Channel {
			t.Errorf("%s: state records %s/%s, Slack has %s/%s", u.ID, st.LastChannel, st.LastTS, d.Channel, d.TS)
		}
	}
	// Time zones were asked of users.info once each, not once per run.
	if n := len(fs.Calls("users.info")); n > 6 {
		t.Errorf("users.info called %d times for 5 users", n)
	}
}

// After three days down, the program sends one catch-up digest at start,
// not one per missed day; the next day is on schedule again.
func TestDigestCatchUpAfterDowntimeIsOneDigest(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: digestUsers})
	t0 := utcT("2026-11-23T12:00:00Z")
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	h.post(replies("down", "la@example.com", 4, t0))
	h.waitDelivered(ctx)
	if err := h.main.Close(); err != nil {
		t.Fatal(err)
	}
	h.main = nil
	h.clock.Set(utcT("2026-11-26T20:00:00Z")) // three 09:00s in Los Angeles missed
	h.restart()
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(digestDMs(fs, "U0LA")) > 0 }); err != nil {
		t.Fatal("no catch-up digest after the restart")
	}
	h.waitDelivered(ctx)
	for _, at := range []string{"2026-11-26T20:01:00Z", "2026-11-26T23:00:00Z", "2026-11-27T16:59:00Z"} {
		h.clock.Set(utcT(at))
		h.runDigests(ctx)
	}
	if got := digestDMs(fs, "U0LA"); len(got) != 1 || !strings.Contains(string(got[0].Blocks), "4 notifications") {
		t.Fatalf("digests after downtime = %d, want one with 4 notifications", len(got))
	}
	h.post(replies("next", "la@example.com", 2, utcT("2026-11-27T10:00:00Z")))
	h.waitDelivered(ctx)
	h.clock.Set(utcT("2026-11-27T17:00:00Z"))
	h.runDigests(ctx)
	if got := digestDMs(fs, "U0LA"); len(got) != 2 || !strings.Contains(string(got[1].Blocks), "2 notifications") {
		t.Fatalf("digests the next day = %d, want a second with 2 notifications", len(got))
	}
}

// A restart in the middle of a digest run (Slack slow, half the digests
// sent) ends with every user having exactly one digest.
func TestDigestRestartMidRunSendsEachDigestOnce(t *testing.T) {
	var users []fakeslack.User
	for i := range 24 {
		users = append(users, fakeslack.User{ID: fmt.Sprintf("U%03d", i), Name: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), TZ: "Asia/Kolkata"})
	}
	fs := newFake(t, fakeslack.Options{Users: users})
	t0 := utcT("2026-11-23T00:00:00Z")
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	var batch []any
	for _, u := range users {
		batch = append(batch, replies(u.ID, u.Email, 2, t0)...)
	}
	h.post(batch)
	h.waitDelivered(ctx)

	// Slack is slow: each DM is opened one at a time (conversations.open
	// goes through its method's gate), so the run is cut with some sent.
	fs.Inject("conversations.open", fakeslack.Fault{Latency: 60 * time.Millisecond})
	fs.Inject("chat.postMessage", fakeslack.Fault{Latency: 60 * time.Millisecond})
	h.clock.Set(utcT("2026-11-23T03:30:00Z"))
	if n, err := h.main.DigestLoop().RunOnce(ctx); err != nil || n != len(users) {
		t.Fatalf("run queued %d digests (%v), want %d", n, err, len(users))
	}
	if err := poll(ctx, time.Millisecond, func() bool { return fs.MessageCount() >= 4 }); err != nil {
		t.Fatal("no digest went out")
	}
	h.restart() // mid-run: some digests sent, the rest in the outbox
	sentBefore := fs.MessageCount()
	fs.ClearFaults()
	h.waitDelivered(ctx)
	h.runDigests(ctx) // and another run at the same time finds nothing due
	if sentBefore >= len(users) {
		t.Fatalf("all %d digests went out before the restart; the test did not cut the run", sentBefore)
	}
	for _, u := range users {
		if got := len(digestDMs(fs, u.ID)); got != 1 {
			t.Errorf("%s got %d digests, want 1", u.ID, got)
		}
	}
	if total := fs.MessageCount(); total != len(users) {
		t.Errorf("%d messages in Slack for %d users", total, len(users))
	}
}

// 500 pending notifications in 50 subjects make one message inside Block
// Kit's limits; the subjects that do not fit are counted, with the link.
func TestDigestOf500ItemsIsOneMessageWithTheRestCounted(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: digestUsers})
	t0 := utcT("2026-11-23T00:00:00Z")
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	var batch []any
	for i := range 500 {
		batch = append(batch, event(fmt.Sprintf("big-%d", i), "document.created", map[string]any{
			"recipients":  []string{"la@example.com"},
			"subject":     subject(fmt.Sprintf("s%02d", i%50), fmt.Sprintf("Subject %02d", i%50)),
			"occurred_at": t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
		}))
	}
	h.post(batch)
	h.waitDelivered(ctx)
	if n, _ := h.main.Store().PendingDigest(fs.TeamID(), "U0LA"); n != 500 {
		t.Fatalf("pending = %d, want 500", n)
	}
	h.clock.Set(utcT("2026-11-23T17:00:00Z"))
	h.runDigests(ctx)
	got := digestDMs(fs, "U0LA")
	if len(got) != 1 {
		t.Fatalf("%d digest messages, want 1", len(got))
	}
	var blocks []map[string]any
	if err := json.Unmarshal(got[0].Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks) > 50 {
		t.Errorf("%d blocks, Slack allows 50", len(blocks))
	}
	if errs := fakeslack.ValidateBlocksJSON(fakeslack.SurfaceMessage, string(got[0].Blocks)); len(errs) > 0 {
		t.Errorf("Slack would refuse the digest: %v", errs)
	}
	body := unescaped(got[0].Blocks)
	// Newest first: subjects 49..04 are shown (46 of them), 00..03 counted.
	for _, want := range []string{"500 notifications", "Subject 49", "Subject 04",
		"<https://paligo.example/activity|and 40 more notifications in 4 subjects>"} {
		if !strings.Contains(body, want) {
			t.Errorf("digest lacks %q", want)
		}
	}
	if strings.Contains(body, "Subject 03") {
		t.Error("a counted subject is shown too")
	}
	if n, _ := h.main.Store().PendingDigest(fs.TeamID(), "U0LA"); n != 0 {
		t.Errorf("pending after the digest = %d", n)
	}
}

// The Home tab: the pending count; Send digest now; a switch to instant
// sends what waits; off keeps it and says so; a pause holds everything
// but urgent alerts and ends with one digest; Resume ends it at once.
func TestDigestHomeTabControls(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: digestUsers})
	t0 := utcT("2026-11-23T10:00:00Z")
	h := startAt(t, fs, t0)
	ctx := ctxT(t)
	h.post(replies("a", "in@example.com", 3, t0))
	h.waitDelivered(ctx)

	home := viewJSON(h.openHome(ctx, "U0IN"))
	if !strings.Contains(home, "Waiting for your next digest:* 3 notifications") || !strings.Contains(home, views.ActionDigestNow) {
		t.Fatalf("home does not show 3 pending with Send digest now:\n%s", home)
	}
	home = viewJSON(h.click(ctx, "U0IN", views.ActionDigestNow, nil))
	h.waitDelivered(ctx)
	if got := digestDMs(fs, "U0IN"); len(got) != 1 || !strings.Contains(string(got[0].Blocks), "3 notifications") {
		t.Fatalf("Send digest now sent %d digests", len(got))
	}
	if !strings.Contains(home, "nothing pending") || !strings.Contains(home, "is on its way") {
		t.Errorf("home after Send digest now:\n%s", home)
	}
	// It started a new window: today's 09:00 IST (03:30Z) is before it, so
	// the run at tomorrow's window sends only what came after.
	h.clock.Set(utcT("2026-11-23T11:00:00Z"))
	h.post(replies("b", "in@example.com", 2, utcT("2026-11-23T11:00:00Z")))
	h.waitDelivered(ctx)
	h.runDigests(ctx)
	if got := len(digestDMs(fs, "U0IN")); got != 1 {
		t.Fatalf("a digest went out before the next window: %d", got)
	}

	// Switching to instant sends the 2 waiting as one digest, at once.
	h.click(ctx, "U0IN", views.ActionFrequency, map[string]any{"selected_option": option("instant")})
	h.waitDelivered(ctx)
	if got := digestDMs(fs, "U0IN"); len(got) != 2 || !strings.Contains(string(got[1].Blocks), "2 notifications") {
		t.Fatalf("switch to instant: %d digests", len(got))
	}
	before := len(texts(fs, fs.DMChannel("U0IN")))
	h.post(replies("c", "in@example.com", 1, utcT("2026-11-23T11:01:00Z")))
	h.waitDelivered(ctx)
	if after := len(texts(fs, fs.DMChannel("U0IN"))); after != before+1 {
		t.Fatalf("instant user got %d new DMs, want 1", after-before)
	}

	// A pause for one hour: replies wait, a failed run does not.
	home = viewJSON(h.click(ctx, "U0IN", views.ActionPause, map[string]any{"selected_option": option(views.PauseHour)}))
	if !strings.Contains(home, "*Paused* until <!date^"+fmt.Sprint(utcT("2026-11-23T12:00:00Z").Unix())) || !strings.Contains(home, views.ActionResume) {
		t.Fatalf("home after pausing:\n%s", home)
	}
	before = len(texts(fs, fs.DMChannel("U0IN")))
	h.post(append(replies("d", "in@example.com", 4, utcT("2026-11-23T11:10:00Z")),
		event("crit-2", "run.failed", map[string]any{"recipients": []string{"in@example.com"}})))
	h.waitDelivered(ctx)
	if after := texts(fs, fs.DMChannel("U0IN")); len(after) != before+1 {
		t.Fatalf("while paused the user got %d DMs, want only the failed run", len(after)-before)
	}
	home = viewJSON(h.openHome(ctx, "U0IN"))
	if !strings.Contains(home, "Waiting for the end of your pause:* 4 notifications") {
		t.Errorf("paused home does not count 4 waiting:\n%s", home)
	}
	h.clock.Set(utcT("2026-11-23T11:59:00Z"))
	h.runDigests(ctx)
	if got := len(digestDMs(fs, "U0IN")); got != 2 {
		t.Fatalf("a digest went out during the pause")
	}
	h.clock.Set(utcT("2026-11-23T12:00:00Z"))
	h.runDigests(ctx)
	if got := digestDMs(fs, "U0IN"); len(got) != 3 || !strings.Contains(string(got[2].Blocks), "4 notifications") {
		t.Fatalf("pause end: %d digests, want a third with the 4 held", len(got))
	}

	// Until tomorrow 09:00, in the user's zone (Kolkata): 03:30Z.
	h.openHome(ctx, "U0IN") // the tab still shows the pause that ended
	h.click(ctx, "U0IN", views.ActionPause, map[string]any{"selected_option": option(views.PauseTomorrow)})
	p, _ := h.main.Store().Prefs(fs.TeamID(), "U0IN")
	if want := utcT("2026-11-24T03:30:00Z"); !p.PausedUntil.Equal(want) {
		t.Errorf("paused until %s, want %s (09:00 tomorrow in Kolkata)", p.PausedUntil, want)
	}
	h.post(replies("e", "in@example.com", 2, utcT("2026-11-23T12:05:00Z")))
	h.waitDelivered(ctx)
	home = viewJSON(h.click(ctx, "U0IN", views.ActionResume, nil))
	h.waitDelivered(ctx)
	if got := digestDMs(fs, "U0IN"); len(got) != 4 || !strings.Contains(string(got[3].Blocks), "2 notifications") {
		t.Fatalf("Resume: %d digests, want a fourth with 2", len(got))
	}
	if strings.Contains(home, "*Paused*") || !strings.Contains(home, views.ActionPause) {
		t.Errorf("home after Resume still paused:\n%s", home)
	}

	// Off: what waits is kept, shown, and sent only when asked.
	h.click(ctx, "U0IN", views.ActionFrequency, map[string]any{"selected_option": option("daily")})
	h.post(replies("f", "in@example.com", 2, utcT("2026-11-23T12:10:00Z")))
	h.waitDelivered(ctx)
	home = viewJSON(h.click(ctx, "U0IN", views.ActionFrequency, map[string]any{"selected_option": option("off")}))
	if !strings.Contains(home, "Kept while notifications are off:* 2 notifications") || !strings.Contains(home, "Send them now") {
		t.Fatalf("off home does not show what is kept:\n%s", home)
	}
	h.clock.Set(utcT("2026-11-24T03:30:00Z"))
	h.runDigests(ctx)
	if got := len(digestDMs(fs, "U0IN")); got != 4 {
		t.Fatalf("a digest went out while off")
	}
	h.click(ctx, "U0IN", views.ActionDigestNow, nil)
	h.waitDelivered(ctx)
	if got := digestDMs(fs, "U0IN"); len(got) != 5 || !strings.Contains(string(got[4].Blocks), "2 notifications") {
		t.Fatalf("Send them now while off: %d digests", len(got))
	}
}
