package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/paligo/paligo-slack/demo"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/sources"
)

// runDemo is `paligo-slack demo`: the same Main as `run`, against a fake
// Slack workspace in the same process, with the demo page beside it. The
// bbolt file lives in a temp dir and goes with the process, like the
// workspace.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("demo", flag.ContinueOnError)
	fl.SetOutput(stderr)
	listen := fl.String("listen", "127.0.0.1:8090", "address of the demo page (port 0 picks a free one)")
	open := fl.Bool("open", false, "open the page in the default browser")
	verbose := fl.Bool("v", false, "log what the bot does (JSON on stderr)")
	profiles := fl.String("pprof", "", "address of a listener for Go's profiles (/debug/pprof/); none when empty")
	fl.Usage = func() {
		fmt.Fprint(stderr, "Usage: paligo-slack demo [--listen 127.0.0.1:8090] [--open] [-v]\n\n"+
			"Runs the bot against an embedded Slack workspace and serves a page where you\n"+
			"can be any of its people, use the Home tab, commands and forms, and send events.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	d, err := StartDemo(ctx, *listen, log, *profiles)
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack demo: %v\n", err)
		return 1
	}
	defer d.Close()
	fmt.Fprintf(stdout, `Paligo for Slack — demo workspace

  page:          %s
  ingest API:    %s/v1/events
  ingest secret: %s   (a throwaway one, made for this run)

Open the page, pick who you are (Ada is an admin), and try the Home tab,
/route-alerts, /paligo-invite and the sample events. "Connect Northwind
Docs" at the top connects a second workspace through the Connect flow and
Slack's OAuth, as a vendor's customer would. Ctrl-C stops it; the
workspaces and the database go with it.
`, d.PageURL, d.BotURL, d.Secret)
	if *open {
		if err := exec.Command("xdg-open", d.PageURL).Start(); err != nil {
			fmt.Fprintf(stderr, "paligo-slack demo: could not open a browser (%v); open %s yourself\n", err, d.PageURL)
		}
	}
	select {
	case <-ctx.Done():
		return 0
	case err := <-d.Main.Done():
		fmt.Fprintf(stderr, "paligo-slack demo: %v\n", err)
		return 1
	}
}

// demoRun is a running demo: workspace, program and page.
type demoRun struct {
	Slack   *fakeslack.Server
	Main    *Main
	Clock   *demo.Clock
	PageURL string
	BotURL  string
	Secret  string

	dir  string
	ln   net.Listener
	page *http.Server
}

func StartDemo(ctx context.Context, listen string, log *slog.Logger, profiles string) (d *demoRun, err error) {
	d = &demoRun{Clock: &demo.Clock{}}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.ln, err = net.Listen("tcp", listen); err != nil {
		return d, fmt.Errorf("--listen: %w", err)
	}
	d.PageURL = "http://" + d.ln.Addr().String()
	d.page = &http.Server{ReadHeaderTimeout: 5 * time.Second}
	if d.dir, err = os.MkdirTemp("", "paligo-slack-demo-"); err != nil {
		return d, err
	}
	key := make([]byte, 24)
	rand.Read(key)
	d.Secret = hex.EncodeToString(key)

	ws := demo.Workspace()
	ws.Now = d.Clock.Now // messages are stamped with the demo's time
	d.Slack = fakeslack.New(ws)
	// A second workspace, connected from the page through the Connect flow.
	second := d.Slack.AddWorkspace(demo.Second())
	d.Slack.InstallInto(second)
	tokenKey := make([]byte, 32)
	rand.Read(tokenKey)
	cfg := Config{
		BotToken: Secret(d.Slack.BotToken()), AppToken: Secret(d.Slack.AppToken()), APIURL: d.Slack.URL(),
		DB: filepath.Join(d.dir, "paligo-slack.db"), Listen: "127.0.0.1:0",
		IngestSecret: Secret(d.Secret), ChannelRate: 1,
		InviteURL: d.PageURL + "/invite", ActivityURL: d.PageURL + "/?at=dm",
		// The page stands in for the platform's side of the buttons.
		ActionsURL: d.PageURL + "/platform/actions",
		// The Connect flow: the fake's OAuth, back through the page.
		ClientID: d.Slack.ClientID(), ClientSecret: Secret(d.Slack.ClientSecret()), OAuthURL: d.Slack.OAuthURL(),
		PublicURL: d.PageURL, TokenKey: Secret(base64.StdEncoding.EncodeToString(tokenKey)),
	}
	cfg.Pprof = profiles // "" serves none
	// The samples' links are previewed when pasted in a channel.
	cfg.UnfurlDomains = []string{"paligo.example", "app.paradime.example", "acme.paligoapp.com", "cloud.getdbt.com", "prometheus.example.com"}
	// Every sender's own webhooks, each with credentials of a scheme it
	// can use; the page sends the senders' samples with them.
	cfg.Sources = map[string]sources.Auth{}
	for _, src := range sources.Senders {
		secret := make([]byte, 16)
		rand.Read(secret)
		v := string(src.Schemes[0]) + ":" + hex.EncodeToString(secret)
		if src.Schemes[0] == sources.Basic {
			v = "basic:" + src.Name + ":" + hex.EncodeToString(secret)
		}
		if cfg.Sources[src.Name], err = src.ParseAuth(v); err != nil {
			return d, err
		}
	}
	d.Main = NewMain(cfg, log)
	d.Main.Clock = d.Clock.Now
	if err := d.Main.Open(ctx); err != nil {
		return d, err
	}
	d.BotURL = "http://" + d.Main.Addr()
	// #oncall hears the senders' alerts and runs (the ingest API's samples
	// go where people route them).
	for _, text := range []string{"alerts source=alertmanager,grafana replies=on", "runs source=dbt-cloud,paradime replies=on"} {
		sub, err := paligo.ParseSubscription("C0ONCALL", text)
		if err == nil {
			_, err = d.Main.Store().Subscribe(sub)
		}
		if err != nil {
			return d, fmt.Errorf("demo subscription: %w", err)
		}
	}
	d.page.Handler = demo.New(demo.Options{
		Slack: d.Slack, BotURL: d.BotURL, Secret: []byte(d.Secret), Clock: d.Clock, Addr: d.ln.Addr().String(),
		RunDigests: d.Main.digests.RunOnce, Log: log,
		Second: second, SecondOrg: demo.SecondOrg, Sources: cfg.Sources, UnfurlDomains: cfg.UnfurlDomains,
		Connected: func(team string) bool {
			in, found, err := d.Main.Store().Installation(team)
			return err == nil && found && in.Disconnected == ""
		},
	})
	go d.page.Serve(d.ln)
	return d, nil
}

// Close stops the page, the program and the workspace, and removes the
// database.
func (d *demoRun) Close() {
	if d.page != nil {
		d.page.Close() // closes d.ln too once serving
	}
	if d.ln != nil {
		d.ln.Close()
	}
	if d.Main != nil {
		d.Main.Close()
	}
	if d.Slack != nil {
		d.Slack.Close()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}
