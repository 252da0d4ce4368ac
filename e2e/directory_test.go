package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
)

// strangersWorkspace is a workspace of n people (three pages of users.list
// for n = 450) whose Slack paces users.lookupByEmail at 10 a second, as the
// report that found the problem did.
func strangersWorkspace(tb testing.TB, n int) *fakeslack.Server {
	return strangersWorkspaceListing(tb, n, fakeslack.MethodRate{PerSecond: 20.0 / 60, Burst: 5})
}

// strangersWorkspaceListing is strangersWorkspace whose Slack serves
// users.list at list.
func strangersWorkspaceListing(tb testing.TB, n int, list fakeslack.MethodRate) *fakeslack.Server {
	users := append(benchUsers(n), testUsers...)
	users = append(users, fakeslack.User{ID: "U0NEW", Name: "nova", Email: "nova@example.com"})
	for i := range newcomers {
		users = append(users, newcomer(i))
	}
	return newFake(tb, fakeslack.Options{Users: users, MethodRates: map[string]fakeslack.MethodRate{
		"users.lookupByEmail": {PerSecond: 10, Burst: 10},
		"users.list":          list,
	}})
}

// strangers is one comment.reply to n emails no one in the workspace has.
func strangers(id string, n int) map[string]any {
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("stranger-%s-%d@elsewhere.example", id, i)
	}
	return event(id, "comment.reply", map[string]any{"recipients": emails, "text": "hello?"})
}

// newcomers are people of the workspace the bot has never notified: one
// for each measured run.
const newcomers = 20

func newcomer(i int) fakeslack.User {
	return fakeslack.User{ID: fmt.Sprintf("U0NEW%02d", i), Name: fmt.Sprintf("new%d", i), Email: fmt.Sprintf("new%d@example.com", i)}
}

// criticalDelay posts 1,000 strangers and then a run.failed for newcomer
// run (never notified before: no DM channel opened yet), and returns how
// long from the critical event's 202 until the newcomer has the DM.
func criticalDelay(tb testing.TB, h *harness, fs *fakeslack.Server, run int) time.Duration {
	tb.Helper()
	who := newcomer(run % newcomers)
	h.post(strangers(fmt.Sprint("crowd-", run), crowdSize))
	start := time.Now()
	h.post(event(fmt.Sprint("critical-", run), "run.failed", map[string]any{"recipients": []string{who.Email}, "text": "the nightly build failed"}))
	if err := poll(ctxT(tb), time.Millisecond, func() bool { return len(texts(fs, fs.DMChannel(who.ID))) > 0 }); err != nil {
		tb.Fatalf("%s never got the run.failed DM (1,000 unknown emails queued before it)", who.ID)
	}
	return time.Since(start)
}

