package e2e

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/sources"
	"github.com/paligo/paligo-slack/views"
)

// The platforms' own webhooks, as each sends them (docs/sources/).

// Each sender's credentials, as its own docs' worked examples give them.
const (
	paligoUser, paligoPassword = "paligo-hook", "correct-horse-battery"
	paradimeToken              = "Zq8rW2-paradime-path-token"
	dbtSecret                  = "dbt-webhook-secret-3f9a1c"
	amUser, amPassword         = "alertmanager", "s3cr3t-webhook-pass"
	grafanaSecret              = "grafana-hmac-secret-71d2"
)

// withSources turns every sender on, with the credentials above.
func withSources(c *app.Config) {
	c.Sources = map[string]sources.Auth{}
	for name, v := range map[string]string{
		"paligo":       "basic:" + paligoUser + ":" + paligoPassword,
		"paradime":     "path:" + paradimeToken,
		"dbt-cloud":    "hmac:" + dbtSecret,
		"alertmanager": "basic:" + amUser + ":" + amPassword,
		"grafana":      "hmac:" + grafanaSecret,
	} {
		a, err := sources.Lookup(name).ParseAuth(v)
		if err != nil {
			panic(err)
		}
		c.Sources[name] = a
	}
}

func sourceSample(t testing.TB, file string) []byte {
	t.Helper()
	b, err := fs.ReadFile(sources.Samples, file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexHMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// sourceRequest is body as sender sends it, with its credentials: the
// path (with a path token) and headers.
func sourceRequest(sender string, body []byte) (string, http.Header) {
	h := http.Header{"Content-Type": {"application/json"}}
	path := "/v1/sources/" + sender
	switch sender {
	case "paligo":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(paligoUser+":"+paligoPassword)))
	case "paradime":
		path += "/" + paradimeToken
	case "dbt-cloud":
		h.Set("Authorization", hexHMAC(dbtSecret, body))
	case "alertmanager":
		h.Set("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M=")
		h.Set("User-Agent", "Alertmanager/0.28.1")
	case "grafana":
		h.Set("X-Grafana-Alerting-Signature", hexHMAC(grafanaSecret, body))
	}
	return path, h
}

type sourceAnswer struct {
	Accepted, Duplicates int
	IDs                  []string
	Error                string
	Errors               []struct{ Field, Message string }
}

// postSource sends a request to the program's listener and decodes the
// answer.
func (h *harness) postSource(path string, hdr http.Header, body []byte) (int, sourceAnswer) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+h.main.Addr()+path, bytes.NewReader(body))
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a sourceAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		h.t.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, a
}

// send posts body as sender, with its credentials, and wants it stored.
func (h *harness) send(sender string, body []byte) sourceAnswer {
	h.t.Helper()
	path, hdr := sourceRequest(sender, body)
	code, a := h.postSource(path, hdr, body)
	if code != http.StatusAccepted {
		h.t.Fatalf("%s: %d %+v", sender, code, a)
	}
	return a
}

