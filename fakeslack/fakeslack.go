// Package fakeslack is a fake Slack workspace for tests and the demo. It
// speaks Slack's real protocol: the Web API over HTTP (form and JSON bodies,
// bearer or form tokens, ok:false errors, 429 with Retry-After) and Socket
// Mode over a websocket (hello, envelopes, acks with payloads, server pings,
// disconnect messages, abrupt closes). Its frames and answers follow the real
// samples in testdata/slack, and it checks every message and view
// against Block Kit's limits, answering invalid_blocks like Slack does.
//
// It records every call and ack so tests can assert on what the bot did, and
// it can inject faults per method: latency, 429, 5xx and ok:false errors.
package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// User is a member of the fake workspace.
type User struct {
	ID       string
	Name     string
	RealName string
	Email    string
	TZ       string // IANA name, e.g. "Europe/Paris"; default "America/Los_Angeles"
	IsAdmin  bool
	IsOwner  bool
	IsBot    bool
	Deleted  bool
	// TeamID is the person's own organization when it is not this
	// workspace's (someone of a partner in a shared channel).
	TeamID string
}

// Channel is a conversation of the fake workspace.
type Channel struct {
	ID          string
	Name        string
	IsPrivate   bool
	IsArchived  bool
	BotIsMember bool
	// IsExtShared: shared with other organizations (Slack Connect).
	IsExtShared bool
	Members     int // num_members
}

// Options configure a Server. Zero values get sensible defaults.
type Options struct {
	BotToken string // default "xoxb-fake-bot-token"
	AppToken string // default "xapp-fake-app-token"
	// SigningSecret signs the HTTP requests (SetRequestURL); default
	// "fake-signing-secret-0123456789abcdef".
	SigningSecret string
	TeamID        string // default "T0FAKE"
	TeamName      string // default "Fake Workspace"
	// ClientID and ClientSecret are the app's OAuth credentials (oauth.go);
	// defaults "1111.2222" and "fake-client-secret".
	ClientID, ClientSecret string
	// TokenRotation gives tokens issued through OAuth a refresh token and
	// TokenLifetime (default 12 hours, as Slack's) after which they answer
	// token_expired.
	TokenRotation bool
	TokenLifetime time.Duration
	AppID         string // default "A0FAKE"
	BotUser       string // the bot's own user id, default "U0BOT"

	// PingInterval is how often the server pings each socket. Zero means 5s;
	// negative means never.
	PingInterval time.Duration
	// DisconnectGrace is how long after a disconnect message the server
	// closes the old socket if the client has not. Zero means 2s.
	DisconnectGrace time.Duration
	// TriggerTTL is how long a trigger_id can open a view. Zero means 3s, as
	// in Slack.
	TriggerTTL time.Duration
	// Seed makes the random share of injected faults repeatable.
	Seed uint64
	// Now, if set, is the workspace's clock for the ts of the messages it
	// takes (the demo moves it forward); default time.Now.
	Now func() time.Time
	// ChannelRate, if set, is how many chat.postMessage calls per second
	// each channel takes (with ChannelBurst, default 1, at once); calls
	// beyond it answer 429 with Retry-After: 1, as Slack does.
	ChannelRate  float64
	ChannelBurst int
	// MethodRates, if set, limit Web API methods workspace-wide, like
	// Slack's tiers (Tier 3: about 50 a minute, Tier 4: about 100): calls
	// beyond the rate answer 429 with Retry-After in whole seconds.
	MethodRates map[string]MethodRate

	Users    []User
	Channels []Channel
	// Scopes, if set, are the bot token's scopes: a method that needs
	// another answers missing_scope, and every answer to the bot token
	// lists them in X-OAuth-Scopes, as Slack's do. Nil grants them all.
	Scopes []string
}

// MethodRate is one method's limit: PerSecond on average, Burst at once.
type MethodRate struct {
	PerSecond float64
	Burst     int
}

