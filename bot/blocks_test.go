package bot

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/slack-go/slack"
)

// withoutBlocks drops the view's and the message's blocks and nothing
// else: real payloads (Slack's samples) decode to the same callback, less
// the blocks.
func TestInteractionsAreReadWithoutTheirBlocks(t *testing.T) {
	for _, name := range []string{"04_payload_block_actions_home_view.java-slack-sdk.json", "05_payload_view_submission.java-slack-sdk.json"} {
		raw, err := os.ReadFile("../fakeslack/testdata/slack/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var full, light slack.InteractionCallback
		if err := json.Unmarshal(raw, &full); err != nil {
			t.Fatal(err)
		}
		stripped, err := withoutBlocks(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Unmarshal(stripped, &light); err != nil {
			t.Fatal(err)
		}
		if len(full.View.Blocks.BlockSet) == 0 {
			t.Fatalf("%s: the sample has no view blocks to drop", name)
		}
		if len(light.View.Blocks.BlockSet) != 0 || len(stripped) >= len(raw) {
			t.Errorf("%s: the blocks were kept", name)
		}
		full.View.Blocks, full.Message.Blocks = slack.Blocks{}, slack.Blocks{}
		full.RawState, light.RawState = nil, nil
		if !reflect.DeepEqual(full, light) {
			t.Errorf("%s: read without blocks differs:\n%+v\n%+v", name, full, light)
		}
	}
	for _, bad := range []string{"", "[]", `{"view":`, `{"view":{"blocks":[}`, `{"a":1`} {
		if _, err := withoutBlocks([]byte(bad)); err == nil {
			t.Errorf("%q was read", bad)
		}
	}
}
