// Package app is the program: its configuration (config.go), the wiring of
// every part into one running Main (store, Slack client and socket, delivery,
// digests, handlers, the platform's HTTP API), and the commands the binary
// runs (run, demo, help). End-to-end tests start a Main on port :0.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/connect"
	"github.com/paligo/paligo-slack/delivery"
	"github.com/paligo/paligo-slack/handlers"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
	"github.com/paligo/paligo-slack/workspaces"
)

const usage = `paligo-slack brings Paligo and pipeline notifications into Slack.

Usage:
  paligo-slack [run] [flags]   start the bot (the default)
  paligo-slack demo [flags]    try it without Slack: an embedded workspace and a page
  paligo-slack compact --db FILE --out NEW
                               copy the database, stopped, into a new file
                               without its free pages
  paligo-slack migrate --from DB --to DB [--overwrite]
                               copy every record, the bot stopped, from a
                               bbolt file to PostgreSQL (postgres://…) or back
  paligo-slack version         show the version, commit and build time
  paligo-slack healthcheck [URL]
                               exit 0 when the running bot is ready (GET
                               /readyz on PALIGO_SLACK_LISTEN, or URL), else 1:
                               for a container's health check (no shell needed)
  paligo-slack help [COMMAND]  show this help, or a command's

Settings come from the environment; each has a flag of run
(paligo-slack help run lists them).
`

// commands are the subcommands; a first argument that is none of them and
// not a flag is refused, pointing to help.
var commands = []string{"run", "demo", "compact", "migrate", "version", "healthcheck", "help"}

// run is the whole program; it returns the exit status.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 {
		switch a := args[0]; {
		case slices.Contains(commands, a) || a == "-h" || a == "--help" || a == "--version" || a == "-version":
			cmd, args = a, args[1:]
		case !strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "paligo-slack: unknown command %q; paligo-slack help lists them\n", a)
			return 2
		}
	}
	tuneGC(getenv) // for every command: the servers (run, demo) are the ones it matters to
	switch cmd {
	case "help", "-h", "--help":
		if len(args) > 0 && args[0] != "help" && slices.Contains(commands, args[0]) {
			// help COMMAND is COMMAND --help.
			return Run(ctx, []string{args[0], "--help"}, getenv, stdout, stderr)
		}
		if len(args) > 0 {
			fmt.Fprintf(stderr, "paligo-slack: no command %q; the commands are %s\n", args[0], strings.Join(commands, ", "))
			return 2
		}
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, Build())
		return 0
	case "demo":
		return runDemo(ctx, args, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, getenv, stdout, stderr)
	case "compact":
		return runCompact(args, stdout, stderr)
	case "migrate":
		return runMigrate(args, stdout, stderr)
	}
	cfg, err := ParseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	m := NewMain(cfg, log)
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "paligo-slack: %v\n", err)
		return 1
	}
	status := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-m.Done():
		fmt.Fprintf(stderr, "paligo-slack: %v\n", err)
		status = 1
	}
	if err := m.Close(); err != nil {
		log.Error("shutdown", "err", err)
		status = 1
	}
	return status
}

// Main is the running program: store, Slack connection and HTTP listener.
type Main struct {
	Config Config
	Log    *slog.Logger

	// Tuning that only tests change.
	PingTimeout    time.Duration
	ReconnectDelay time.Duration // first delay after a short-lived connection
	// Delivery tunes the delivery loop (pacing, workers, backoff).
	Delivery delivery.DeliveryOptions
	// Digests tunes the digest loop (its cron schedule).
	Digests delivery.DigestOptions
	// Retention tunes the retention loop (how often it passes, its batch);
	// Config.Retention says how long things are kept.
	Retention store.Retention
	// HTTP bounds how long the listener waits for a client (zero fields
	// take the defaults of DefaultHTTPTimeouts).
	HTTP HTTPTimeouts
	// Clock, if set, is the program's time for everything it schedules and
	// records (tests move it; Slack pacing keeps real time).
	Clock func() time.Time

	store      *store.Store
	client     *bot.Client
	workspaces *workspaces.Registry
	bot        *bot.Bot
	deliverer  *delivery.Deliverer
	// connect is the Connect flow, with SLACK_CLIENT_ID; connDone closes
	// when its token refresh loop has stopped.
	connect  *connect.Flow
	connDone chan struct{}
	// followDone closes when the registry stops following other
	// replicas' changes to installations (PostgreSQL only).
	followDone   chan struct{}
	delivDone    chan error
	digests      *delivery.Digests
	digDone      chan error
	retention    *store.Retention
	retDone      chan error
	listener     net.Listener
	server       *http.Server
	profiles     *http.Server
	profilesAddr string
	cancel       context.CancelFunc
	botDone      chan error
	done         chan error
}