// Every sender's samples, sent as it sends them, reach the channel that
// subscribed to everything; a retry of each is stored once; the trace
// shows where each came from and what the sender said.
func TestEverySendersSamplesReachSlack(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := newHarness(t, fs, withSources)
	ctx := ctxT(t)
	routes := map[paligo.Kind][]string{}
	for _, k := range paligo.RoutableKinds() {
		routes[k] = []string{"C0OPS"}
	}
	h.setRoutes(routes)

	cases := []struct {
		sender, file, want string
	}{
		{"paligo", "paligo/published.json", "Publication ready"},
		{"paligo", "paligo/status_set_to_released.json", "Release status changed"},
		{"paligo", "paligo/assignment_created.json", "Assignment started"},
		{"paradime", "paradime/bolt.run.completed.PARTIAL.json", "Run succeeded"},
		{"dbt-cloud", "dbt-cloud/job.run.started.json", "Run started"},
		{"dbt-cloud", "dbt-cloud/job.run.errored.json", "Run failed"},
		{"alertmanager", "alertmanager/firing.json", "System alert"},
		{"grafana", "grafana/firing.json", "System alert"},
	}
	stored := 0
	for _, c := range cases {
		body := sourceSample(t, c.file)
		before := len(fs.Calls("chat.postMessage"))
		a := h.send(c.sender, body)
		if a.Accepted != 1 || a.Duplicates != 0 || len(a.IDs) != 1 {
			t.Fatalf("%s: %+v", c.file, a)
		}
		// The sender's retry of the same delivery.
		if again := h.send(c.sender, body); again.Accepted != 0 || again.Duplicates != 1 || again.IDs[0] != a.IDs[0] {
			t.Fatalf("%s retried: %+v", c.file, again)
		}
		stored++
		if n, _ := h.main.Store().EventCount(); n != stored {
			t.Fatalf("after %s: %d events stored, want %d", c.file, n, stored)
		}
		h.waitDelivered(ctx)
		calls := fs.Calls("chat.postMessage")[before:]
		if len(calls) != 1 || calls[0].Arg("channel") != "C0OPS" || !strings.Contains(calls[0].Arg("text"), c.want) {
			t.Fatalf("%s: chat.postMessage calls %+v, want one to C0OPS saying %q", c.file, calls, c.want)
		}
		// The trace shows the source and the sender's fields.
		var tr struct {
			Source  string
			Fields  map[string]string
			Targets []struct{ Channel, Outcome string }
		}
		status, out := signed("GET", "/v1/events/"+a.IDs[0], nil, testIngestSecret, h.clock.Now()).send(t, h.main.Addr())
		if err := json.Unmarshal([]byte(out), &tr); status != 200 || err != nil || tr.Source != c.sender ||
			len(tr.Targets) != 1 || tr.Targets[0].Outcome != "sent" || len(tr.Fields) < 3 {
			t.Fatalf("trace of %s: %d %s", c.file, status, out)
		}
	}
	// Grafana's worked example with its timestamp header, at its time.
	h.clock.Set(time.Unix(1772441460, 0).Add(time.Minute))
	body := sourceSample(t, "grafana/firing.json")
	hdr := http.Header{"X-Grafana-Alerting-Signature": {"7349d92be2f8f4d05ee4f0f25059a4c4422249d517e90247c4e38db0654bbbaa"},
		"X-Grafana-Alerting-Signature-Timestamp": {"1772441460"}}
	if code, a := h.postSource("/v1/sources/grafana", hdr, body); code != 202 {
		t.Fatalf("Grafana's timestamped example: %d %+v", code, a)
	}
}

// newHarness starts the program with configure applied.
func newHarness(t testing.TB, fs *fakeslack.Server, configure func(*app.Config)) *harness {
	t.Helper()
	h := &harness{t: t, slack: fs, db: testDB(t), logs: &syncBuffer{}, clock: &testClock{}, configure: configure, delivery: testDelivery}
	h.restart()
	return h
}

