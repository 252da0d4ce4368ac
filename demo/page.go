package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/sources"
)

//go:embed page.html app.js app.css invite.js
var assets embed.FS

// Options wire the page to the running program.
type Options struct {
	Slack *fakeslack.Server
	// BotURL is the bot's listener (http://host:port): the page posts
	// sample events to its /v1/events and checks invitations with its
	// /v1/invites/{token}, signed with Secret like the platform does.
	BotURL string
	Secret []byte
	Clock  *Clock
	// Addr is the address the page listens on (host:port): a request
	// naming any other host is refused (DNS rebinding).
	Addr string
	// RunDigests makes the digest run the cron loop makes every minute,
	// at the demo time; the clock control calls it after moving time.
	RunDigests func(context.Context) (int, error)
	Log        *slog.Logger
	// Second is a workspace the page connects through the Connect flow
	// (GET /platform/connect stands in for the platform's Connect button)
	// for SecondOrg; Connected says whether a workspace is connected now.
	// Once it is, the page can be any of its people too (?ws=TEAM).
	Second    *fakeslack.Server
	SecondOrg string
	Connected func(team string) bool
	// Sources are the program's senders' credentials: the picker's
	// senders' samples are sent with them, as each sender sends.
	Sources map[string]sources.Auth
	// UnfurlDomains are the program's PALIGO_SLACK_UNFURL_DOMAINS: a link
	// there, typed in a channel, is shown to the bot.
	UnfurlDomains []string
}

// Page is the demo's web page and its small JSON API.
type Page struct {
	opts Options
	tmpl *template.Template
	mux  *http.ServeMux
	// heard is what the page, standing in for the platform, was told.
	heard heardLog
}

// heardLog keeps the last callbacks the platform took, newest first.
type heardLog struct {
	mu    sync.Mutex
	lines []string
}

func (h *heardLog) add(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append([]string{line}, h.lines...)
	if len(h.lines) > 5 {
		h.lines = h.lines[:5]
	}
}

func (h *heardLog) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// New returns the page for opts.
func New(opts Options) *Page {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	p := &Page{opts: opts, mux: http.NewServeMux()}
	p.tmpl = template.Must(template.New("page.html").ParseFS(assets, "page.html"))
	p.mux.HandleFunc("GET /{$}", p.index)
	p.mux.HandleFunc("GET /app.js", p.asset("app.js", "text/javascript; charset=utf-8"))
	p.mux.HandleFunc("GET /app.css", p.asset("app.css", "text/css; charset=utf-8"))
	p.mux.HandleFunc("GET /invite.js", p.asset("invite.js", "text/javascript; charset=utf-8"))
	p.mux.HandleFunc("GET /version", p.version)
	p.mux.HandleFunc("POST /api/action", p.action)
	p.mux.HandleFunc("POST /api/submit", p.submit)
	p.mux.HandleFunc("POST /api/close", p.closeModal)
	p.mux.HandleFunc("POST /api/command", p.command)
	p.mux.HandleFunc("POST /api/shortcut", p.shortcut)
	p.mux.HandleFunc("POST /api/clock", p.clock)
	p.mux.HandleFunc("POST /api/event", p.event)
	p.mux.HandleFunc("GET /invite", p.invite)
	p.mux.HandleFunc("POST /platform/actions", p.platformAction)
	p.mux.HandleFunc("GET /platform/connect", p.connect)
	if u, err := url.Parse(opts.BotURL); err == nil {
		// The program's PALIGO_SLACK_PUBLIC_URL is the page's: Slack sends
		// the browser back here, and the page hands it to the program.
		p.mux.Handle("GET /slack/oauth/callback", httputil.NewSingleHostReverseProxy(u))
	}
	return p
}

// connected reports whether the second workspace is connected.
func (p *Page) connected() bool {
	return p.opts.Second != nil && p.opts.Connected != nil && p.opts.Connected(p.opts.Second.TeamID())
}

// workspace is the workspace a request is about (its ws, a team id): the
// second once it is connected, else the first.
func (p *Page) workspace(team string) *fakeslack.Server {
	if p.opts.Second != nil && team == p.opts.Second.TeamID() && p.connected() {
		return p.opts.Second
	}
	return p.opts.Slack
}

