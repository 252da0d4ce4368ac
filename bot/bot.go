// Package bot is the Slack side of the wire: the Socket Mode connection and
// its one dispatcher, which acks every envelope within Slack's 3 seconds with
// the handler's Reply as payload and runs the Reply's slower work after; the
// Web API client, with paced reconnects and call metrics; and the one reading
// of Slack's errors (Classify: retry, refused for good, or a dead token) and
// the one Backoff every retry waits by. Of this project it imports only the
// vocabulary (paligo): the handlers and delivery build on it.
package bot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/paligo/paligo-slack/paligo"
)

// Handler answers envelopes (the program's is the handlers package's
// Router); bot calls it and knows nothing more of it.
type Handler interface {
	Event(ctx context.Context, ev slackevents.EventsAPIEvent) Reply
	Interaction(ctx context.Context, cb slack.InteractionCallback) Reply
	Command(ctx context.Context, cmd slack.SlashCommand) Reply
}

// Client is the Slack Web API client with its connection pacing.
type Client struct {
	*slack.Client
	pacer *reconnectPacer
	calls *prometheus.CounterVec
	// For the calls made here rather than through slack-go.
	http          *http.Client
	token, apiURL string

	// scopes remembers what Slack says of each token's scopes.
	scopes *scopeWatch
}

// scopeWatch remembers, by token, the scopes Slack lists in the
// X-OAuth-Scopes header of its answers: every Web API call tells them, so
// knowing them costs no call of its own.
type scopeWatch struct {
	mu      sync.Mutex
	byToken map[[32]byte][]string // by the token's SHA-256: no second copy of it
}

func (w *scopeWatch) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		if h, ok := resp.Header["X-Oauth-Scopes"]; ok && len(h) > 0 {
			if tok := requestToken(r); tok != "" {
				var scopes []string
				for _, s := range strings.Split(h[0], ",") {
					if s = strings.TrimSpace(s); s != "" {
						scopes = append(scopes, s)
					}
				}
				w.mu.Lock()
				w.byToken[sha256.Sum256([]byte(tok))] = scopes
				w.mu.Unlock()
			}
		}
		return resp, nil
	})
}

// requestToken is the token a Web API request was made with: its
// Authorization header, or (slack-go's form posts) its token field.
func requestToken(r *http.Request) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok
	}
	if r.GetBody == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return ""
	}
	body, err := r.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	raw, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return ""
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return ""
	}
	return form.Get("token")
}

// GrantedScopes are the bot token's scopes as Slack last listed them
// (X-OAuth-Scopes); false until an answer said them.
func (c *Client) GrantedScopes(context.Context) ([]string, bool) {
	c.scopes.mu.Lock()
	defer c.scopes.mu.Unlock()
	s, ok := c.scopes.byToken[sha256.Sum256([]byte(c.token))]
	return s, ok
}

// NewClient returns a Web API client for the bot token that opens Socket
// Mode connections with the app token. apiURL is Slack's (or a fake's) base
// URL, ending in "/".
func NewClient(botToken, appToken, apiURL string) *Client {
	pacer := newReconnectPacer()
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paligo_slack_api_calls_total",
		Help: "Slack Web API calls, by method and answer (ok, the ok:false error, ratelimited, http_5xx, network).",
	}, []string{"method", "answer"})
	scopes := &scopeWatch{byToken: map[[32]byte][]string{}}
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: scopes.wrap(countCalls(calls, pacer.wrap(slackTransport()))),
	}
	api := slack.New(botToken,
		slack.OptionAppLevelToken(appToken),
		slack.OptionAPIURL(apiURL),
		slack.OptionHTTPClient(hc),
	)
	return &Client{Client: api, pacer: pacer, calls: calls, http: hc, token: botToken, apiURL: apiURL, scopes: scopes}
}

// slackTransport is Go's default transport but for the connections it
// keeps: every Web API call goes to one host, and the default keeps two
// idle connections a host, so a crowd of calls (twenty first visits to the
// Home tab, delivery's calls in flight) closed all but two after each burst
// and dialed them again, TLS handshakes and all, for the next.
func slackTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxIdleSlackConns
	return t
}

// MaxIdleSlackConns is how many idle connections to Slack are kept open.
const MaxIdleSlackConns = 64

