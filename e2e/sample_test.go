package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "slack", name))
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
