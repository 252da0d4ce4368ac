package bot_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
)

// Channel messages (message.channels sends every one) are not written to
// the replicas' shared record of events taken; other events are.
func TestChannelMessagesAreNotRecordedForTheReplicas(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{{ID: "U1"}}, Channels: []fakeslack.Channel{{ID: "C1", Name: "ops"}}})
	t.Cleanup(fs.Close)
	var mu sync.Mutex
	var asked []string
	c := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	b := bot.New(c, &scripted{}, bot.Options{Log: slog.New(slog.DiscardHandler), AckBudget: time.Second,
		FirstSeen: func(id string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, id)
			return true, nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go b.Run(ctx)
	wctx := ctxT(t)
	msg := fs.EventsAPI(map[string]any{"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.000001", "channel_type": "channel"})
	home := fs.AppHomeOpened("U1")
	for _, env := range []fakeslack.Envelope{msg, home} {
		if _, err := fs.Send(wctx, env); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != home.Payload.(map[string]any)["event_id"] {
		t.Errorf("asked the replicas about %v: want the app_home_opened event only", asked)
	}
}
