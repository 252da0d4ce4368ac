package api_test

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// FuzzDecodeEvents: any body either decodes into events that keep every
// rule of the contract, or is refused with at least one named error; it
// never panics.
func FuzzDecodeEvents(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(everyKind("tok")))
	f.Add([]byte(`[{"id":"a","type":"run.failed","fields":{"k":"v"}},{"id":"b","type":"data.alert","subject":{"kind":"x","id":"y","url":"javascript:1"}}]`))
	f.Add([]byte(`{"id":"","type":"nope","occurred_at":"yesterday","recipients":["not an email"],"actor":{"email":"x"},"extra":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte("\xff\xfe{"))
	// JSON that is not the platform's: Slack's own Socket Mode frames.
	paths, err := filepath.Glob(filepath.Join("testdata", "slack", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/slack: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, errs, more := api.DecodeEvents(body)
		if len(errs) > api.MaxErrors || more < 0 || (more > 0 && len(errs) != api.MaxErrors) {
			t.Fatalf("%d errors listed and %d more; at most %d are listed", len(errs), more, api.MaxErrors)
		}
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Message == "" {
					t.Fatalf("an error without a message: %+v", e)
				}
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		if len(events) == 0 || len(events) > api.MaxBatch {
			t.Fatalf("accepted %d events", len(events))
		}
		for _, e := range events {
			if _, bad := views.Invisible(e.ID); bad || e.ID == "" || utf8.RuneCountInString(e.ID) > api.MaxEventIDLen {
				t.Fatalf("accepted id %q", e.ID)
			}
			if _, ok := paligo.Kinds[e.Type]; !ok {
				t.Fatalf("accepted type %q", e.Type)
			}
			if utf8.RuneCountInString(e.Text) > api.MaxEventText {
				t.Fatalf("accepted a text of %d characters", utf8.RuneCountInString(e.Text))
			}
			if e.Subject != nil && e.Subject.URL != "" && views.SafeURL(e.Subject.URL) == "" {
				t.Fatalf("accepted subject.url %q", e.Subject.URL)
			}
		}
	})
}