// connect stands in for the platform's Connect button: it sends the
// browser to the program's GET /slack/install with a Connect link signed
// as the platform signs it, for the second workspace's admin. Slack's
// authorize page (the fake's) installs there, and the program sends the
// browser back to the page, on the new workspace.
func (p *Page) connect(w http.ResponseWriter, r *http.Request) {
	if p.opts.Second == nil {
		http.NotFound(w, r)
		return
	}
	admin := ""
	for _, u := range p.opts.Second.Users() {
		if u.IsAdmin {
			admin = u.Email
			break
		}
	}
	ts := p.opts.Clock.Now().Unix()
	ret := "http://" + p.opts.Addr + "/?ws=" + url.QueryEscape(p.opts.Second.TeamID()) + "&open=1"
	q := url.Values{"org": {p.opts.SecondOrg}, "email": {admin}, "return": {ret}, "ts": {strconv.FormatInt(ts, 10)}}.Encode()
	link := p.opts.BotURL + "/slack/install?" + q + "&sig=" + url.QueryEscape(signing.Sign(p.opts.Secret, ts, []byte(q)))
	http.Redirect(w, r, link, http.StatusFound)
}

// platformAction stands in for the platform's side of
// PALIGO_SLACK_ACTIONS_URL: it checks the callback's signature, as the
// platform must, and takes the click (a re-run, an acknowledgement).
func (p *Page) platformAction(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "callback too large"})
		return
	}
	if why := signing.Verify(r.Header, body, p.opts.Clock.Now(), p.opts.Secret); why != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": why})
		return
	}
	var cb struct {
		ID, Type, Action, Event, Text, Note string
		By                                  *struct{ Name string }
	}
	if err := json.Unmarshal(body, &cb); err != nil || cb.ID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not a callback"})
		return
	}
	p.opts.Log.Info("demo platform: callback taken", "callback", cb.ID, "action", cb.Action, "event", cb.Event)
	line := cb.Type
	if cb.Action != "" {
		line += " " + cb.Action
	}
	if cb.By != nil && cb.By.Name != "" {
		line += " by " + cb.By.Name
	}
	if cb.Text != "" {
		line += `: "` + cb.Text + `"`
	}
	if cb.Note != "" {
		line += " (note: " + cb.Note + ")"
	}
	p.heard.add(line)
	writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
}

// contentSecurity lets the page run only its own scripts and styles, talk
// only to itself, and be framed by no one.
const contentSecurity = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// ServeHTTP serves the page. It answers only requests addressed to it by
// its own address (a site whose name resolves to 127.0.0.1, DNS
// rebinding, is refused), in no one's frame. Its API only takes JSON from
// the page itself: another site open in the same browser cannot post to it
// (a cross-site form can send neither application/json nor this page's
// Origin).
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurity)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !p.ownHost(r.Host) {
		writeJSON(w, http.StatusMisdirectedRequest, map[string]string{"error": "this demo answers only at its own address, " + p.opts.Addr})
		return
	}
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "the demo's API takes application/json"})
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "requests from another site are refused"})
			return
		}
	}
	p.mux.ServeHTTP(w, r)
}

// ownHost reports whether host (the request's Host) is the page's own
// address: its port, and a name that needs no DNS (localhost or an IP
// literal), so that no other site's name can be pointed at it.
func (p *Page) ownHost(host string) bool {
	if p.opts.Addr == "" {
		return false
	}
	_, port, err := net.SplitHostPort(p.opts.Addr)
	if err != nil {
		return false
	}
	name, hport, err := net.SplitHostPort(host)
	if err != nil || hport != port {
		return false
	}
	return strings.EqualFold(name, "localhost") || net.ParseIP(name) != nil
}

func (p *Page) asset(name, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := assets.ReadFile(name)
		w.Header().Set("Content-Type", ctype)
		w.Write(b)
	}
}

// view is what the page shows one person.
type view struct {
	// WS is the workspace shown (a team id), Spaces the ones the page can
	// show, CanConnect whether the second can still be connected.
	WS         string
	Spaces     []space
	CanConnect bool
	SecondName string
	As         fakeslack.User
	Users      []fakeslack.User
	Channels   []fakeslack.Channel
	At         string // "home", "dm" or a channel id
	Title      string
	Now        string
	Home       template.HTML
	Messages   []message
	Modal      *modal
	Composer   string // the channel slash commands are typed in, "" on the Home tab
	Samples    map[string]string
	Kinds      []string
	// SenderSamples are the senders' own webhooks; Senders says which
	// sender each is (the page posts it to /api/event?source=).
	SenderSamples []string
	Senders       map[string]string
	// Heard is what the platform (the page) was told by the bot.
	Heard   []string
	Rev     int
	BotURL  string
	HasHome bool
	// Thread is the thread opened beside the channel (?thread=TS).
	Thread *thread
}