// Server is a running fake Slack.
type Server struct {
	opts Options
	http *httptest.Server
	rnd  *rand.Rand

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every state change
	revoked  bool
	users    map[string]*User
	channels map[string]*Channel
	dms      map[string]string // user id -> DM channel id
	calls    []Call
	faults   map[string][]*Fault
	tickets  map[string]bool
	conns    map[int]*conn
	connSeq  int
	pings    bool
	envSeq   int
	sent     map[string]time.Time // envelope id -> when sent
	acks     map[string][]Ack
	ackLog   []Ack
	views    map[string]*View
	home     map[string]string       // user id -> home view id
	modal    string                  // the modal opened or updated last
	modals   map[string]string       // user id -> the modal open on their screen
	awaiting map[string]envelopeMeta // envelope id -> what its ack acts on
	rev      int                     // counts changes (notifyLocked)
	messages []Message
	triggers map[string]trigger
	seq      int
	limiters map[string]*rate.Limiter // per channel, with ChannelRate
	// requestURL, if set, is where envelopes go over HTTP (http.go).
	requestURL string
	// OAuth (oauth.go): the next installer, a denial to come, codes,
	// refresh tokens and the bot tokens issued.
	installer string
	denyNext  bool
	codes     map[string]oauthCode
	refresh   map[string]oauthCode
	tokens    map[string]issued
	// Workspaces (workspaces.go): a workspace added with AddWorkspace has
	// the root server as root; the root knows every workspace.
	root *Server
	ws   *workspaces
}

type trigger struct {
	issued time.Time
	used   bool
	user   string // who acted
}

// Call is one Web API call the fake received and what it answered.
type Call struct {
	Method string
	Form   url.Values     // form-encoded arguments (token removed)
	JSON   map[string]any // JSON body arguments
	At     time.Time
	// Status is the HTTP status answered; Error the Slack error ("" if ok).
	Status     int
	Error      string
	RetryAfter time.Duration // for 429 answers

	token string     // the token the call was made with (not kept in Calls)
	view  *viewCheck // its view checked before the lock (not kept in Calls)
}

