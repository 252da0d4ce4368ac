package main

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir is ../shared beside the checkout, where the Slack reference
// samples live.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	for _, d := range []string{"../shared", "../../shared"} {
		if fi, err := os.Stat(filepath.Join(d, "slack-reference")); err == nil && fi.IsDir() {
			return d
		}
	}
	tb.Fatal("../shared/slack-reference not found beside the checkout")
	return ""
}

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(tb), "slack-reference", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// envelopeSamples are the reference samples that are whole Socket Mode
// envelopes (valid JSON with an envelope_id).
var envelopeSamples = []string{
	"03_envelope_slash_commands.python-slack-sdk.json",
	"03b_envelope_slash_commands.docs.json",
	"04b_envelope_interactive_block_actions_modal.python-slack-sdk.json",
	"06b_envelope_events_api_app_mention.python-slack-sdk.json",
	"06c_envelope_events_api_retry_attempt_1.bolt-python.json",
}
