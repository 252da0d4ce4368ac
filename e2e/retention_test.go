package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// The whole program removes what has settled once it is older than
// PALIGO_SLACK_RETENTION, by itself, and keeps the rest: a posted event
// goes after the period, with its receipt and its id; one whose post failed
// stays, on the admins' list, retryable.
func TestRetentionRemovesWhatSettled(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	t0 := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	h := startAt(t, fs, t0)
	h.retention = store.Retention{Every: 20 * time.Millisecond}
	h.restart()
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}, "data.alert": {"C0GONE"}})
	h.post([]any{event("posted", "run.failed", nil), event("refused", "data.alert", nil)})
	h.waitDelivered(ctx)
	st := h.main.Store()
	posted, found, err := st.Event("posted")
	if err != nil || !found {
		t.Fatalf("posted event: %v %v", found, err)
	}
	if r, _ := st.Receipts(posted.Seq); r["C0OPS"].Outcome != paligo.Sent {
		t.Fatalf("receipts = %+v, want sent to C0OPS", r)
	}
	if failed, _ := st.Failed(); len(failed) != 1 {
		t.Fatalf("failed = %+v", failed)
	}
	// 29 days on, nothing has gone; 31 days on, the posted event goes.
	h.clock.Set(t0.Add(29 * 24 * time.Hour))
	passes := h.main.RetentionLoop()
	if res, err := passes.RunOnce(ctx); err != nil || res.Removed() != 0 {
		t.Fatalf("pass at day 29: %+v %v", res, err)
	}
	h.clock.Set(t0.Add(31 * 24 * time.Hour))
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		_, found, _ := st.Event("posted")
		return !found
	}); err != nil {
		t.Fatal("the posted event was not removed 31 days on")
	}
	if r, _ := st.Receipts(posted.Seq); len(r) != 0 {
		t.Errorf("its receipts stayed: %+v", r)
	}
	if _, found, _ := st.Event("refused"); !found {
		t.Error("the event whose post failed was removed: the admins could no longer retry it")
	}
	if failed, _ := st.Failed(); len(failed) != 1 {
		t.Errorf("failed list after the pass = %+v", failed)
	}
	// The pass is counted once it has gone through every kind of record.
	var body string
	if err := poll(ctx, 10*time.Millisecond, func() bool {
		_, body = h.get("/metrics")
		return strings.Contains(body, `paligo_slack_retention_removed_total{kind="events"} 1`)
	}); err != nil {
		t.Errorf("metrics lack the removed event:\n%s", grepLines(body, "retention"))
	}
	// The id is free again: the platform may use it anew.
	h.post(event("posted", "run.failed", nil))
	h.waitDelivered(ctx)
	if again, found, _ := st.Event("posted"); !found || again.Seq == posted.Seq {
		t.Errorf("the id after the pass: %+v %v; want a new event", again, found)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