// Wrong, missing or misplaced credentials are refused, and nothing is
// stored; a sender that is not turned on is not there; bodies that are not
// the sender's format are refused naming what is wrong.
func TestSourcesRefuseWhatIsNotTheirs(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h := newHarness(t, fs, func(c *app.Config) {
		withSources(c)
		delete(c.Sources, "paradime")
	})
	am := sourceSample(t, "alertmanager/firing.json")
	dbt := sourceSample(t, "dbt-cloud/job.run.completed.json")
	graf := sourceSample(t, "grafana/firing.json")
	paligoBody := sourceSample(t, "paligo/published.json")
	hdr := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		name, path string
		hdr        http.Header
		body       []byte
		code       int
		want       string
	}{
		{"alertmanager without credentials", "/v1/sources/alertmanager", hdr(), am, 401, "missing credentials"},
		{"alertmanager, wrong password", "/v1/sources/alertmanager", hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alertmanager:guess"))), am, 401, "wrong credentials"},
		{"alertmanager, a bearer token", "/v1/sources/alertmanager", hdr("Authorization", "Bearer "+amPassword), am, 401, "wrong credentials"},
		{"alertmanager with a path token", "/v1/sources/alertmanager/" + amPassword, hdr(), am, 404, "not given a secret URL"},
		{"dbt Cloud unsigned", "/v1/sources/dbt-cloud", hdr(), dbt, 401, "missing signature"},
		{"dbt Cloud, another secret", "/v1/sources/dbt-cloud", hdr("Authorization", hexHMAC("another-secret-0123456789", dbt)), dbt, 401, "wrong signature"},
		{"dbt Cloud, Bearer prefix", "/v1/sources/dbt-cloud", hdr("Authorization", "Bearer "+hexHMAC(dbtSecret, dbt)), dbt, 401, "wrong signature"},
		{"dbt Cloud, sha256= prefix", "/v1/sources/dbt-cloud", hdr("Authorization", "sha256="+hexHMAC(dbtSecret, dbt)), dbt, 401, "wrong signature"},
		{"dbt Cloud, body changed", "/v1/sources/dbt-cloud", hdr("Authorization", hexHMAC(dbtSecret, dbt)), bytes.Replace(dbt, []byte("Success"), []byte("Errored"), 1), 401, "wrong signature"},
		{"Grafana, stale timestamp", "/v1/sources/grafana", hdr("X-Grafana-Alerting-Signature", "7349d92be2f8f4d05ee4f0f25059a4c4422249d517e90247c4e38db0654bbbaa", "X-Grafana-Alerting-Signature-Timestamp", "1772441460"), graf, 401, "stale"},
		{"Grafana, body signature with a timestamp", "/v1/sources/grafana", hdr("X-Grafana-Alerting-Signature", hexHMAC(grafanaSecret, graf), "X-Grafana-Alerting-Signature-Timestamp", fmt.Sprint(time.Now().Unix())), graf, 401, "wrong signature"},
		{"Paligo, no login", "/v1/sources/paligo", hdr(), paligoBody, 401, "missing credentials"},
		{"Paradime, off", "/v1/sources/paradime/" + paradimeToken, hdr(), sourceSample(t, "paradime/bolt.run.completed.PARTIAL.json"), 404, "PALIGO_SLACK_SOURCE_PARADIME is not set"},
		{"no such sender", "/v1/sources/jenkins", hdr(), am, 404, "no such source"},
		{"Grafana's body to Alertmanager", "/v1/sources/alertmanager", hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M="), graf, 400, "/v1/sources/grafana"},
		{"Alertmanager, not JSON", "/v1/sources/alertmanager", hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M="), []byte("<xml/>"), 400, "one JSON object"},
		{"Alertmanager, a parameter", "/v1/sources/alertmanager?token=x", hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M="), am, 400, "token: not a parameter"},
		{"Alertmanager, unknown team", "/v1/sources/alertmanager?team=T0NOPE", hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M="), am, 400, "invalid events"},
		{"Alertmanager, 1 MiB and more", "/v1/sources/alertmanager", hdr("Authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdC13ZWJob29rLXBhc3M="), append(bytes.Repeat([]byte(" "), 1<<20), am...), 413, "larger than"},
		{"Paligo, not an event it sends", "/v1/sources/paligo", hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(paligoUser+":"+paligoPassword))), []byte(`{"event":"DELETED_EVENT","data":{"resource_id":1}}`), 400, `event: is "DELETED_EVENT"`},
	}
	for _, c := range cases {
		code, a := h.postSource(c.path, c.hdr, c.body)
		if code != c.code || !strings.Contains(a.Error+fmt.Sprint(a.Errors), c.want) {
			t.Errorf("%s: %d %+v, want %d %q", c.name, code, a, c.code, c.want)
		}
	}
	if n, _ := h.main.Store().EventCount(); n != 0 {
		t.Errorf("%d events stored from refused requests", n)
	}
	// No secret of any sender reached the log.
	logs := h.logs.String()
	for _, s := range []string{paligoPassword, amPassword, dbtSecret, grafanaSecret, paradimeToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a sender's secret")
		}
	}
	if !strings.Contains(get(t, "http://"+h.main.Addr()+"/metrics"), `paligo_slack_source_requests_total{code="401",source="dbt-cloud"} 5`) {
		t.Error("the metrics do not count dbt Cloud's five refusals")
	}
	// Paradime turned on: a wrong path token is refused.
	h.configure = withSources
	h.restart()
	if code, a := h.postSource("/v1/sources/paradime/"+paradimeToken+"x", hdr(), sourceSample(t, "paradime/bolt.run.completed.PARTIAL.json")); code != 401 {
		t.Errorf("Paradime, a wrong path token: %d %+v", code, a)
	}
	if n, _ := h.main.Store().EventCount(); n != 0 {
		t.Errorf("%d events stored from refused requests", n)
	}
}

// An alert group's firing, resolved and firing again is one living
// message: the parent tells the state after each, each change is
// broadcast to the channel; a reminder (repeat_interval) goes quietly into
// the thread.
func TestAnAlertGroupIsOneLivingMessage(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	t0 := time.Date(2026, 3, 2, 9, 45, 0, 0, time.UTC)
	h := newHarness(t, fs, withSources)
	h.clock.Set(t0)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"system.alert": {"C0OPS"}})

	firing := sourceSample(t, "alertmanager/firing.json")
	step := func(body []byte, state string, replies, broadcasts int) {
		t.Helper()
		h.send("alertmanager", body)
		h.waitDelivered(ctx)
		ps := parents(fs, "C0OPS")
		if len(ps) != 1 {
			t.Fatalf("%d parents in the channel, want 1", len(ps))
		}
		drawn, _, rs := parentState(t, fs, "C0OPS", ps[0].TS)
		b := 0
		for _, r := range rs {
			if r.Broadcast {
				b++
			}
		}
		if !strings.Contains(drawn, state) || len(rs) != replies || b != broadcasts {
			t.Fatalf("want %s, %d replies, %d broadcast; got %d replies, %d broadcast, parent %s", state, replies, broadcasts, len(rs), b, drawn)
		}
	}
	step(firing, "*Firing*", 0, 0)
	if drawn, _, _ := parentState(t, fs, "C0OPS", parents(fs, "C0OPS")[0].TS); !strings.Contains(drawn, "2 alerts firing") {
		t.Errorf("the parent does not say how many alerts fire: %s", drawn)
	}
	step(sourceSample(t, "alertmanager/resolved.json"), "*Resolved*", 1, 1)
	if drawn, _, _ := parentState(t, fs, "C0OPS", parents(fs, "C0OPS")[0].TS); strings.Contains(drawn, views.ActionLivingAck) {
		t.Errorf("a resolved group still offers Acknowledge: %s", drawn)
	}
	refire := bytes.ReplaceAll(firing, []byte("2026-03-02T09:4"), []byte("2026-03-02T10:1"))
	step(refire, "*Firing*", 2, 2)
	// The same notification again within the hour: a re-send.
	h.send("alertmanager", refire)
	// Alertmanager's reminder, hours later: into the thread, not broadcast.
	h.clock.Set(t0.Add(4 * time.Hour))
	step(bytes.Replace(refire, []byte(`"first notification"`), []byte(`"repeat interval elapsed"`), 1), "*Firing*", 3, 2)
	if n, _ := h.main.Store().EventCount(); n != 4 {
		t.Errorf("%d events stored, want 4", n)
	}
}