// PublishHome publishes user's Home tab (views.publish). It is slack-go's
// PublishViewContext but for the answer: Slack echoes the whole view back,
// and slack-go decodes it into blocks, which on a Monday morning of first
// visits was some 40% of the program's CPU (BenchmarkMondayHomeTabs). Only
// ok, error and response_metadata are read here; the errors are the ones
// slack-go would return (RateLimitedError, StatusCodeError,
// SlackErrorResponse), so Classify and CallAgain treat them alike.
func (c *Client) PublishHome(ctx context.Context, user string, view slack.HomeTabViewRequest) error {
	if user == "" {
		return slack.ErrParametersMissing
	}
	body, err := json.Marshal(slack.PublishViewContextRequest{UserID: user, View: view})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"views.publish", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
		secs, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
		if err != nil {
			return err
		}
		return &slack.RateLimitedError{RetryAfter: time.Duration(secs) * time.Second}
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	defer io.Copy(io.Discard, resp.Body) // so the connection is kept
	return readAnswer(resp.Body)
}

// readAnswer reads a Web API answer's ok, error and response_metadata,
// skipping every other member; an answer that says "ok": true before
// anything else is not read further.
func readAnswer(r io.Reader) error {
	dec := jsontext.NewDecoder(r)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return fmt.Errorf("slack answer is not a JSON object: %v", err)
	}
	var answer slack.SlackResponse
	seenOK := false
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return fmt.Errorf("read slack answer: %w", err)
		}
		switch name.String() {
		case "ok":
			tok, err := dec.ReadToken()
			if err != nil {
				return fmt.Errorf("read slack answer: %w", err)
			}
			answer.Ok, seenOK = tok.Kind() == 't', true
			if answer.Ok {
				return nil
			}
		case "error":
			tok, err := dec.ReadToken()
			if err != nil {
				return fmt.Errorf("read slack answer: %w", err)
			}
			answer.Error = tok.String()
		case "response_metadata":
			raw, err := dec.ReadValue()
			if err != nil {
				return fmt.Errorf("read slack answer: %w", err)
			}
			json.Unmarshal(raw, &answer.ResponseMetadata)
		default:
			if err := dec.SkipValue(); err != nil {
				return fmt.Errorf("read slack answer: %w", err)
			}
		}
	}
	if !seenOK {
		return errors.New("slack answer has no \"ok\"")
	}
	return answer.Err()
}

// WithToken returns a client of the same Slack (its HTTP client, call
// counter and pacing) for another workspace's bot token.
func (c *Client) WithToken(botToken string) *Client {
	api := slack.New(botToken, slack.OptionAPIURL(c.apiURL), slack.OptionHTTPClient(c.http))
	return &Client{Client: api, pacer: c.pacer, calls: c.calls, http: c.http, token: botToken, apiURL: c.apiURL, scopes: c.scopes}
}

// RegisterMetrics adds the client's call counter to reg.
func (c *Client) RegisterMetrics(reg prometheus.Registerer) { reg.MustRegister(c.calls) }

// SetReconnectPacing changes how reconnects after short-lived connections
// are spaced (tests shorten it).
func (c *Client) SetReconnectPacing(minDelay, maxDelay, stable time.Duration) {
	c.pacer.mu.Lock()
	defer c.pacer.mu.Unlock()
	c.pacer.Min, c.pacer.Max, c.pacer.Stable = minDelay, maxDelay, stable
}

// Options tune a Bot.
type Options struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	// AckBudget is how long a handler may take before the envelope is acked
	// without its answer. Slack allows 3s; the default 2.5s leaves room for
	// the network.
	AckBudget time.Duration
	// PingTimeout is how long without a ping from Slack before the socket is
	// considered dead and replaced. Default 30s.
	PingTimeout time.Duration
	// WorkTimeout bounds the work a handler does after its ack. Default 30s.
	WorkTimeout time.Duration
	// AfterWait is the longest a handler's work after its ack waits for
	// one of the processors' slots before it runs anyway. Default 1s.
	AfterWait time.Duration
	// NoSocket serves Slack's HTTP requests only (HTTPHandler): Run opens
	// no Socket Mode connection (there is no app token).
	NoSocket bool
	// FirstSeen, when set, is asked of each Events API event this process
	// has not seen: false means another process sharing the work (a
	// replica) took it, and it is acked and left alone. It fails open: on
	// an error the event is handled, as a repeat is better than a loss.
	FirstSeen func(eventID string) (bool, error)
}

// Bot is Slack's side of the program: Socket Mode envelopes and (http.go)
// Slack's HTTP requests, through one dispatcher.
type Bot struct {
	sm      *socketmode.Client
	handler Handler
	log     *slog.Logger
	opts    Options

	connected atomic.Bool
	inflight  sync.WaitGroup
	seen      *recentIDs
	metrics   *metrics
	// afterSlots bounds the handlers' After work running at once.
	afterSlots chan struct{}
}

