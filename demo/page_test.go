package demo

import (
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
	page := New(Options{Slack: fs, Clock: &Clock{}})
	srv := httptest.NewServer(page)
	defer srv.Close()
	mark := fs.Mark()
	for _, c := range []struct {
		name, ctype, origin string
		want                int
	}{
		{"a form post", "application/x-www-form-urlencoded", "", http.StatusUnsupportedMediaType},
		{"text/plain (no preflight)", "text/plain", "https://evil.example", http.StatusUnsupportedMediaType},
		{"JSON from another origin", "application/json", "https://evil.example", http.StatusForbidden},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/command", strings.NewReader(`{"as":"U0ADA","channel":"C0GENERAL","text":"/route-alerts"}`))
		req.Header.Set("Content-Type", c.ctype)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
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
}
