package bot

import (
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestReadAnswer(t *testing.T) {
	for body, want := range map[string]string{
		`{"ok":true,"view":{"id":"V1","blocks":[{"type":"section"}]}}`:                         "",
		`{"view":{"id":"V1","blocks":[{"type":"section","text":{"text":"}"}}]},"ok":true}`:     "",
		`{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] x"]}}`: "invalid_blocks: [ERROR] x",
		`{"error":"not_authed","ok":false}`:                                                    "not_authed",
		`{"view":{}}`:                                                                          `no "ok"`,
		`<html>`:                                                                               "not a JSON object",
		`{"ok":false,"error":`:                                                                 "read slack answer",
	} {
		err := readAnswer(strings.NewReader(body))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", body, err)
		case want != "" && (err == nil || !strings.Contains(errString(err), want)):
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	var se slack.SlackErrorResponse
	if err := readAnswer(strings.NewReader(`{"ok":false,"error":"channel_not_found"}`)); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("ok:false is not a SlackErrorResponse: %v", err)
	}
}

func errString(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err + ": " + strings.Join(se.ResponseMetadata.Messages, "; ")
	}
	return err.Error()
}