// thread is a living message's thread as Slack shows it beside the
// channel: the parent, then its replies.
type thread struct {
	Parent  message
	Replies []message
	Close   string // the channel's URL without the thread
}

type message struct {
	Channel, TS string
	Time        string
	From        string
	Ephemeral   bool
	Edited      bool
	Body        template.HTML
	// Replies is a parent's reply count; Open, the URL that opens its
	// thread beside the channel. Broadcast marks a reply sent to the
	// channel too ("replied to a thread").
	Replies   int
	Open      string
	Broadcast bool
	// Person: written by a person, not the app; Initial, their avatar.
	Person  bool
	Initial string
}

type modal struct {
	ID, Title, Submit, Close string
	Body                     template.HTML
}

// space is a workspace in the page's switcher.
type space struct{ ID, Name string }

func (p *Page) person(fs *fakeslack.Server, id string) fakeslack.User {
	users := fs.Users()
	for _, u := range users {
		if u.ID == id {
			return u
		}
	}
	for _, u := range users {
		if !u.IsBot {
			return u
		}
	}
	return fakeslack.User{}
}

func (p *Page) renderer(fs *fakeslack.Server, as fakeslack.User) *renderer {
	var people []fakeslack.User
	for _, u := range fs.Users() {
		if !u.Deleted {
			people = append(people, u)
		}
	}
	return &renderer{users: people, channels: fs.Channels(), loc: zone(as.TZ)}
}

