package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
	"github.com/paligo/paligo-slack/views"
)

// syncBuffer is a log sink tests can read while the program writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is the whole program running against a fake Slack.
type harness struct {
	t     testing.TB
	slack *fakeslack.Server
	main  *app.Main
	db    string
	logs  *syncBuffer
	// delivery tunes the delivery loop; tests pace faster than Slack.
	delivery delivery.DeliveryOptions
	// clock is the program's time: real until a test sets it.
	clock *testClock
	// http bounds the listener's wait for clients (zero: the defaults).
	http app.HTTPTimeouts
	// configure, if set, changes the configuration of the next restart.
	configure func(*app.Config)
	// retention tunes the retention loop (tests run passes by hand).
	retention store.Retention
	// noDirectoryWait starts the program without waiting for it to read
	// the workspace directory.
	noDirectoryWait bool
}

// testClock is a clock tests move by hand; until set it is the real time.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		return time.Now()
	}
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

const testIngestSecret = "test-ingest-secret-0123456789"

var testUsers = []fakeslack.User{
	{ID: "U0ALICE", Name: "alice", RealName: "Alice Example", Email: "alice@example.com", TZ: "Europe/Paris"},
	{ID: "U0BOB", Name: "bob", RealName: "Bob Example", Email: "bob@example.com", TZ: "Asia/Kolkata"},
	{ID: "U0ADMIN", Name: "ada", RealName: "Ada Admin", Email: "ada@example.com", IsAdmin: true},
}

func fakeOpts() fakeslack.Options { return fakeslack.Options{} }

func newFake(tb testing.TB, opts fakeslack.Options) *fakeslack.Server {
	if opts.Users == nil {
		opts.Users = testUsers
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 100 * time.Millisecond
	}
	fs := fakeslack.New(opts)
	tb.Cleanup(fs.Close)
	return fs
}

// start runs the program on port :0 with a temp bbolt file against fs.
func start(tb testing.TB, fs *fakeslack.Server) *harness {
	tb.Helper()
	return startAt(tb, fs, time.Time{})
}

// startAt starts the program with its clock stopped at t (zero: real time).
func startAt(tb testing.TB, fs *fakeslack.Server, t time.Time) *harness {
	tb.Helper()
	return startOn(tb, fs, testDB(tb), t)
}

// testDB is a new empty database for one program: a bbolt file, or with
// PALIGO_E2E_DB=postgres a fresh schema of the test server, so that the
// whole suite can run on either engine.
func testDB(tb testing.TB) string {
	tb.Helper()
	if os.Getenv("PALIGO_E2E_DB") == "postgres" {
		return storetest.Postgres(tb)
	}
	return filepath.Join(tb.TempDir(), "paligo-slack.db")
}

// testDelivery paces the tests' deliveries faster than Slack.
var testDelivery = delivery.DeliveryOptions{ChannelRate: 200, ChannelBurst: 10, MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}

// startOn starts the program on the database db (a path or a URL).
func startOn(tb testing.TB, fs *fakeslack.Server, db string, t time.Time) *harness {
	tb.Helper()
	h := &harness{t: tb, slack: fs, db: db, logs: &syncBuffer{}, clock: &testClock{now: t}, delivery: testDelivery}
	h.restart()
	return h
}

func (h *harness) config() app.Config {
	return app.Config{
		BotToken: app.Secret(h.slack.BotToken()), AppToken: app.Secret(h.slack.AppToken()),
		APIURL: h.slack.URL(), DB: h.db, Listen: "127.0.0.1:0",
		IngestSecret: testIngestSecret, Admins: []string{"boss@example.com"}, ChannelRate: 1,
		ActivityURL: "https://paligo.example/activity", InviteURL: "https://paligo.example/join?src=slack",
	}
}

// overHTTP says whether to run the end-to-end tests with Slack's requests over HTTP
// (PALIGO_E2E_TRANSPORT=http): the program also gets the signing secret,
// and the fake sends every envelope to its /slack/ endpoints instead of
// the socket (which stays open, as an app may use both).
func overHTTP() bool { return os.Getenv("PALIGO_E2E_TRANSPORT") == "http" }