// NewMain returns a Main for cfg.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{Config: cfg, Log: log}
}

// Open starts everything and returns once the listener is bound and the
// Slack connection is being made: the steps below, in order, each building
// on what the ones before made (wiring).
func (m *Main) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	w := &wiring{reg: prometheus.NewRegistry()}
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, step := range []func(context.Context, *wiring) error{
		m.openStore,      // the database
		m.openWorkspaces, // the Slack client, the primary workspace, the connected ones
		m.newDelivery,    // delivery, digests, invitations' links
		m.newSlackSide,   // the handlers, the bot (Socket Mode, Slack's HTTP requests)
		m.newConnect,     // the Connect flow, with SLACK_CLIENT_ID
		m.listen,         // the platform's API, /healthz, /metrics
		m.startLoops,     // the bot, delivery, digests, retention, the replicas' follow
	} {
		if err := step(ctx, w); err != nil {
			return err
		}
	}
	m.Log.Info("started", "listen", m.listener.Addr().String(), "db", m.store.Engine())
	return nil
}

// wiring is what Open's steps hand on to the next.
type wiring struct {
	reg    *prometheus.Registry
	team   string // the primary workspace's, once auth.test said it
	single bool   // a primary workspace, of SLACK_BOT_TOKEN
	sealer *paligo.Sealer
	tokens *paligo.InviteTokens // nil: invitations are off
	router *handlers.Router
	// slackHTTP, connect and connections are the listener's Slack-facing
	// routes (nil when off).
	slackHTTP, connect, connections http.Handler
}

func (m *Main) openStore(_ context.Context, _ *wiring) (err error) {
	m.store, err = store.Open(m.Config.DB, store.Options{Replica: m.Config.Replica})
	if err != nil {
		return err
	}
	if m.Clock != nil {
		m.store.Now = m.Clock
	}
	return nil
}

func (m *Main) openWorkspaces(ctx context.Context, w *wiring) (err error) {
	m.client = bot.NewClient(string(m.Config.BotToken), string(m.Config.AppToken), m.Config.APIURL)
	if m.ReconnectDelay > 0 {
		m.client.SetReconnectPacing(m.ReconnectDelay, 100*m.ReconnectDelay, 10*time.Second)
	}
	m.client.RegisterMetrics(w.reg)
	registerBuildInfo(w.reg, Build())
	if m.Config.TokenKey != "" {
		if w.sealer, err = paligo.NewSealer(string(m.Config.TokenKey)); err != nil {
			return fmt.Errorf("PALIGO_SLACK_TOKEN_KEY %v", err)
		}
	}
	w.single = m.Config.BotToken != ""
	m.workspaces = workspaces.New(m.store, m.client, w.single, w.sealer)
	if !w.single {
		return nil // the workspaces are the installations alone
	}
	auth, err := m.client.AuthTestContext(ctx)
	if err != nil {
		if v, _ := bot.Classify(err); v == bot.Fatal {
			return fmt.Errorf("SLACK_BOT_TOKEN was rejected by Slack (%v)", err)
		}
		// Slack unreachable: the socket's own reconnect loop keeps trying,
		// and delivery asks auth.test again before it starts.
		m.Log.Warn("auth.test failed; continuing", "err", err)
		return nil
	}
	w.team = auth.TeamID
	m.workspaces.SetPrimary(w.team, auth.Team, auth.UserID)
	return nil
}

func (m *Main) newDelivery(_ context.Context, w *wiring) error {
	dopts := m.Delivery
	dopts.Log, dopts.Registry, dopts.Team, dopts.MoreURL = m.Log, w.reg, w.team, m.Config.ActivityURL
	dopts.Workspaces, dopts.NoPrimary = m.workspaces, !w.single
	dopts.OnPrimary = func(t string) {
		if t != w.team {
			m.workspaces.SetPrimary(t, "", "")
		}
	}
	if dopts.ChannelRate == 0 {
		dopts.ChannelRate = rate.Limit(m.Config.ChannelRate)
	}
	if m.Config.InviteURL != "" && m.Config.IngestSecret != "" {
		w.tokens = paligo.NewInviteTokens([]byte(m.Config.IngestSecret), []byte(m.Config.IngestSecretPrevious))
		dopts.InviteLink = inviteLink(m.Config.InviteURL, w.tokens)
	}
	if m.Config.ActionsURL != "" {
		dopts.ActionsURL, dopts.CallbackSecret = m.Config.ActionsURL, []byte(m.Config.IngestSecret)
	}
	m.deliverer = delivery.NewDeliverer(m.store, m.client, dopts)
	gopts := m.Digests
	gopts.Log, gopts.Registry = m.Log, w.reg
	m.digests = delivery.NewDigests(m.store, m.deliverer, m.client, gopts)
	m.deliverer.SetLocator(m.digests)
	return nil
}