func (p *Page) index(w http.ResponseWriter, r *http.Request) {
	fs := p.workspace(r.URL.Query().Get("ws"))
	as := p.person(fs, r.URL.Query().Get("as"))
	at := r.URL.Query().Get("at")
	// Opening the Home tab is an event the app hears (app_home_opened):
	// sent when the person goes to the tab (open=1) or has none drawn yet,
	// not on the reloads that follow each change.
	if _, drawn := fs.HomeView(as.ID); (at == "" || at == "home") && (!drawn || r.URL.Query().Get("open") == "1") {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		if _, err := fs.Send(ctx, fs.AppHomeOpened(as.ID)); err != nil {
			p.opts.Log.Warn("demo: app_home_opened", "err", err)
		}
		p.settle(ctx, fs)
		cancel()
	}
	v := view{WS: fs.TeamID(), As: as, Users: fs.Users(), Channels: fs.Channels(), At: at, Rev: fs.Rev(),
		Now: p.opts.Clock.Now().In(zone(as.TZ)).Format("Mon 2 Jan 15:04 MST"), BotURL: p.opts.BotURL}
	v.Spaces = []space{{p.opts.Slack.TeamID(), p.opts.Slack.TeamName()}}
	if p.opts.Second != nil {
		v.SecondName = p.opts.Second.TeamName()
		if p.connected() {
			v.Spaces = append(v.Spaces, space{p.opts.Second.TeamID(), p.opts.Second.TeamName()})
		} else {
			v.CanConnect = true
		}
	}
	if fs == p.opts.Second {
		v.Samples = samples(as, map[string]any{"org": p.opts.SecondOrg})
	} else {
		v.Samples = samples(as, nil)
	}
	v.Kinds = slices.Sorted(maps.Keys(v.Samples))
	v.Heard = p.heard.list()
	v.Senders = map[string]string{}
	for _, sm := range senderSamples() {
		v.Samples[sm.Name] = sm.Body
		v.SenderSamples = append(v.SenderSamples, sm.Name)
		v.Senders[sm.Name] = sm.Sender
	}
	switch {
	case at == "" || at == "home":
		v.At, v.Title = "home", "Paligo · Home"
		if hv, ok := fs.HomeView(as.ID); ok {
			rd := p.renderer(fs, as)
			rd.Blocks(list(hv.Body, "blocks"))
			v.Home = template.HTML(fmt.Sprintf(`<div class="surface" data-surface="home" data-view="%s">`, esc(hv.ID))) + rd.html() + `</div>`
			v.HasHome = true
		}
	case at == "dm":
		v.Title, v.Composer = "Paligo · Messages", fs.OpenDM(as.ID)
		v.Messages = p.messages(fs, v.Composer, as)
	default:
		for _, c := range v.Channels {
			if c.ID == at {
				v.Title = "#" + c.Name
			}
		}
		v.Composer = at
		v.Messages = p.messages(fs, at, as)
		if ts := r.URL.Query().Get("thread"); ts != "" {
			v.Thread = p.thread(fs, at, ts, as)
		}
	}
	if mv, ok := fs.OpenModal(as.ID); ok {
		rd := p.renderer(fs, as)
		rd.errors = mv.Errors
		rd.suggest = func(actionID string) []any { return p.suggest(r.Context(), fs, as.ID, mv, actionID) }
		rd.Blocks(list(mv.Body, "blocks"))
		m := &modal{ID: mv.ID, Title: str(obj(mv.Body, "title"), "text"), Body: rd.html(),
			Submit: str(obj(mv.Body, "submit"), "text"), Close: str(obj(mv.Body, "close"), "text")}
		if m.Close == "" {
			m.Close = "Cancel"
		}
		v.Modal = m
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := p.tmpl.Execute(w, v); err != nil {
		p.opts.Log.Error("demo page", "err", err)
	}
}

// messages is channel as a person sees it: the top-level messages (with
// their reply counts) and the replies broadcast to it, and the ephemeral
// messages meant for them.
func (p *Page) messages(fs *fakeslack.Server, channel string, as fakeslack.User) []message {
	var out []message
	for _, m := range fs.Messages(channel) {
		if (m.Ephemeral && m.User != as.ID) || m.Deleted || (m.IsReply() && !m.Broadcast) {
			continue
		}
		msg := p.message(fs, m, as)
		if m.ReplyCount > 0 {
			msg.Replies = m.ReplyCount
			msg.Open = fmt.Sprintf("?ws=%s&as=%s&at=%s&thread=%s", url.QueryEscape(fs.TeamID()), url.QueryEscape(as.ID), url.QueryEscape(channel), url.QueryEscape(m.TS))
		}
		out = append(out, msg)
	}
	return out
}

func (p *Page) message(fs *fakeslack.Server, m fakeslack.Message, as fakeslack.User) message {
	base := p.renderer(fs, as)
	rd := &renderer{users: base.users, channels: base.channels, loc: base.loc}
	if blocks := decodeBlocks(m.Blocks); len(blocks) > 0 {
		rd.Blocks(blocks)
	} else {
		rd.MessageText(m.Text)
	}
	from := "Paligo"
	if m.Author != "" {
		from = displayName(p.person(fs, m.Author))
	}
	body := template.HTML(fmt.Sprintf(`<div class="surface" data-surface="message" data-channel="%s" data-ts="%s">`, esc(m.Channel), esc(m.TS))) + rd.html() + `</div>`
	body += p.unfurlsHTML(fs, m, as)
	for _, re := range m.Reactions {
		body += template.HTML(`<span class="reaction" title="` + esc(re.Name) + `">` + string(emojiHTML(":"+re.Name+":")) + ` 1</span>`)
	}
	return message{Channel: m.Channel, TS: m.TS, Time: tsTime(m.TS, zone(as.TZ)), From: from, Ephemeral: m.Ephemeral,
		Edited: m.Edits > 0, Body: body, Broadcast: m.IsReply() && m.Broadcast, Person: m.Author != "", Initial: initial(from)}
}

// initial is the first letter of a name, for an avatar.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// suggest asks the bot for an external select's options, as Slack does
// when a person opens it (block_suggestion with nothing typed yet).
func (p *Page) suggest(ctx context.Context, fs *fakeslack.Server, user string, v fakeslack.View, actionID string) []any {
	env, err := fs.BlockSuggestion(user, v, actionID, "")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ack, err := fs.Send(ctx, env)
	if err != nil {
		return nil
	}
	var a struct {
		Options []any `json:"options"`
	}
	json.Unmarshal(ack.Payload, &a)
	return a.Options
}

// unfurlsHTML draws the previews the bot attached to a message's links.
func (p *Page) unfurlsHTML(fs *fakeslack.Server, m fakeslack.Message, as fakeslack.User) template.HTML {
	if len(m.Unfurls) == 0 {
		return ""
	}
	var b strings.Builder
	for _, u := range slices.Sorted(maps.Keys(m.Unfurls)) {
		var one struct {
			Blocks []any `json:"blocks"`
		}
		if json.Unmarshal(m.Unfurls[u], &one) != nil {
			continue
		}
		base := p.renderer(fs, as)
		rd := &renderer{users: base.users, channels: base.channels, loc: base.loc}
		rd.Blocks(one.Blocks)
		b.WriteString(`<div class="unfurl" data-url="` + esc(u) + `">` + string(rd.html()) + `</div>`)
	}
	return template.HTML(b.String())
}

// thread draws the thread of the message at ts in channel, or nil.
func (p *Page) thread(fs *fakeslack.Server, channel, ts string, as fakeslack.User) *thread {
	parent, replies, ok := fs.Thread(channel, ts)
	if !ok || parent.Deleted {
		return nil
	}
	t := &thread{Parent: p.message(fs, parent, as), Close: fmt.Sprintf("?ws=%s&as=%s&at=%s", url.QueryEscape(fs.TeamID()), url.QueryEscape(as.ID), url.QueryEscape(channel))}
	for _, r := range replies {
		t.Replies = append(t.Replies, p.message(fs, r, as))
	}
	return t
}

func tsTime(ts string, loc *time.Location) string {
	sec, err := strconv.ParseInt(strings.SplitN(ts, ".", 2)[0], 10, 64)
	if err != nil {
		return ""
	}
	return time.Unix(sec, 0).In(loc).Format("15:04")
}

func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

func (p *Page) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"rev": p.workspace(r.URL.Query().Get("ws")).Rev(), "connected": p.connected()})
}

