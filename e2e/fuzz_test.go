package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/views"
)

// FuzzEnvelopes sends arbitrary Socket Mode frames to the whole program
// (slack-go's decoding, the dispatcher, every handler, a real store) over
// the fake's socket. Whatever the frame, the program must:
//   - ack it if it carries an envelope id and is a request (not hello or
//     disconnect), with a payload Slack takes (JSON under 20 KB, views
//     within Block Kit's limits);
//   - stay up and keep answering (a known command sent after it is acked);
//   - never draw a message or view Slack would refuse (invalid_blocks,
//     invalid_arguments).
//
// Seeds: Slack's reference envelopes (testdata/slack), the fake's envelopes
// for every slash command, Home tab control and form, and malformed frames.
func FuzzEnvelopes(f *testing.F) {
	fs := newFake(f, fakeslack.Options{Users: inviteUsers, Channels: testChannels})
	h := start(f, fs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	home := h.openHome(ctx, "U0ADMIN")
	cancel()

	for _, name := range envelopeSamples {
		f.Add(readSample(f, name))
	}
	wrap := func(typ string, payload []byte) []byte {
		b, _ := fakeslack.Frame("seed-"+typ, fakeslack.Envelope{Type: typ, Payload: json.RawMessage(payload)})
		return b
	}
	f.Add(wrap("events_api", readSample(f, "06_event_callback_app_home_opened.slack-go.json")))
	f.Add(wrap("interactive", readSample(f, "04_payload_block_actions_home_view.java-slack-sdk.json")))
	f.Add(wrap("interactive", readSample(f, "05_payload_view_submission.java-slack-sdk.json")))

	var envs []fakeslack.Envelope
	for _, c := range []struct{ cmd, text string }{
		{"/route-alerts", ""}, {"/route-alerts", "list"}, {"/route-alerts", "help"}, {"/route-alerts", "nonsense"},
		{"/paligo-invite", ""}, {"/paligo-invite", "help"}, {"/paligo-invite", "<@U0CARL|carl> Welcome!"},
		{"/paligo-invite", "<#C0OPS|ops>"}, {"/unknown", "x"},
	} {
		envs = append(envs, fs.SlashCommand("U0ADMIN", "C0OPS", c.cmd, c.text))
	}
	envs = append(envs, fs.AppHomeOpened("U0ALICE"))
	for _, id := range []string{views.ActionFrequency, views.ActionDigestNow, views.ActionRetryAll} {
		if env, err := fs.BlockAction("U0ADMIN", home, id, nil); err == nil {
			envs = append(envs, env)
		}
	}
	for _, cb := range []string{views.CallbackInvite, views.CallbackRoutes, "nothing"} {
		envs = append(envs, fs.ViewSubmission("U0ADMIN", fakeslack.View{ID: "V0SEED", Type: "modal",
			Body: map[string]any{"callback_id": cb}}, map[string]any{}))
	}
	for i, env := range envs {
		b, err := fakeslack.Frame(fmt.Sprintf("seed-%d", i), env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, m := range []string{
		`{not json`, `[]`, `""`, `{"type":"events_api"}`,
		`{"envelope_id":"bad-1","type":"interactive","payload":"not an object"}`,
		`{"envelope_id":"bad-2","type":"events_api","payload":{"type":"event_callback","event":42}}`,
		`{"envelope_id":"bad-3","type":"slash_commands","payload":[1,2,3]}`,
		`{"envelope_id":"bad-4","type":"something_new","payload":{}}`,
	} {
		f.Add([]byte(m))
	}

	f.Fuzz(func(t *testing.T, frame []byte) {
		// A command of its own each time, as Slack sends it (a trigger of
		// its own): the same signed request twice is a replay, acked and
		// not answered.
		sentinel := fs.SlashCommand("U0ALICE", "C0OPS", "/route-alerts", "help")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var env struct {
			EnvelopeID any    `json:"envelope_id"`
			Type       string `json:"type"`
		}
		var id string
		mustAck := false
		if json.Unmarshal(frame, &env) == nil {
			id, _ = env.EnvelopeID.(string)
			mustAck = id != "" && env.Type != "hello" && env.Type != "disconnect"
		}
		before := len(fs.Acks(id))
		mark := fs.Mark()
		if err := fs.SendRaw(ctx, frame); err != nil {
			t.Fatal(err)
		}
		if mustAck {
			if err := poll(ctx, time.Millisecond, func() bool { return len(fs.Acks(id)) > before }); err != nil {
				t.Fatalf("envelope %q (%s) was never acked", id, env.Type)
			}
			for _, a := range fs.Acks(id)[before:] {
				checkAckPayload(t, a.Payload)
			}
		}
		if ack, err := fs.Send(ctx, sentinel); err != nil || !bytes.Contains(ack.Payload, []byte("route-alerts")) {
			t.Fatalf("the program stopped answering after the frame: %s %v", ack.Payload, err)
		}
		for _, c := range fs.CallsSince(mark) {
			if slices.Contains([]string{"invalid_blocks", "invalid_arguments", "invalid_json", "no_text"}, c.Error) {
				t.Errorf("%s answered %s: the program drew something Slack refuses", c.Method, c.Error)
			}
		}
	})
}

// checkAckPayload checks an ack's payload as Slack would take it.
func checkAckPayload(t *testing.T, p json.RawMessage) {
	t.Helper()
	if len(p) == 0 {
		return
	}
	if len(p) >= 20<<10 {
		t.Errorf("ack payload of %d bytes: Slack drops it", len(p))
	}
	var ack map[string]any
	if err := json.Unmarshal(p, &ack); err != nil {
		t.Errorf("ack payload is not a JSON object: %s", p)
		return
	}
	if v, ok := ack["view"]; ok {
		if errs := fakeslack.ValidateView(v); len(errs) > 0 {
			t.Errorf("ack view Slack refuses: %v", errs)
		}
	}
	if ack["response_action"] == "errors" {
		if _, ok := ack["errors"].(map[string]any); !ok {
			t.Errorf("response_action errors without an errors object: %s", p)
		}
	}
}