// Arg returns the named argument as a string, from the form or JSON body.
// Non-string JSON values are returned as JSON text.
func (c Call) Arg(name string) string {
	if c.Form != nil {
		if v := c.Form.Get(name); v != "" {
			return v
		}
	}
	if v, ok := c.JSON[name]; ok {
		if s, ok := v.(string); ok {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

// OK reports whether Slack answered ok:true.
func (c Call) OK() bool { return c.Status == http.StatusOK && c.Error == "" }

// Message is a message the bot posted.
type Message struct {
	Channel   string
	User      string // for ephemeral messages: who sees it
	TS        string
	Text      string
	Blocks    json.RawMessage
	Ephemeral bool
	Edits     int // times chat.update changed it
	// Author is who wrote it: "" for the bot, else a person's user id
	// (PostAsUser); the bot can update only its own.
	Author string
	// ThreadTS is the parent's ts for a reply; Broadcast says the reply
	// was also sent to the channel (reply_broadcast).
	ThreadTS  string
	Broadcast bool
	// ReplyCount is how many replies a parent has, as Slack counts them.
	ReplyCount int
	Deleted    bool
	// Unfurls are the app's previews of its links (chat.unfurl), by URL;
	// Reactions, the reactions on it.
	Unfurls   map[string]json.RawMessage
	Reactions []Reaction
}

// IsReply reports whether m is a reply in a thread.
func (m Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// View is a view the bot published or opened.
type View struct {
	ID      string
	Type    string // "home" or "modal"
	User    string
	Hash    string
	Body    map[string]any // the view as the bot sent it
	Updated time.Time
	// Errors are the inline errors the app answered the last submission
	// of this modal with (block_id -> message), as Slack shows them.
	Errors map[string]string
}

// Ack is one acknowledgement the bot sent over the socket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	At         time.Time
	Latency    time.Duration // since the envelope was sent
	// Status is the HTTP answer's status for a request over HTTP (0 for
	// an ack over the socket).
	Status int
}

// New starts a fake Slack. Close it when done.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = "xoxb-fake-bot-token"
	}
	if opts.AppToken == "" {
		opts.AppToken = "xapp-fake-app-token"
	}
	if opts.TeamID == "" {
		opts.TeamID = "T0FAKE"
	}
	if opts.TeamName == "" {
		opts.TeamName = "Fake Workspace"
	}
	if opts.ClientID == "" {
		opts.ClientID = "1111.2222"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-client-secret"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 12 * time.Hour
	}
	if opts.SigningSecret == "" {
		opts.SigningSecret = "fake-signing-secret-0123456789abcdef"
	}
	if opts.AppID == "" {
		opts.AppID = "A0FAKE"
	}
	if opts.BotUser == "" {
		opts.BotUser = "U0BOT"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 5 * time.Second
	}
	if opts.DisconnectGrace == 0 {
		opts.DisconnectGrace = 2 * time.Second
	}
	if opts.TriggerTTL == 0 {
		opts.TriggerTTL = 3 * time.Second
	}
	s := newState(opts)
	s.ws = &workspaces{byTeam: map[string]*Server{opts.TeamID: s}, byToken: map[string]*Server{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("GET /link/", s.serveSocket)
	mux.HandleFunc("GET /oauth/v2/authorize", s.serveAuthorize)
	s.http = httptest.NewServer(mux)
	return s
}

// newState is a server's state for opts, with its users and channels and
// without a listener.
func newState(opts Options) *Server {
	s := &Server{

		opts:     opts,
		rnd:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		changed:  make(chan struct{}),
		users:    map[string]*User{},
		channels: map[string]*Channel{},
		dms:      map[string]string{},
		faults:   map[string][]*Fault{},
		tickets:  map[string]bool{},
		conns:    map[int]*conn{},
		pings:    opts.PingInterval > 0,
		sent:     map[string]time.Time{},
		acks:     map[string][]Ack{},
		views:    map[string]*View{},
		home:     map[string]string{},
		modals:   map[string]string{},
		awaiting: map[string]envelopeMeta{},
		triggers: map[string]trigger{},
		limiters: map[string]*rate.Limiter{},
		codes:    map[string]oauthCode{},
		refresh:  map[string]oauthCode{},
		tokens:   map[string]issued{},
	}
	if s.opts.ChannelBurst <= 0 {
		s.opts.ChannelBurst = 1
	}
	for _, u := range opts.Users {
		s.AddUser(u)
	}
	for _, c := range opts.Channels {
		s.AddChannel(c)
	}
	return s
}

// URL is the Web API base URL to give slack.OptionAPIURL.
func (s *Server) URL() string { return s.http.URL + "/api/" }

// BotToken and AppToken are the tokens the fake accepts.
func (s *Server) BotToken() string { return s.opts.BotToken }
func (s *Server) AppToken() string { return s.opts.AppToken }

// TeamID is the fake workspace's team id, TeamName its name.
func (s *Server) TeamID() string   { return s.opts.TeamID }
func (s *Server) TeamName() string { return s.opts.TeamName }

// Close drops every socket and stops the server.
func (s *Server) Close() {
	if s.root != nil {
		return // the root's to close
	}
	s.DropConnections()
	s.http.CloseClientConnections()
	s.http.Close()
}

// AddUser adds or replaces a workspace member.
func (s *Server) AddUser(u User) {
	if u.TZ == "" {
		u.TZ = "America/Los_Angeles"
	}
	if u.Name == "" {
		u.Name = strings.ToLower(u.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
}

// AddChannel adds or replaces a channel.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[c.ID] = &c
}

// RevokeTokens makes every later call answer token_revoked, as Slack does
// when the app is uninstalled.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

func (s *Server) notifyLocked() {
	s.rev++
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil blocks until cond (called with s.mu held) is true.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

// Calls returns the calls made to method ("" for all), oldest first.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Mark is a point in the call log; WaitForCall looks only after it.
type Mark int

// Mark returns the current end of the call log.
func (s *Server) Mark() Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Mark(len(s.calls))
}

// CallsSince returns every call made after mark.
func (s *Server) CallsSince(mark Mark) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls[min(int(mark), len(s.calls)):]...)
}

// WaitForCall waits for a call to method after mark for which match (if not
// nil) is true, and returns it.
func (s *Server) WaitForCall(ctx context.Context, mark Mark, method string, match func(Call) bool) (Call, error) {
	var found Call
	next := int(mark)
	err := s.waitUntil(ctx, func() bool {
		for ; next < len(s.calls); next++ {
			c := s.calls[next]
			if c.Method == method && (match == nil || match(c)) {
				found = c
				return true
			}
		}
		return false
	})
	if err != nil {
		return Call{}, fmt.Errorf("waiting for %s: %w", method, err)
	}
	return found, nil
}

// Messages returns the messages posted to channel ("" for all).
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if channel == "" || m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}

// Thread returns the message with ts in channel and, if it is a parent,
// its replies in order; found is false when there is no such message.
func (s *Server) Thread(channel, ts string) (parent Message, replies []Message, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		switch {
		case m.Channel != channel || m.Ephemeral:
		case m.TS == ts:
			parent, found = m, true
		case m.ThreadTS == ts:
			replies = append(replies, m)
		}
	}
	return parent, replies, found
}