// New returns a Bot that will connect with client and dispatch to h.
func New(client *Client, h Handler, opts Options) *Bot {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.AckBudget <= 0 {
		opts.AckBudget = 2500 * time.Millisecond
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 30 * time.Second
	}
	if opts.WorkTimeout <= 0 {
		opts.WorkTimeout = 30 * time.Second
	}
	if opts.AfterWait <= 0 {
		opts.AfterWait = time.Second
	}
	sm := socketmode.New(client.Client,
		socketmode.OptionPingInterval(opts.PingTimeout),
		socketmode.OptionLog(slogWriter{opts.Log}),
		// Slack's envelopes are far below this; a larger frame is not Slack.
		socketmode.OptionReadLimit(4<<20),
	)
	return &Bot{
		sm: sm, handler: h, log: opts.Log, opts: opts,
		seen:       newRecentIDs(4096),
		afterSlots: make(chan struct{}, runtime.NumCPU()),
		metrics:    newMetrics(opts.Registry),
	}
}

// Connected reports whether the socket is up (Slack said hello).
func (b *Bot) Connected() bool { return b.connected.Load() }

// Run connects and serves envelopes until ctx is done (then it lets
// in-flight work finish and returns nil) or Slack rejects the tokens (then it
// returns an error wrapping ErrAuth).
func (b *Bot) Run(ctx context.Context) error {
	if b.opts.NoSocket {
		// Slack's requests come over HTTP; there is nothing to connect.
		b.connected.Store(true)
		<-ctx.Done()
		b.inflight.Wait()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- b.sm.RunContext(ctx) }()

	var fatal error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-runErr:
			runErr = nil
			if err != nil && !errors.Is(err, context.Canceled) {
				fatal = fmt.Errorf("%w: %v", ErrAuth, err)
				if v, _ := Classify(err); v != Fatal {
					fatal = fmt.Errorf("socket mode stopped: %w", err)
				}
			}
			break loop
		case evt := <-b.sm.Events:
			if err := b.handle(ctx, evt); err != nil {
				fatal = err
				break loop
			}
		}
	}
	cancel()
	b.connected.Store(false)
	b.metrics.connected.Set(0)
	if runErr != nil {
		<-runErr
	}
	b.inflight.Wait()
	return fatal
}

func (b *Bot) handle(ctx context.Context, evt socketmode.Event) error {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.setConnected(false)
		if c, ok := evt.Data.(*slack.ConnectingEvent); ok && (c.Attempt > 1 || c.ConnectionCount > 0) {
			b.log.Info("reconnecting to Slack", "attempt", c.Attempt, "connection_count", c.ConnectionCount)
		}
	case socketmode.EventTypeConnectionError:
		b.setConnected(false)
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			b.log.Warn("socket mode connection failed", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeConnected:
		b.metrics.connections.Inc()
		b.log.Info("connected to Slack")
	case socketmode.EventTypeHello:
		b.setConnected(true)
	case socketmode.EventTypeInvalidAuth:
		return fmt.Errorf("%w: Slack refused the app token", ErrAuth)
	case socketmode.EventTypeIncomingError:
		b.setConnected(false)
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			b.log.Warn("socket read failed; reconnecting", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			b.log.Warn("socket write failed", "err", e.Cause)
		}
	case socketmode.EventTypeErrorBadMessage:
		b.badMessage(ctx, evt)
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
		if evt.Request == nil || evt.Request.EnvelopeID == "" {
			b.log.Warn("envelope without envelope_id ignored", "type", evt.Type)
			return nil
		}
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.dispatch(ctx, b.socketEnvelope(evt))
		}()
	default:
		b.log.Debug("socket mode event ignored", "type", evt.Type)
	}
	return nil
}

func (b *Bot) setConnected(up bool) {
	b.connected.Store(up)
	if up {
		b.metrics.connected.Set(1)
	} else {
		b.metrics.connected.Set(0)
	}
}

// badMessage logs a frame slack-go could not parse and, if it carries an
// envelope id, acks it so that Slack does not send it again.
func (b *Bot) badMessage(ctx context.Context, evt socketmode.Event) {
	e, _ := evt.Data.(*socketmode.ErrorBadMessage)
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	if e != nil {
		_ = json.Unmarshal(e.Message, &env)
	}
	b.metrics.envelopes.WithLabelValues("malformed").Inc()
	b.log.Warn("malformed envelope ignored", "envelope_id", env.EnvelopeID, "envelope_type", env.Type, "err", errOf(e))
	if env.EnvelopeID != "" {
		if err := b.sm.AckCtx(ctx, env.EnvelopeID, nil); err != nil {
			b.log.Warn("ack malformed envelope", "envelope_id", env.EnvelopeID, "err", err)
		}
	}
}

