package e2e

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/store/storetest"
)

// Starting and stopping the whole program as the command does.

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestRejectedBotTokenStopsAtStart(t *testing.T) {
	fs := newFake(t, fakeOpts())
	var stdout, stderr bytes.Buffer
	env := map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-wrong-token", "SLACK_APP_TOKEN": fs.AppToken(), "SLACK_API_URL": fs.URL(),
		"PALIGO_SLACK_DB": t.TempDir() + "/x.db", "PALIGO_SLACK_LISTEN": "127.0.0.1:0",
	}
	code := app.Run(ctxT(t), nil, envOf(env), &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)") {
		t.Errorf("stderr = %q", stderr.String())
	}
	if strings.Contains(stderr.String(), "wrong-token") {
		t.Error("token in the error")
	}
}

func TestSecondProcessOnSameDBFailsClearly(t *testing.T) {
	fs := newFake(t, fakeOpts())
	// The file is one process's; on PostgreSQL replicas share the database.
	h := startOn(t, fs, filepath.Join(t.TempDir(), "one.db"), time.Time{})
	var stdout, stderr bytes.Buffer
	env := map[string]string{
		"SLACK_BOT_TOKEN": fs.BotToken(), "SLACK_APP_TOKEN": fs.AppToken(), "SLACK_API_URL": fs.URL(),
		"PALIGO_SLACK_DB": h.db, "PALIGO_SLACK_LISTEN": "127.0.0.1:0",
	}
	code := app.Run(ctxT(t), nil, envOf(env), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "in use by another process") {
		t.Errorf("exit %d, stderr %q; want 1 and 'in use by another process'", code, stderr.String())
	}
}

func TestGracefulShutdownOnSignalContext(t *testing.T) {
	fs := newFake(t, fakeOpts())
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	env := map[string]string{
		"SLACK_BOT_TOKEN": fs.BotToken(), "SLACK_APP_TOKEN": fs.AppToken(), "SLACK_API_URL": fs.URL(),
		"PALIGO_SLACK_DB": t.TempDir() + "/x.db", "PALIGO_SLACK_LISTEN": "127.0.0.1:0",
	}
	done := make(chan int)
	go func() { done <- app.Run(ctx, []string{"run"}, envOf(env), &stdout, &stderr) }()
	if err := fs.WaitConnections(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	cancel() // what SIGINT/SIGTERM do through signal.NotifyContext
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after shutdown; stderr %s", code, stderr.String())
		}
	case <-ctxT(t).Done():
		t.Fatal("did not shut down")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line: %s", stderr.String())
	}
}

// A connection string's password reaches no log and no error, whatever goes
// wrong: a server that is not there, a wrong password, a database that does
// not exist; and the bot runs on the right one, saying which database in
// its log and at /healthz, without the password.
func TestPostgresPasswordNeverShows(t *testing.T) {
	base := storetest.PostgresBase(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	with := func(f func(u *url.URL)) string {
		c := *u
		f(&c)
		return c.String()
	}
	fs := newFake(t, fakeOpts())
	for name, dsn := range map[string]string{
		"no server":      "postgres://paligo:" + password + "@127.0.0.1:1/paligo?connect_timeout=2",
		"wrong password": with(func(c *url.URL) { c.User = url.UserPassword("paligo", password+"x") }),
		"no database":    with(func(c *url.URL) { c.Path = "/nothere" }),
	} {
		var stdout, stderr bytes.Buffer
		env := map[string]string{
			"SLACK_BOT_TOKEN": fs.BotToken(), "SLACK_APP_TOKEN": fs.AppToken(), "SLACK_API_URL": fs.URL(),
			"PALIGO_SLACK_DB": dsn, "PALIGO_SLACK_LISTEN": "127.0.0.1:0",
		}
		code := app.Run(ctxT(t), nil, envOf(env), &stdout, &stderr)
		// Shown redacted if a check fails: the test's own output must not
		// hold the password either.
		out := stdout.String() + stderr.String()
		t.Logf("%s: %s", name, strings.ReplaceAll(out, password, "<password>"))
		if code != 1 || !strings.Contains(out, "postgres") {
			t.Errorf("%s: exit %d; want 1 and an error naming postgres", name, code)
		}
		if strings.Contains(out, password) {
			t.Errorf("%s: the password is in the output", name)
		}
	}

	dsn := storetest.Postgres(t)
	h := startOn(t, fs, dsn, time.Time{})
	if code, body := h.get("/healthz"); code != 200 || !strings.Contains(body, `"database":"postgres 127.0.0.1:`) || strings.Contains(body, password) {
		t.Errorf("/healthz = %d %s", code, strings.ReplaceAll(body, password, "<password>"))
	}
	h.main.Close()
	if logs := h.logs.String(); !strings.Contains(logs, "postgres 127.0.0.1:") || strings.Contains(logs, password) {
		t.Errorf("the log names no postgres database, or holds the password:\n%s", strings.ReplaceAll(logs, password, "<password>"))
	}
}
