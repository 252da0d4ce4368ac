package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/signing"
)

const testTokenKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// startConnect starts the program with the Connect flow against fs, on a
// port chosen first (the OAuth redirect URI names it).
func startConnect(t *testing.T, fs *fakeslack.Server) (*harness, string) {
	t.Helper()
	return startConnectOn(t, fs, testDB(t))
}

// startConnectOn is startConnect on the database db.
func startConnectOn(t *testing.T, fs *fakeslack.Server, db string) (*harness, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := startOn(t, fs, db, time.Time{})
	h.configure = func(c *app.Config) {
		c.Listen, c.PublicURL = addr, "http://"+addr
		c.ClientID, c.ClientSecret, c.OAuthURL = fs.ClientID(), app.Secret(fs.ClientSecret()), fs.OAuthURL()
		c.TokenKey = testTokenKey
	}
	h.restart()
	return h, "http://" + addr
}

// connectLink is the platform's signed Connect link, made at.
func connectLink(base, org, email, ret string, at time.Time) string {
	q := url.Values{"org": {org}, "email": {email}, "return": {ret}, "ts": {fmt.Sprint(at.Unix())}}.Encode()
	return base + "/slack/install?" + q + "&sig=" + url.QueryEscape(signing.Sign([]byte(testIngestSecret), at.Unix(), []byte(q)))
}

// noFollow follows no redirect: each step of the flow is looked at.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func visit(t *testing.T, u string) (int, string, *url.URL) {
	t.Helper()
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return resp.StatusCode, string(b), loc
}

// connectThrough goes from the Connect link to Slack's answer: the
// callback URL Slack sends the browser to.
func connectThrough(t *testing.T, link string) *url.URL {
	t.Helper()
	status, body, toSlack := visit(t, link)
	if status != http.StatusFound {
		t.Fatalf("the Connect link = %d %s", status, body)
	}
	status, body, callback := visit(t, toSlack.String())
	if status != http.StatusFound {
		t.Fatalf("Slack's authorize page = %d %s", status, body)
	}
	return callback
}