// ChannelView is what a person sees in channel's main view, in order:
// the top-level messages and the replies broadcast to it.
func (s *Server) ChannelView(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel && !m.Ephemeral && !m.Deleted && (!m.IsReply() || m.Broadcast) {
			out = append(out, m)
		}
	}
	return out
}

// PostAsUser posts a message from a person (not the bot) to channel, as
// if they typed it; the bot cannot update it.
func (s *Server) PostAsUser(channel, user, text string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Message{Channel: channel, TS: s.newTS(), Text: text, Author: user}
	s.messages = append(s.messages, m)
	s.notifyLocked()
	return m
}

// DeleteMessage deletes a message, as a person with the right to may:
// updating it answers message_not_found from then on.
func (s *Server) DeleteMessage(channel, ts string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.messages {
		if m := &s.messages[i]; m.Channel == channel && m.TS == ts {
			m.Deleted = true
			s.notifyLocked()
			return true
		}
	}
	return false
}

// MessageCount is how many messages were posted (ephemeral ones included).
func (s *Server) MessageCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// HomeView returns the Home tab last published for user.
func (s *Server) HomeView(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[s.home[user]]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// ViewByID returns a view by its id.
func (s *Server) ViewByID(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// LastModal returns the modal the bot opened (or updated) last.
func (s *Server) LastModal() (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[s.modal]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// OpenModal returns the modal open on user's screen, if any: opened with a
// trigger of theirs, and not yet closed by a submission the app accepted.
func (s *Server) OpenModal(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[s.modals[user]]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// CloseModal closes user's modal, as the Cancel button does.
func (s *Server) CloseModal(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.modals, user)
	s.notifyLocked()
}

// Users returns the workspace's members by id.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []User
	for _, u := range s.sortedUsers() {
		out = append(out, *u)
	}
	return out
}

// Channels returns the workspace's channels by name.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.channels {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Rev counts the changes to the fake's state (calls, messages, views,
// acks): a watcher reloads when it moves.
func (s *Server) Rev() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// DMChannel returns the DM channel id opened with user, if any.
func (s *Server) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dms[user]
}

// Fault is a misbehaviour injected into one Web API method.
type Fault struct {
	Status     int           // HTTP status to answer (429, 500, 503…); 0 keeps 200
	RetryAfter time.Duration // with 429: the Retry-After header (whole seconds)
	Error      string        // ok:false error to answer with status 200
	Latency    time.Duration // delay before answering
	Times      int           // apply to this many matching calls; 0 = no limit
	Rate       float64       // share of matching calls hit (0 = all)
	Match      func(Call) bool

	hits int
}

// Inject adds a fault to method ("*" for every method but
// apps.connections.open). Faults are tried in the order added; the first
// that applies wins.
func (s *Server) Inject(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]*Fault{}
}

func (s *Server) pickFaultLocked(c Call) *Fault {
	list := s.faults[c.Method]
	if c.Method != "apps.connections.open" {
		list = append(list[:len(list):len(list)], s.faults["*"]...)
	}
	for _, f := range list {
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		if f.Match != nil && !f.Match(c) {
			continue
		}
		if f.Rate > 0 && f.Rate < 1 && s.rnd.Float64() >= f.Rate {
			continue
		}
		f.hits++
		return f
	}
	return nil
}

// apiError is a Slack ok:false answer.
type apiError string

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	call := Call{Method: method, At: time.Now()}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(body) == 0 {
			call.JSON = map[string]any{}
		} else if err := json.Unmarshal(body, &call.JSON); err != nil {
			s.finish(w, call, http.StatusOK, "invalid_json", nil)
			return
		}
	} else {
		call.Form, _ = url.ParseQuery(string(body))
		for k, v := range r.URL.Query() {
			call.Form[k] = v
		}
		if t := call.Form.Get("token"); t != "" {
			token = t
		}
		call.Form.Del("token")
	}
	s.ownerOf(method, token, &call).answer(w, r, method, call, token)
}

