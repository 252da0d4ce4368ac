package api_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

var secret = []byte("test-ingest-secret-0123456789")

func newIngest(t testing.TB) (*api.Ingest, *store.Store) {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "x.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return &api.Ingest{Store: s, Keys: signing.Keys{Secret: secret, Now: func() time.Time { return now }}, Log: slog.New(slog.DiscardHandler)}, s
}

type req struct {
	body        string
	ts          int64 // 0: the handler's now
	sig         string
	contentType string
	noSig       bool
	tsHeader    string // sent instead of ts's digits (the signature still signs ts)
}

func post(t *testing.T, h http.Handler, now time.Time, r req) (int, map[string]any) {
	t.Helper()
	ts := r.ts
	if ts == 0 {
		ts = now.Unix()
	}
	hr := httptest.NewRequest("POST", "/v1/events", strings.NewReader(r.body))
	ct := r.contentType
	if ct == "" {
		ct = "application/json"
	}
	hr.Header.Set("Content-Type", ct)
	if !r.noSig {
		sig := r.sig
		if sig == "" {
			sig = signing.Sign(secret, ts, []byte(r.body))
		}
		hr.Header.Set("X-Signature-Timestamp", cmp.Or(r.tsHeader, fmt.Sprint(ts)))
		hr.Header.Set("X-Signature", sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

const good = `{"id":"evt_1","type":"comment.reply","occurred_at":"2026-11-22T10:00:00Z","actor":{"email":"bo@example.com","name":"Bo"},"subject":{"kind":"topic","id":"t-42","title":"Install guide","url":"https://paligo.example/t/42"},"recipients":["alice@example.com"],"text":"Looks good","fields":{"status":"open"}}`

func TestIngestAcceptsValidShapes(t *testing.T) {
	h, s := newIngest(t)
	now := h.Keys.Now()
	cases := []struct {
		name, body          string
		accepted, duplicate float64
	}{
		{"full single", good, 1, 0},
		{"minimal", `{"id":"evt_2","type":"run.failed"}`, 1, 0},
		{"nulls for optional fields", `{"id":"evt_3","type":"data.alert","actor":null,"subject":null,"recipients":null,"fields":null}`, 1, 0},
		{"batch", `[{"id":"b1","type":"run.succeeded"},{"id":"b2","type":"system.alert"}]`, 2, 0},
		{"duplicate within batch", `[{"id":"d1","type":"run.failed"},{"id":"d1","type":"run.failed"}]`, 1, 1},
		{"duplicate across batches", `[{"id":"evt_1","type":"comment.reply"},{"id":"b3","type":"run.failed"}]`, 1, 1},
		{"thread and actions", `{"id":"lm1","type":"run.failed","thread":"run-7","actions":[{"id":"rerun","label":"Re-run"},{"id":"logs","label":"Logs"}]}`, 1, 0},
		{"every kind", everyKind(inviteToken(t, h, s)), float64(len(paligo.Kinds)), 0},
	}
	for _, c := range cases {
		code, out := post(t, h, now, req{body: c.body})
		if code != 202 || out["accepted"] != c.accepted || out["duplicates"] != c.duplicate {
			t.Errorf("%s: %d %v, want 202 accepted=%v duplicates=%v", c.name, code, out, c.accepted, c.duplicate)
		}
	}
	e, ok, _ := s.Event("evt_1")
	if !ok || e.Subject.ID != "t-42" || e.Actor.Email != "bo@example.com" || e.Recipients[0] != "alice@example.com" || e.Fields["status"] != "open" {
		t.Errorf("stored evt_1 = %+v", e)
	}
	// An event naming a workspace before the bot knows its own: 503,
	// nothing stored.
	if code, out := post(t, h, now, req{body: `{"id":"ws1","type":"run.failed","team":"T0ONE"}`}); code != 503 {
		t.Errorf("an event naming a team before the workspace is known: %d %v", code, out)
	}
	if _, found, _ := s.Event("ws1"); found {
		t.Error("the refused event was stored")
	}
	if e, _, _ := s.Event("lm1"); e.Thread != "run-7" || len(e.Actions) != 2 || e.Actions[1] != (paligo.Action{ID: "logs", Label: "Logs"}) {
		t.Errorf("stored lm1 = %+v", e)
	}
}

func everyKind(token string) string {
	var parts []string
	for k := range paligo.Kinds {
		if k == "invite.accepted" {
			parts = append(parts, fmt.Sprintf(`{"id":"k-%s","type":%q,"fields":{"token":%q}}`, k, k, token))
			continue
		}
		parts = append(parts, fmt.Sprintf(`{"id":"k-%s","type":%q}`, k, k))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestIngestRejectsBadFieldsAndStoresNothing(t *testing.T) {
	h, s := newIngest(t)
	now := h.Keys.Now()
	cases := []struct{ name, body, field string }{
		{"missing id", `{"type":"run.failed"}`, "id"},
		{"empty id", `{"id":"","type":"run.failed"}`, "id"},
		{"id too long", `{"id":"` + strings.Repeat("x", 129) + `","type":"run.failed"}`, "id"},
		{"id not a string", `{"id":42,"type":"run.failed"}`, "id"},
		{"missing type", `{"id":"a"}`, "type"},
		{"unknown type", `{"id":"a","type":"run.exploded"}`, "type"},
		{"bad occurred_at", `{"id":"a","type":"run.failed","occurred_at":"yesterday"}`, "occurred_at"},
		{"actor not object", `{"id":"a","type":"run.failed","actor":"bo"}`, "actor"},
		{"bad actor email", `{"id":"a","type":"run.failed","actor":{"email":"not-an-email"}}`, "actor.email"},
		{"subject without id", `{"id":"a","type":"run.failed","subject":{"kind":"schedule"}}`, "subject.id"},
		{"subject without kind", `{"id":"a","type":"run.failed","subject":{"id":"s1"}}`, "subject.kind"},
		{"javascript url", `{"id":"a","type":"run.failed","subject":{"kind":"k","id":"s","url":"javascript:alert(1)"}}`, "subject.url"},
		{"recipients not array", `{"id":"a","type":"run.failed","recipients":"alice@example.com"}`, "recipients"},
		{"bad recipient", `{"id":"a","type":"run.failed","recipients":["alice@example.com","nope"]}`, "recipients[1]"},
		{"text too long", `{"id":"a","type":"run.failed","text":"` + strings.Repeat("é", 4001) + `"}`, "text"},
		{"fields not strings", `{"id":"a","type":"run.failed","fields":{"n":1}}`, "fields.n"},
		{"unknown field", `{"id":"a","type":"run.failed","recipient":["x@example.com"]}`, "recipient"},
		// Bytes that are not UTF-8 are refused where they stand, never
		// replaced (two ids would become one).
		{"id not UTF-8", "{\"id\":\"inv-\xff\xfe\",\"type\":\"run.failed\"}", "id"},
		{"lone surrogate id", `{"id":"inv-\udc00","type":"run.failed"}`, "id"},
		{"high surrogate alone", `{"id":"inv-\ud800x","type":"run.failed"}`, "id"},
		{"text not UTF-8", "{\"id\":\"a\",\"type\":\"run.failed\",\"text\":\"ok \xc3\"}", "text"},
		{"title not UTF-8", "{\"id\":\"a\",\"type\":\"run.failed\",\"subject\":{\"kind\":\"k\",\"id\":\"s\",\"title\":\"\xe2\x82\"}}", "subject.title"},
		{"recipient not UTF-8", "{\"id\":\"a\",\"type\":\"run.failed\",\"recipients\":[\"a\xffb@example.com\"]}", "recipients[0]"},
		{"field value not UTF-8", "{\"id\":\"a\",\"type\":\"run.failed\",\"fields\":{\"k\":\"\xfd\"}}", "fields.k"},
		{"field key not UTF-8", "{\"id\":\"a\",\"type\":\"run.failed\",\"fields\":{\"k\xfd\":\"v\"}}", "fields.k\ufffd"},
		{"member name not UTF-8", "{\"id\":\"a\",\"type\":\"run.failed\",\"\xff\":1}", "\ufffd"},
		// Identifiers and URLs hold no control or invisible character.
		{"NUL in id", `{"id":"a\u0000","type":"run.failed"}`, "id"},
		{"ESC in subject id", `{"id":"a","type":"run.failed","subject":{"kind":"k","id":"s\u001b[31m"}}`, "subject.id"},
		{"C1 in subject kind", `{"id":"a","type":"run.failed","subject":{"kind":"k\u0085","id":"s"}}`, "subject.kind"},
		{"RLO in id", `{"id":"invoice\u202Efdp.exe","type":"run.failed"}`, "id"},
		{"LS in field key", `{"id":"a","type":"run.failed","fields":{"a\u2028b":"v"}}`, "fields.a\u2028b"},
		{"zero width in email", `{"id":"a","type":"run.failed","recipients":["al\u200bice@example.com"]}`, "recipients[0]"},
		{"space in url", `{"id":"a","type":"run.failed","subject":{"kind":"k","id":"s","url":"https://paligo.example/a b"}}`, "subject.url"},
		{"RLO in url", `{"id":"a","type":"run.failed","subject":{"kind":"k","id":"s","url":"https://paligo.example/\u202Egpj.exe"}}`, "subject.url"},
		{"team not a team id", `{"id":"a","type":"run.failed","team":"acme"}`, "team"},
		{"thread too long", `{"id":"a","type":"run.failed","thread":"` + strings.Repeat("r", 129) + `"}`, "thread"},
		{"thread with a control", `{"id":"a","type":"run.failed","thread":"r\u0007"}`, "thread"},
		{"actions not an array", `{"id":"a","type":"run.failed","actions":{"id":"rerun"}}`, "actions"},
		{"action not an object", `{"id":"a","type":"run.failed","actions":["rerun"]}`, "actions[0]"},
		{"action without label", `{"id":"a","type":"run.failed","actions":[{"id":"rerun"}]}`, "actions[0].label"},
		{"action without id", `{"id":"a","type":"run.failed","actions":[{"label":"Re-run"}]}`, "actions[0].id"},
		{"action id too long", `{"id":"a","type":"run.failed","actions":[{"id":"` + strings.Repeat("x", 65) + `","label":"L"}]}`, "actions[0].id"},
		{"action label too long", `{"id":"a","type":"run.failed","actions":[{"id":"x","label":"` + strings.Repeat("l", 31) + `"}]}`, "actions[0].label"},
		{"action given twice", `{"id":"a","type":"run.failed","actions":[{"id":"x","label":"A"},{"id":"x","label":"B"}]}`, "actions[1].id"},
		{"action named acknowledge", `{"id":"a","type":"run.failed","actions":[{"id":"acknowledge","label":"Ack"}]}`, "actions[0].id"},
		{"four actions", `{"id":"a","type":"run.failed","actions":[{"id":"a","label":"A"},{"id":"b","label":"B"},{"id":"c","label":"C"},{"id":"d","label":"D"}]}`, "actions"},
		{"unknown action member", `{"id":"a","type":"run.failed","actions":[{"id":"a","label":"A","url":"x"}]}`, "actions[0].url"},
		{"not an object", `"hello"`, ""},
		{"not json", `{"id":`, ""},
		{"empty batch", `[]`, ""},
	}
	for _, c := range cases {
		code, out := post(t, h, now, req{body: c.body})
		if code != 400 {
			t.Errorf("%s: status %d, want 400", c.name, code)
			continue
		}
		errs, _ := out["errors"].([]any)
		found := false
		for _, e := range errs {
			if e.(map[string]any)["field"] == c.field {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %v do not name field %q", c.name, errs, c.field)
		}
	}
	// One bad event in a batch: none of the batch is stored, and the error
	// says which one.
	code, out := post(t, h, now, req{body: `[{"id":"ok1","type":"run.failed"},{"id":"bad","type":"nope"},{"id":"ok2","type":"run.failed"}]`})
	errs, _ := out["errors"].([]any)
	if code != 400 || len(errs) != 1 || errs[0].(map[string]any)["index"] != float64(1) {
		t.Errorf("batch with one bad event: %d %v", code, out)
	}
	// Prose keeps what it was sent (it is cleaned when drawn).
	if code, out := post(t, h, now, req{body: `{"id":"prose","type":"run.failed","text":"a\u202Eb\u0000c\u2028d","subject":{"kind":"k","id":"s","title":"t\u202E"}}`}); code != 202 {
		t.Errorf("controls in prose: %d %v, want 202", code, out)
	}
	if e, _, _ := s.Event("prose"); e.Text != "a\u202Eb\u0000c\u2028d" {
		t.Errorf("text stored as %q", e.Text)
	}
	// Too many events.
	var many []string
	for i := range 1001 {
		many = append(many, fmt.Sprintf(`{"id":"m%d","type":"run.failed"}`, i))
	}
	if code, _ := post(t, h, now, req{body: "[" + strings.Join(many, ",") + "]"}); code != 400 {
		t.Errorf("1001 events: %d, want 400", code)
	}
	if n, _ := s.EventCount(); n != 1 {
		t.Errorf("%d events stored after bad requests and one good one", n)
	}
}

// A body that is all errors gets a short answer: the first MaxErrors and a
// count of the rest, and a list over its limit is refused once, at the
// limit, not element by element.
func TestIngestErrorsAreCapped(t *testing.T) {
	h, s := newIngest(t)
	now := h.Keys.Now()
	bad := make([]string, 200_000)
	for i := range bad {
		bad[i] = `"x"`
	}
	code, out := post(t, h, now, req{body: `{"id":"a","type":"comment.reply","recipients":[` + strings.Join(bad, ",") + `]}`})
	errs, _ := out["errors"].([]any)
	if code != 400 || len(errs) != 1 || errs[0].(map[string]any)["message"] != "at most 1000 recipients" {
		t.Errorf("200,000 bad recipients: %d, %d errors, first %v; want one error naming the limit", code, len(errs), errs)
	}
	// 1,000 events with 3 errors each: 100 listed, 2,900 counted.
	var many []string
	for i := range 1000 {
		many = append(many, fmt.Sprintf(`{"id":"","type":"nope","x%d":1}`, i))
	}
	code, out = post(t, h, now, req{body: "[" + strings.Join(many, ",") + "]"})
	errs, _ = out["errors"].([]any)
	if code != 400 || len(errs) != api.MaxErrors || out["more_errors"] != float64(3000-api.MaxErrors) {
		t.Errorf("3,000 errors: %d, %d listed, more_errors %v; want %d and %d", code, len(errs), out["more_errors"], api.MaxErrors, 3000-api.MaxErrors)
	}
	if n, _ := s.EventCount(); n != 0 {
		t.Errorf("%d events stored", n)
	}
}

func TestIngestAuthSizeAndContentType(t *testing.T) {
	h, s := newIngest(t)
	now := h.Keys.Now()
	cases := []struct {
		name string
		r    req
		want int
	}{
		{"no signature", req{body: good, noSig: true}, 401},
		{"wrong signature", req{body: good, sig: "v0=" + strings.Repeat("0", 64)}, 401},
		{"signed with another secret", req{body: good, sig: signing.Sign([]byte("other-secret-0123456789"), now.Unix(), []byte(good))}, 401},
		{"stale timestamp", req{body: good, ts: now.Add(-6 * time.Minute).Unix()}, 401},
		{"future timestamp", req{body: good, ts: now.Add(6 * time.Minute).Unix()}, 401},
		{"wrong content type", req{body: good, contentType: "text/plain"}, 415},
		{"too large", req{body: `{"id":"a","type":"run.failed","text":"` + strings.Repeat("x", 1<<20) + `"}`}, 413},
		{"timestamp with a plus", req{body: good, tsHeader: fmt.Sprint("+", now.Unix())}, 401},
		{"timestamp with a zero before", req{body: good, tsHeader: fmt.Sprint("0", now.Unix())}, 401},
		{"timestamp with a space before", req{body: good, tsHeader: fmt.Sprint(" ", now.Unix())}, 401},
		{"timestamp with a space after", req{body: good, tsHeader: fmt.Sprint(now.Unix(), " ")}, 401},
		{"just inside the window", req{body: good, ts: now.Add(-299 * time.Second).Unix()}, 202},
	}
	for _, c := range cases {
		code, out := post(t, h, now, c.r)
		if code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
		if code != 202 {
			if msg, _ := out["error"].(string); msg == "" {
				t.Errorf("%s: no error message", c.name)
			}
		}
	}
	// A replay of the accepted request within the window is a duplicate,
	// never a second event.
	code, out := post(t, h, now, req{body: good, ts: now.Add(-299 * time.Second).Unix()})
	if code != 202 || out["duplicates"] != float64(1) {
		t.Errorf("replay: %d %v", code, out)
	}
	if n, _ := s.EventCount(); n != 1 {
		t.Errorf("%d events stored, want only the one validly signed", n)
	}
}

func TestIngestDisabledWithoutSecretAndStoreFailureIs503(t *testing.T) {
	h, s := newIngest(t)
	now := h.Keys.Now()
	h.Keys.Secret = nil
	if code, _ := post(t, h, now, req{body: good}); code != 503 {
		t.Errorf("no secret: %d, want 503", code)
	}
	h.Keys.Secret = secret
	s.Close() // the store cannot commit
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(good))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Signature-Timestamp", fmt.Sprint(now.Unix()))
	r.Header.Set("X-Signature", signing.Sign(secret, now.Unix(), []byte(good)))
	h.ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("closed store: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
}

func signFor(ts int64, body []byte) string { return signing.Sign(secret, ts, body) }

// A member given twice is refused where it stands, in a batch or alone.
func TestDuplicateMembersAreNamed(t *testing.T) {
	for body, want := range map[string]FieldErrorWant{
		`{"id":"a","type":"run.failed","id":"b"}`: {0, "id"},
		`{"5":1,"5":2}`: {0, "5"},
		`[{"id":"a","type":"run.failed"},{"id":"b","subject":{"kind":"k","kind":"j"}}]`: {1, "subject.kind"},
	} {
		_, errs, _ := api.DecodeEvents([]byte(body))
		if len(errs) != 1 || errs[0].Index != want.index || errs[0].Field != want.field || !strings.Contains(errs[0].Message, "more than once") {
			t.Errorf("%s: %+v, want index %d field %q given more than once", body, errs, want.index, want.field)
		}
	}
}

type FieldErrorWant struct {
	index int
	field string
}

// Where there is no primary workspace (no SLACK_BOT_TOKEN), an event
// naming none is refused also before delivery has started (FanOut not
// ready yet), naming team; one naming its workspace then waits (503), and
// an invitation's acceptance, which names none, is not refused for it.
func TestNoPrimaryRefusesAnEventNamingNoWorkspaceBeforeDeliveryStarts(t *testing.T) {
	h, st := newIngest(t)
	h.FanOut = func() (store.FanOutSpec, bool) { return store.FanOutSpec{}, false }
	h.NoPrimary = true
	now := h.Keys.Now()
	status, out := post(t, h, now, req{body: `{"id":"a","type":"run.failed"}`})
	if errs, _ := out["errors"].([]any); status != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "team" {
		t.Errorf("naming no workspace = %d %v", status, out)
	}
	if status, out := post(t, h, now, req{body: `{"id":"b","type":"run.failed","team":"T0BETA"}`}); status != 503 {
		t.Errorf("naming a workspace before delivery = %d %v", status, out)
	}
	if n, _ := st.EventCount(); n != 0 {
		t.Errorf("%d events stored", n)
	}
	// With a primary, the same event waits for nothing.
	h.NoPrimary = false
	if status, out := post(t, h, now, req{body: `{"id":"a","type":"run.failed"}`}); status != 202 {
		t.Errorf("with a primary = %d %v", status, out)
	}
}

// The 202 is exactly the JSON the document describes, newline-ended as
// encoding/json writes it, for new events and for repeats.
func TestAcceptedAnswerBytes(t *testing.T) {
	h, _ := newIngest(t)
	now := h.Keys.Now()
	for _, want := range []string{`{"accepted":2,"duplicates":0}` + "\n", `{"accepted":0,"duplicates":2}` + "\n"} {
		body := `[{"id":"x1","type":"run.failed"},{"id":"x2","type":"run.failed"}]`
		hr := httptest.NewRequest("POST", "/v1/events", strings.NewReader(body))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("X-Signature-Timestamp", fmt.Sprint(now.Unix()))
		hr.Header.Set("X-Signature", signing.Sign(secret, now.Unix(), []byte(body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, hr)
		if rec.Code != 202 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("answer %d %q (%s), want 202 %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"), want)
		}
	}
}
