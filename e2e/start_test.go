package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/paligo/paligo-slack/app"
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
	h := start(t, fs)
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