// restart starts a new Main on the same database file (closing the old one).
func (h *harness) restart() {
	h.t.Helper()
	if h.main != nil {
		if err := h.main.Close(); err != nil {
			h.t.Fatalf("close: %v", err)
		}
	}
	cfg := h.config()
	if overHTTP() {
		cfg.SigningSecret = app.Secret(h.slack.SigningSecret())
	}
	if h.configure != nil {
		h.configure(&cfg)
	}
	m := app.NewMain(cfg, slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	m.PingTimeout = 2 * time.Second
	m.ReconnectDelay = 20 * time.Millisecond
	m.Delivery = h.delivery
	m.HTTP = h.http
	m.Retention = h.retention
	m.Clock = h.clock.Now
	// Tests run digests by hand (runDigests) at the times they choose; the
	// loop itself only makes its catch-up run at start.
	m.Digests.Spec = "0 0 1 1 *"
	// A replica waiting for the digest lock tries again soon.
	m.Digests.LockRetry = 100 * time.Millisecond
	read := strings.Count(h.logs.String(), directoryRead)
	if err := m.Open(context.Background()); err != nil {
		h.t.Fatalf("open: %v", err)
	}
	h.main = m
	if overHTTP() {
		h.slack.SetRequestURL("http://" + m.Addr())
	}
	h.t.Cleanup(func() {
		if h.main == m {
			m.Close()
			h.main = nil
		}
	})
	// Tests start from a program that knows its workspace: the directory
	// read whole (a test of the time before sets noDirectoryWait).
	if !h.noDirectoryWait {
		if err := poll(ctxT(h.t), 5*time.Millisecond, func() bool { return strings.Count(h.logs.String(), directoryRead) > read }); err != nil {
			h.t.Fatal("the workspace directory was not read")
		}
	}
}

// get GETs path on the program's listener: the status and the body.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.main.Addr() + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// directoryRead is the log line of a workspace directory read whole.
const directoryRead = `"msg":"workspace directory read"`

// poll checks done every interval until it is true; it returns ctx's error
// if ctx ends first.
func poll(ctx context.Context, every time.Duration, done func() bool) error {
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return nil
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// openHome sends app_home_opened and returns the Home tab published after it.
func (h *harness) openHome(ctx context.Context, user string) fakeslack.View {
	h.t.Helper()
	mark := h.slack.Mark()
	if _, err := h.slack.Send(ctx, h.slack.AppHomeOpened(user)); err != nil {
		h.t.Fatal(err)
	}
	return h.waitHome(ctx, mark, user)
}

func (h *harness) waitHome(ctx context.Context, mark fakeslack.Mark, user string) fakeslack.View {
	h.t.Helper()
	c, err := h.slack.WaitForCall(ctx, mark, "views.publish", func(c fakeslack.Call) bool { return c.Arg("user_id") == user })
	if err != nil {
		h.t.Fatal(err)
	}
	if !c.OK() {
		h.t.Fatalf("views.publish answered %d %s", c.Status, c.Error)
	}
	v, _ := h.slack.HomeView(user)
	return v
}

// click performs a block action on the user's Home tab and returns the tab
// re-published after it.
func (h *harness) click(ctx context.Context, user, actionID string, value map[string]any) fakeslack.View {
	h.t.Helper()
	env, err := h.slack.ClickHome(user, actionID, value)
	if err != nil {
		h.t.Fatal(err)
	}
	mark := h.slack.Mark()
	if _, err := h.slack.Send(ctx, env); err != nil {
		h.t.Fatal(err)
	}
	return h.waitHome(ctx, mark, user)
}

func viewJSON(v fakeslack.View) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v.Body)
	return b.String()
}

// initial returns the initial_option value (or initial_time, or the
// initial_options values joined by ",") of the element with actionID.
func initial(t testing.TB, v fakeslack.View, actionID string) string {
	t.Helper()
	_, el := fakeslack.FindElement(v.Body, actionID)
	if el == nil {
		t.Fatalf("no %s in the Home tab", actionID)
	}
	if o, ok := el["initial_option"].(map[string]any); ok {
		return o["value"].(string)
	}
	if s, ok := el["initial_time"].(string); ok {
		return s
	}
	var vals []string
	list, _ := el["initial_options"].([]any)
	for _, o := range list {
		vals = append(vals, o.(map[string]any)["value"].(string))
	}
	return strings.Join(vals, ",")
}