func errOf(e *socketmode.ErrorBadMessage) error {
	if e == nil {
		return nil
	}
	return e.Cause
}

// envelope is one request from Slack, whichever way it came (a Socket
// Mode envelope, an HTTP request): what it holds, and how to ack it.
type envelope struct {
	kind string // events_api, interactive, slash_commands
	data any    // slackevents.EventsAPIEvent, slack.InteractionCallback or slack.SlashCommand
	// eventID is an Events API event's id (Slack retries an event whose
	// ack was late or lost); retry, retryReason say which try this is.
	eventID     string
	retry       int
	retryReason string
	// replay, for a request Slack signed over HTTP, names its body: the
	// same signed request sent again within the signature's five minutes
	// (a replay, Slack never repeats an interaction or a command) is
	// acked and not acted on again.
	replay string
	// ack answers Slack: payload nil acks with nothing.
	ack func(ctx context.Context, payload any) error
	// id names the envelope in logs (the Socket Mode envelope id).
	id string
}

// socketEnvelope is evt as an envelope acked over the socket.
func (b *Bot) socketEnvelope(evt socketmode.Event) envelope {
	req := evt.Request
	env := envelope{kind: string(evt.Type), data: evt.Data, id: req.EnvelopeID,
		retry: req.RetryAttempt, retryReason: req.RetryReason}
	if req.Type == socketmode.RequestTypeEventsAPI {
		var p struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(req.Payload, &p) == nil {
			env.eventID = p.EventID
		}
	}
	env.ack = func(ctx context.Context, payload any) error {
		err := b.sm.AckCtx(ctx, req.EnvelopeID, payload)
		if err != nil && payload != nil {
			// Most likely over Slack's 20 KB: an empty ack still stops
			// Slack from retrying, and the log says what was lost.
			b.log.Error("ack payload refused; acking empty", "envelope_id", req.EnvelopeID, "err", err)
			err = b.sm.AckCtx(ctx, req.EnvelopeID, nil)
		}
		return err
	}
	return env
}

// dispatch runs the handler, acks with its answer (or empty if it is too
// slow), then runs the handler's After work.
func (b *Bot) dispatch(ctx context.Context, env envelope) {
	start := time.Now()
	b.metrics.envelopes.WithLabelValues(env.kind).Inc()

	if env.kind == string(socketmode.EventTypeEventsAPI) && env.eventID != "" && !b.firstSeen(env.eventID, !localOnly(env)) {
		b.log.Info("repeated event ignored", "event_id", env.eventID, "retry_attempt", env.retry, "retry_reason", env.retryReason)
		b.ack(ctx, env, nil, start)
		return
	}

	if env.replay != "" && !b.firstSeen(env.replay, true) {
		b.metrics.refused.WithLabelValues("replay").Inc()
		b.log.Info("repeated request ignored", "envelope_type", env.kind, "request", env.replay[:16])
		b.ack(ctx, env, nil, start)
		return
	}

	replies := make(chan Reply, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				b.metrics.panics.Inc()
				b.log.Error("handler panicked", "envelope_type", env.kind, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				replies <- Reply{}
			}
		}()
		replies <- b.route(ctx, env)
	}()

	timer := time.NewTimer(b.opts.AckBudget)
	defer timer.Stop()
	var reply Reply
	select {
	case reply = <-replies:
		b.ack(ctx, env, reply.Ack, start)
	case <-timer.C:
		b.log.Warn("handler too slow; acked without its answer", "envelope_type", env.kind, "budget", b.opts.AckBudget)
		b.ack(ctx, env, nil, start)
		reply = <-replies
	}
	if reply.After != nil {
		// In-flight work finishes even when shutdown has begun.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.WorkTimeout)
		defer cancel()
		// As many at a time as there are processors: a crowd of work (twenty
		// Home tabs drawn at once) must leave them free for the next acks.
		// Work held up longer than AfterWait (the slots taken by calls that
		// wait on a slow Slack, not on the processors) goes on without one.
		t := time.NewTimer(b.opts.AfterWait)
		select {
		case b.afterSlots <- struct{}{}:
			defer func() { <-b.afterSlots }()
		case <-t.C:
		}
		t.Stop()
		reply.After(wctx)
	}
}