func TestConnectAWorkspace(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h, base := startConnect(t, fs)
	now := time.Now()
	ret := "https://platform.example/settings/slack?tab=integrations"

	// The link leads to Slack's authorize page, asking for the manifest's
	// scopes, with a state.
	status, body, toSlack := visit(t, connectLink(base, "acme", "ada@example.com", ret, now))
	if status != http.StatusFound || !strings.HasPrefix(toSlack.String(), fs.OAuthURL()) {
		t.Fatalf("the Connect link = %d %s → %s", status, body, toSlack)
	}
	q := toSlack.Query()
	if q.Get("client_id") != fs.ClientID() || q.Get("scope") != strings.Join(bot.Scopes, ",") || q.Get("redirect_uri") != base+"/slack/oauth/callback" || q.Get("state") == "" {
		t.Errorf("authorize query = %v", q)
	}
	_, _, callback := visit(t, toSlack.String())
	status, body, done := visit(t, callback.String())
	if status != http.StatusFound || done.Host != "platform.example" || done.Query().Get("status") != "connected" || done.Query().Get("team") != "T0FAKE" || done.Query().Get("tab") != "integrations" {
		t.Fatalf("the callback = %d %s → %s", status, body, done)
	}
	in, found, _ := h.main.Store().InstallationOfOrg("acme")
	if !found || in.Team != "T0FAKE" || in.Installer != "U0ADMIN" || in.InstallerEmail != "ada@example.com" || in.BotUser == "" || in.TeamName == "" {
		t.Fatalf("installation: %+v %v", in, found)
	}
	tokens := fs.IssuedTokens()
	if len(tokens) != 1 || strings.Contains(in.BotTokenSealed, tokens[0]) || strings.Contains(in.BotTokenSealed, "xoxb") || in.BotTokenSealed == "" {
		t.Errorf("the bot token is not sealed: %q", in.BotTokenSealed)
	}
	if strings.Contains(h.logs.String(), tokens[0]) {
		t.Error("the bot token reached the log")
	}

	// Events name their workspace by team or by the Connect link's org.
	for _, c := range []struct {
		extra  map[string]any
		status int
		field  string
	}{
		{map[string]any{"org": "acme"}, 202, ""},
		{map[string]any{"team": "T0FAKE", "org": "acme"}, 202, ""},
		{map[string]any{"team": "T0FAKE"}, 202, ""},
		{map[string]any{"org": "nobody"}, 400, "org"},
		{map[string]any{"team": "T0OTHER"}, 400, "team"},
		{map[string]any{"team": "T0OTHER", "org": "acme"}, 400, "team"},
		{map[string]any{"team": "not-a-team"}, 400, "team"},
	} {
		status, out := postEvents(t, h.main.Addr(), event(fmt.Sprintf("ws-%v", c.extra), "run.failed", c.extra))
		errs, _ := out["errors"].([]any)
		if status != c.status || (c.field != "" && (len(errs) != 1 || errs[0].(map[string]any)["field"] != c.field)) {
			t.Errorf("an event naming %v = %d %v, want %d naming %q", c.extra, status, out, c.status, c.field)
		}
	}
	if e, _, _ := h.main.Store().Event("ws-map[org:acme]"); e.Team != "T0FAKE" || e.Org != "acme" {
		t.Errorf("an event naming its org is stored as %+v", e)
	}

	// The same answer twice: refused.
	if status, body, _ := visit(t, callback.String()); status != http.StatusForbidden || !strings.Contains(body, "used already") {
		t.Errorf("a replayed callback = %d %s", status, body)
	}
	// A forged state, a forged link, an expired link.
	forged := *callback
	fq := forged.Query()
	fq.Set("state", strings.Repeat("A", len(fq.Get("state"))))
	forged.RawQuery = fq.Encode()
	if status, body, _ := visit(t, forged.String()); status != http.StatusForbidden || !strings.Contains(body, "not valid") {
		t.Errorf("a forged state = %d %s", status, body)
	}
	bad := strings.Replace(connectLink(base, "acme", "ada@example.com", ret, now), "org=acme", "org=evil", 1)
	if status, body, _ := visit(t, bad); status != http.StatusForbidden || !strings.Contains(body, "signature does not match") {
		t.Errorf("a forged link = %d %s", status, body)
	}
	if status, body, _ := visit(t, connectLink(base, "acme", "ada@example.com", ret, now.Add(-11*time.Minute))); status != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("an expired link = %d %s", status, body)
	}
	if status, body, _ := visit(t, connectLink(base, "acme", "ada@example.com", "javascript:alert(1)", now)); status != http.StatusBadRequest || strings.Contains(body, "javascript") {
		t.Errorf("a link returning to javascript: = %d %s", status, body)
	}

	// Someone else's Slack account installs: revoked, explained, nothing
	// changed.
	fs.SetInstaller("U0ALICE")
	callback = connectThrough(t, connectLink(base, "acme", "ada@example.com", ret, now))
	status, body, _ = visit(t, callback.String())
	if status != http.StatusForbidden || !strings.Contains(body, "alice@example.com") || !strings.Contains(body, "ada@example.com") || !strings.Contains(body, "reason=email_mismatch") {
		t.Errorf("an installer of another email = %d %s", status, body)
	}
	for _, tok := range fs.IssuedTokens() {
		if tok != tokens[0] && !fs.Revoked(tok) {
			t.Error("the mismatched install's token was not revoked")
		}
	}
	if again, _, _ := h.main.Store().Installation("T0FAKE"); again.Installer != "U0ADMIN" || again.BotTokenSealed != in.BotTokenSealed {
		t.Errorf("a refused install changed the installation: %+v", again)
	}

	// Cancel on Slack's page: back to the platform with the reason.
	fs.SetInstaller("U0ADMIN")
	fs.DenyInstall()
	callback = connectThrough(t, connectLink(base, "acme", "ada@example.com", ret, now))
	if status, body, _ := visit(t, callback.String()); status != http.StatusOK || !strings.Contains(body, "reason=access_denied") {
		t.Errorf("a cancelled install = %d %s", status, body)
	}

	// Installing again updates the installation.
	h.clock.Set(now.Add(time.Minute))
	callback = connectThrough(t, connectLink(base, "acme", "ada@example.com", ret, h.clock.Now()))
	if status, _, done := visit(t, callback.String()); status != http.StatusFound || done.Query().Get("status") != "connected" {
		t.Fatalf("reinstall = %d %s", status, done)
	}
	re, _, _ := h.main.Store().Installation("T0FAKE")
	if !re.InstalledAt.Equal(in.InstalledAt) || !re.UpdatedAt.After(in.UpdatedAt) || re.BotTokenSealed == in.BotTokenSealed {
		t.Errorf("reinstall: %+v (first %+v)", re, in)
	}

	// The token the installation holds: the latest issued so far.
	latest := ""
	for _, tok := range fs.IssuedTokens() {
		if !fs.Revoked(tok) && tok != tokens[0] {
			latest = tok
		}
	}
	// Another org's Connect link, completed by a member of the workspace
	// (the email it names is theirs): refused, the workspace stays with
	// the first org, whose events still go through.
	callback = connectThrough(t, connectLink(base, "evilorg", "ada@example.com", ret, h.clock.Now()))
	if status, body, _ := visit(t, callback.String()); status != http.StatusForbidden || !strings.Contains(body, "already connected to another") || !strings.Contains(body, "reason=connected_elsewhere") {
		t.Errorf("another org's Connect of a connected workspace = %d %s", status, body)
	}
	if kept, _, _ := h.main.Store().Installation("T0FAKE"); kept.Org != "acme" || kept.Disconnected != "" || kept.BotTokenSealed != re.BotTokenSealed {
		t.Errorf("another org's Connect changed the installation: %+v", kept)
	}
	if status, out := postEvents(t, h.main.Addr(), event("ws-still-acme", "run.failed", map[string]any{"org": "acme"})); status != 202 {
		t.Errorf("the first org's event after another org's Connect = %d %v", status, out)
	}
	if status, out := postEvents(t, h.main.Addr(), event("ws-evil", "run.failed", map[string]any{"org": "evilorg"})); status != 400 {
		t.Errorf("the other org's event = %d %v, want 400", status, out)
	}

	// The platform lists its connections, never a token, and disconnects.
	status, body = signed("GET", "/v1/connections", nil, testIngestSecret, h.clock.Now()).send(t, h.main.Addr())
	var list struct{ Items []map[string]any }
	if json.Unmarshal([]byte(body), &list); status != 200 || len(list.Items) != 1 || list.Items[0]["team"] != "T0FAKE" || list.Items[0]["org"] != "acme" || list.Items[0]["connected"] != true || strings.Contains(body, "sealed") || strings.Contains(body, "xox") {
		t.Errorf("GET /v1/connections = %d %s", status, body)
	}
	if status, _ := signed("GET", "/v1/connections", nil, "wrong-secret-0123456789", h.clock.Now()).send(t, h.main.Addr()); status != 401 {
		t.Errorf("unsigned GET /v1/connections = %d", status)
	}
	status, body = signed("DELETE", "/v1/connections/T0FAKE", nil, testIngestSecret, h.clock.Now()).send(t, h.main.Addr())
	if status != 200 || !fs.Revoked(latest) {
		t.Errorf("DELETE /v1/connections/T0FAKE = %d %s (token revoked: %v)", status, body, fs.Revoked(latest))
	}
	if gone, _, _ := h.main.Store().Installation("T0FAKE"); gone.Disconnected == "" || gone.BotTokenSealed != "" {
		t.Errorf("after the disconnection: %+v", gone)
	}
	if status, _ := signed("DELETE", "/v1/connections/T0NONE", nil, testIngestSecret, h.clock.Now()).send(t, h.main.Addr()); status != 404 {
		t.Errorf("DELETE of an unknown team = %d", status)
	}
	if status, out := postEvents(t, h.main.Addr(), event("ws-after", "run.failed", map[string]any{"org": "acme"})); status != 400 || !strings.Contains(fmt.Sprint(out), "disconnected") {
		t.Errorf("an event for a disconnected org = %d %v", status, out)
	}
}

