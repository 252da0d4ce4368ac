package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// GET /v1/events/{id} answers "why didn't I get this?": every channel and
// person of an event with what became of it, signed like the ingest API.
func TestEventTrace(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "data.alert": {"C0GONE"}})
	h.setPrefs("U0ALICE", func(p *paligo.Prefs) { p.Frequency = paligo.Instant })
	h.setPrefs("U0BOB", func(p *paligo.Prefs) { p.Frequency = paligo.Daily })
	h.setPrefs("U0ADMIN", func(p *paligo.Prefs) { p.Frequency = paligo.Off })
	h.post([]any{
		event("traced", "release.status_changed", map[string]any{"recipients": []string{"alice@example.com", "bob@example.com", "ada@example.com", "nobody@example.com"}}),
		event("refused", "data.alert", nil),
	})
	h.waitDelivered(ctx)
	get := func(path string, sign bool) (int, map[string]any) {
		t.Helper()
		req := signed("GET", path, nil, testIngestSecret, time.Now())
		if !sign {
			req.header.Del("X-Signature")
		}
		return req.sendJSON(t, h.main.Addr())
	}
	outcomes := func(out map[string]any) map[string]store.Target {
		b, _ := json.Marshal(out["targets"])
		var ts []store.Target
		json.Unmarshal(b, &ts)
		m := map[string]store.Target{}
		for _, tg := range ts {
			m[tg.Channel+tg.User+tg.Email] = tg
		}
		return m
	}
	code, out := get("/v1/events/traced", true)
	if code != 200 || out["id"] != "traced" || out["fanned_out"] != true {
		t.Fatalf("trace: %d %v", code, out)
	}
	got := outcomes(out)
	if a := got["U0ALICE"]; a.Outcome != "sent" || a.TS == "" || a.DM == "" {
		t.Errorf("alice: %+v, want sent with its DM and ts", a)
	}
	if b := got["U0BOB"]; b.Outcome != "digest" || b.Digest != "queued" {
		t.Errorf("bob: %+v, want digest, queued", b)
	}
	if a := got["U0ADMIN"]; a.Outcome != "skipped_off" {
		t.Errorf("ada: %+v, want skipped_off (she turned notifications off)", a)
	}
	if n := got["nobody@example.com"]; n.Outcome != "unmatched" {
		t.Errorf("a stranger: %+v, want unmatched", n)
	}
	// Once Bob's digest went out, the trace says which message told him.
	if n, err := h.main.DigestLoop().SendNow(fs.TeamID(), "U0BOB", paligo.DigestNow); err != nil || n != 1 {
		t.Fatalf("send Bob's digest: %d %v", n, err)
	}
	h.waitDelivered(ctx)
	_, out = get("/v1/events/traced", true)
	if b := outcomes(out)["U0BOB"]; b.Digest != "sent" || b.TS == "" || b.DM == "" {
		t.Errorf("bob after his digest: %+v, want sent in a digest with its ts", b)
	}
	if code, out := get("/v1/events/traced?verbose=1", true); code != http.StatusBadRequest || !strings.HasPrefix(fmt.Sprint(out["error"]), "verbose") {
		t.Errorf("an unknown parameter: %d %v", code, out)
	}
	code, out = get("/v1/events/refused", true)
	if f := outcomes(out)["C0GONE"]; code != 200 || f.Outcome != "failed" || f.Reason == "" {
		t.Errorf("refused: %d %v", code, out)
	}
	// A post still on its way is pending.
	fs.Inject("chat.postMessage", fakeslack.Fault{Latency: 2 * time.Second, Times: 1})
	h.post(event("slow", "run.failed", nil))
	if err := poll(ctx, 5*time.Millisecond, func() bool {
		_, out := get("/v1/events/slow", true)
		return outcomes(out)["C0OPS"].Outcome == "pending"
	}); err != nil {
		t.Error("the post on its way never showed as pending")
	}
	h.waitDelivered(ctx)
	if _, out := get("/v1/events/slow", true); outcomes(out)["C0OPS"].Outcome != "sent" {
		t.Errorf("after the post: %v", out)
	}
	// Refusals: unsigned, unknown id.
	if code, _ := get("/v1/events/traced", false); code != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", code)
	}
	if code, out := get("/v1/events/never-sent", true); code != http.StatusNotFound || out["error"] == "" {
		t.Errorf("unknown id: %d %v", code, out)
	}
}

