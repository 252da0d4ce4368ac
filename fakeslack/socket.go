package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one Socket Mode websocket the bot opened.
type conn struct {
	id  int
	ws  *websocket.Conn
	wmu sync.Mutex // gorilla/websocket allows one writer at a time
}

func (c *conn) write(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket]
	delete(s.tickets, ticket) // a ticket opens one socket
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.connSeq++
	c := &conn{id: s.connSeq, ws: ws}
	s.conns[c.id] = c
	n := len(s.conns)
	s.notifyLocked()
	s.mu.Unlock()

	// 01_hello.slack-go.json
	hello, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 10, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	})
	if err := c.write(hello); err != nil {
		s.dropConn(c)
		return
	}
	done := make(chan struct{})
	go s.pingLoop(c, done)
	s.readLoop(c)
	close(done)
	s.dropConn(c)
}

func (s *Server) dropConn(c *conn) {
	c.ws.Close()
	s.mu.Lock()
	delete(s.conns, c.id)
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) pingLoop(c *conn, done <-chan struct{}) {
	if s.opts.PingInterval < 0 {
		return
	}
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			s.mu.Lock()
			on := s.pings
			s.mu.Unlock()
			if !on {
				continue
			}
			c.wmu.Lock()
			err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			c.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

func (s *Server) readLoop(c *conn) {
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(msg, &a) != nil || a.EnvelopeID == "" {
			continue
		}
		payload := a.Payload
		if len(msg) >= 20*1024 {
			// Slack silently drops acks of 20 KB or more; keep the evidence.
			payload = json.RawMessage(`{"dropped_by_fake_slack":"ack over 20KB"}`)
		}
		s.mu.Lock()
		s.takeAckLocked(a.EnvelopeID, payload, 0)
		s.mu.Unlock()
	}
}

// takeAckLocked records the ack of envelope id (status: the HTTP answer's,
// 0 over the socket) and does what it says.
func (s *Server) takeAckLocked(id string, payload json.RawMessage, status int) {
	now := time.Now()
	ack := Ack{EnvelopeID: id, Payload: payload, At: now, Status: status}
	if sent, ok := s.sent[id]; ok {
		ack.Latency = now.Sub(sent)
	}
	s.acks[id] = append(s.acks[id], ack)
	s.ackLog = append(s.ackLog, ack)
	if m, ok := s.awaiting[id]; ok && (status == 0 || status == http.StatusOK) {
		delete(s.awaiting, id)
		if m.srv != nil && m.srv != s {
			// Lock order: the root, then a workspace.
			m.srv.mu.Lock()
			m.srv.applyAckLocked(m, ack.Payload)
			m.srv.mu.Unlock()
		} else {
			s.applyAckLocked(m, ack.Payload)
		}
	}
	s.notifyLocked()
}

// Envelope is one Socket Mode message to the bot.
type Envelope struct {
	Type                   string // events_api, interactive, slash_commands
	Payload                any
	AcceptsResponsePayload bool
	RetryAttempt           int
	RetryReason            string
}

// ErrNoConnection means no socket was open to send on.
var ErrNoConnection = errors.New("fakeslack: no Socket Mode connection")

// Post sends env on the newest open socket, waiting for one if none is open
// (or, with a Request URL set, as an HTTP request: http.go), and returns
// its envelope id without waiting for the ack.
func (s *Server) Post(ctx context.Context, env Envelope) (string, error) {
	return s.top().post(ctx, env, s)
}