// TestAnUninstalledWorkspaceIsDisconnected: app_uninstalled and
// tokens_revoked mark a connected workspace disconnected, and the platform
// is told.
func TestAnUninstalledWorkspaceIsDisconnected(t *testing.T) {
	for _, event := range []map[string]any{
		{"type": "app_uninstalled"},
		{"type": "tokens_revoked", "tokens": map[string]any{"bot": []string{"U0BOT"}}},
	} {
		t.Run(event["type"].(string), func(t *testing.T) {
			fs := newFake(t, fakeslack.Options{Channels: testChannels})
			platform := newCallbackServer(t, 200)
			h, base := startConnect(t, fs)
			configure := h.configure
			h.configure = func(c *app.Config) { configure(c); c.ActionsURL = platform.URL }
			h.restart()
			ctx := ctxT(t)
			callback := connectThrough(t, connectLink(base, "acme", "ada@example.com", "https://platform.example/s", time.Now()))
			if status, _, _ := visit(t, callback.String()); status != http.StatusFound {
				t.Fatal("not connected")
			}
			// A user token revoked changes nothing.
			if event["type"] == "tokens_revoked" {
				fs.Send(ctx, fs.EventsAPI(map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"oauth": []string{"U0ADMIN"}}}))
				h.waitDelivered(ctx)
				if in, _, _ := h.main.Store().Installation("T0FAKE"); in.Disconnected != "" {
					t.Fatalf("a user token's revocation disconnected the workspace: %+v", in)
				}
			}
			if _, err := fs.Send(ctx, fs.EventsAPI(event)); err != nil {
				t.Fatal(err)
			}
			if err := poll(ctx, 10*time.Millisecond, func() bool { return len(platform.got()) == 1 }); err != nil {
				t.Fatal("the platform was not told")
			}
			h.waitDelivered(ctx)
			if cb := platform.got()[0]; cb.Type != "disconnected" || cb.Team != "T0FAKE" || cb.Org != "acme" || cb.ID == "" || cb.By != nil {
				t.Errorf("callback = %+v", cb)
			}
			in, _, _ := h.main.Store().Installation("T0FAKE")
			if in.Disconnected != event["type"] || in.BotTokenSealed != "" {
				t.Errorf("after %s: %+v", event["type"], in)
			}
			// Told once.
			fs.Send(ctx, fs.EventsAPI(event))
			h.waitDelivered(ctx)
			if n := len(platform.got()); n != 1 {
				t.Errorf("%d callbacks after the event came twice", n)
			}
		})
	}
}