// A thousand strangers named by one event do not stand in front of anyone's
// critical alert: the workspace directory (users.list, 200 people a call)
// knows they are no one's without asking Slack about each (Tier 3); people
// who join (team_join) or are deactivated (user_change) are known at once.
func TestStrangersDoNotDelayCriticalAlerts(t *testing.T) {
	fs := strangersWorkspace(t, 450)
	h := start(t, fs)
	ctx := ctxT(t)
	if n := len(fs.Calls("users.list")); n != 3 {
		t.Errorf("the directory of %d people took %d users.list calls, want 3 (200 a page)", len(fs.Users()), n)
	}

	delay := criticalDelay(t, h, fs, 1)
	t.Logf("critical DM %v after 1,000 strangers", delay.Round(time.Millisecond))
	if delay > 5*time.Second {
		t.Errorf("the critical DM took %v behind 1,000 strangers", delay)
	}
	h.waitDelivered(ctx)
	if n := len(fs.Calls("users.lookupByEmail")); n != 0 {
		t.Errorf("%d users.lookupByEmail calls; the directory knows everyone", n)
	}
	if un, _ := h.main.Store().Unmatched(""); len(un) != 1000 {
		t.Errorf("%d unmatched emails listed for admins, want the 1,000 strangers", len(un))
	}

	// Someone joins: known at once (team_join), no lookup.
	if err := fs.Join(ctx, fakeslack.User{ID: "U0LATE", Name: "late", Email: "Late@Example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 5*time.Millisecond, func() bool {
		u, ok, _ := h.main.Store().CachedUser("", "late@example.com")
		return ok && u.User == "U0LATE"
	}); err != nil {
		t.Fatalf("team_join did not reach the directory: %s", h.logs.String()[max(0, len(h.logs.String())-3000):])
	}
	h.post(event("for-late", "run.failed", map[string]any{"recipients": []string{"late@example.com"}}))
	h.waitDelivered(ctx)
	if got := texts(fs, fs.DMChannel("U0LATE")); len(got) != 1 {
		t.Errorf("the newcomer's DMs: %q", got)
	}
	// Nova is deactivated (user_change): she is no one to notify now.
	if err := fs.ChangeUser(ctx, fakeslack.User{ID: "U0NEW", Name: "nova", Email: "nova@example.com", Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 5*time.Millisecond, func() bool {
		u, ok, _ := h.main.Store().CachedUser("", "nova@example.com")
		return ok && u.User == ""
	}); err != nil {
		t.Fatal("user_change did not reach the directory")
	}
	dms := len(texts(fs, fs.DMChannel("U0NEW")))
	h.post(event("for-nova", "run.failed", map[string]any{"recipients": []string{"nova@example.com"}}))
	h.waitDelivered(ctx)
	if got := len(texts(fs, fs.DMChannel("U0NEW"))); got != dms {
		t.Errorf("a deactivated person got %d more DMs", got-dms)
	}
	if n := len(fs.Calls("users.lookupByEmail")); n != 0 {
		t.Errorf("%d users.lookupByEmail calls after joins and changes", n)
	}
}

// Until the directory has been read whole (Slack refuses users.list here),
// an unknown email is asked of Slack one by one, as before: no one is
// taken for a stranger because the directory is not there yet.
func TestBeforeTheDirectoryIsReadEmailsAreLookedUp(t *testing.T) {
	fs := strangersWorkspace(t, 10)
	fs.Inject("users.list", fakeslack.Fault{Status: http.StatusServiceUnavailable})
	h := &harness{t: t, slack: fs, db: t.TempDir() + "/x.db", logs: &syncBuffer{}, clock: &testClock{}, noDirectoryWait: true}
	h.restart()
	h.post(event("early", "run.failed", map[string]any{"recipients": []string{"nova@example.com", "nobody@elsewhere.example"}}))
	h.waitDelivered(context.Background())
	if got := texts(fs, fs.DMChannel("U0NEW")); len(got) != 1 {
		t.Errorf("nova's DMs before the directory: %q", got)
	}
	if n := len(fs.Calls("users.lookupByEmail")); n != 2 {
		t.Errorf("%d users.lookupByEmail calls, want 2 (nova and the stranger)", n)
	}
}

// Right after a start, while Slack serves users.list a page at a time and
// the directory is not read yet, one event naming 300 strangers (a
// users.lookupByEmail each, at 10 a second: 30 s) does not hold back a
// critical DM to someone of the workspace whose page is not read yet: the
// lookups take turns by event, a critical event's first.
func TestStrangersDoNotDelayCriticalAlertsBeforeTheDirectoryIsRead(t *testing.T) {
	fs := strangersWorkspaceListing(t, 1000, fakeslack.MethodRate{PerSecond: 1, Burst: 1})
	h := &harness{t: t, slack: fs, db: testDB(t), logs: &syncBuffer{}, clock: &testClock{}, noDirectoryWait: true}
	h.restart()
	who := newcomer(newcomers - 1) // on the directory's last page
	h.post(strangers("early-crowd", 300))
	start := time.Now()
	h.post(event("early-critical", "run.failed", map[string]any{"recipients": []string{who.Email}, "text": "the nightly build failed"}))
	if err := poll(ctxT(t), time.Millisecond, func() bool { return len(texts(fs, fs.DMChannel(who.ID))) > 0 }); err != nil {
		t.Fatal("the run.failed DM never came")
	}
	delay := time.Since(start)
	read := strings.Contains(h.logs.String(), directoryRead)
	t.Logf("critical DM %v after 300 strangers (directory read by then: %v)", delay.Round(time.Millisecond), read)
	if read {
		t.Fatal("the directory was read before the DM: this test no longer measures the time before")
	}
	if delay > 3*time.Second {
		t.Errorf("the critical DM took %v behind 300 strangers' lookups", delay)
	}
	// A second event, not critical, for someone of the workspace is not
	// behind them either: its lookup comes next but one (a digest user's
	// share is then kept for the digest).
	start = time.Now()
	other := newcomer(newcomers - 2)
	h.post(event("early-share", "document.shared", map[string]any{"recipients": []string{other.Email}}))
	if err := poll(ctxT(t), time.Millisecond, func() bool {
		u, ok, _ := h.main.Store().CachedUser("", other.Email)
		return ok && u.User == other.ID
	}); err != nil {
		t.Fatal("the document.shared recipient was never looked up")
	}
	if delay := time.Since(start); delay > 3*time.Second {
		t.Errorf("a second event's lookup took %v behind the strangers'", delay)
	}
	if strings.Contains(h.logs.String(), directoryRead) {
		t.Error("the directory was read before the second lookup: this test no longer measures the time before")
	}
}

var crowdSize = 1000

// TestHomeTabsAreDrawnFromTheDirectory: once the workspace directory is
// read, a first visit's Home tab is drawn with no users.info (the admin
// part from the directory's roles), and user_change keeps the roles fresh;
// a request that changes something still asks Slack.
func TestHomeTabsAreDrawnFromTheDirectory(t *testing.T) {
	fs := newFake(t, fakeOpts())
	h := start(t, fs)
	ctx := ctxT(t)
	mark := fs.Mark()
	if v := viewJSON(h.openHome(ctx, "U0ADMIN")); !strings.Contains(v, "Failed deliveries") {
		t.Errorf("the admin's Home tab lacks the admin part: %s", v)
	}
	if v := viewJSON(h.openHome(ctx, "U0BOB")); strings.Contains(v, "Failed deliveries") {
		t.Errorf("a member's Home tab shows the admin part: %s", v)
	}
	if n := len(fs.CallsSince(mark)); n != countCalls(fs.CallsSince(mark), "views.publish") {
		t.Errorf("first visits made %d calls, %d of them views.publish: the directory's roles were not used", n, countCalls(fs.CallsSince(mark), "views.publish"))
	}
	// Bob is made an admin: user_change says so, and his next Home tab
	// shows it, still without users.info.
	if err := fs.ChangeUser(ctx, fakeslack.User{ID: "U0BOB", Name: "bob", RealName: "Bob Example", Email: "bob@example.com", TZ: "Asia/Kolkata", IsAdmin: true}); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { r, _, _ := h.main.Store().CachedRole("", "U0BOB"); return r.Admin }); err != nil {
		t.Fatal("user_change did not reach the directory's roles")
	}
	mark = fs.Mark()
	if v := viewJSON(h.openHome(ctx, "U0BOB")); !strings.Contains(v, "Failed deliveries") {
		t.Errorf("a new admin's Home tab lacks the admin part: %s", v)
	}
	if n := countCalls(fs.CallsSince(mark), "users.info"); n != 0 {
		t.Errorf("%d users.info calls for drawing", n)
	}
}