// actionReq is a click or a change on a Home tab, modal or message.
type actionReq struct {
	WS       string         `json:"ws"`
	As       string         `json:"as"`
	Surface  string         `json:"surface"` // home, modal, message
	View     string         `json:"view"`
	Channel  string         `json:"channel"`
	TS       string         `json:"ts"`
	ActionID string         `json:"action_id"`
	Value    map[string]any `json:"value"` // merged into the action, as Slack sends it
	Button   string         `json:"button"`
}

func (p *Page) action(w http.ResponseWriter, r *http.Request) {
	var req actionReq
	if !readJSON(w, r, &req) {
		return
	}
	fs := p.workspace(req.WS)
	var env fakeslack.Envelope
	var err error
	switch req.Surface {
	case "message":
		var msg fakeslack.Message
		for _, m := range fs.Messages(req.Channel) {
			if m.TS == req.TS {
				msg = m
			}
		}
		choice := req.Button
		if opt, ok := req.Value["selected_option"].(map[string]any); ok && choice == "" {
			choice, _ = opt["value"].(string) // a menu in a message: the option chosen
		}
		env, err = fs.MessageAction(req.As, msg, req.ActionID, choice)
	default:
		v, ok := fs.ViewByID(req.View)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "that view is gone; reload"})
			return
		}
		value := req.Value
		if req.Button != "" {
			value = map[string]any{"value": req.Button}
		}
		env, err = fs.BlockAction(req.As, v, req.ActionID, value)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	p.send(w, r.Context(), fs, env)
}

// send gives env, of workspace fs, to the bot, waits for its ack and for
// the work it does after the ack to settle, and answers with the ack.
func (p *Page) send(w http.ResponseWriter, ctx context.Context, fs *fakeslack.Server, env fakeslack.Envelope) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := fs.Send(ctx, env)
	if err != nil {
		writeJSON(w, http.StatusGatewayTimeout, map[string]string{"error": err.Error()})
		return
	}
	p.settle(ctx, fs)
	writeJSON(w, http.StatusOK, map[string]any{"ack": json.RawMessage(orNull(ack.Payload))})
}

