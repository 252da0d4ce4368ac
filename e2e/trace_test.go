package e2e

import (
	"encoding/json"
	"net/http"
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
	h.post([]any{
		event("traced", "release.status_changed", map[string]any{"recipients": []string{"alice@example.com", "bob@example.com", "nobody@example.com"}}),
		event("refused", "data.alert", nil),
	})
	h.waitDelivered(ctx)
	get := func(path string, sign bool) (int, map[string]any) {
		t.Helper()
		req := signed("GET", path, nil, testIngestSecret, time.Now())
		if !sign {
			req.header.Del("X-Signature")
		}
		resp, err := req.do(h.main.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
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
	if b := got["U0BOB"]; b.Outcome != "digest" {
		t.Errorf("bob: %+v, want digest", b)
	}
	if n := got["nobody@example.com"]; n.Outcome != "unmatched" {
		t.Errorf("a stranger: %+v, want unmatched", n)
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
