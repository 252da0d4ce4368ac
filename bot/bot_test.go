package bot_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
)

// scripted is a Handler whose answers the test sets.
type scripted struct {
	command func(ctx context.Context, cmd slack.SlashCommand) bot.Reply
	afterMu sync.Mutex
	after   []string
}

func (s *scripted) Event(context.Context, slackevents.EventsAPIEvent) bot.Reply {
	return bot.Reply{}
}
func (s *scripted) Interaction(context.Context, slack.InteractionCallback) bot.Reply {
	return bot.Reply{}
}
func (s *scripted) Command(ctx context.Context, cmd slack.SlashCommand) bot.Reply {
	return s.command(ctx, cmd)
}
func (s *scripted) ran(text string) {
	s.afterMu.Lock()
	defer s.afterMu.Unlock()
	s.after = append(s.after, text)
}
func (s *scripted) afters() []string {
	s.afterMu.Lock()
	defer s.afterMu.Unlock()
	return append([]string(nil), s.after...)
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func runBot(t *testing.T, h bot.Handler, budget time.Duration) (*fakeslack.Server, *logBuf, func()) {
	t.Helper()
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{{ID: "U1"}}})
	t.Cleanup(fs.Close)
	logs := &logBuf{}
	c := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	b := bot.New(c, h, bot.Options{Log: slog.New(slog.NewTextHandler(logs, nil)), AckBudget: budget})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return fs, logs, stop
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestAckCarriesHandlerAnswerThenAfterRuns(t *testing.T) {
	h := &scripted{}
	h.command = func(_ context.Context, cmd slack.SlashCommand) bot.Reply {
		return bot.Reply{
			Ack:   map[string]any{"text": "hi " + cmd.UserID},
			After: func(context.Context) { h.ran(cmd.Text) },
		}
	}
	fs, _, stop := runBot(t, h, time.Second)
	ack, err := fs.Send(ctxT(t), fs.SlashCommand("U1", "C1", "/x", "one"))
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Payload) != `{"text":"hi U1"}` {
		t.Errorf("ack payload = %s", ack.Payload)
	}
	stop() // waits for in-flight work
	if got := h.afters(); len(got) != 1 || got[0] != "one" {
		t.Errorf("after work = %v", got)
	}
}

func TestSlowHandlerIsAckedWithinBudgetAndItsWorkStillRuns(t *testing.T) {
	h := &scripted{}
	release := make(chan struct{})
	h.command = func(context.Context, slack.SlashCommand) bot.Reply {
		<-release
		return bot.Reply{Ack: map[string]any{"text": "late"}, After: func(context.Context) { h.ran("after") }}
	}
	fs, logs, stop := runBot(t, h, 50*time.Millisecond)
	ctx := ctxT(t)
	id, err := fs.Post(ctx, fs.SlashCommand("U1", "C1", "/x", ""))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := fs.WaitAck(ctx, id)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Payload) != 0 {
		t.Errorf("a too-slow handler's ack carried %s; want an empty ack", ack.Payload)
	}
	stop()
	if got := h.afters(); len(got) != 1 {
		t.Errorf("after work of a slow handler ran %d times, want 1", len(got))
	}
	if len(fs.Acks(id)) != 1 {
		t.Errorf("acked %d times", len(fs.Acks(id)))
	}
	if !strings.Contains(logs.String(), "handler too slow") {
		t.Error("no log line for the slow handler")
	}
}

func TestPanickingHandlerIsAckedAndTheBotGoesOn(t *testing.T) {
	h := &scripted{}
	h.command = func(_ context.Context, cmd slack.SlashCommand) bot.Reply {
		if cmd.Text == "boom" {
			panic("boom")
		}
		return bot.Reply{Ack: map[string]any{"text": "fine"}}
	}
	fs, logs, _ := runBot(t, h, time.Second)
	ctx := ctxT(t)
	if _, err := fs.Send(ctx, fs.SlashCommand("U1", "C1", "/x", "boom")); err != nil {
		t.Fatal(err)
	}
	ack, err := fs.Send(ctx, fs.SlashCommand("U1", "C1", "/x", "next"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), "fine") {
		t.Errorf("after a panic the next ack = %s", ack.Payload)
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Error("panic not logged")
	}
}

func TestOversizedAckFallsBackToEmptyAck(t *testing.T) {
	h := &scripted{}
	h.command = func(context.Context, slack.SlashCommand) bot.Reply {
		return bot.Reply{Ack: map[string]any{"text": strings.Repeat("x", 25000)}}
	}
	fs, logs, _ := runBot(t, h, time.Second)
	ack, err := fs.Send(ctxT(t), fs.SlashCommand("U1", "C1", "/x", ""))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if len(ack.Payload) != 0 && json.Unmarshal(ack.Payload, &p) == nil && p["text"] != nil {
		t.Errorf("oversized payload was sent (%d bytes)", len(ack.Payload))
	}
	if !strings.Contains(logs.String(), "ack payload refused") {
		t.Error("oversized ack not logged")
	}
}

// The work after acks runs as many at a time as there are processors, so
// that a crowd of it leaves them free for the next acks; work held up for
// AfterWait (slots taken by work waiting on a slow Slack) runs anyway.
func TestWorkAfterAcksIsBoundedButNeverStuck(t *testing.T) {
	h := &scripted{}
	release := make(chan struct{})
	var mu sync.Mutex
	running, most := 0, 0
	h.command = func(_ context.Context, cmd slack.SlashCommand) bot.Reply {
		return bot.Reply{After: func(context.Context) {
			if cmd.Text == "fast" {
				h.ran("fast")
				return
			}
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			<-release
			mu.Lock()
			running--
			mu.Unlock()
		}}
	}
	fs, _, stop := runBot(t, h, time.Second)
	ctx := ctxT(t)
	slots := runtime.NumCPU()
	for range slots {
		if _, err := fs.Send(ctx, fs.SlashCommand("U1", "C1", "/x", "slow")); err != nil {
			t.Fatal(err)
		}
	}
	// The acks come first; the work after them takes its slots a moment
	// later (on a loaded machine, after the next command's ack).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		mu.Lock()
		all := running == slots
		mu.Unlock()
		if all {
			break
		}
	}
	start := time.Now()
	if _, err := fs.Send(ctx, fs.SlashCommand("U1", "C1", "/x", "fast")); err != nil {
		t.Fatal(err)
	}
	for len(h.afters()) == 0 && time.Since(start) < 10*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	waited := time.Since(start)
	mu.Lock()
	peak := most
	mu.Unlock()
	close(release)
	stop()
	if len(h.afters()) != 1 {
		t.Fatal("the work after an ack never ran while the slots were held")
	}
	if waited < 900*time.Millisecond {
		t.Errorf("it ran after %v, before AfterWait: the slots do not bound anything", waited)
	}
	if peak > slots {
		t.Errorf("%d ran at once, more than the %d slots", peak, slots)
	}
}