// A dbt Cloud run, started then completed, is one thread whose parent
// goes from running to succeeded; a subscription's filters read the run's
// fields and its source.
func TestADBTCloudRunIsOneLivingMessage(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := newHarness(t, fs, withSources)
	ctx := ctxT(t)
	for ch, text := range map[string]string{
		"C0FIN": "subscribe runs project=finance-warehouse environment=production source=dbt-cloud",
		"C0MKT": "subscribe runs project=marketing",
		"C0OPS": "subscribe runs source=paradime",
	} {
		if got := command(t, ctx, fs, "U0ADMIN", ch, text); !strings.Contains(got, "Subscribed") {
			t.Fatalf("%s: %s", text, got)
		}
	}
	h.send("dbt-cloud", sourceSample(t, "dbt-cloud/job.run.started.json"))
	h.waitDelivered(ctx)
	ps := parents(fs, "C0FIN")
	if len(ps) != 1 {
		t.Fatalf("%d parents in #finance-data", len(ps))
	}
	if drawn, _, _ := parentState(t, fs, "C0FIN", ps[0].TS); !strings.Contains(drawn, "*Running*") {
		t.Fatalf("started: %s", drawn)
	}
	h.send("dbt-cloud", sourceSample(t, "dbt-cloud/job.run.completed.json"))
	h.waitDelivered(ctx)
	drawn, p, rs := parentState(t, fs, "C0FIN", ps[0].TS)
	if len(parents(fs, "C0FIN")) != 1 || !strings.Contains(drawn, "*Succeeded*") || len(rs) != 1 || !rs[0].Broadcast || p.Edits != 1 {
		t.Fatalf("completed: %d parents, replies %+v, parent %s", len(parents(fs, "C0FIN")), rs, drawn)
	}
	if n := len(texts(fs, "C0MKT")) + len(texts(fs, "C0OPS")); n != 0 {
		t.Errorf("%d messages in channels whose filters the run does not match", n)
	}
}

