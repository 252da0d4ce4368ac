package api

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paligo/paligo-slack/paligo"
)

// FuzzDecoderMatchesTheOneBefore holds the one-pass decoder to the one it
// replaced: the same bodies accepted, into the same events, and the same
// refused. The deliberate differences: a member given twice in one object
// is refused now (the old one took the last), so that a signed body reads
// one way only; and "channels", which came later, is a member now.
func FuzzDecoderMatchesTheOneBefore(f *testing.F) {
	seeds := []string{
		`{"id":"a","type":"run.failed"}`,
		`[{"id":"a","type":"run.failed","fields":{"k":"v"}},{"id":"b","type":"data.alert","subject":{"kind":"x","id":"y","url":"https://x.example/\u00e9"}}]`,
		`{"id":"","type":"nope","occurred_at":"yesterday","recipients":["not an email"],"actor":{"email":"x"},"extra":1}`,
		`{"id":"a","type":"run.failed","actor":null,"subject":null,"recipients":null,"fields":null,"text":null}`,
		`{"id":"a\u00e9\ud83d\ude00","type":"run.failed","text":"x\"y\\z","recipients":["a@example.com"],"occurred_at":"2026-11-30T10:00:00.5+01:00"}`,
		`{"id":"a","type":"run.failed","id":"b"}`,
		`[]`, `null`, `"x"`, `[1]`, `{"id":1}`, " [ {\"id\" : \"a\" , \"type\":\"run.failed\"} ] ", `{"id":"a","type":"run.failed"} x`,
		"{\"id\":\"\xff\",\"type\":\"run.failed\"}", `{"id":"\udc00","type":"run.failed"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	paths, _ := filepath.Glob(filepath.Join("testdata", "slack", "*.json"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, errs, _ := DecodeEvents(body)
		oldEvents, oldErrs, _ := v1DecodeEvents(body)
		for _, e := range errs {
			if strings.HasSuffix(e.Message, "is given more than once") || strings.HasPrefix(e.Field, "channels") || strings.HasPrefix(e.Field, "thread") || strings.HasPrefix(e.Field, "actions") || e.Field == "team" || e.Field == "org" {
				return
			}
		}
		// These came after the decoder before: it refused the members.
		for _, e := range oldErrs {
			if e.Field == "channels" || e.Field == "thread" || e.Field == "actions" || e.Field == "team" || e.Field == "org" {
				return
			}
		}
		if (len(errs) == 0) != (len(oldErrs) == 0) {
			t.Fatalf("body %q: now %d errors %+v, before %d %+v", body, len(errs), first(errs), len(oldErrs), first(oldErrs))
		}
		if len(errs) > 0 {
			return
		}
		now, _ := json.Marshal(events)
		before, _ := json.Marshal(oldEvents)
		if !bytes.Equal(now, before) {
			t.Fatalf("body %q:\nnow    %s\nbefore %s", body, now, before)
		}
	})
}

func first(errs []FieldError) []FieldError {
	return errs[:min(len(errs), 3)]
}

// BenchmarkDecode compares the one-pass decoder with the one before on the
// side-by-side script's batch of 100 events. One op is one event.
func BenchmarkDecode(b *testing.B) {
	var parts []string
	for i := range 100 {
		parts = append(parts, `{"id":"e1_`+strings.Repeat("7", i%3+1)+`","type":"comment.reply","subject":{"kind":"topic","id":"t1","title":"T"},"recipients":["a@example.com"],"text":"A reply \u00e9"}`)
	}
	body := []byte("[" + strings.Join(parts, ",") + "]")
	for _, c := range []struct {
		name   string
		decode func([]byte) ([]paligo.Event, []FieldError, int)
	}{{"now", DecodeEvents}, {"before", v1DecodeEvents}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, errs, _ := c.decode(body); len(errs) > 0 {
					b.Fatal(errs)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
		})
	}
}
