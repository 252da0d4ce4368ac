package fakeslack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Slack's HTTP transport: with a Request URL set (SetRequestURL), the
// envelopes Post sends go to the app as Slack sends them to an app that is
// not in Socket Mode: the Events API as a JSON body to /slack/events,
// interactivity as a form with "payload" to /slack/interactions, slash
// commands as a form to /slack/commands, each signed with the signing
// secret (X-Slack-Request-Timestamp, X-Slack-Signature: v0= HMAC-SHA256 of
// "v0:{timestamp}:{body}"), and a retried event with X-Slack-Retry-Num and
// X-Slack-Retry-Reason. The HTTP answer is the ack: its body is the ack's
// payload, and an answer other than 200 is recorded with its status.

// SigningSecret is the secret the fake signs its HTTP requests with.
func (s *Server) SigningSecret() string { return s.opts.SigningSecret }

// SetRequestURL makes Post send envelopes over HTTP to base (the app's
// listener, e.g. "http://127.0.0.1:8080"); "" goes back to Socket Mode.
func (s *Server) SetRequestURL(base string) {
	if s.root != nil {
		s.root.SetRequestURL(base)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestURL = strings.TrimSuffix(base, "/")
}

// HTTPRequest is env as the signed HTTP request Slack would make to the
// app at base (its listener, e.g. "http://127.0.0.1:8080"), signed now:
// for tests that send a request again as it was (a replay).
func (s *Server) HTTPRequest(base string, env Envelope) (*http.Request, error) {
	return s.requestFor(strings.TrimSuffix(base, "/"), env)
}

// requestFor is env as the HTTP request Slack would make to base.
func (s *Server) requestFor(base string, env Envelope) (*http.Request, error) {
	var path, ctype string
	var body []byte
	switch env.Type {
	case "events_api":
		path, ctype = "/slack/events", "application/json"
		b, err := json.Marshal(env.Payload)
		if err != nil {
			return nil, err
		}
		body = b
	case "interactive":
		path, ctype = "/slack/interactions", "application/x-www-form-urlencoded"
		b, err := json.Marshal(env.Payload)
		if err != nil {
			return nil, err
		}
		body = []byte(url.Values{"payload": {string(b)}}.Encode())
	case "slash_commands":
		path, ctype = "/slack/commands", "application/x-www-form-urlencoded"
		form := url.Values{}
		if m, ok := env.Payload.(map[string]any); ok {
			for k, v := range m {
				form.Set(k, fmt.Sprint(v))
			}
		}
		body = []byte(form.Encode())
	default:
		return nil, fmt.Errorf("fakeslack: no HTTP request for envelope type %q", env.Type)
	}
	r := s.SignedRequest(base+path, ctype, body, time.Now())
	if env.Type == "events_api" && env.RetryAttempt > 0 {
		r.Header.Set("X-Slack-Retry-Num", strconv.Itoa(env.RetryAttempt))
		r.Header.Set("X-Slack-Retry-Reason", env.RetryReason)
	}
	return r, nil
}

// SignedRequest is a POST of body to url signed as Slack signs its
// requests, at time at.
func (s *Server) SignedRequest(url, contentType string, body []byte, at time.Time) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(s.opts.SigningSecret))
	io.WriteString(m, "v0:"+ts+":")
	m.Write(body)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	r.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return r
}

// postHTTP sends req, envelope id, and records the answer as its ack, as
// Slack takes it.
func (s *Server) postHTTP(id string, req *http.Request) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			return // no answer: no ack (Slack would retry an event)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		s.mu.Lock()
		defer s.mu.Unlock()
		var payload json.RawMessage
		if b := bytes.TrimSpace(body); len(b) > 0 && json.Valid(b) {
			payload = json.RawMessage(b)
		}
		s.takeAckLocked(id, payload, resp.StatusCode)
	}()
}