// TestRotatingTokensAreRefreshedBeforeTheyExpire: with token rotation, a
// workspace's token is refreshed in the quarter hour before it expires,
// once, and the refresh token is used once.
func TestRotatingTokensAreRefreshedBeforeTheyExpire(t *testing.T) {
	t0 := time.Now()
	fs := newFake(t, fakeslack.Options{Channels: testChannels, TokenRotation: true, TokenLifetime: time.Hour})
	h, base := startConnect(t, fs)
	h.clock.Set(t0)
	ctx := ctxT(t)
	callback := connectThrough(t, connectLink(base, "acme", "ada@example.com", "https://platform.example/s", t0))
	if status, _, _ := visit(t, callback.String()); status != http.StatusFound {
		t.Fatal("not connected")
	}
	first, _, _ := h.main.Store().Installation("T0FAKE")
	if first.RefreshTokenSealed == "" || first.TokenExpires.Sub(t0) < 59*time.Minute {
		t.Fatalf("a rotating token stored as %+v", first)
	}
	if n, err := h.main.RefreshTokens(ctx); n != 0 || err != nil {
		t.Errorf("refreshed %d (%v) an hour before expiry", n, err)
	}
	h.clock.Set(t0.Add(50 * time.Minute))
	if n, err := h.main.RefreshTokens(ctx); n != 1 || err != nil {
		t.Fatalf("refreshed %d (%v) ten minutes before expiry", n, err)
	}
	second, _, _ := h.main.Store().Installation("T0FAKE")
	if second.BotTokenSealed == first.BotTokenSealed || second.RefreshTokenSealed == first.RefreshTokenSealed || !second.TokenExpires.After(first.TokenExpires) {
		t.Errorf("after the refresh: %+v", second)
	}
	if n, _ := h.main.RefreshTokens(ctx); n != 0 {
		t.Errorf("refreshed %d again at once", n)
	}
	if got := len(fs.IssuedTokens()); got != 2 {
		t.Errorf("%d tokens issued, want the install's and the refresh's", got)
	}
	for _, c := range fs.Calls("oauth.v2.access") {
		if !c.OK() {
			t.Errorf("oauth.v2.access answered %s", c.Error)
		}
	}
}
