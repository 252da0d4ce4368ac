package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/views"
)

// heapObjects is the live and not yet swept heap, in bytes.
func heapObjects() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

// heapGrowsAtMost runs during while it samples the heap every 2 ms, and
// fails t when the peak is more than bound above the heap before (after a
// collection).
func heapGrowsAtMost(t *testing.T, bound uint64, what string, during func()) {
	t.Helper()
	runtime.GC()
	base := heapObjects()
	var peak uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak = max(peak, heapObjects())
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	func() {
		defer close(stop) // also when during fails t
		during()
	}()
	<-sampled
	t.Logf("heap: %d MB before, %d MB at the peak of %s", base>>20, peak>>20, what)
	if peak > base+bound {
		t.Errorf("the heap grew by %d MB under %s; the bound is %d MB", (peak-base)>>20, what, bound>>20)
	}
}

// rawSigned writes a signed POST /v1/events on a connection of its own and
// returns it unread, as a client that never reads its answer would.
func rawSigned(t *testing.T, addr string, body []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Unix()
	fmt.Fprintf(c, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nX-Signature-Timestamp: %d\r\nX-Signature: %s\r\n\r\n",
		addr, len(body), ts, signing.Sign([]byte(testIngestSecret), ts, body))
	if _, err := c.Write(body); err != nil {
		t.Fatal(err)
	}
	return c
}

// One signed body of 800 KB naming 200,000 bad recipients is answered with
// one error, and sixteen of them at once, sent by clients that never read
// their answers, keep the heap within a small bound (it was 1 GB).
func TestHostileBodiesCostLittle(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	bad := strings.Repeat(`"x",`, 200_000)
	body := []byte(`{"id":"big","type":"comment.reply","recipients":[` + bad[:len(bad)-1] + `]}`)
	if len(body) < 790_000 {
		t.Fatalf("body of %d bytes", len(body))
	}

	// The answer to one: a 400 with one error naming the limit.
	c := rawSigned(t, h.main.Addr(), body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	c.Close()
	var out struct {
		Errors []api.FieldError `json:"errors"`
	}
	json.Unmarshal(answer, &out)
	if resp.StatusCode != 400 || len(answer) > 2000 || len(out.Errors) != 1 || out.Errors[0].Message != "at most 1000 recipients" {
		t.Fatalf("answer: %d, %d bytes: %.300s", resp.StatusCode, len(answer), answer)
	}

	const clients = 16
	conns := make([]net.Conn, clients)
	heapGrowsAtMost(t, 96<<20, "16 hostile requests", func() {
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() { conns[i] = rawSigned(t, h.main.Addr(), body) })
		}
		wg.Wait()
		// Every one answered (the listener goes on), none read.
		ctx := ctxT(t)
		if err := poll(ctx, 20*time.Millisecond, func() bool {
			return strings.Count(get(t, "http://"+h.main.Addr()+"/metrics"), `paligo_slack_events_total{result="rejected"} 17`) == 1
		}); err != nil {
			t.Fatal("the 16 requests were not all answered")
		}
	})
	for _, c := range conns {
		c.Close()
	}
	if n, _ := h.main.Store().EventCount(); n != 0 {
		t.Errorf("%d events stored", n)
	}
}