func option(value string) map[string]any {
	return map[string]any{"value": value, "text": map[string]any{"type": "plain_text", "text": value}}
}

func TestHomeTabShowsDefaultsAndEveryChangeIsSavedAndRepublished(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)

	v := h.openHome(ctx, "U0ALICE")
	if got := initial(t, v, views.ActionFrequency); got != "daily" {
		t.Errorf("default frequency = %q, want daily", got)
	}
	if got := initial(t, v, views.ActionDigestTime); got != "09:00" {
		t.Errorf("default digest time = %q, want 09:00", got)
	}
	all := "following,mentions,replies,shares,publications,assignments,runs,alerts"
	if got := initial(t, v, views.ActionCategories); got != all {
		t.Errorf("default categories = %q, want all", got)
	}
	if _, el := fakeslack.FindElement(v.Body, views.ActionWeekday); el != nil {
		t.Error("weekday picker shown for a daily user")
	}

	v = h.click(ctx, "U0ALICE", views.ActionFrequency, map[string]any{"selected_option": option("weekly")})
	if got := initial(t, v, views.ActionFrequency); got != "weekly" {
		t.Errorf("after choosing weekly, tab shows %q", got)
	}
	if got := initial(t, v, views.ActionWeekday); got != "1" {
		t.Errorf("weekly tab shows weekday %q, want Monday (1)", got)
	}

	v = h.click(ctx, "U0ALICE", views.ActionWeekday, map[string]any{"selected_option": option("5")})
	if got := initial(t, v, views.ActionWeekday); got != "5" {
		t.Errorf("after choosing Friday, tab shows %q", got)
	}
	v = h.click(ctx, "U0ALICE", views.ActionDigestTime, map[string]any{"selected_time": "17:45"})
	if got := initial(t, v, views.ActionDigestTime); got != "17:45" {
		t.Errorf("after choosing 17:45, tab shows %q", got)
	}
	v = h.click(ctx, "U0ALICE", views.ActionCategories, map[string]any{"selected_options": []any{option("mentions"), option("runs")}})
	if got := initial(t, v, views.ActionCategories); got != "mentions,runs" {
		t.Errorf("after choosing mentions+runs, tab shows %q", got)
	}
	v = h.click(ctx, "U0ALICE", views.ActionCategories, map[string]any{"selected_options": []any{}})
	if _, el := fakeslack.FindElement(v.Body, views.ActionCategories); el["initial_options"] != nil {
		t.Errorf("with every category off the tab still checks %v", el["initial_options"])
	}

	// What the tab shows is what is stored.
	p, err := h.main.Store().Prefs(fs.TeamID(), "U0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if p.Frequency != paligo.Weekly || p.Weekday != time.Friday || p.DigestTime != "17:45" || len(p.Off) != len(paligo.Categories) {
		t.Errorf("stored prefs = %+v", p)
	}
	// Bob was never touched.
	if p, _ := h.main.Store().Prefs(fs.TeamID(), "U0BOB"); p.Frequency != paligo.Daily {
		t.Errorf("bob's prefs changed: %+v", p)
	}

	// Each of the five frequencies round-trips.
	for _, f := range []string{"instant", "hourly", "daily", "off", "weekly"} {
		v = h.click(ctx, "U0ALICE", views.ActionFrequency, map[string]any{"selected_option": option(f)})
		if got := initial(t, v, views.ActionFrequency); got != f {
			t.Errorf("after choosing %s, tab shows %q", f, got)
		}
	}
}

