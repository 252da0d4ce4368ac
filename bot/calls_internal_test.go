package bot

import (
	"strings"
	"testing"
)

func TestAnswerOutcome(t *testing.T) {
	view := `"view":{"id":"V1","type":"home","blocks":[` + strings.Repeat(`{"type":"divider"},`, 50) + `{"type":"divider"}]}`
	for _, c := range []struct {
		body     string
		ok       bool
		code     string
		readable bool
	}{
		{`{"ok":true,` + view + `}`, true, "", true},
		{`{` + view + `,"ok":true}`, true, "", true},
		{`{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] x"]}}`, false, "invalid_blocks", true},
		{`{"error":"not_authed","ok":false}`, false, "not_authed", true},
		{`{"ok":false}`, false, "", true},
		{`{"error":"x"}`, false, "", false},
		{`[]`, false, "", false},
		{`{"ok":false,"error":"x"`, false, "", false},
		{``, false, "", false},
		{`<html>502</html>`, false, "", false},
	} {
		ok, code, readable := answerOutcome([]byte(c.body))
		if ok != c.ok || code != c.code || readable != c.readable {
			t.Errorf("answerOutcome(%.60q) = %v, %q, %v; want %v, %q, %v", c.body, ok, code, readable, c.ok, c.code, c.readable)
		}
	}
}