// settle waits until workspace fs has seen no change for 150 ms (the
// bot's views.publish and messages after an ack), at most until ctx ends.
func (p *Page) settle(ctx context.Context, fs *fakeslack.Server) {
	rev, quiet := fs.Rev(), time.Now()
	for time.Since(quiet) < 150*time.Millisecond {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		if r := fs.Rev(); r != rev {
			rev, quiet = r, time.Now()
		}
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

type submitReq struct {
	WS     string         `json:"ws"`
	As     string         `json:"as"`
	View   string         `json:"view"`
	Values map[string]any `json:"values"` // block_id -> action_id -> value object
}

func (p *Page) submit(w http.ResponseWriter, r *http.Request) {
	var req submitReq
	if !readJSON(w, r, &req) {
		return
	}
	fs := p.workspace(req.WS)
	v, ok := fs.ViewByID(req.View)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "that form is gone; reload"})
		return
	}
	p.send(w, r.Context(), fs, fs.ViewSubmission(req.As, v, req.Values))
}

func (p *Page) closeModal(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WS string `json:"ws"`
		As string `json:"as"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	p.workspace(req.WS).CloseModal(req.As)
	writeJSON(w, http.StatusOK, map[string]any{})
}

var mention = regexp.MustCompile(`(^|\s)([@#])([a-z0-9._-]+)`)

// command sends a typed slash command. As Slack does for apps that ask
// for it, @name and #channel in the text become <@U…|name> and <#C…|name>.
func (p *Page) command(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WS, As, Channel, Thread, Text string
	}
	if !readJSON(w, r, &req) {
		return
	}
	text := strings.TrimSpace(req.Text)
	fs := p.workspace(req.WS)
	if !strings.HasPrefix(text, "/") {
		p.say(w, r.Context(), fs, req.As, req.Channel, req.Thread, p.tokens(fs, text))
		return
	}
	cmd, args, _ := strings.Cut(text, " ")
	p.send(w, r.Context(), fs, fs.SlashCommand(req.As, req.Channel, cmd, p.tokens(fs, strings.TrimSpace(args))))
}

// bareURL is a link as a person types it.
var bareURL = regexp.MustCompile(`(^|\s)(https?://[^\s<>]+)`)

// tokens writes what a person typed as Slack's clients send it: @name and
// #channel as Slack's mention tokens, links marked up.
func (p *Page) tokens(fs *fakeslack.Server, text string) string {
	users, channels := fs.Users(), fs.Channels()
	text = bareURL.ReplaceAllString(text, "$1<$2>")
	return mention.ReplaceAllStringFunc(text, func(m string) string {
		sub := mention.FindStringSubmatch(m)
		if sub[2] == "@" {
			for _, u := range users {
				if u.Name == sub[3] {
					return sub[1] + "<@" + u.ID + "|" + u.Name + ">"
				}
			}
		} else {
			for _, c := range channels {
				if c.Name == sub[3] {
					return sub[1] + "<#" + c.ID + "|" + c.Name + ">"
				}
			}
		}
		return m
	})
}

// say posts what a person typed: in the thread open beside the channel (a
// reply, which Slack tells the app of), or in the channel (where a link
// on the bot's unfurl domains is shown to the app to preview).
func (p *Page) say(w http.ResponseWriter, ctx context.Context, fs *fakeslack.Server, as, channel, thread, text string) {
	if text == "" || channel == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Type a message or a slash command."})
		return
	}
	var env fakeslack.Envelope
	var ok bool
	if thread != "" {
		var err error
		if _, env, err = fs.ReplyAsUser(channel, thread, as, text); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "That thread is gone."})
			return
		}
		ok = true
	} else {
		_, env, ok = fs.PostLinks(channel, as, text, p.opts.UnfurlDomains)
	}
	if !ok {
		p.settle(ctx, fs)
		writeJSON(w, http.StatusOK, map[string]any{"ack": nil})
		return
	}
	p.send(w, ctx, fs, env)
}

