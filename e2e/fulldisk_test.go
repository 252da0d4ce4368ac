package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
)

// A disk that fills while delivery runs (every commit fails as ENOSPC from
// the moment the first post reaches Slack): the posts Slack took are not
// sent again because their records could not be written (the record is
// retried, not the message); delivery takes no new job while the store
// cannot commit; ingest answers 503 with Retry-After; /healthz says why (503)
// and recovers by itself; and once there is room again every event reaches
// every channel exactly once.
func TestFullDiskSendsEachMessageOnce(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"data.alert": {"C0OPS", "C0DATA"}})

	var full, filled atomic.Bool
	var refused atomic.Int64 // commits the full disk refused
	h.main.Store().InjectCommitFault(func() error {
		if full.Load() {
			refused.Add(1)
			return syscall.ENOSPC
		}
		return nil
	})
	// The disk fills as the first post reaches Slack, which answers it
	// (ok) a moment later.
	fs.Inject("chat.postMessage", fakeslack.Fault{Latency: 150 * time.Millisecond, Match: func(fakeslack.Call) bool {
		if filled.CompareAndSwap(false, true) {
			full.Store(true)
		}
		return true
	}})
	const n = 6
	var batch []any
	for i := range n {
		batch = append(batch, event(fmt.Sprint("full-", i), "data.alert", map[string]any{"text": fmt.Sprintf("alert %d.", i)}))
	}
	h.post(batch)

	get := h.get
	// The posts in flight when the disk filled are out. Time passes on the
	// full disk: a dozen commits refused.
	if err := poll(ctx, 10*time.Millisecond, func() bool { return refused.Load() >= 12 }); err != nil {
		t.Fatalf("only %d commits tried on the full disk", refused.Load())
	}
	inFlight := len(fs.Calls("chat.postMessage"))
	if inFlight == 0 || inFlight > 2 {
		t.Fatalf("%d posts went out while the disk was full; want the ones in flight (1 per channel lane)", inFlight)
	}
	for _, ch := range []string{"C0OPS", "C0DATA"} {
		got := drawn(fs, ch)
		for i := range n {
			if c := count(got, fmt.Sprintf("alert %d.", i)); c > 1 {
				t.Errorf("%s got alert %d %d times while the disk was full", ch, i, c)
			}
		}
	}
	_, m := get("/metrics")
	if !regexp.MustCompile(`(?m)^paligo_slack_delivery_paused 1$`).MatchString(m) || !regexp.MustCompile(`(?m)^paligo_slack_record_retries_total [1-9]`).MatchString(m) {
		t.Error("metrics do not show the pause and the records retried")
	}
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Errorf("healthz on a full disk: %d %s; want 503 naming the reason", code, body)
	}
	if resp, err := signedPost(h.main.Addr(), event("during", "data.alert", nil)); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("ingest on a full disk: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := len(fs.Calls("chat.postMessage")); got != inFlight {
		t.Errorf("%d posts after the pause began, want none", got-inFlight)
	}

	// Room again: delivery resumes by itself, health with it.
	full.Store(false)
	h.waitDelivered(ctx)
	for _, ch := range []string{"C0OPS", "C0DATA"} {
		got := drawn(fs, ch)
		for i := range n {
			if c := count(got, fmt.Sprintf("alert %d.", i)); c != 1 {
				t.Errorf("%s got alert %d %d times, want once", ch, i, c)
			}
		}
	}
	if err := poll(ctx, 50*time.Millisecond, func() bool { code, _ := get("/healthz"); return code == http.StatusOK }); err != nil {
		_, body := get("/healthz")
		t.Errorf("healthz did not recover: %s", body)
	}
	if !strings.Contains(h.logs.String(), "delivery paused: the store cannot commit") || !strings.Contains(h.logs.String(), "delivery resumed") {
		t.Error("the pause and its end are not in the log")
	}
}

// drawn returns what each message in channel shows: its blocks as JSON.
func drawn(fs *fakeslack.Server, channel string) []string {
	var out []string
	for _, m := range fs.Messages(channel) {
		out = append(out, string(m.Blocks))
	}
	return out
}