// answer answers call, made with token, as this workspace.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, method string, call Call, token string) {
	s.mu.Lock()
	f := s.pickFaultLocked(call)
	s.mu.Unlock()
	if f != nil {
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.Status == http.StatusTooManyRequests:
			secs := int((f.RetryAfter + time.Second - 1) / time.Second)
			call.RetryAfter = time.Duration(secs) * time.Second
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			s.finish(w, call, http.StatusTooManyRequests, "ratelimited", nil)
			return
		case f.Status >= 500:
			s.record(call, f.Status, "")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			io.WriteString(w, "<html><body>Slack is having trouble</body></html>")
			return
		case f.Error != "":
			s.finish(w, call, http.StatusOK, f.Error, nil)
			return
		}
	}

	call.token = token
	if e := s.checkToken(method, token); e != "" {
		s.finish(w, call, http.StatusOK, e, nil)
		return
	}
	if s.opts.Scopes != nil && token == s.opts.BotToken {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ","))
	}
	if needed, provided := s.missingScope(method, token); needed != "" {
		s.refuseScope(w, call, needed, provided)
		return
	}
	if s.overChannelRate(call) {
		call.RetryAfter = time.Second
		w.Header().Set("Retry-After", "1")
		s.finish(w, call, http.StatusTooManyRequests, "ratelimited", nil)
		return
	}
	if wait := s.overMethodRate(call); wait > 0 {
		call.RetryAfter = wait
		w.Header().Set("Retry-After", fmt.Sprint(int(wait/time.Second)))
		s.finish(w, call, http.StatusTooManyRequests, "ratelimited", nil)
		return
	}
	handler, ok := apiMethods[method]
	if !ok {
		s.finish(w, call, http.StatusOK, "unknown_method", nil)
		return
	}
	precheckView(&call)
	s.mu.Lock()
	resp, errs := handler(s, r, &call)
	s.mu.Unlock()
	if e, ok := resp.(apiError); ok {
		s.finish(w, call, http.StatusOK, string(e), errs)
		return
	}
	s.finish(w, call, http.StatusOK, "", resp)
}

// overChannelRate applies Options.ChannelRate to chat.postMessage.
func (s *Server) overChannelRate(c Call) bool {
	if s.opts.ChannelRate <= 0 || c.Method != "chat.postMessage" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := c.Arg("channel")
	lim, ok := s.limiters[ch]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(s.opts.ChannelRate), s.opts.ChannelBurst)
		s.limiters[ch] = lim
	}
	return !lim.Allow()
}

// overMethodRate applies Options.MethodRates: 0 lets the call through,
// else it is the Retry-After to answer (whole seconds, at least 1).
func (s *Server) overMethodRate(c Call) time.Duration {
	mr, ok := s.opts.MethodRates[c.Method]
	if !ok || mr.PerSecond <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, ok := s.limiters["method:"+c.Method]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(mr.PerSecond), max(mr.Burst, 1))
		s.limiters["method:"+c.Method] = lim
	}
	if lim.Allow() {
		return 0
	}
	r := lim.Reserve()
	wait := r.Delay()
	r.Cancel()
	return max(time.Second, (wait + time.Second - 1).Truncate(time.Second)) // whole seconds, rounded up
}

func (s *Server) checkToken(method, token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[token]; ok {
		switch {
		case t.revoked:
			return "token_revoked"
		case !t.expires.IsZero() && time.Now().After(t.expires):
			return "token_expired"
		case method == "apps.connections.open":
			return "not_allowed_token_type"
		}
		return ""
	}
	switch {
	case method == "oauth.v2.access":
		return "" // the app's credentials, not a token (oauthV2Access)
	case token == "":
		return "not_authed"
	case s.revoked && (token == s.opts.BotToken || token == s.opts.AppToken):
		return "token_revoked"
	case token == s.opts.AppToken:
		if method != "apps.connections.open" {
			return "not_allowed_token_type"
		}
	case token == s.opts.BotToken:
		if method == "apps.connections.open" {
			return "not_allowed_token_type"
		}
	default:
		return "invalid_auth"
	}
	return ""
}

func (s *Server) record(call Call, status int, slackErr string) {
	call.Status, call.Error, call.token, call.view = status, slackErr, "", nil
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()
}

// finish records the call and writes Slack's JSON answer. On error, resp may
// carry the detailed "errors" list of invalid_blocks.
func (s *Server) finish(w http.ResponseWriter, call Call, status int, slackErr string, resp any) {
	s.record(call, status, slackErr)
	var out map[string]any
	if slackErr != "" {
		out = map[string]any{"ok": false, "error": slackErr}
		if errs, ok := resp.([]string); ok && len(errs) > 0 {
			msgs := make([]string, len(errs))
			for i, e := range errs {
				msgs[i] = "[ERROR] " + e
			}
			if slackErr == "invalid_blocks" {
				out["errors"] = errs
			}
			out["response_metadata"] = map[string]any{"messages": msgs}
		}
	} else {
		out, _ = resp.(map[string]any)
		if out == nil {
			out = map[string]any{}
		}
		out["ok"] = true
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(out)
}
