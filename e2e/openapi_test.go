package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/signing"
)

// TestAnswersMatchTheOpenAPIDocument runs the whole program with every
// feature on (Slack over HTTP, Connect, every sender), sends each
// operation of the document it serves at least once (the happy answer and
// refusals), and validates each real answer, and each well-formed
// request, against that document with libopenapi-validator. An answer
// whose status, content type or body the document does not describe fails
// it, and so does an operation no request reached.
func TestAnswersMatchTheOpenAPIDocument(t *testing.T) {
	fs := newFake(t, fakeslack.Options{Channels: testChannels})
	h, base := startConnect(t, fs)
	connect := h.configure
	h.configure = func(c *app.Config) {
		connect(c)
		withSources(c)
		c.SigningSecret = app.Secret(fs.SigningSecret())
	}
	h.restart()
	addr := h.main.Addr()

	status, doc := h.get("/v1/openapi.json")
	if status != 200 {
		t.Fatalf("GET /v1/openapi.json = %d", status)
	}
	d, err := libopenapi.NewDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		t.Fatalf("the served document is not valid OpenAPI 3.1: %v", errs[0].Message)
	}

	now := time.Now()
	ingest := func(method, path string, body []byte) *http.Request {
		r := signed(method, path, body, testIngestSecret, now)
		req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
		req.Header = r.header.Clone()
		if method == "GET" || method == "DELETE" {
			req.Header.Del("Content-Type")
		}
		return req
	}
	slackReq := func(path, contentType string, body []byte) *http.Request {
		req, _ := http.NewRequest("POST", "http://"+addr+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		ts := time.Now().Unix()
		req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(ts))
		req.Header.Set("X-Slack-Signature", signing.Sign([]byte(fs.SigningSecret()), ts, body))
		return req
	}
	plain := func(method, path string, body []byte, hdr http.Header) *http.Request {
		req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		return req
	}
	am := sourceSample(t, "alertmanager/firing.json")
	amPath, amHdr := sourceRequest("alertmanager", am)
	paradime := sourceSample(t, "paradime/bolt.run.completed.PARTIAL.json")
	paradimePath, paradimeHdr := sourceRequest("paradime", paradime)
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	ev := []byte(`{"id":"oa-1","type":"run.failed","subject":{"kind":"schedule","id":"nightly","title":"Nightly"},"recipients":["alice@example.com"]}`)
	form := func(v url.Values) []byte { return []byte(v.Encode()) }

	cases := []struct {
		name string
		req  func() *http.Request
		want int
		// valid: the request itself is well formed, so it must validate too.
		valid bool
	}{
		{"ingest", func() *http.Request { return ingest("POST", "/v1/events", ev) }, 202, true},
		{"ingest a batch again", func() *http.Request { return ingest("POST", "/v1/events", []byte("["+string(ev)+"]")) }, 202, true},
		{"ingest an unknown kind", func() *http.Request {
			return ingest("POST", "/v1/events", []byte(`{"id":"oa-2","type":"nope"}`))
		}, 400, false},
		{"ingest unsigned", func() *http.Request { return plain("POST", "/v1/events", ev, jsonHdr) }, 401, false},
		{"ingest as text", func() *http.Request {
			r := ingest("POST", "/v1/events", ev)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, 415, false},
		{"trace", func() *http.Request { return ingest("GET", "/v1/events/oa-1", nil) }, 200, true},
		{"trace an unknown id", func() *http.Request { return ingest("GET", "/v1/events/never", nil) }, 404, true},
		{"trace with a stray parameter", func() *http.Request { return ingest("GET", "/v1/events/oa-1?x=1", nil) }, 400, false},
		{"route test", func() *http.Request { return ingest("POST", "/v1/routes/test", ev) }, 200, true},
		{"route test of an array", func() *http.Request {
			return ingest("POST", "/v1/routes/test", []byte("["+string(ev)+","+string(ev)+"]"))
		}, 400, false},
		{"channels", func() *http.Request { return ingest("GET", "/v1/channels?limit=2", nil) }, 200, true},
		{"channels, limit 0", func() *http.Request { return ingest("GET", "/v1/channels?limit=0", nil) }, 400, false},
		{"people", func() *http.Request { return ingest("GET", "/v1/people", nil) }, 200, true},
		{"invite", func() *http.Request {
			return ingest("POST", "/v1/invites", []byte(`{"inviter":"ada@example.com","people":["bob@example.com"],"note":"Welcome"}`))
		}, 202, true},
		{"invite as a non-admin", func() *http.Request {
			return ingest("POST", "/v1/invites", []byte(`{"inviter":"alice@example.com","people":["bob@example.com"]}`))
		}, 403, true},
		{"invite run", func() *http.Request { return ingest("GET", "/v1/invites?run=1", nil) }, 200, true},
		{"invite run unknown", func() *http.Request { return ingest("GET", "/v1/invites?run=999", nil) }, 404, true},
		{"invitation, a made-up token", func() *http.Request { return ingest("GET", "/v1/invites/made-up", nil) }, 404, true},
		{"connections", func() *http.Request { return ingest("GET", "/v1/connections", nil) }, 200, true},
		{"disconnect an unknown team", func() *http.Request { return ingest("DELETE", "/v1/connections/T0NOPE", nil) }, 404, true},
		{"alertmanager", func() *http.Request { return plain("POST", amPath, am, amHdr) }, 202, true},
		{"alertmanager, wrong password", func() *http.Request {
			r := plain("POST", amPath, am, amHdr)
			r.Header.Set("Authorization", "Basic bm9wZTpub3Bl")
			return r
		}, 401, true},
		{"alertmanager, not its format", func() *http.Request { return plain("POST", amPath, []byte(`{"version":"4"}`), amHdr) }, 400, true},
		{"an unknown sender", func() *http.Request { return plain("POST", "/v1/sources/nagios", am, amHdr) }, 404, false},
		{"paradime on its secret path", func() *http.Request { return plain("POST", paradimePath, paradime, paradimeHdr) }, 202, true},
		{"paradime, a wrong path token", func() *http.Request {
			return plain("POST", "/v1/sources/paradime/wrong-token-0123456789", paradime, paradimeHdr)
		}, 401, true},
		{"slack url_verification", func() *http.Request {
			return slackReq("/slack/events", "application/json", []byte(`{"token":"x","challenge":"c-123","type":"url_verification"}`))
		}, 200, true},
		{"slack events unsigned", func() *http.Request { return plain("POST", "/slack/events", []byte(`{}`), jsonHdr) }, 401, false},
		{"slack command", func() *http.Request {
			return slackReq("/slack/commands", "application/x-www-form-urlencoded", form(url.Values{"command": {"/route-alerts"}, "text": {"help"},
				"user_id": {"U0ALICE"}, "channel_id": {"C0OPS"}, "team_id": {fs.TeamID()}, "trigger_id": {"t-1"}, "response_url": {fs.URL() + "respond"}}))
		}, 200, true},
		{"slack ssl_check", func() *http.Request {
			return slackReq("/slack/commands", "application/x-www-form-urlencoded", form(url.Values{"ssl_check": {"1"}, "token": {"x"}}))
		}, 200, true},
		{"slack interaction, not one", func() *http.Request {
			return slackReq("/slack/interactions", "application/x-www-form-urlencoded", form(url.Values{"payload": {"{"}}))
		}, 400, false},
		{"connect link unsigned", func() *http.Request { return plain("GET", "/slack/install?org=acme&ts=1", nil, nil) }, 400, false},
		{"connect link", func() *http.Request {
			u, _ := url.Parse(connectLink(base, "acme", "ada@example.com", "https://paligo.example/settings", time.Now()))
			return plain("GET", u.RequestURI(), nil, nil)
		}, 302, true},
		{"oauth callback, no state", func() *http.Request { return plain("GET", "/slack/oauth/callback?code=x", nil, nil) }, 403, true},
		{"healthz", func() *http.Request { return plain("GET", "/healthz", nil, nil) }, 200, true},
		{"readyz", func() *http.Request { return plain("GET", "/readyz", nil, nil) }, 200, true},
		{"metrics", func() *http.Request { return plain("GET", "/metrics", nil, nil) }, 200, true},
		{"openapi", func() *http.Request { return plain("GET", "/v1/openapi.json", nil, nil) }, 200, true},
	}
	reached := map[string]bool{}
	for _, c := range cases {
		req := c.req()
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %s %s = %d %.300s, want %d", c.name, req.Method, req.URL.Path, resp.StatusCode, out, c.want)
			continue
		}
		// The validator reads both bodies again.
		req.Body = io.NopCloser(bytes.NewReader(body))
		resp.Body = io.NopCloser(bytes.NewReader(out))
		if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
			for _, e := range errs {
				t.Errorf("%s: the answer %d %.200s is not the document's: %s %s", c.name, resp.StatusCode, out, e.Message, e.Reason)
				for _, f := range e.SchemaValidationErrors {
					t.Errorf("  %s: %s", f.FieldPath, f.Reason)
				}
			}
		}
		if c.valid {
			req.Body = io.NopCloser(bytes.NewReader(body))
			if ok, errs := v.ValidateHttpRequest(req); !ok {
				for _, e := range errs {
					t.Errorf("%s: the request is not the document's: %s %s", c.name, e.Message, e.Reason)
				}
			}
		}
		for _, p := range api.Patterns() {
			method, path, _ := strings.Cut(p, " ")
			if method == req.Method && matches(path, req.URL.Path) {
				reached[p] = true
			}
		}
	}
	for _, p := range api.Patterns() {
		if !reached[p] {
			t.Errorf("no request reached %s", p)
		}
	}
}

// matches says whether path fits the pattern's path, a {name} standing
// for one segment.
func matches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}