// GET /v1/channels and GET /v1/people: the platform's channel picker and
// invite list, page by page, signed; bad parameters named.
func TestChannelsAndPeople(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels, Users: append(testUsers[:3:3],
		fakeslack.User{ID: "U0BOT", Name: "robot", Email: "robot@example.com", IsBot: true},
		fakeslack.User{ID: "U0GONE", Name: "gone", Email: "gone@example.com", Deleted: true},
		fakeslack.User{ID: "U0NOMAIL", Name: "nomail"})})
	h := start(t, fs)
	get := func(path string) (int, map[string]any) {
		t.Helper()
		return signed("GET", path, nil, testIngestSecret, time.Now()).sendJSON(t, h.main.Addr())
	}
	all := func(path string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for range 20 {
			p := path + "?limit=2"
			if cursor != "" {
				p += "&cursor=" + cursor
			}
			code, out := get(p)
			if code != 200 {
				t.Fatalf("%s: %d %v", p, code, out)
			}
			for _, it := range out["items"].([]any) {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			if cursor, _ = out["next_cursor"].(string); cursor == "" {
				return ids
			}
		}
		t.Fatalf("%s: no end to the pages", path)
		return nil
	}
	if got := all("/v1/channels"); !sameSet(got, []string{"C0OPS", "C0DOCS", "C0DATA", "C0INNER"}) {
		t.Errorf("channels = %v: public ones and the private one the bot is in, no archived one", got)
	}
	if got := all("/v1/people"); !sameSet(got, []string{"U0ALICE", "U0BOB", "U0ADMIN"}) {
		t.Errorf("people = %v: no bot, no one deactivated, no one without an email", got)
	}
	_, out := get("/v1/people?limit=200")
	if p := out["items"].([]any)[0].(map[string]any); p["email"] == "" || p["name"] == "" {
		t.Errorf("a person: %v", p)
	}
	for path, want := range map[string]string{
		"/v1/channels?limit=0":     "limit",
		"/v1/channels?limit=x":     "limit",
		"/v1/people?limit=201":     "limit",
		"/v1/people?page=2":        "page",
		"/v1/channels?team=TOTHER": "team",
	} {
		if code, out := get(path); code != http.StatusBadRequest || !strings.HasPrefix(out["error"].(string), want) {
			t.Errorf("%s: %d %v, want 400 naming %s", path, code, out, want)
		}
	}
	if code, _ := get("/v1/channels?team=" + fs.TeamID()); code != 200 {
		t.Errorf("our own team: %d", code)
	}
	// Slack asks to slow down: 503 with its Retry-After.
	fs.Inject("conversations.list", fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second, Times: 1})
	resp, err := signed("GET", "/v1/channels", nil, testIngestSecret, time.Now()).do(h.main.Addr())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("rate limited: %d Retry-After %q, want 503 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	req := signed("GET", "/v1/people", nil, testIngestSecret, time.Now())
	req.header.Set("X-Signature", "v0=00")
	if resp, err := req.do(h.main.Addr()); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("badly signed: %v %v", resp.StatusCode, err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// POST /v1/invites and GET /v1/invites?run=: the platform invites people
// as /paligo-invite does, for an admin.
func TestPlatformInvites(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	ctx := ctxT(t)
	post := func(v any) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(v)
		return signed("POST", "/v1/invites", body, testIngestSecret, time.Now()).sendJSON(t, h.main.Addr())
	}
	code, out := post(map[string]any{"inviter": "ada@example.com", "people": []string{"alice@example.com", "U0BOB", "nobody@example.com", "Alice@Example.com"}, "note": "Welcome aboard"})
	if code != http.StatusAccepted || out["run"] == "" || out["people"] != float64(2) || fmt.Sprint(out["not_found"]) != "[nobody@example.com]" {
		t.Fatalf("start: %d %v", code, out)
	}
	run := out["run"].(string)
	h.waitDelivered(ctx)
	resp, err := signed("GET", "/v1/invites?run="+run, nil, testIngestSecret, time.Now()).do(h.main.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Done   bool
		People []struct{ User, Result, Status string }
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || !got.Done || len(got.People) != 2 {
		t.Fatalf("run: %d %+v", resp.StatusCode, got)
	}
	for _, p := range got.People {
		if p.Result != "sent" || p.Status != "pending" {
			t.Errorf("%s: %+v, want sent and pending", p.User, p)
		}
	}
	if n := len(texts(fs, fs.DMChannel("U0ALICE"))); n != 1 {
		t.Errorf("alice has %d DMs, want her invitation", n)
	}
	// Refusals.
	for _, c := range []struct {
		body any
		code int
		want string
	}{
		{map[string]any{"inviter": "alice@example.com", "people": []string{"U0BOB"}}, 403, "inviter"},
		{map[string]any{"inviter": "ada@example.com", "people": []string{}}, 400, "people"},
		{map[string]any{"inviter": "ada@example.com", "people": []string{"not an email"}}, 400, "people[0]"},
		{map[string]any{"inviter": "nobody@example.com", "people": []string{"U0BOB"}}, 400, "inviter"},
		{map[string]any{"inviter": "ada@example.com", "people": []string{"nobody@example.com"}}, 400, "people"},
		{map[string]any{"inviter": "ada@example.com", "people": []string{"U0BOB"}, "extra": 1}, 400, "body"},
		{map[string]any{"team": "TOTHER", "inviter": "ada@example.com", "people": []string{"U0BOB"}}, 400, "team"},
	} {
		if code, out := post(c.body); code != c.code || !strings.HasPrefix(fmt.Sprint(out["error"]), c.want) {
			t.Errorf("%v: %d %v, want %d naming %s", c.body, code, out, c.code, c.want)
		}
	}
	for path, want := range map[string]int{"/v1/invites?run=abc": 400, "/v1/invites?run=999": 404, "/v1/invites?runs=1": 400} {
		resp, err := signed("GET", path, nil, testIngestSecret, time.Now()).do(h.main.Addr())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
