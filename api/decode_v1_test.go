package api

// The decoder before issue 15 (encoding/json: a map of raw members per
// object, then field by field), kept as the oracle of
// FuzzDecoderMatchesTheOneBefore: the one-pass decoder must accept what it
// accepted, into the same events, and refuse what it refused.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// v1DecodeEvents parses one event object or an array of them and validates
// every field. It returns the first MaxErrors errors found, in order, and
// how many more there were.
func v1DecodeEvents(body []byte) (events []paligo.Event, errs []FieldError, more int) {
	one := func(msg string) ([]paligo.Event, []FieldError, int) {
		return nil, []FieldError{{Index: 0, Field: "", Message: msg}}, 0
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var raws []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return one("body is not a JSON array of event objects")
		}
		if len(raws) == 0 {
			return one("the batch is empty")
		}
		if len(raws) > MaxBatch {
			return nil, []FieldError{{Index: MaxBatch, Field: "", Message: fmt.Sprintf("a batch holds at most %d events", MaxBatch)}}, 0
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	list := &v1ErrorList{}
	events = make([]paligo.Event, 0, len(raws))
	for i, raw := range raws {
		events = append(events, v1DecodeEvent(&v1EventValidator{i: i, errs: list}, raw))
	}
	// Every string was checked where it stands; this catches what is not
	// a string (a member name) so that no byte is ever replaced.
	if list.n == 0 && !utf8.Valid(body) {
		return one("body is not valid UTF-8")
	}
	return events, list.items, list.n - len(list.items)
}

// v1ErrorList keeps the first MaxErrors errors and counts them all.
type v1ErrorList struct {
	items []FieldError
	n     int
}

type v1EventValidator struct {
	i    int
	errs *v1ErrorList
}

func (v *v1EventValidator) fail(field, format string, a ...any) {
	if v.errs.n++; v.errs.n <= MaxErrors {
		v.errs.items = append(v.errs.items, FieldError{Index: v.i, Field: field, Message: fmt.Sprintf(format, a...)})
	}
}

// v1TextKind is what a string field holds: v1Prose (kept as sent; what would
// mislead a reader is cleaned away when it is drawn, views.Clean) or an
// v1Identifier (refused when it holds a control or invisible character: no
// two ids, emails or URLs may look alike and differ).
type v1TextKind int

const (
	v1Prose v1TextKind = iota
	v1Identifier
)

// str decodes an optional string field, checking that it is valid UTF-8
// (never replaced), what it may hold, and its length in characters.
func (v *v1EventValidator) str(m map[string]json.RawMessage, field, path string, required bool, max int, kind ...v1TextKind) string {
	raw, ok := m[field]
	if !ok || string(raw) == "null" {
		if required {
			v.fail(path, "is required")
		}
		return ""
	}
	s, ok := v.text(raw, path, kind...)
	if !ok {
		return ""
	}
	if required && s == "" {
		v.fail(path, "must not be empty")
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.fail(path, "is %d characters; at most %d", n, max)
	}
	return s
}

// text decodes one JSON string strictly: invalid UTF-8 or a lone surrogate
// escape is refused, not turned into U+FFFD, so two different ids can never
// become the same one; an v1Identifier may hold no control or invisible
// character.
func (v *v1EventValidator) text(raw json.RawMessage, path string, kind ...v1TextKind) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		v.fail(path, "must be a string")
		return "", false
	}
	if !strictUTF8(raw) {
		v.fail(path, "is not valid UTF-8")
		return "", false
	}
	if len(kind) > 0 && kind[0] == v1Identifier {
		if r, bad := views.Invisible(s); bad {
			v.fail(path, "holds %U, a control or invisible character", r)
			return "", false
		}
	}
	return s, true
}

func (v *v1EventValidator) object(raw json.RawMessage, path string, allowed ...string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		v.fail(path, "must be an object")
		return nil
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			v.fail(v1JoinPath(path, k), "is not a known field")
		}
	}
	return m
}

func v1JoinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func v1ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