func (m *Main) newSlackSide(_ context.Context, w *wiring) error {
	w.router = &handlers.Router{Store: m.store, Slack: m.client, Log: m.Log, Admins: m.Config.Admins,
		Delivery: m.deliverer, Digests: m.digests, Callbacks: m.Config.ActionsURL != "", Workspaces: m.workspaces,
		UnfurlDomains: m.Config.UnfurlDomains,
		Team:          func() string { spec, _ := m.deliverer.FanOutSpec(); return spec.Team }}
	if w.tokens != nil {
		w.router.InviteURL = m.Config.InviteURL
	}
	botOpts := bot.Options{Log: m.Log, Registry: w.reg, PingTimeout: m.PingTimeout, NoSocket: m.Config.AppToken == ""}
	if m.store.Shared() {
		// Slack may send an event, or its retry, to any replica.
		botOpts.FirstSeen = m.store.FirstSeen
	}
	m.bot = bot.New(m.client, w.router, botOpts)
	if m.Config.SigningSecret != "" {
		w.slackHTTP = m.bot.HTTPHandler(string(m.Config.SigningSecret))
	}
	return nil
}

func (m *Main) newConnect(_ context.Context, w *wiring) error {
	if m.Config.ClientID == "" {
		return nil
	}
	flow := &connect.Flow{Store: m.store, Secret: []byte(m.Config.IngestSecret), Previous: []byte(m.Config.IngestSecretPrevious),
		States: paligo.NewStateTokens([]byte(m.Config.IngestSecret)), Sealer: w.sealer,
		ClientID: m.Config.ClientID, ClientSecret: string(m.Config.ClientSecret),
		OAuthURL: m.Config.OAuthURL, APIURL: m.Config.APIURL, PublicURL: m.Config.PublicURL, Scopes: bot.Scopes,
		Now: func() time.Time { return m.store.Now() }, Log: m.Log, HTTP: &http.Client{Timeout: 15 * time.Second},
		Changed: m.installationChanged}
	m.workspaces.SetRefresh(flow.Refresh)
	w.connect, w.connections = flow.Handler(), flow.Connections()
	m.connect = flow
	return nil
}

func (m *Main) listen(_ context.Context, w *wiring) (err error) {
	// One set of keys checks every signed request of the platform.
	keys := signing.Keys{Secret: []byte(m.Config.IngestSecret), Previous: []byte(m.Config.IngestSecretPrevious),
		Now: func() time.Time { return m.store.Now() }}
	ingest := &api.Ingest{
		Store: m.store, Keys: keys, Log: m.Log,
		FanOut: m.deliverer.FanOutSpec, Accepted: m.deliverer.Accepted, Events: api.NewEventsCounter(w.reg), Tokens: w.tokens,
		NoPrimary: m.Config.BotToken == "",
	}
	senders := &api.Sources{Ingest: ingest, Auth: m.Config.Sources, DBTCloudURL: m.Config.DBTCloudURL,
		Now: func() time.Time { return m.store.Now() }, Log: m.Log, Requests: api.NewSourceRequestsCounter(w.reg)}
	directory := &api.Directory{Workspaces: m.workspaces, Keys: keys, Log: m.Log}
	inviteRuns := &api.InviteRuns{Store: m.store, Inviter: w.router, Workspaces: m.workspaces, Keys: keys, Log: m.Log,
		MaxPeople: views.MaxInvitees, MaxNote: views.MaxInviteNote}
	m.listener, err = net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("PALIGO_SLACK_LISTEN: %w", err)
	}
	ht := m.HTTP.withDefaults()
	m.server = &http.Server{
		Handler: api.NewHTTP(api.Endpoints{Ingest: ingest, Sources: senders,
			Trace:     &api.Trace{Store: m.store, Keys: keys, Log: m.Log},
			RouteTest: &api.RouteTest{Store: m.store, Keys: keys, Log: m.Log, Spec: m.deliverer.FanOutSpec},
			Invites:   &api.Invites{Store: m.store, Tokens: w.tokens, Keys: keys, Log: m.Log},
			Channels:  http.HandlerFunc(directory.Channels), People: http.HandlerFunc(directory.People),
			StartInvites: http.HandlerFunc(inviteRuns.Post), InviteRun: http.HandlerFunc(inviteRuns.Get), Slack: w.slackHTTP,
			Connect: w.connect, Connections: w.connections, Version: Build().Version}, m.healthChecks(), w.reg),
		ReadHeaderTimeout: ht.ReadHeader,
		ReadTimeout:       ht.Read,
		WriteTimeout:      ht.Write,
		IdleTimeout:       ht.Idle,
		MaxHeaderBytes:    64 << 10,
	}
	m.done = make(chan error, 4)
	go func() {
		if err := m.server.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.done <- fmt.Errorf("listener: %w", err)
		}
	}()
	return nil
}

