package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
)

// startOverHTTP starts the program with the signing secret and the fake
// sending Slack's requests over HTTP; socket false leaves the app token
// out, so there is no Socket Mode at all.
func startOverHTTP(t testing.TB, fs *fakeslack.Server, socket bool) *harness {
	t.Helper()
	h := &harness{t: t, slack: fs, db: t.TempDir() + "/paligo-slack.db", logs: &syncBuffer{}, clock: &testClock{},
		configure: func(c *app.Config) {
			c.SigningSecret = app.Secret(fs.SigningSecret())
			if !socket {
				c.AppToken = ""
			}
		}}
	h.restart()
	fs.SetRequestURL("http://" + h.main.Addr())
	return h
}

// TestSlackOverHTTP: Slack's HTTP requests reach the same handlers as
// Socket Mode envelopes, each checked against the signing secret first;
// with no app token there is no socket at all.
func TestSlackOverHTTP(t *testing.T) {
	fs := newFake(t, fakeOpts())
	h := startOverHTTP(t, fs, false)
	ctx := ctxT(t)
	if total, _ := fs.Connections(); total != 0 {
		t.Fatalf("%d Socket Mode connections without an app token", total)
	}
	base := "http://" + h.main.Addr()
	do := func(r *http.Request) (int, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Slack checks the Request URL with a challenge.
	body := []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	if status, out := do(fs.SignedRequest(base+"/slack/events", "application/json", body, time.Now())); status != 200 || out != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification = %d %q", status, out)
	}
	// Bad signatures, stale timestamps and unsigned requests get 401 and
	// nothing else.
	cmd := []byte("command=%2Froute-alerts&text=help&user_id=U0ALICE&channel_id=C1&team_id=T0FAKE&trigger_id=1.2.3")
	forged := fs.SignedRequest(base+"/slack/commands", "application/x-www-form-urlencoded", cmd, time.Now())
	forged.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
	stale := fs.SignedRequest(base+"/slack/commands", "application/x-www-form-urlencoded", cmd, time.Now().Add(-6*time.Minute))
	unsigned, _ := http.NewRequest("POST", base+"/slack/commands", strings.NewReader(string(cmd)))
	tampered := fs.SignedRequest(base+"/slack/commands", "application/x-www-form-urlencoded", cmd, time.Now())
	tampered.Body = io.NopCloser(strings.NewReader(strings.Replace(string(cmd), "help", "list", 1)))
	for name, r := range map[string]*http.Request{"forged": forged, "stale": stale, "unsigned": unsigned, "tampered": tampered} {
		if status, out := do(r); status != 401 || strings.Contains(out, "Route") {
			t.Errorf("%s request = %d %q, want 401", name, status, out)
		}
	}
	// A signed slash command is answered in the HTTP response.
	status, out := do(fs.SignedRequest(base+"/slack/commands", "application/x-www-form-urlencoded", cmd, time.Now()))
	if status != 200 || !strings.Contains(out, "ephemeral") || !strings.Contains(out, "subscribe") {
		t.Errorf("a signed /route-alerts help = %d %q", status, out)
	}
	// The same signed request again within the five minutes (a replay:
	// Slack never sends an interaction or a command twice) is acked and
	// not acted on.
	if status, out := do(fs.SignedRequest(base+"/slack/commands", "application/x-www-form-urlencoded", cmd, time.Now())); status != 200 || out != "" {
		t.Errorf("the command replayed = %d %q, want 200 and nothing", status, out)
	}
	// Slack's check of the Request URL's certificate: 200, nothing done.
	sslCheck := []byte("ssl_check=1&token=legacy-fixed-value")
	if status, out := do(fs.SignedRequest(base+"/slack/commands", "application/x-www-form-urlencoded", sslCheck, time.Now())); status != 200 || out != "" {
		t.Errorf("ssl_check = %d %q, want 200 and nothing", status, out)
	}
	// Events, clicks and their work after the ack: the Home tab is drawn,
	// and a click on it saved and drawn again.
	home := h.openHome(ctx, "U0ALICE")
	if !strings.Contains(viewJSON(home), "home_frequency") {
		t.Fatalf("the Home tab over HTTP: %s", viewJSON(home))
	}
	h.click(ctx, "U0ALICE", "home_frequency", map[string]any{"selected_option": option("instant")})
	if p, _ := h.main.Store().Prefs("T0FAKE", "U0ALICE"); p.Frequency != "instant" {
		t.Errorf("a click over HTTP was not saved: %+v", p)
	}
	// Slack's retry of an event (X-Slack-Retry-Num) is handled once.
	mark := fs.Mark()
	env := fs.AppHomeOpened("U0BOB")
	if a, err := fs.Send(ctx, env); err != nil || a.Status != 200 {
		t.Fatalf("app_home_opened: %+v %v", a, err)
	}
	env.RetryAttempt, env.RetryReason = 1, "timeout"
	if a, err := fs.Send(ctx, env); err != nil || a.Status != 200 {
		t.Fatalf("the retry: %+v %v", a, err)
	}
	h.waitHome(ctx, mark, "U0BOB")
	time.Sleep(100 * time.Millisecond)
	if n := len(fs.CallsSince(mark)) - countCalls(fs.CallsSince(mark), "views.publish"); countCalls(fs.CallsSince(mark), "views.publish") != 1 {
		t.Errorf("an event and its retry published %d Home tabs (and %d other calls)", countCalls(fs.CallsSince(mark), "views.publish"), n)
	}
	// /healthz is healthy with no socket.
	if code, body := h.get("/healthz"); code != 200 {
		t.Errorf("/healthz over HTTP only = %d %s", code, body)
	}
}

func countCalls(calls []fakeslack.Call, method string) int {
	n := 0
	for _, c := range calls {
		if c.Method == method {
			n++
		}
	}
	return n
}