func v1DecodeEvent(v *v1EventValidator, raw json.RawMessage) paligo.Event {
	m := v.object(raw, "", "id", "type", "occurred_at", "actor", "subject", "recipients", "text", "fields")
	if m == nil {
		return paligo.Event{}
	}
	var e paligo.Event
	e.ID = v.str(m, "id", "id", true, MaxEventIDLen, v1Identifier)
	e.Type = paligo.Kind(v.str(m, "type", "type", true, 64, v1Identifier))
	if _, ok := paligo.Kinds[e.Type]; e.Type != "" && !ok {
		v.fail("type", "%q is not a known event kind", e.Type)
	}
	if at := v.str(m, "occurred_at", "occurred_at", false, 64, v1Identifier); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			v.fail("occurred_at", "must be an RFC 3339 time")
		}
		e.OccurredAt = t.UTC()
	}
	if raw, ok := m["actor"]; ok && string(raw) != "null" {
		if am := v.object(raw, "actor", "email", "name"); am != nil {
			e.Actor = &paligo.Person{Email: v.str(am, "email", "actor.email", false, 320, v1Identifier), Name: v.str(am, "name", "actor.name", false, 200)}
			if e.Actor.Email != "" && !v1ValidEmail(e.Actor.Email) {
				v.fail("actor.email", "is not an email address")
			}
		}
	}
	if raw, ok := m["subject"]; ok && string(raw) != "null" {
		if sm := v.object(raw, "subject", "kind", "id", "title", "url"); sm != nil {
			e.Subject = &paligo.Subject{
				Kind:  v.str(sm, "kind", "subject.kind", true, 64, v1Identifier),
				ID:    v.str(sm, "id", "subject.id", true, 256, v1Identifier),
				Title: v.str(sm, "title", "subject.title", false, 500),
				URL:   v.str(sm, "url", "subject.url", false, 3000, v1Identifier),
			}
			// The same rule that decides what views draw as a link.
			if u := e.Subject.URL; u != "" && views.SafeURL(u) == "" {
				v.fail("subject.url", "must be an http:// or https:// URL, with no spaces or control characters")
			}
		}
	}
	if raw, ok := m["recipients"]; ok && string(raw) != "null" {
		e.Recipients = v.recipients(raw)
	}
	e.Text = v.str(m, "text", "text", false, MaxEventText)
	if raw, ok := m["fields"]; ok && string(raw) != "null" {
		e.Fields = v.fields(raw)
	}
	return e
}

// recipients decodes at most MaxBatch email addresses. A longer list is
// refused once, as soon as it is seen to be longer, before any of it is
// checked or the rest is read.
func (v *v1EventValidator) recipients(raw json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		v.fail("recipients", "must be an array of email addresses")
		return nil
	}
	var raws []json.RawMessage
	for dec.More() {
		if len(raws) == MaxBatch {
			v.fail("recipients", "at most %d recipients", MaxBatch)
			return nil
		}
		var r json.RawMessage
		if err := dec.Decode(&r); err != nil {
			v.fail("recipients", "must be an array of email addresses")
			return nil
		}
		raws = append(raws, r)
	}
	out := make([]string, 0, len(raws))
	for j, r := range raws {
		path := fmt.Sprintf("recipients[%d]", j)
		email, ok := v.text(r, path, v1Identifier)
		if ok && !v1ValidEmail(email) {
			v.fail(path, "is not an email address")
		}
		out = append(out, email)
	}
	return out
}

// fields decodes the kind-specific details: keys are identifiers, values
// v1Prose; each bad one is named.
func (v *v1EventValidator) fields(raw json.RawMessage) map[string]string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		v.fail("fields", "must be an object of string values")
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		path := "fields." + k
		// The key was decoded by encoding/json: a U+FFFD in it may stand
		// for bytes that were not UTF-8, so it is refused either way.
		if r, bad := views.Invisible(k); bad || strings.ContainsRune(k, utf8.RuneError) {
			if !bad {
				r = utf8.RuneError
			}
			v.fail(path, "the key holds %U, a control, invisible or replacement character", r)
			continue
		}
		val, ok := v.text(m[k], path)
		if !ok {
			continue
		}
		if utf8.RuneCountInString(k) > 64 || utf8.RuneCountInString(val) > 2000 {
			v.fail(path, "keys are at most 64 characters and values 2000")
		}
		out[k] = val
	}
	return out
}
