package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// TestUnsignedOrReplayedRequestsGetNothing sends the ingest API and the
// invitation check every kind of bad signature, a request captured and
// replayed after the 5-minute window, and one replayed within it: the bad
// ones get a 401 that tells nothing and change nothing; the replay within
// the window is a duplicate, never delivered twice.
func TestUnsignedOrReplayedRequestsGetNothing(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	addr := h.main.Addr()

	body, _ := json.Marshal(event("sec-1", "run.failed", map[string]any{"subject": subject("s1", "Nightly secret-title")}))
	now := time.Now()
	good := signed("POST", "/v1/events", body, testIngestSecret, now)
	without := func(name string) signedRequest {
		r := good
		r.header = good.header.Clone()
		r.header.Del(name)
		return r
	}
	tampered := good
	tampered.body = bytes.Replace(body, []byte("Nightly"), []byte("Nightlx"), 1)
	garbage := good
	garbage.header = good.header.Clone()
	garbage.header.Set("X-Signature", "v0=00")
	notNumber := good
	notNumber.header = good.header.Clone()
	notNumber.header.Set("X-Signature-Timestamp", "yesterday")

	// A token to check, from a real invitation.
	if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "<@U0CARL|carl>")); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	_, token := inviteDM(t, fs, "U0CARL")
	path := "/v1/invites/" + token
	goodGet := signed("GET", path, nil, testIngestSecret, now)

	for _, c := range []struct {
		name string
		req  signedRequest
	}{
		{"no signature", without("X-Signature")},
		{"no timestamp", without("X-Signature-Timestamp")},
		{"timestamp not a number", notNumber},
		{"garbage signature", garbage},
		{"body changed after signing", tampered},
		{"signed with another secret", signed("POST", "/v1/events", body, "another-secret-0123456789", now)},
		{"replayed 6 minutes later", signed("POST", "/v1/events", body, testIngestSecret, now.Add(-6*time.Minute))},
		{"timestamp 6 minutes ahead", signed("POST", "/v1/events", body, testIngestSecret, now.Add(6*time.Minute))},
		{"invite check unsigned", signedRequest{method: "GET", path: path, header: http.Header{}}},
		{"invite check with another secret", signed("GET", path, nil, "another-secret-0123456789", now)},
		{"invite check replayed 6 minutes later", signed("GET", path, nil, testIngestSecret, now.Add(-6*time.Minute))},
		{"invite check signed for another token", func() signedRequest {
			r := signed("GET", "/v1/invites/other", nil, testIngestSecret, now)
			r.path = path
			return r
		}()},
	} {
		status, out := c.req.send(t, addr)
		if status != http.StatusUnauthorized {
			t.Errorf("%s: status %d %s, want 401", c.name, status, out)
		}
		for _, leak := range []string{"carl@example.com", "secret-title", "U0ADMIN", testIngestSecret, "v0="} {
			if strings.Contains(out, leak) {
				t.Errorf("%s: the 401 tells %q: %s", c.name, leak, out)
			}
		}
	}
	h.waitDelivered(ctx)
	if _, ok, _ := h.main.Store().Event("sec-1"); ok {
		t.Fatal("a refused request stored its event")
	}
	if got := texts(fs, "C0OPS"); len(got) != 0 {
		t.Fatalf("refused requests were posted: %v", got)
	}

	// The real ones work, and the same request again within the window is a
	// duplicate: stored once, posted once.
	if status, out := good.send(t, addr); status != http.StatusAccepted || !strings.Contains(out, `"accepted":1`) {
		t.Fatalf("signed request: %d %s", status, out)
	}
	if status, out := good.send(t, addr); status != http.StatusAccepted || !strings.Contains(out, `"duplicates":1`) {
		t.Fatalf("replay within the window: %d %s", status, out)
	}
	h.waitDelivered(ctx)
	if got := texts(fs, "C0OPS"); len(got) != 1 {
		t.Errorf("C0OPS got %d posts, want 1", len(got))
	}
	if status, out := goodGet.send(t, addr); status != http.StatusOK || !strings.Contains(out, "carl@example.com") {
		t.Errorf("signed invite check: %d %s", status, out)
	}
}

