package bot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Slack's HTTP transport: the Events API, interactivity and slash commands
// as Slack sends them to an app's Request URLs, each signed with the app's
// signing secret. They go through the same dispatcher as Socket Mode
// envelopes; the HTTP response is the ack, within Slack's 3 seconds.

// MaxRequestBody bounds a request from Slack (its payloads are far
// smaller; the Socket Mode frames are bounded alike).
const MaxRequestBody = 4 << 20

// HTTPHandler serves Slack's requests, each checked against signingSecret
// before anything else is done with it:
//
//	POST /slack/events        the Events API (url_verification answered)
//	POST /slack/interactions  block actions, view submissions and closings
//	POST /slack/commands      slash commands
func (b *Bot) HTTPHandler(signingSecret string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", b.signed(signingSecret, b.httpEvent))
	mux.HandleFunc("POST /slack/interactions", b.signed(signingSecret, b.httpInteraction))
	mux.HandleFunc("POST /slack/commands", b.signed(signingSecret, b.httpCommand))
	return mux
}

// signed refuses a request whose signature is missing, stale (more than 5
// minutes away) or wrong, with 401 and before its body is used; the others
// go to next with their body.
func (b *Bot) signed(secret string, next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The timestamp first: a stale request is refused before its body
		// is read.
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err != nil {
			b.metrics.refused.WithLabelValues("signature").Inc()
			httpError(w, http.StatusUnauthorized, "missing or stale Slack signature")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpError(w, http.StatusRequestEntityTooLarge, "body too large")
				return
			}
			httpError(w, http.StatusBadRequest, "could not read the body")
			return
		}
		sv.Write(body)
		if sv.Ensure() != nil {
			b.metrics.refused.WithLabelValues("signature").Inc()
			httpError(w, http.StatusUnauthorized, "bad Slack signature")
			return
		}
		next(w, r, body)
	}
}

// emptyAck is a 200 with nothing more to say (typed, so that every answer
// has a content type, as the OpenAPI document describes it).
func emptyAck(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (b *Bot) httpEvent(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		b.metrics.envelopes.WithLabelValues("malformed").Inc()
		b.log.Warn("malformed Events API request ignored", "err", err)
		httpError(w, http.StatusBadRequest, "not an Events API payload")
		return
	}
	if ev.Type == slackevents.URLVerification {
		var v struct {
			Challenge string `json:"challenge"`
		}
		json.Unmarshal(body, &v)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, v.Challenge)
		return
	}
	var p struct {
		EventID string `json:"event_id"`
	}
	json.Unmarshal(body, &p)
	retry, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
	b.serveHTTP(w, r, envelope{kind: string(socketmode.EventTypeEventsAPI), data: ev, eventID: p.EventID,
		retry: retry, retryReason: r.Header.Get("X-Slack-Retry-Reason"), id: p.EventID})
}

func (b *Bot) httpInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	var cb slack.InteractionCallback
	if err == nil {
		var payload []byte
		if payload, err = withoutBlocks([]byte(form.Get("payload"))); err == nil {
			err = json.Unmarshal(payload, &cb)
		}
	}
	if err != nil {
		b.metrics.envelopes.WithLabelValues("malformed").Inc()
		b.log.Warn("malformed interaction request ignored", "err", err)
		httpError(w, http.StatusBadRequest, "not an interaction payload")
		return
	}
	b.serveHTTP(w, r, envelope{kind: string(socketmode.EventTypeInteractive), data: cb, id: cb.TriggerID, replay: replayKey(body)})
}

func (b *Bot) httpCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	// Slack checks the Request URL's certificate with a signed ssl_check=1
	// (and a token, no command) and expects a 200 with nothing.
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("ssl_check") == "1" && form.Get("command") == "" {
		emptyAck(w)
		return
	}
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slack.SlashCommandParse(req)
	if err != nil || cmd.Command == "" {
		b.metrics.envelopes.WithLabelValues("malformed").Inc()
		b.log.Warn("malformed slash command request ignored", "err", err)
		httpError(w, http.StatusBadRequest, "not a slash command")
		return
	}
	b.serveHTTP(w, r, envelope{kind: string(socketmode.EventTypeSlashCommand), data: cmd, id: cmd.TriggerID, replay: replayKey(body)})
}

// replayKey names a signed request by its body, which holds the
// interaction's or command's own trigger (unique to each): the same body
// again is the same request.
func replayKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "request:" + hex.EncodeToString(sum[:])
}

// withoutBlocks is an interaction payload without the blocks of its view
// and its message. Slack sends the whole view a click was made in (a Home
// tab is tens of kilobytes of blocks) and slack-go decodes every block,
// which was most of the time from request to ack; the handlers read the
// actions, the view's id, callback, metadata and state, never its blocks.
// One pass over the tokens, copying everything else as it stands.
func withoutBlocks(raw []byte) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	var out bytes.Buffer
	out.Grow(len(raw))
	enc := jsontext.NewEncoder(&out)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("an interaction payload is a JSON object: %v", err)
	}
	enc.WriteToken(jsontext.BeginObject)
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		n := name.String() // before the next read voids name
		if err := enc.WriteToken(name); err != nil {
			return nil, err
		}
		if (n == "view" || n == "message") && dec.PeekKind() == '{' {
			dec.ReadToken()
			enc.WriteToken(jsontext.BeginObject)
			for dec.PeekKind() != '}' {
				inner, err := dec.ReadToken()
				if err != nil {
					return nil, err
				}
				if inner.String() == "blocks" {
					if err := dec.SkipValue(); err != nil {
						return nil, err
					}
					continue
				}
				if err := enc.WriteToken(inner); err != nil {
					return nil, err
				}
				v, err := dec.ReadValue()
				if err != nil {
					return nil, err
				}
				if err := enc.WriteValue(v); err != nil {
					return nil, err
				}
			}
			dec.ReadToken()
			enc.WriteToken(jsontext.EndObject)
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if err := enc.WriteValue(v); err != nil {
			return nil, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// serveHTTP dispatches env and answers the request with its ack; the
// handler's work after the ack goes on once the answer is written.
func (b *Bot) serveHTTP(w http.ResponseWriter, r *http.Request, env envelope) {
	acked := make(chan any, 1)
	env.ack = func(_ context.Context, payload any) error {
		acked <- payload
		return nil
	}
	b.inflight.Add(1)
	go func() {
		defer b.inflight.Done()
		b.dispatch(context.WithoutCancel(r.Context()), env)
	}()
	select {
	case payload := <-acked:
		if payload == nil {
			emptyAck(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(payload)
	case <-r.Context().Done():
	}
}