func (b *Bot) ack(ctx context.Context, env envelope, payload any, start time.Time) {
	if err := env.ack(ctx, payload); err != nil {
		b.log.Warn("ack not sent", "envelope_id", env.id, "err", err)
		return
	}
	b.metrics.ackSeconds.WithLabelValues(env.kind).Observe(time.Since(start).Seconds())
}

func (b *Bot) route(ctx context.Context, env envelope) Reply {
	switch data := env.data.(type) {
	case slackevents.EventsAPIEvent:
		if data.Type != slackevents.CallbackEvent {
			b.log.Info("events api envelope ignored", "outer_type", data.Type)
			return Reply{}
		}
		return b.handler.Event(ctx, data)
	case slack.InteractionCallback:
		return b.handler.Interaction(ctx, data)
	case slack.SlashCommand:
		return b.handler.Command(ctx, data)
	default:
		b.log.Warn("envelope with unexpected data ignored", "type", env.kind, "data_type", fmt.Sprintf("%T", env.data))
		return Reply{}
	}
}

// firstSeen reports whether the event id is new: to this process, then,
// when shared, to the others sharing its work (Options.FirstSeen).
func (b *Bot) firstSeen(id string, shared bool) bool {
	if !b.seen.add(id) {
		return false
	}
	if b.opts.FirstSeen == nil || !shared {
		return true
	}
	first, err := b.opts.FirstSeen(id)
	if err != nil {
		b.log.Warn("could not ask the replicas whether an event is new; handling it", "event_id", id, "err", err)
		return true
	}
	return first
}

// localOnly reports whether an Events API event is told apart from its
// repeats by the handler itself, not by the replicas' shared record: a
// channel message (message.channels sends every one of the channels the
// bot is in; the few it acts on, replies in its threads, are queued once
// by their own id), so that a busy channel costs the database no write a
// message.
func localOnly(env envelope) bool {
	ev, ok := env.data.(slackevents.EventsAPIEvent)
	return ok && ev.InnerEvent.Type == "message"
}

// recentIDs remembers the last n ids added.
type recentIDs struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records id and reports whether it was new.
func (r *recentIDs) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.set[id] = struct{}{}
	return true
}

// slogWriter adapts slack-go's logger to slog at debug level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Output(_ int, s string) error {
	w.log.Debug(strings.TrimSpace(s), "component", "socketmode")
	return nil
}

// UsersPage is one page of users.list: up to limit people from cursor, and
// the cursor of the next page ("" after the last).
func (c *Client) UsersPage(ctx context.Context, cursor string, limit int) ([]slack.User, string, error) {
	p, err := c.GetUsersPaginated(slack.GetUsersOptionLimit(limit), slack.GetUsersOptionCursor(cursor)).Next(ctx)
	if err != nil {
		return nil, "", err
	}
	return p.Users, p.Cursor, nil
}

// ChannelsPage reads one page of the channels the bot can see
// (conversations.list: public ones, and private ones it is in; archived
// ones left out) and the cursor of the next page ("" after the last).
func (c *Client) ChannelsPage(ctx context.Context, cursor string, limit int) ([]slack.Channel, string, error) {
	return c.GetConversationsContext(ctx, &slack.GetConversationsParameters{
		Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: limit, Cursor: cursor})
}

// Scopes are the bot scopes the app asks for (the manifests' and the
// Connect flow's).
var Scopes = []string{"channels:read", "groups:read", "chat:write", "chat:write.public", "im:write", "users:read", "users:read.email", "commands",
	"channels:history", "groups:history", "links:read", "links:write", "reactions:write"}

// IsAdmin reports whether u is a workspace admin or owner.
func IsAdmin(u slack.User) bool { return !u.Deleted && (u.IsAdmin || u.IsOwner || u.IsPrimaryOwner) }

// RoleOf is what the directory keeps of u for drawing: a deactivated
// person is no admin, and has no email that could make them one through
// PALIGO_SLACK_ADMINS.
func RoleOf(u slack.User) paligo.Role {
	r := paligo.Role{Admin: IsAdmin(u), Name: DisplayName(u)}
	if !u.Deleted {
		r.Email = u.Profile.Email
	}
	return r
}

// DisplayName is u's real name, else their user name.
func DisplayName(u slack.User) string {
	if u.RealName != "" {
		return u.RealName
	}
	return u.Name
}

// Notifiable reports whether u is someone the bot may notify: neither a
// bot nor deactivated. A lookup by email, the workspace directory and the
// user events all judge a person by it.
func Notifiable(u slack.User) bool { return !u.Deleted && !u.IsBot }
