package demo

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paligo/paligo-slack/fakeslack"
)

// The page's API refuses what another site open in the same browser could
// send it, and nothing reaches the workspace.
func TestPageAPIRefusesOtherSites(t *testing.T) {
	fs := fakeslack.New(Workspace())
	defer fs.Close()
	srv := httptest.NewUnstartedServer(nil)
	page := New(Options{Slack: fs, Clock: &Clock{}, Addr: srv.Listener.Addr().String()})
	srv.Config.Handler = page
	srv.Start()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	mark := fs.Mark()
	for _, c := range []struct {
		name, ctype, origin, host string
		want                      int
	}{
		{"a form post", "application/x-www-form-urlencoded", "", "", http.StatusUnsupportedMediaType},
		{"text/plain (no preflight)", "text/plain", "https://evil.example", "", http.StatusUnsupportedMediaType},
		{"JSON from another origin", "application/json", "https://evil.example", "", http.StatusForbidden},
		// DNS rebinding: evil.example resolves to 127.0.0.1, and the
		// request names its host and origin consistently.
		{"another site's name (DNS rebinding)", "application/json", "http://evil.example:" + port, "evil.example:" + port, http.StatusMisdirectedRequest},
		{"our port on another name", "application/json", "", "paligo-demo.evil.example:" + port, http.StatusMisdirectedRequest},
		{"another port", "application/json", "", "127.0.0.1:1", http.StatusMisdirectedRequest},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/command", strings.NewReader(`{"as":"U0ADA","channel":"C0GENERAL","text":"/route-alerts"}`))
		req.Header.Set("Content-Type", c.ctype)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	if n := len(fs.CallsSince(mark)); n != 0 {
		t.Errorf("refused requests made %d Slack calls", n)
	}
	if ids := fs.SentEnvelopes(); len(ids) != 0 {
		t.Errorf("refused requests sent envelopes: %v", ids)
	}
	// Its own names are fine, and every answer forbids framing and foreign
	// scripts.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port} {
		req, _ := http.NewRequest("GET", srv.URL+"/app.css", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET /app.css as %s: %d, CSP %q, X-Frame-Options %q", host, resp.StatusCode, csp, resp.Header.Get("X-Frame-Options"))
		}
	}
}