func TestSettingsSurviveRestart(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	h.openHome(ctx, "U0BOB")
	h.click(ctx, "U0BOB", views.ActionFrequency, map[string]any{"selected_option": option("hourly")})
	h.click(ctx, "U0BOB", views.ActionCategories, map[string]any{"selected_options": []any{option("alerts")}})

	h.restart()
	if err := fs.WaitConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	v := h.openHome(ctx, "U0BOB")
	if got := initial(t, v, views.ActionFrequency); got != "hourly" {
		t.Errorf("after restart frequency = %q, want hourly", got)
	}
	if got := initial(t, v, views.ActionCategories); got != "alerts" {
		t.Errorf("after restart categories = %q, want alerts", got)
	}
}

func TestUnfollowFromHomeTab(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	_, err := h.main.Store().UpdatePrefs(fs.TeamID(), "U0ALICE", func(p *paligo.Prefs) error {
		p.Follow(paligo.Subject{Kind: "document", ID: "d-1", Title: "Install guide", URL: "https://paligo.example/d-1"})
		p.Follow(paligo.Subject{Kind: "topic", ID: "t-42", Title: "<!channel> Release notes"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v := h.openHome(ctx, "U0ALICE")
	js := viewJSON(v)
	if !strings.Contains(js, "<https://paligo.example/d-1|Install guide>") {
		t.Errorf("followed document not linked in the tab: %s", js)
	}
	if strings.Contains(js, "<!channel>") || !strings.Contains(js, "&lt;!channel&gt; Release notes") {
		t.Errorf("untrusted title not escaped: %s", js)
	}
	if _, els := fakeslack.FindElements(v.Body, views.ActionUnfollow); len(els) != 2 {
		t.Fatalf("%d Unfollow buttons, want 2", len(els))
	}

	v = h.click(ctx, "U0ALICE", views.ActionUnfollow, map[string]any{"value": "topic:t-42"})
	if _, els := fakeslack.FindElements(v.Body, views.ActionUnfollow); len(els) != 1 || els[0]["value"] != "document:d-1" {
		t.Errorf("after Unfollow the tab has buttons %v", els)
	}
	if !strings.Contains(viewJSON(v), "You no longer follow") {
		t.Error("no confirmation after Unfollow")
	}
	p, _ := h.main.Store().Prefs(fs.TeamID(), "U0ALICE")
	if len(p.Follows) != 1 || p.Follows[0].ID != "d-1" {
		t.Errorf("stored follows = %+v", p.Follows)
	}
}

func TestEveryEnvelopeIsAckedExactlyOnce(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	h.openHome(ctx, "U0ALICE")

	var ids []string
	post := func(env fakeslack.Envelope) {
		id, err := fs.Post(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := range 20 {
		post(fs.AppHomeOpened("U0BOB"))
		env, err := fs.ClickHome("U0ALICE", views.ActionFrequency, map[string]any{"selected_option": option([]string{"instant", "daily"}[i%2])})
		if err != nil {
			t.Fatal(err)
		}
		post(env)
		post(fs.SlashCommand("U0ALICE", "C0GENERAL", "/route-alerts", "help"))
	}
	for _, id := range ids {
		if _, err := fs.WaitAck(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Let any stray second ack arrive before counting: wait for a later
	// envelope's ack, which the bot sends after the earlier ones were queued.
	if _, err := fs.Send(ctx, fs.AppHomeOpened("U0BOB")); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := len(fs.Acks(id)); n != 1 {
			t.Errorf("envelope %s acked %d times", id, n)
		}
	}
}

func TestSlashCommandHelpIsAnsweredInTheAck(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	start(t, fs)
	ctx := ctxT(t)
	for _, cmd := range []string{"/route-alerts", "/paligo-invite"} {
		ack, err := fs.Send(ctx, fs.SlashCommand("U0ALICE", "C0GENERAL", cmd, "help"))
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ ResponseType, Text string }
		json.Unmarshal(ack.Payload, &p)
		if !strings.Contains(string(ack.Payload), cmd) || !strings.Contains(string(ack.Payload), `"ephemeral"`) {
			t.Errorf("%s help ack = %s", cmd, ack.Payload)
		}
	}
}

func TestReconnectsAfterDropRefreshAndMissedPings(t *testing.T) {
	fs := newFake(t, fakeslack.Options{DisconnectGrace: 200 * time.Millisecond})
	h := start(t, fs)
	ctx := ctxT(t)
	if err := fs.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.openHome(ctx, "U0ALICE")

	steps := []struct {
		name  string
		fault func()
	}{
		{"dropped socket", fs.DropConnections},
		{"refresh_requested", func() { fs.Disconnect("refresh_requested") }},
		{"warning", func() { fs.Disconnect("warning") }},
		{"missed pings", func() { fs.SetPings(false) }},
	}
	for i, s := range steps {
		s.fault()
		if err := fs.WaitConnections(ctx, i+2); err != nil {
			t.Fatalf("after %s: %v", s.name, err)
		}
		fs.SetPings(true)
		// The next envelope on the new connection is handled.
		v := h.openHome(ctx, "U0ALICE")
		if v.ID == "" {
			t.Fatalf("after %s: no Home tab", s.name)
		}
	}
	total, _ := fs.Connections()
	if total > len(steps)+2 {
		t.Errorf("%d connections for %d faults: reconnect storm", total, len(steps))
	}
}

func TestMalformedAndRealSampleEnvelopesAreAckedOrIgnored(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	h.openHome(ctx, "U0ALICE")

	for _, name := range envelopeSamples {
		raw := readSample(t, name)
		var env struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		if err := fs.SendRaw(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.WaitAck(ctx, env.EnvelopeID); err != nil {
			t.Errorf("sample %s: %v", name, err)
		}
	}
	// Malformed frames: not JSON, wrong shapes, unknown types.
	malformed := []string{
		`{not json`,
		`{"envelope_id":"bad-1","type":"interactive","payload":"not an object"}`,
		`{"envelope_id":"bad-2","type":"events_api","payload":{"type":"event_callback","event":42}}`,
		`{"envelope_id":"bad-3","type":"slash_commands","payload":[1,2,3]}`,
		`{"envelope_id":"bad-4","type":"something_new","payload":{}}`,
		`{"type":"events_api"}`,
		`[]`,
		`""`,
	}
	for _, m := range malformed {
		if err := fs.SendRaw(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"bad-1", "bad-2", "bad-3", "bad-4"} {
		if _, err := fs.WaitAck(ctx, id); err != nil {
			t.Errorf("malformed envelope %s: %v", id, err)
		}
	}
	// Still alive and on the same connection.
	h.openHome(ctx, "U0ALICE")
	if total, _ := fs.Connections(); total != 1 {
		t.Errorf("malformed frames caused %d connections", total)
	}
	if !strings.Contains(h.logs.String(), "malformed envelope ignored") {
		t.Error("no log line for malformed envelopes")
	}
}

func TestRepeatedEventIsHandledOnce(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	h.openHome(ctx, "U0BOB")
	env := fs.AppHomeOpened("U0ALICE")
	mark := fs.Mark()
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	h.waitHome(ctx, mark, "U0ALICE")
	env.RetryAttempt, env.RetryReason = 1, "timeout"
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	// A later, different event is handled; the retry before it was not.
	h.openHome(ctx, "U0BOB")
	if n := publishesTo(fs, "U0ALICE"); n != 1 {
		t.Errorf("retried app_home_opened published %d times, want 1", n)
	}
}

// publishesTo counts the views.publish calls of user's Home tab.
func publishesTo(fs *fakeslack.Server, user string) int {
	n := 0
	for _, c := range fs.Calls("views.publish") {
		if c.Arg("user_id") == user {
			n++
		}
	}
	return n
}

func TestRevokedTokenStopsTheProgram(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	if err := fs.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fs.RevokeTokens()
	fs.DropConnections()
	select {
	case err := <-h.main.Done():
		if !strings.Contains(err.Error(), "token_revoked") {
			t.Errorf("fatal error %q does not say token_revoked", err)
		}
	case <-ctx.Done():
		t.Fatal("program kept running after its token was revoked")
	}
	if n := len(fs.Calls("apps.connections.open")); n > 3 {
		t.Errorf("%d apps.connections.open calls after revocation: looping", n)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	fs := newFake(t, fakeslack.Options{BotToken: "xoxb-very-secret-bot", AppToken: "xapp-very-secret-app"})
	h := start(t, fs)
	ctx := ctxT(t)
	h.openHome(ctx, "U0ALICE")
	fs.DropConnections()
	fs.WaitConnections(ctx, 2)
	h.openHome(ctx, "U0ALICE")
	h.main.Log.Info("config", "config", h.main.Config)
	h.restart()
	logs := h.logs.String()
	for _, s := range []string{"very-secret"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain a secret")
		}
	}
	if !strings.Contains(logs, "[redacted]") {
		t.Error("logged config does not show the redaction")
	}
	if got := fmt.Sprintf("%v %+v %#v", h.main.Config, h.main.Config, h.main.Config); strings.Contains(got, "very-secret") {
		t.Error("fmt prints a secret")
	}
}

func TestHomeTabPublishHonoursRetryAfter(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	start(t, fs)
	ctx := ctxT(t)
	fs.Inject("views.publish", fakeslack.Fault{Status: 429, RetryAfter: time.Second, Times: 1})
	fs.Inject("views.publish", fakeslack.Fault{Status: 503, Times: 1})
	mark := fs.Mark()
	if _, err := fs.Send(ctx, fs.AppHomeOpened("U0ALICE")); err != nil {
		t.Fatal(err)
	}
	ok, err := fs.WaitForCall(ctx, mark, "views.publish", func(c fakeslack.Call) bool { return c.OK() })
	if err != nil {
		t.Fatal(err)
	}
	calls := fs.Calls("views.publish")
	if len(calls) != 3 || calls[0].Status != 429 || calls[1].Status != 503 {
		t.Fatalf("publish attempts: %d (want 429, 503, ok)", len(calls))
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < calls[0].RetryAfter {
		t.Errorf("retried %v after a 429 with Retry-After %v", gap, calls[0].RetryAfter)
	}
	if !ok.At.After(calls[1].At) {
		t.Error("no successful publish after the 503")
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	h.openHome(ctx, "U0ALICE")
	get := h.get
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"slack":"ok"`) || !strings.Contains(body, `"store":"ok"`) ||
		!strings.Contains(body, `"version":"paligo-slack `) {
		t.Errorf("healthz while connected: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != `{"slack":"ok","store":"ok"}`+"\n" {
		t.Errorf("readyz while connected: %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `paligo_slack_envelopes_total{type="events_api"} 1`) || !strings.Contains(body, "paligo_slack_socket_connected 1") ||
		!strings.Contains(body, "paligo_slack_build_info{commit=") {
		t.Errorf("metrics: %d, missing envelope count, connection gauge or build info", code)
	}
	if code, _ := get("/v1/nothing"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}

	// Slack goes away: the socket drops and cannot be reopened.
	fs.Inject("apps.connections.open", fakeslack.Fault{Status: 503})
	fs.DropConnections()
	if err := poll(ctx, 20*time.Millisecond, func() bool {
		code, body = get("/healthz")
		return code == 503
	}); err != nil {
		t.Fatal("healthz never reported the lost connection")
	}
	if !strings.Contains(body, "not connected to Slack") {
		t.Errorf("503 without the reason: %s", body)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "not connected to Slack") {
		t.Errorf("readyz without Slack: %d %s", code, body)
	}
}

// The profiles are off unless PALIGO_SLACK_PPROF names an address, and then
// they are served there only, never on the ingest listener.
func TestProfilesOnTheirOwnListener(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	if code, _ := h.get("/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("profiles off: the listener answered /debug/pprof/ with %d", code)
	}
	if a := h.main.ProfilesAddr(); a != "" {
		t.Errorf("profiles off, yet served at %s", a)
	}
	h.configure = func(c *app.Config) { c.Pprof = "127.0.0.1:0" }
	h.restart()
	if code, _ := h.get("/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("profiles on: the ingest listener answered /debug/pprof/ with %d", code)
	}
	resp, err := http.Get("http://" + h.main.ProfilesAddr() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine profile:") {
		t.Errorf("profile listener: %d %.200s", resp.StatusCode, b)
	}
}