// Alert filters read the sender's labels; people an annotation names get
// the alert as a DM.
func TestAlertLabelsFilterAndOwnersAreTold(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: subscriptionChannels})
	h := newHarness(t, fs, withSources)
	ctx := ctxT(t)
	if got := command(t, ctx, fs, "U0ADMIN", "C0FIN", "subscribe alerts severity=critical env!=staging"); !strings.Contains(got, "Subscribed") {
		t.Fatal(got)
	}
	firing := sourceSample(t, "alertmanager/firing.json")
	staging := bytes.Replace(firing, []byte(`"severity": "critical",
    "team": "platform"
  },
  "commonAnnotations": {`), []byte(`"severity": "critical",
    "team": "platform", "env": "staging"
  },
  "commonAnnotations": {"owner": "bob@example.com",`), 1)
	if bytes.Equal(staging, firing) {
		t.Fatal("the staging variant is the sample")
	}
	staging = bytes.ReplaceAll(staging, []byte("HighErrorRate\\\""), []byte("HighErrorRateStaging\\\""))
	h.send("alertmanager", staging)
	h.send("alertmanager", firing)
	h.waitDelivered(ctx)
	if n := len(parents(fs, "C0FIN")); n != 1 {
		t.Errorf("%d posts in #finance-data, want the production alert only", n)
	}
	dm := fs.DMChannel("U0BOB")
	if got := texts(fs, dm); len(got) != 1 || !strings.Contains(got[0], "System alert") {
		t.Errorf("the owner's DMs: %q", got)
	}
}

// rawSource writes a source request on a connection of its own and
// returns it unread.
func rawSource(t *testing.T, addr, path string, hdr http.Header, body []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, addr, len(body))
	hdr.Write(c)
	io.WriteString(c, "\r\n")
	if _, err := c.Write(body); err != nil {
		t.Fatal(err)
	}
	return c
}