// post is Post on the root server for workspace from, whose state an ack's
// payload acts on.
func (s *Server) post(ctx context.Context, env Envelope, from *Server) (string, error) {
	s.mu.Lock()
	base := s.requestURL
	s.mu.Unlock()
	var c *conn
	if base == "" {
		if err := s.waitUntil(ctx, func() bool { c = s.newestConnLocked(); return c != nil }); err != nil {
			return "", ErrNoConnection
		}
	}
	s.mu.Lock()
	s.envSeq++
	id := fmt.Sprintf("%08x-fake-4f94-bfb4-%012d", s.envSeq, s.envSeq)
	s.mu.Unlock()
	// The frame or request is made before the clock starts: latency is
	// the bot's, from the moment the envelope leaves.
	var msg []byte
	var req *http.Request
	var err error
	if base != "" {
		req, err = s.requestFor(base, env)
	} else {
		msg, err = Frame(id, env)
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.sent[id] = time.Now()
	if m, ok := awaitedAck(env); ok {
		m.srv = from
		s.awaiting[id] = m
	}
	s.mu.Unlock()
	if base != "" {
		s.postHTTP(id, req)
		return id, nil
	}
	if err := c.write(msg); err != nil {
		return "", fmt.Errorf("fakeslack: write envelope: %w", err)
	}
	return id, nil
}

// Frame is env as Slack writes it on the socket, with envelope id id.
func Frame(id string, env Envelope) ([]byte, error) {
	frame := map[string]any{
		"envelope_id": id, "payload": env.Payload, "type": env.Type,
		"accepts_response_payload": env.AcceptsResponsePayload,
	}
	if env.Type == "events_api" {
		frame["retry_attempt"], frame["retry_reason"] = env.RetryAttempt, env.RetryReason
	}
	return json.Marshal(frame)
}

// Send posts env and waits for its ack.
func (s *Server) Send(ctx context.Context, env Envelope) (Ack, error) {
	id, err := s.Post(ctx, env)
	if err != nil {
		return Ack{}, err
	}
	return s.WaitAck(ctx, id)
}

// WaitAck waits for the first ack of envelope id.
func (s *Server) WaitAck(ctx context.Context, id string) (Ack, error) {
	if s.root != nil {
		return s.root.WaitAck(ctx, id)
	}
	var a Ack
	err := s.waitUntil(ctx, func() bool {
		if l := s.acks[id]; len(l) > 0 {
			a = l[0]
			return true
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("fakeslack: no ack for envelope %s: %w", id, err)
	}
	return a, nil
}

// SendRaw writes raw bytes as one text frame on the newest socket, for
// malformed-input tests.
func (s *Server) SendRaw(ctx context.Context, frame []byte) error {
	if s.root != nil {
		return s.root.SendRaw(ctx, frame)
	}
	var c *conn
	if err := s.waitUntil(ctx, func() bool { c = s.newestConnLocked(); return c != nil }); err != nil {
		return ErrNoConnection
	}
	return c.write(frame)
}

// Acks returns every ack received for envelope id.
func (s *Server) Acks(id string) []Ack {
	if s.root != nil {
		return s.root.Acks(id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks[id]...)
}

// SentEnvelopes returns the ids of every envelope sent so far.
func (s *Server) SentEnvelopes() []string {
	if s.root != nil {
		return s.root.SentEnvelopes()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.sent {
		out = append(out, id)
	}
	return out
}

func (s *Server) newestConnLocked() *conn {
	var newest *conn
	for _, c := range s.conns {
		if newest == nil || c.id > newest.id {
			newest = c
		}
	}
	return newest
}

// Connections reports how many sockets were ever opened and how many are
// open now.
func (s *Server) Connections() (total, open int) {
	if s.root != nil {
		return s.root.Connections()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connSeq, len(s.conns)
}

// WaitConnections waits until at least total sockets were opened and one is
// open.
func (s *Server) WaitConnections(ctx context.Context, total int) error {
	if s.root != nil {
		return s.root.WaitConnections(ctx, total)
	}
	err := s.waitUntil(ctx, func() bool { return s.connSeq >= total && len(s.conns) > 0 })
	if err != nil {
		return fmt.Errorf("fakeslack: waiting for connection #%d: %w", total, err)
	}
	return nil
}

// Disconnect sends a disconnect message (reason "warning",
// "refresh_requested", "link_disabled", …) on every open socket, as Slack
// does before it recycles a connection, and closes them after the grace
// period if the bot has not.
func (s *Server) Disconnect(reason string) {
	if s.root != nil {
		s.root.Disconnect(reason)
		return
	}
	msg, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-fake"}})
	s.mu.Lock()
	var list []*conn
	for _, c := range s.conns {
		list = append(list, c)
	}
	s.mu.Unlock()
	for _, c := range list {
		c.write(msg)
		time.AfterFunc(s.opts.DisconnectGrace, func() { c.ws.Close() })
	}
}

// DropConnections closes every socket abruptly, without a close frame, as a
// network failure would.
func (s *Server) DropConnections() {
	if s.root != nil {
		s.root.DropConnections()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.ws.NetConn().Close()
	}
}

// SetPings turns the server's websocket pings on or off, to simulate a
// connection that silently died.
func (s *Server) SetPings(on bool) {
	if s.root != nil {
		s.root.SetPings(on)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pings = on
}

// envelopeMeta is what an ack's payload acts on in Slack: a modal's
// submission (close, update, push, show errors) or a slash command (an
// answer shown in the channel it was typed in).
type envelopeMeta struct {
	kind                string // "submission" or "command"
	user, view, channel string
	srv                 *Server // the workspace
}

func awaitedAck(env Envelope) (envelopeMeta, bool) {
	p, _ := env.Payload.(map[string]any)
	switch {
	case env.Type == "slash_commands":
		user, _ := p["user_id"].(string)
		ch, _ := p["channel_id"].(string)
		return envelopeMeta{kind: "command", user: user, channel: ch}, true
	case env.Type == "interactive" && p["type"] == "view_submission":
		u, _ := p["user"].(map[string]any)
		v, _ := p["view"].(map[string]any)
		user, _ := u["id"].(string)
		view, _ := v["id"].(string)
		return envelopeMeta{kind: "submission", user: user, view: view}, true
	}
	return envelopeMeta{}, false
}

// applyAckLocked does what Slack does with an ack's payload.
func (s *Server) applyAckLocked(m envelopeMeta, payload json.RawMessage) {
	var a struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           map[string]any    `json:"view"`
		Text           string            `json:"text"`
		Blocks         json.RawMessage   `json:"blocks"`
		ResponseType   string            `json:"response_type"`
	}
	if len(payload) > 0 && json.Unmarshal(payload, &a) != nil {
		return
	}
	switch m.kind {
	case "command":
		if a.Text == "" && len(a.Blocks) == 0 {
			return
		}
		s.messages = append(s.messages, Message{Channel: m.channel, User: m.user, TS: s.newTS(),
			Text: a.Text, Blocks: a.Blocks, Ephemeral: a.ResponseType != "in_channel"})
	case "submission":
		v := s.views[m.view]
		switch a.ResponseAction {
		case "errors":
			if v != nil {
				v.Errors = a.Errors
			}
		case "update":
			if a.View != nil && len(ValidateView(a.View)) == 0 {
				s.storeView(m.view, SurfaceModal, m.user, a.View)
			}
		case "push":
			if a.View != nil && len(ValidateView(a.View)) == 0 {
				id := s.nextID("V")
				s.modals[m.user] = id
				s.storeView(id, SurfaceModal, m.user, a.View)
			}
		default: // "clear", or an empty ack: the modal closes
			if s.modals[m.user] == m.view {
				delete(s.modals, m.user)
			}
		}
	}
	s.notifyLocked()
}