// TestIngestSecretRotationLosesNothing rotates the ingest secret the way
// SECURITY.md says: the new secret with the old one as previous, then the
// new one alone. During the rotation requests signed with either are good
// and invitation links sent before still work; after it, only the new one.
func TestIngestSecretRotationLosesNothing(t *testing.T) {
	const oldSecret, newSecret = testIngestSecret, "rotated-ingest-secret-9876543210"
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"run.failed": {"C0OPS"}})
	if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "<@U0CARL|carl>")); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	_, oldToken := inviteDM(t, fs, "U0CARL")

	post := func(id, secret string) int {
		t.Helper()
		body, _ := json.Marshal(event(id, "run.failed", nil))
		status, _ := signed("POST", "/v1/events", body, secret, time.Now()).send(t, h.main.Addr())
		return status
	}
	check := func(token, secret string) int {
		t.Helper()
		status, _ := signed("GET", "/v1/invites/"+token, nil, secret, time.Now()).send(t, h.main.Addr())
		return status
	}

	// During the rotation.
	h.configure = func(c *app.Config) { c.IngestSecret, c.IngestSecretPrevious = newSecret, oldSecret }
	h.restart()
	if a, b := post("during-old", oldSecret), post("during-new", newSecret); a != http.StatusAccepted || b != http.StatusAccepted {
		t.Errorf("during the rotation: old secret %d, new secret %d; want 202 for both", a, b)
	}
	if a, b := check(oldToken, oldSecret), check(oldToken, newSecret); a != http.StatusOK || b != http.StatusOK {
		t.Errorf("a link sent before the rotation, checked during it: %d (old), %d (new); want 200", a, b)
	}
	if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "<@U0DANA|dana>")); err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ctx)
	_, newToken := inviteDM(t, fs, "U0DANA")

	// After it: the new secret alone.
	h.configure = func(c *app.Config) { c.IngestSecret = newSecret }
	h.restart()
	if a, b := post("after-old", oldSecret), post("after-new", newSecret); a != http.StatusUnauthorized || b != http.StatusAccepted {
		t.Errorf("after the rotation: old secret %d, new secret %d; want 401 and 202", a, b)
	}
	if got := check(oldToken, newSecret); got != http.StatusNotFound {
		t.Errorf("a link of the old secret after the rotation: %d, want 404", got)
	}
	if got := check(newToken, newSecret); got != http.StatusOK {
		t.Errorf("a link sent during the rotation, after it: %d, want 200", got)
	}
	h.waitDelivered(ctx)
	if got := texts(fs, "C0OPS"); len(got) != 3 {
		t.Errorf("C0OPS got %d posts, want the 3 accepted events", len(got))
	}
}

// TestDemotedAdminIsRefusedOnEveryRequest draws an admin's Home tab and
// forms, takes their admin role away in Slack, and then uses those views:
// every request that changes something checks the role again with Slack, so
// nothing changes, even within the role cache's lifetime.
func TestDemotedAdminIsRefusedOnEveryRequest(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(t, fs)
	ctx := ctxT(t)
	h.setRoutes(map[paligo.Kind][]string{"data.alert": {"C0NONE"}})
	h.post(event("d1", "data.alert", nil))
	h.waitDelivered(ctx)
	if failed, _ := h.main.Store().Failed(); len(failed) != 1 {
		t.Fatalf("want 1 failed delivery, have %d", len(failed))
	}

	// Drawn while Ada is an admin: the Home tab with Retry, both forms.
	home := h.openHome(ctx, "U0ADMIN")
	open := func(cmd string) fakeslack.View {
		mark := fs.Mark()
		if _, err := fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", cmd, "")); err != nil {
			t.Fatal(err)
		}
		if c, err := fs.WaitForCall(ctx, mark, "views.open", nil); err != nil || !c.OK() {
			t.Fatalf("%s: views.open %+v %v", cmd, c, err)
		}
		return latestModal(t, fs)
	}
	routeModal, inviteModal := open("/route-alerts"), open("/paligo-invite")

	// Slack takes the role away.
	ada := testUsers[2]
	ada.IsAdmin = false
	fs.AddUser(ada)

	// Each request asks Slack about Ada again: the role is checked on
	// every request, not taken from a cache filled before the change.
	askedSlack := func(what string, mark fakeslack.Mark) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := fs.WaitForCall(ctx, mark, "users.info", func(c fakeslack.Call) bool { return c.Arg("user") == "U0ADMIN" }); err != nil {
			t.Errorf("%s: the admin role was not checked with Slack", what)
		}
	}
	for _, action := range []string{views.ActionRetryAll, views.ActionRetry} {
		env, err := fs.BlockAction("U0ADMIN", home, action, nil)
		if err != nil {
			t.Fatalf("the admin Home tab drawn before had no %s: %v", action, err)
		}
		mark := fs.Mark()
		if _, err := fs.Send(ctx, env); err != nil {
			t.Fatal(err)
		}
		h.waitHome(ctx, mark, "U0ADMIN")
		askedSlack(action, mark)
	}
	h.waitDelivered(ctx)
	if failed, _ := h.main.Store().Failed(); len(failed) != 1 {
		t.Errorf("a demoted admin's Retry changed the failed list: %d", len(failed))
	}
	// A retry would post to C0NONE again (and fail again).
	if n := len(fs.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d chat.postMessage calls; want only the first, failed, post (no retry, no invitation)", n)
	}

	mark := fs.Mark()
	ack, err := fs.Send(ctx, fs.ViewSubmission("U0ADMIN", routeModal, map[string]any{
		views.RouteBlockID("run.failed"): map[string]any{views.ActionChannels: map[string]any{"type": "multi_conversations_select", "selected_conversations": []string{"C0OPS"}}},
	}))
	if err != nil || !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), "Only Slack workspace admins") {
		t.Errorf("route form after demotion acked %s %v", ack.Payload, err)
	}
	askedSlack("route form", mark)
	if r, _ := h.main.Store().Routes(""); fmt.Sprint(r) != "map[data.alert:[C0NONE]]" {
		t.Errorf("routes changed: %v", r)
	}

	mark = fs.Mark()
	ack, err = fs.Send(ctx, fs.ViewSubmission("U0ADMIN", inviteModal, map[string]any{
		views.BlockInviteUsers: map[string]any{views.ActionInviteUsers: map[string]any{"type": "multi_users_select", "selected_users": []string{"U0CARL"}}},
	}))
	if err != nil || !strings.Contains(string(ack.Payload), "Only Slack workspace admins") {
		t.Errorf("invite form after demotion acked %s %v", ack.Payload, err)
	}
	askedSlack("invite form", mark)
	mark = fs.Mark()
	ack, _ = fs.Send(ctx, fs.SlashCommand("U0ADMIN", "C0OPS", "/paligo-invite", "<@U0DANA|dana>"))
	if !strings.Contains(ackText(t, ack), "Only Slack workspace admins") {
		t.Errorf("/paligo-invite @dana after demotion acked %s", ack.Payload)
	}
	askedSlack("/paligo-invite @dana", mark)
	if inv, _ := h.main.Store().RecentInvites(fs.TeamID(), 10); len(inv) != 0 {
		t.Errorf("a demoted admin invited people: %+v", inv)
	}

	// And the re-drawn Home tab no longer offers admin controls.
	if home, _ := fs.HomeView("U0ADMIN"); strings.Contains(viewJSON(home), views.ActionRetryAll) {
		t.Error("the demoted admin's Home tab still offers Retry all")
	}
}