// Hostile bodies of each format are refused with one short answer, and
// sixteen at once, from clients that never read their answers, keep the
// heap within the ingest API's bound.
func TestHostileSourceBodiesCostLittle(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := newHarness(t, fs, withSources)
	bodies := map[string][]byte{
		"alertmanager": []byte(`{"version":"4","groupKey":"g","status":"firing","alerts":[` + strings.Repeat(`{"labels":{"a":"b"}},`, 38_000) + `{}]}`),
		"dbt-cloud":    []byte(`{"eventType":"job.run.started","data":{"x":[` + strings.Repeat(`[],`, 260_000) + `[]]}}`),
		"paligo":       []byte(`{"event":"PUBLISHED_EVENT","data":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100) + `}`),
		"grafana":      []byte(`{"version":"1","groupKey":"g","status":"firing","alerts":[{"status":"firing","startsAt":"` + strings.Repeat("9", 700_000) + `"}]}`),
		"paradime":     []byte(`{"api_url":"u","commands":[` + strings.Repeat(`{"id":1,"status":"x"},`, 35_000) + `{"id":2}]}`),
	}
	for sender, body := range bodies {
		path, hdr := sourceRequest(sender, body)
		c := rawSource(t, h.main.Addr(), path, hdr, body)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 400 || len(answer) > 2000 {
			t.Errorf("%s: %d, %d bytes: %.300s", sender, resp.StatusCode, len(answer), answer)
		}
	}

	const clients = 16
	conns := make([]net.Conn, clients)
	senders := []string{"alertmanager", "dbt-cloud", "paligo", "grafana", "paradime"}
	heapGrowsAtMost(t, 96<<20, "16 hostile requests", func() {
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				s := senders[i%len(senders)]
				path, hdr := sourceRequest(s, bodies[s])
				conns[i] = rawSource(t, h.main.Addr(), path, hdr, bodies[s])
			})
		}
		wg.Wait()
		ctx := ctxT(t)
		if err := poll(ctx, 20*time.Millisecond, func() bool {
			m := get(t, "http://"+h.main.Addr()+"/metrics")
			n := 0
			for _, s := range senders {
				var v int
				if i := strings.Index(m, `paligo_slack_source_requests_total{code="400",source="`+s+`"} `); i >= 0 {
					fmt.Sscan(m[i+len(`paligo_slack_source_requests_total{code="400",source="`+s+`"} `):], &v)
				}
				n += v
			}
			return n == clients+len(senders)
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

// ?org= or ?team= on the URL picks the workspace, as team and org do in an
// event; none is the primary workspace. The same delivery to two
// workspaces is two events.
func TestSourcesPickTheWorkspaceTheURLNames(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h, base := startConnect(t, fs)
	ctx := ctxT(t)
	second := connectSecond(t, fs, base, "beta", fakeslack.WorkspaceOptions{})
	connectOpts := h.configure
	h.configure = func(c *app.Config) { connectOpts(c); withSources(c) }
	h.restart()
	for w, ch := range map[*fakeslack.Server]string{fs: "C0OPS", second: "C2OPS"} {
		ack, err := w.Send(ctx, w.SlashCommand("U0ADMIN", ch, "/route-alerts", "subscribe alerts"))
		if err != nil || !strings.Contains(string(ack.Payload), "Subscribed") {
			t.Fatalf("subscribe in %s: %s %v", w.TeamID(), ack.Payload, err)
		}
	}
	body := sourceSample(t, "alertmanager/firing.json")
	path, hdr := sourceRequest("alertmanager", body)
	if code, a := h.postSource(path+"?org=beta", hdr, body); code != 202 || a.Accepted != 1 {
		t.Fatalf("?org=beta: %d %+v", code, a)
	}
	if code, a := h.postSource(path, hdr, body); code != 202 || a.Accepted != 1 {
		t.Fatalf("the primary workspace: %d %+v", code, a)
	}
	if code, a := h.postSource(path+"?org=gamma", hdr, body); code != 400 || !strings.Contains(fmt.Sprint(a.Errors), "org") {
		t.Errorf("?org=gamma, never connected: %d %+v", code, a)
	}
	h.waitDelivered(ctx)
	if a, b := len(texts(second, "C2OPS")), len(texts(fs, "C0OPS")); a != 1 || b != 1 {
		t.Errorf("posts: %d in the second workspace's #ops, %d in the first's; want one each", a, b)
	}
}