// Bytes that are not UTF-8 are refused where they stand: "inv-\xff\xfe"
// and "inv-\xfd\xfc" both used to become "inv-\uFFFD\uFFFD", and the second
// was dropped as a duplicate of the first.
func TestDistinctIdsNeverCollide(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	for _, body := range []string{
		"{\"id\":\"inv-\xff\xfe\",\"type\":\"run.failed\"}",
		"{\"id\":\"inv-\xfd\xfc\",\"type\":\"run.failed\"}",
		`{"id":"inv-\udcff\udcfe","type":"run.failed"}`,
	} {
		resp, err := signed("POST", "/v1/events", []byte(body), testIngestSecret, time.Now()).do(h.main.Addr())
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Errors []api.FieldError `json:"errors"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 400 || len(out.Errors) != 1 || out.Errors[0].Field != "id" || !strings.Contains(out.Errors[0].Message, "UTF-8") {
			t.Errorf("%q: %d %+v; want 400 naming id", body, resp.StatusCode, out.Errors)
		}
	}
	// The ids a platform means, as escapes, are two events.
	h.post([]any{event("inv-\u00ff\u00fe", "run.failed", nil), event("inv-\u00fd\u00fc", "run.failed", nil)})
	if n, _ := h.main.Store().EventCount(); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}

// Control and invisible characters never reach Slack: in prose they are
// cleaned when drawn, in ids and URLs they are refused at the door.
func TestControlCharactersNeverReachSlack(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"data.alert": {"C0OPS"}})
	nasty := "a\x00b\x1b[31mc\u0085d\u202Eexe.pdf\u2028e\u200bf\u2066g\x7f"
	h.post(event("ctl", "data.alert", map[string]any{
		"text":    "text " + nasty,
		"subject": map[string]any{"kind": "topic", "id": "t-1", "title": "title " + nasty, "url": "https://paligo.example/t/1"},
		"actor":   map[string]any{"email": "bo@example.com", "name": "Bo " + nasty},
		"fields":  map[string]any{"error": "field " + nasty},
	}))
	h.waitDelivered(ctx)
	msgs := fs.Messages("C0OPS")
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	var strs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			strs = append(strs, v)
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var blocks any
	if err := json.Unmarshal(msgs[0].Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	walk(blocks)
	strs = append(strs, msgs[0].Text)
	all := strings.Join(strs, " ")
	for _, want := range []string{"text ab[31mcdexe.pdf", "title ab[31mcd", "Bo ab[31mcd", "field ab[31mcd"} {
		if !strings.Contains(all, want) {
			t.Errorf("the message lost %q: %q", want, all)
		}
	}
	for _, s := range strs {
		for _, r := range s {
			if r != '\n' && (r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u202E' || r == '\u2066' || r == '\u200b' || r == '\u2028') {
				t.Errorf("%U reached Slack in %q", r, s)
			}
		}
	}

	// In what identifies or links, they are refused, with the field named.
	for field, e := range map[string]map[string]any{
		"id":          event("bad\u202Eid", "data.alert", nil),
		"subject.id":  event("s1", "data.alert", map[string]any{"subject": map[string]any{"kind": "k", "id": "x\x00y"}}),
		"subject.url": event("s2", "data.alert", map[string]any{"subject": map[string]any{"kind": "k", "id": "s", "url": "https://paligo.example/a b"}}),
	} {
		code, out := postEvents(t, h.main.Addr(), e)
		errs, _ := out["errors"].([]any)
		if code != 400 || len(errs) == 0 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("%s: %d %v; want 400 naming it", field, code, out)
		}
	}
	if got := len(fs.Messages("C0OPS")); got != 1 {
		t.Errorf("%d messages after the refused events, want 1", got)
	}
	if views.SafeURL("https://paligo.example/a b") != "" {
		t.Error("a URL with a space would become a button")
	}
}

// The answers and the settings agree with what the README promises: no
// ingest secret is a 503 with Retry-After; a secret of spaces stops the
// start with one line; a timestamp is decimal digits only.
func TestIngestSettingsAndAnswersAgree(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := &harness{t: t, slack: fs, db: t.TempDir() + "/x.db", logs: &syncBuffer{}, clock: &testClock{},
		configure: func(c *app.Config) { c.IngestSecret, c.InviteURL = "", "" }}
	h.restart()
	resp, err := signedPost(h.main.Addr(), event("a", "run.failed", nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("no secret: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	h.main.Close()

	var stdout, stderr syncBuffer
	env := map[string]string{
		"SLACK_BOT_TOKEN": fs.BotToken(), "SLACK_APP_TOKEN": fs.AppToken(), "SLACK_API_URL": fs.URL(),
		"PALIGO_SLACK_DB": t.TempDir() + "/y.db", "PALIGO_SLACK_LISTEN": "127.0.0.1:0",
		"PALIGO_SLACK_INGEST_SECRET": "     ",
	}
	if code := app.Run(ctxT(t), nil, envOf(env), &stdout, &stderr); code != 2 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 ||
		!strings.Contains(stderr.String(), "PALIGO_SLACK_INGEST_SECRET (--ingest-secret) is blank") {
		t.Errorf("a secret of spaces: exit %d, stderr %q; want 2 and one line naming it", code, stderr.String())
	}

	h2 := start(t, fs)
	now := time.Now().Unix()
	body := []byte(`{"id":"ts","type":"run.failed"}`)
	for _, tsHeader := range []string{fmt.Sprint("+", now), fmt.Sprint("0", now), fmt.Sprint(now, "5"), "1e9"} {
		r := signed("POST", "/v1/events", body, testIngestSecret, time.Unix(now, 0))
		r.header.Set("X-Signature-Timestamp", tsHeader)
		if code, _ := r.send(t, h2.main.Addr()); code != http.StatusUnauthorized {
			t.Errorf("timestamp %q: %d, want 401", tsHeader, code)
		}
	}
	if n, _ := h2.main.Store().EventCount(); n != 0 {
		t.Errorf("%d events stored", n)
	}
	if code, _ := signed("POST", "/v1/events", body, testIngestSecret, time.Unix(now, 0)).send(t, h2.main.Addr()); code != http.StatusAccepted {
		t.Errorf("the same request with its own timestamp: %d, want 202", code)
	}
}

// Subscriptions written to be costly to match (50 of 10 negated filters of
// 20 globs like *aaaa…A00 each) against events of 10 fields of 2,000
// characters: an event's 202 comes at once (matching is linear in the
// value; the backtracking glob took 8 s an event), and a sender's retry of
// a stored batch is answered before any matching.
func TestHostileSubscriptionsCostLittle(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	for i := range 50 {
		text := "run.failed"
		for f := range 10 {
			var globs []string
			for g := range 20 {
				globs = append(globs, "*"+strings.Repeat("a", 195)+fmt.Sprintf("A%02d", g))
			}
			text += fmt.Sprintf(" f%d!=%s", f, strings.Join(globs, ","))
		}
		sub, err := paligo.ParseSubscription(fmt.Sprintf("C%04d", i), text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.main.Store().Subscribe(sub); err != nil {
			t.Fatal(err)
		}
	}
	fields := map[string]any{}
	for f := range 10 {
		fields[fmt.Sprintf("f%d", f)] = strings.Repeat("a", 2000)
	}
	batch := func(prefix string, n int) []any {
		var evs []any
		for i := range n {
			evs = append(evs, event(fmt.Sprintf("%s-%d", prefix, i), "run.failed", map[string]any{"fields": fields}))
		}
		return evs
	}
	timed := func(what string, v any, want int) time.Duration {
		t.Helper()
		start := time.Now()
		status, out := postEvents(t, h.main.Addr(), v)
		took := time.Since(start)
		if status != http.StatusAccepted {
			t.Fatalf("%s: %d %v", what, status, out)
		}
		if got := out["duplicates"]; want >= 0 && got != float64(want) {
			t.Errorf("%s: %v duplicates, want %d", what, got, want)
		}
		t.Logf("%s: 202 after %v", what, took.Round(time.Millisecond))
		return took
	}
	if took := timed("one event", batch("one", 1)[0], 0); took > 2*time.Second {
		t.Errorf("one event against hostile subscriptions took %v to its 202", took)
	}
	three := batch("three", 3)
	if took := timed("a batch of 3", three, 0); took > 2*time.Second {
		t.Errorf("a batch of 3 took %v", took)
	}
	// The retry is answered before any matching (the store's own test
	// counts no event matched and no commit); here, on a machine shared
	// with the deliveries of the batch, it is held to the same bound.
	if took := timed("its retry", three, 3); took > 2*time.Second {
		t.Errorf("the retry of a stored batch took %v", took)
	}
}