// shortcut is a person picking Send to Paligo in a message's menu.
func (p *Page) shortcut(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WS, As, Channel, TS string
	}
	if !readJSON(w, r, &req) {
		return
	}
	fs := p.workspace(req.WS)
	for _, m := range fs.Messages(req.Channel) {
		if m.TS == req.TS && !m.Ephemeral {
			p.send(w, r.Context(), fs, fs.MessageShortcut(req.As, m, "send_to_paligo"))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such message"})
}

func (p *Page) clock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WS      string `json:"ws"`
		Advance string `json:"advance"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil || d <= 0 || d > 8*24*time.Hour {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "advance must be a duration like 1h, up to 192h"})
		return
	}
	p.opts.Clock.Advance(d)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	n, err := p.opts.RunDigests(ctx)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	p.settle(ctx, p.workspace(req.WS))
	writeJSON(w, http.StatusOK, map[string]any{"now": p.opts.Clock.Now(), "digests": n})
}

// event signs a sample event and posts it to the bot's ingest API, as the
// platform would; the answer is the API's.
func (p *Page) event(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxIngestBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
		return
	}
	var status int
	var answer []byte
	if src := r.URL.Query().Get("source"); src != "" {
		status, answer, err = p.asSender(r.Context(), src, r.URL.Query().Get("ws"), body)
	} else {
		status, answer, err = p.signed(r.Context(), "POST", "/v1/events", body)
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if status == http.StatusAccepted {
		p.settle(ctx, p.workspace(r.URL.Query().Get("ws")))
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "answer": json.RawMessage(orNull(answer))})
}

// asSender posts body to the bot's /v1/sources/NAME as that sender
// would, with the demo's credentials for it; for the second workspace,
// naming its org.
func (p *Page) asSender(ctx context.Context, name, ws string, body []byte) (int, []byte, error) {
	sender, auth := sources.Lookup(name), p.opts.Sources[name]
	if sender == nil || auth.Scheme == "" {
		return http.StatusNotFound, []byte(`{"error":"the demo has no such sender"}`), nil
	}
	tail, hdr := sender.Send(auth, body)
	path := "/v1/sources/" + name + tail
	if p.opts.Second != nil && ws == p.opts.Second.TeamID() && p.connected() {
		path += "?org=" + url.QueryEscape(p.opts.SecondOrg)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", p.opts.BotURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// signed calls the bot's API signed with the ingest secret.
func (p *Page) signed(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.opts.BotURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	// Signed at the demo's time: the program checks signatures by its one
	// clock, and in the demo the whole world has moved with it.
	ts := p.opts.Clock.Now().Unix()
	signed := body
	if method == "GET" {
		signed = []byte(req.URL.EscapedPath())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Signature", signing.Sign(p.opts.Secret, ts, signed))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// invite is the demo's stand-in for Paligo's invitation page: it checks
// the token with the bot, as Paligo would, and offers to accept.
func (p *Page) invite(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	status, answer, err := p.signed(r.Context(), "GET", "/v1/invites/"+url.PathEscape(token), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var inv struct {
		ID, Status, Email, Error string
		Note                     string
		SlackUser                string `json:"slack_user"`
		Inviter                  struct{ Name string }
	}
	json.Unmarshal(answer, &inv)
	// The name the person signs up with; here, their Slack name.
	name := inv.Email
	for _, fs := range []*fakeslack.Server{p.opts.Slack, p.opts.Second} {
		if fs == nil {
			continue
		}
		for _, u := range fs.Users() {
			if u.ID == inv.SlackUser {
				name = displayName(u)
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page := template.Must(template.New("invite").Parse(invitePage))
	page.Execute(w, map[string]any{"Status": status, "Invite": inv, "Token": token, "Name": name})
}

const invitePage = `<!doctype html><html><head><meta charset="utf-8"><title>Join Paligo</title><link rel="stylesheet" href="/app.css"></head>
<body class="invite-page"><main class="invite-card">
<h1>Join Paligo</h1>
{{if eq .Status 200}}
<p>{{.Invite.Inviter.Name}} invited <b>{{.Invite.Email}}</b> to Paligo.</p>
{{with .Invite.Note}}<blockquote>{{.}}</blockquote>{{end}}
<p>This page is the demo's stand-in for Paligo's sign-up page: it checked the link with
<code>GET /v1/invites/{token}</code>. Accepting posts an <code>invite.accepted</code> event, and the inviter is told.</p>
<button class="btn btn-primary" id="accept" data-token="{{.Token}}" data-email="{{.Invite.Email}}" data-name="{{.Name}}">Accept invitation</button>
<p id="accepted" hidden>Welcome aboard! You can close this tab.</p>
<script src="/invite.js"></script>
{{else}}
<p>This invitation link does not work: {{.Invite.Error}}{{with .Invite.Status}} ({{.}}){{end}}.</p>
{{end}}
</main></body></html>`

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