// healthChecks are what /healthz says.
func (m *Main) healthChecks() []api.HealthCheck {
	return []api.HealthCheck{
		{Name: "store", Check: func() error {
			if err := m.store.Ping(); err != nil {
				return err
			}
			return m.store.Writable()
		}},
		{Name: "database", Info: m.store.Engine},
		{Name: "version", Info: func() string { return Build().String() }},
		{Name: "replica", Info: m.store.Replica},
		{Name: "digest_lock", Info: func() string {
			// Which replica runs the digest loop (this one, on a file).
			holder, err := m.store.LockHolder(delivery.DigestLock)
			switch {
			case err != nil:
				return "unknown: " + err.Error()
			case holder == "":
				return "none"
			}
			return holder
		}},
		{Name: "slack", Check: func() error {
			if !m.bot.Connected() {
				return errors.New("not connected to Slack")
			}
			return nil
		}},
	}
}

func (m *Main) startLoops(ctx context.Context, w *wiring) error {
	botCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.botDone = make(chan error, 1)
	go func() {
		err := m.bot.Run(botCtx)
		m.botDone <- err
		if err != nil {
			m.done <- err
		}
	}()
	if m.store.Shared() {
		// Other replicas disconnect, refresh and reinstall workspaces too:
		// the clients held here follow.
		m.followDone = make(chan struct{})
		go func() {
			defer close(m.followDone)
			m.workspaces.Follow(botCtx, workspaces.FollowEvery, m.installationChanged)
		}()
	}
	if m.connect != nil {
		m.connDone = make(chan struct{})
		go func() {
			defer close(m.connDone)
			m.connect.Run(botCtx)
		}()
	}
	m.delivDone = make(chan error, 1)
	go func() {
		err := m.deliverer.Run(botCtx)
		m.delivDone <- err
		if err != nil {
			m.done <- fmt.Errorf("delivery: %w", err)
		}
	}()
	m.digDone = make(chan error, 1)
	go func() {
		err := m.digests.Run(botCtx)
		m.digDone <- err
		if err != nil {
			m.done <- fmt.Errorf("digests: %w", err)
		}
	}()
	if m.Config.Pprof != "" {
		if err := m.serveProfiles(); err != nil {
			return err
		}
	}
	m.startRetention(botCtx, w.reg)
	return nil
}

// startRetention starts the loop that removes what has settled once it is
// older than Config.Retention, and counts what it removes.
func (m *Main) startRetention(ctx context.Context, reg prometheus.Registerer) {
	removed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paligo_slack_retention_removed_total",
		Help: "Records removed by retention, by kind (events, receipts, digests_sent, invites, invite_runs, unmatched, mutes).",
	}, []string{"kind"})
	passes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paligo_slack_retention_passes_total",
		Help: "Retention passes, by result (ok, error).",
	}, []string{"result"})
	reg.MustRegister(removed, passes)
	r := m.Retention
	r.Store, r.Log = m.store, m.Log
	if r.Keep = m.Config.Retention; r.Keep <= 0 {
		r.Keep = 30 * 24 * time.Hour
	}
	r.Passed = func(res store.PruneResult, err error) {
		if err != nil {
			passes.WithLabelValues("error").Inc()
		} else {
			passes.WithLabelValues("ok").Inc()
		}
		for kind, n := range map[string]int{"events": res.Events, "receipts": res.Receipts, "digests_sent": res.DigestsSent,
			"invites": res.Invites, "invite_runs": res.InviteRuns, "unmatched": res.Unmatched, "mutes": res.Mutes, "living": res.Living} {
			removed.WithLabelValues(kind).Add(float64(n))
		}
		if m.Retention.Passed != nil {
			m.Retention.Passed(res, err)
		}
	}
	m.retention = &r
	m.retDone = make(chan error, 1)
	go func() { m.retDone <- r.Run(ctx) }()
}