// TestListenerResistsSlowAndEndlessClients holds connections open the ways
// a hostile or broken client would: headers trickled a byte at a time, a
// body trickled, a body that never ends. The listener drops each of them
// (bounded by its timeouts and the 1 MiB limit) and stores nothing.
func TestListenerResistsSlowAndEndlessClients(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := start(t, fs)
	h.http = app.HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: time.Second}
	h.restart()
	addr := h.main.Addr()
	body, _ := json.Marshal(event("slow-1", "run.failed", nil))
	sig := signed("POST", "/v1/events", body, testIngestSecret, time.Now())

	// trickle writes head, then one byte of rest every 20 ms, and reports
	// whether the server closed the connection before rest was all sent
	// (rest lasts 100 times the timeout under test).
	trickle := func(head, rest string) (closedEarly bool, answer string) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		closed := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn)
			closed <- string(b)
		}()
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(rest); i++ {
			select {
			case answer = <-closed:
				return true, answer
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{rest[i]}); err != nil {
				return true, <-closed
			}
		}
		return false, ""
	}
	headers := "POST /v1/events HTTP/1.1\r\nHost: paligo\r\nContent-Type: application/json\r\n" +
		"X-Signature-Timestamp: " + sig.header.Get("X-Signature-Timestamp") + "\r\nX-Signature: " + sig.header.Get("X-Signature") + "\r\n"
	if early, _ := trickle("POST /v1/events HTTP/1.1\r\n", strings.Repeat("X", 1500)); !early {
		t.Error("a client trickling its headers kept the connection for 30 s")
	}
	if early, _ := trickle(headers+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)+3000), string(body)+strings.Repeat(" ", 3000)); !early {
		t.Error("a client trickling its body kept the connection for 60 s")
	}

	// A body that never ends: with a good signature header it is cut at
	// 1 MiB (413); without one it is refused before the body is read (401).
	endless := func(head string) (int, int64) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var sent atomic.Int64
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			io.WriteString(conn, head+"Transfer-Encoding: chunked\r\n\r\n")
			chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 32<<10, bytes.Repeat([]byte{'['}, 32<<10)))
			for sent.Load() < 256<<20 {
				select {
				case <-stop:
					return
				default:
				}
				n, err := conn.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to an endless body (%d bytes sent): %v", sent.Load(), err)
		}
		resp.Body.Close()
		return resp.StatusCode, sent.Load()
	}
	if status, sent := endless(headers); status != http.StatusRequestEntityTooLarge || sent >= 256<<20 {
		t.Errorf("endless signed body: %d after %d bytes, want 413 well before 256 MiB", status, sent)
	}
	if status, _ := endless("POST /v1/events HTTP/1.1\r\nHost: paligo\r\nContent-Type: application/json\r\n"); status != http.StatusUnauthorized {
		t.Errorf("endless unsigned body: %d, want 401", status)
	}

	// None of it was stored, and the listener still serves.
	if _, ok, _ := h.main.Store().Event("slow-1"); ok {
		t.Error("a dropped request stored its event")
	}
	if status, out := postEvents(t, addr, event("slow-2", "run.failed", nil)); status != http.StatusAccepted {
		t.Errorf("after the slow clients: %d %v", status, out)
	}
}

// TestStoreFileIsPrivate checks the bbolt file the running program made:
// only its owner can read it (it holds emails and Slack ids).
func TestStoreFileIsPrivate(t *testing.T) {
	fs := newFake(t, fakeslack.Options{})
	h := startOn(t, fs, filepath.Join(t.TempDir(), "private.db"), time.Time{}) // a file on either suite's engine
	fi, err := os.Stat(h.db)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("store file mode %v, want 0600", perm)
	}
}