// RetentionLoop is the retention loop, once Open has succeeded.
func (m *Main) RetentionLoop() *store.Retention { return m.retention }

// serveProfiles serves net/http/pprof on its own listener
// (PALIGO_SLACK_PPROF), never on the ingest listener.
func (m *Main) serveProfiles() error {
	ln, err := net.Listen("tcp", m.Config.Pprof)
	if err != nil {
		return fmt.Errorf("PALIGO_SLACK_PPROF: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.profiles = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	m.profilesAddr = ln.Addr().String()
	go m.profiles.Serve(ln)
	m.Log.Info("profiles", "listen", ln.Addr().String())
	return nil
}

// ProfilesAddr is the profile listener's address, "" when there is none.
func (m *Main) ProfilesAddr() string { return m.profilesAddr }

// HTTPTimeouts bound the listener's wait for slow or stalled clients, so a
// client that trickles its headers or body cannot hold a connection open.
type HTTPTimeouts struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the answer
	Idle       time.Duration // a kept-alive connection between requests
}

// DefaultHTTPTimeouts are the listener's bounds. A 1 MiB ingest body at
// 100 KB/s fits in Read.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 15 * time.Second, Idle: 60 * time.Second}

func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	d := DefaultHTTPTimeouts
	if t.ReadHeader > 0 {
		d.ReadHeader = t.ReadHeader
	}
	if t.Read > 0 {
		d.Read = t.Read
	}
	if t.Write > 0 {
		d.Write = t.Write
	}
	if t.Idle > 0 {
		d.Idle = t.Idle
	}
	return d
}

// installationChanged is told that team's installation changed, here (the
// Connect flow) or at another replica (Registry.Follow): the registry and
// delivery open it again, with its new token, or stop serving it.
func (m *Main) installationChanged(team string) {
	m.workspaces.Forget(team)
	m.deliverer.Changed(team)
}

// Workspaces is the program's registry of workspaces, once Open has
// succeeded (tests look into it).
func (m *Main) Workspaces() *workspaces.Registry { return m.workspaces }

// Store is the program's store, once Open has succeeded (tests look into it).
func (m *Main) Store() *store.Store { return m.store }

// RefreshTokens refreshes the connected workspaces' tokens that are due
// now, as the loop does every minute (tests); 0 without the Connect flow.
func (m *Main) RefreshTokens(ctx context.Context) (int, error) {
	if m.connect == nil {
		return 0, nil
	}
	return m.connect.RefreshDue(ctx)
}

// DigestLoop is the digest loop, once Open has succeeded.
func (m *Main) DigestLoop() *delivery.Digests { return m.digests }

// Addr is the listener's address (useful with :0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Done delivers an error when the program cannot go on (Slack rejected the
// tokens, the listener failed).
func (m *Main) Done() <-chan error { return m.done }

// Close stops the listener, lets in-flight Slack work finish, and closes the
// store.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, m.server.Shutdown(sctx))
		cancel()
	}
	if m.profiles != nil {
		errs = append(errs, m.profiles.Close())
	}
	if m.cancel != nil {
		m.cancel()
		<-m.botDone
		if m.delivDone != nil {
			<-m.delivDone
		}
		if m.digDone != nil {
			<-m.digDone
		}
		if m.retDone != nil {
			<-m.retDone
		}
		if m.connDone != nil {
			<-m.connDone
		}
		if m.followDone != nil {
			<-m.followDone
		}
		m.cancel = nil
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
		m.store = nil
	}
	return errors.Join(errs...)
}

// inviteLink returns the link of an invitation: the invitation page with
// the signed token as its "token" query parameter.
func inviteLink(base string, tokens *paligo.InviteTokens) func(paligo.Invite) string {
	return func(inv paligo.Invite) string {
		u, err := url.Parse(base)
		if err != nil {
			return ""
		}
		q := u.Query()
		q.Set("token", tokens.Sign(inv.ID, inv.Expires))
		u.RawQuery = q.Encode()
		return u.String()
	}
}
