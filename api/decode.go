package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// The body is read in one pass, token by token (jsontext, the syntax layer
// of encoding/json/v2): each member is checked where it stands and decoded
// straight into the event, with no map of raw members in between. Strings
// are taken raw and checked strictly here (invalid UTF-8 or a lone
// surrogate is refused, never replaced), so the decoder itself is told to
// let them through.

// DecodeEvents parses one event object or an array of them and validates
// every field. It returns the first MaxErrors errors found, in order, and
// how many more there were.
func DecodeEvents(body []byte) (events []paligo.Event, errs []FieldError, more int) {
	one := func(index int, msg string) ([]paligo.Event, []FieldError, int) {
		return nil, []FieldError{{Index: index, Message: msg}}, 0
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowInvalidUTF8(true))
	list := &errorList{}
	var err error
	switch dec.PeekKind() {
	case '[':
		if _, err = dec.ReadToken(); err != nil {
			break
		}
		for dec.PeekKind() != ']' {
			if len(events) == MaxBatch {
				return one(MaxBatch, fmt.Sprintf("a batch holds at most %d events", MaxBatch))
			}
			var e paligo.Event
			if e, err = decodeEvent(dec, &eventValidator{i: len(events), errs: list}); err != nil {
				break
			}
			events = append(events, e)
		}
		if err == nil {
			_, err = dec.ReadToken()
		}
		if err == nil && len(events) == 0 {
			return one(0, "the batch is empty")
		}
	case '{':
		var e paligo.Event
		e, err = decodeEvent(dec, &eventValidator{errs: list})
		events = []paligo.Event{e}
	default:
		return one(0, "body is not a JSON event object or an array of them")
	}
	if err == nil {
		// One value, then nothing.
		if _, end := dec.ReadToken(); end != io.EOF {
			err = errors.New("more after the end of the body's JSON value")
		}
	}
	if err != nil {
		return nil, []FieldError{syntaxError(err, bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("[")))}, 0
	}
	// Every string was checked where it stands; this catches what is not
	// a string (a member name) so that no byte is ever replaced.
	if list.n == 0 && !utf8.Valid(body) {
		return one(0, "body is not valid UTF-8")
	}
	return events, list.items, list.n - len(list.items)
}

// syntaxError says what made the body unreadable: a member given twice (so
// that a signed body can only be read one way), or where the JSON breaks.
func syntaxError(err error, batch bool) FieldError {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		index, field := pointerPath(string(se.JSONPointer), batch)
		if errors.Is(se.Err, jsontext.ErrDuplicateName) {
			return FieldError{Index: index, Field: field, Message: "is given more than once"}
		}
		at := ""
		if field != "" {
			at = " (in " + field + ")"
		}
		return FieldError{Index: index, Message: fmt.Sprintf("body is not valid JSON at byte %d%s", se.ByteOffset, at)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return FieldError{Message: "body is not valid JSON: it ends too soon"}
	}
	return FieldError{Message: "body is not valid JSON: " + err.Error()}
}

// pointerPath turns a JSON pointer into the event index and the field path
// of the answers: in a batch /3/subject/id is index 3, subject.id; a single
// event's pointer has no index.
func pointerPath(p string, batch bool) (int, string) {
	if p == "" {
		return 0, ""
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	index := 0
	if batch {
		index, _ = strconv.Atoi(parts[0])
		parts = parts[1:]
	}
	for i, s := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
	}
	return index, strings.Join(parts, ".")
}

// errorList keeps the first MaxErrors errors and counts them all.
type errorList struct {
	items []FieldError
	n     int
}

// merge adds the errors of o after those of l.
func (l *errorList) merge(o *errorList) {
	for _, e := range o.items {
		if l.n++; l.n <= MaxErrors {
			l.items = append(l.items, e)
		}
	}
	l.n += o.n - len(o.items)
}

type eventValidator struct {
	i    int
	errs *errorList
}

func (v *eventValidator) fail(field, format string, a ...any) {
	if v.errs.n++; v.errs.n <= MaxErrors {
		v.errs.items = append(v.errs.items, FieldError{Index: v.i, Field: field, Message: fmt.Sprintf(format, a...)})
	}
}

// textKind is what a string field holds: prose (kept as sent; what would
// mislead a reader is cleaned away when it is drawn, views.Clean) or an
// identifier (refused when it holds a control or invisible character: no
// two ids, emails or URLs may look alike and differ).
type textKind int

const (
	prose textKind = iota
	identifier
)

// member reads the next member name of an object, or says the object has
// ended (having read its '}'). The name is valid until the next read; a
// switch on string(name) compares it without a copy.
func member(dec *jsontext.Decoder) ([]byte, bool, error) {
	if dec.PeekKind() == '}' {
		_, err := dec.ReadToken()
		return nil, false, err
	}
	raw, err := dec.ReadValue()
	if err != nil {
		return nil, false, err
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return raw[1 : len(raw)-1], true, nil
	}
	// Escaped, or not UTF-8 (then each bad byte reads as U+FFFD, as the
	// lenient decoder reads it, and the name is refused as unknown).
	name, _ := jsontext.AppendUnquote(nil, bytes.ToValidUTF8(raw, []byte("\uFFFD")))
	return name, true, nil
}

// null reads a null if one comes next: a member given as null is absent.
func null(dec *jsontext.Decoder) (bool, error) {
	if dec.PeekKind() != 'n' {
		return false, nil
	}
	_, err := dec.ReadToken()
	return true, err
}

// str reads an optional string member's value, checking that it is valid
// UTF-8 (never replaced), what it may hold, and its length in characters.
func (v *eventValidator) str(dec *jsontext.Decoder, path string, required bool, max int, kind textKind) (string, error) {
	if isNull, err := null(dec); isNull || err != nil {
		if required {
			v.fail(path, "is required")
		}
		return "", err
	}
	s, ok, err := v.text(dec, path, kind)
	if err != nil || !ok {
		return "", err
	}
	if required && s == "" {
		v.fail(path, "must not be empty")
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.fail(path, "is %d characters; at most %d", n, max)
	}
	return s, nil
}

// text reads one JSON string strictly: invalid UTF-8 or a lone surrogate
// escape is refused, not turned into U+FFFD, so two different ids can never
// become the same one; an identifier may hold no control or invisible
// character. Anything else than a string is skipped and refused.
func (v *eventValidator) text(dec *jsontext.Decoder, path string, kind textKind) (string, bool, error) {
	if dec.PeekKind() != '"' {
		v.fail(path, "must be a string")
		return "", false, dec.SkipValue()
	}
	raw, err := dec.ReadValue()
	if err != nil {
		return "", false, err
	}
	if !strictUTF8(raw) {
		v.fail(path, "is not valid UTF-8")
		return "", false, nil
	}
	var s string
	if !bytes.ContainsRune(raw, '\\') {
		s = string(raw[1 : len(raw)-1])
	} else {
		b, err := jsontext.AppendUnquote(nil, raw)
		if err != nil {
			v.fail(path, "is not valid UTF-8")
			return "", false, nil
		}
		s = string(b)
	}
	if kind == identifier {
		if r, bad := views.Invisible(s); bad {
			v.fail(path, "holds %U, a control or invisible character", r)
			return "", false, nil
		}
	}
	return s, true, nil
}

// strictUTF8 reports whether the JSON string raw is valid UTF-8 whose \u
// escapes pair their surrogates (a lenient decoder would quietly put U+FFFD
// in place of both faults).
func strictUTF8(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' || i+4 >= len(raw) {
			continue
		}
		r, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 32)
		if err != nil {
			return false
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate alone
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			lo, err := strconv.ParseUint(string(raw[i+3:i+7]), 16, 32)
			if err != nil || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// object starts reading an object member's value: false (the value
// skipped and refused) when it is not an object, or is null.
func (v *eventValidator) object(dec *jsontext.Decoder, path string) (bool, error) {
	if dec.PeekKind() != '{' {
		if path == "" {
			v.fail(path, "must be an object")
		} else if isNull, err := null(dec); isNull || err != nil {
			return false, err
		} else {
			v.fail(path, "must be an object")
		}
		return false, dec.SkipValue()
	}
	_, err := dec.ReadToken()
	return err == nil, err
}

// unknown refuses a member the contract does not have, and skips it.
func (v *eventValidator) unknown(dec *jsontext.Decoder, path string) error {
	v.fail(path, "is not a known field")
	return dec.SkipValue()
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func validEmail(s string) bool { return paligo.ValidEmail(s) }

// decodeEvent reads one event. The error is the body's (it cannot be read
// further); what is wrong with the event's fields goes to v.
func decodeEvent(dec *jsontext.Decoder, v *eventValidator) (e paligo.Event, err error) {
	if ok, err := v.object(dec, ""); !ok || err != nil {
		return e, err
	}
	var seenID, seenType bool
	for {
		name, ok, err := member(dec)
		if err != nil || !ok {
			if err == nil {
				if !seenID {
					v.fail("id", "is required")
				}
				if !seenType {
					v.fail("type", "is required")
				}
			}
			return e, err
		}
		switch string(name) {
		case "id":
			seenID = true
			e.ID, err = v.str(dec, "id", true, MaxEventIDLen, identifier)
		case "type":
			seenType = true
			var s string
			s, err = v.str(dec, "type", true, 64, identifier)
			e.Type = paligo.Kind(s)
			if _, known := paligo.Kinds[e.Type]; e.Type != "" && !known {
				v.fail("type", "%q is not a known event kind", e.Type)
			}
		case "occurred_at":
			var at string
			if at, err = v.str(dec, "occurred_at", false, 64, identifier); at != "" {
				t, perr := time.Parse(time.RFC3339Nano, at)
				if perr != nil {
					v.fail("occurred_at", "must be an RFC 3339 time")
				}
				e.OccurredAt = t.UTC()
			}
		case "actor":
			e.Actor, err = v.actor(dec)
		case "subject":
			e.Subject, err = v.subject(dec)
		case "recipients":
			if isNull, nerr := null(dec); !isNull && nerr == nil {
				e.Recipients, err = v.recipients(dec)
			} else {
				err = nerr
			}
		case "text":
			e.Text, err = v.str(dec, "text", false, MaxEventText, prose)
		case "fields":
			e.Fields, err = v.fields(dec)
		case "channels":
			if isNull, nerr := null(dec); !isNull && nerr == nil {
				e.Channels, err = v.channels(dec)
			} else {
				err = nerr
			}
		case "team":
			if e.Team, err = v.str(dec, "team", false, 32, identifier); e.Team != "" && !slackTeamID(e.Team) {
				v.fail("team", "must be a Slack team id (T0123ABCD)")
			}
		case "org":
			e.Org, err = v.str(dec, "org", false, 128, identifier)
		case "thread":
			e.Thread, err = v.str(dec, "thread", false, paligo.MaxThreadLen, identifier)
		case "actions":
			if isNull, nerr := null(dec); !isNull && nerr == nil {
				e.Actions, err = v.actions(dec)
			} else {
				err = nerr
			}
		default:
			err = v.unknown(dec, string(name))
		}
		if err != nil {
			return e, err
		}
	}
}

// slackTeamID reports whether s looks like a Slack team (or enterprise)
// id: T or E, then upper-case letters and digits.
func slackTeamID(s string) bool {
	if len(s) < 3 || (s[0] != 'T' && s[0] != 'E') {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// actions reads the platform's buttons: at most paligo.MaxActions objects
// {"id", "label"}, each id once.
func (v *eventValidator) actions(dec *jsontext.Decoder) ([]paligo.Action, error) {
	if dec.PeekKind() != '[' {
		v.fail("actions", `must be an array of {"id", "label"}`)
		return nil, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	var out []paligo.Action
	for j := 0; dec.PeekKind() != ']'; j++ {
		path := "actions[" + strconv.Itoa(j) + "]"
		if j == paligo.MaxActions {
			v.fail("actions", "at most %d actions", paligo.MaxActions)
		}
		if dec.PeekKind() != '{' {
			v.fail(path, `must be an object {"id", "label"}`)
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		var a paligo.Action
		var seenID, seenLabel bool
		for {
			name, more, err := member(dec)
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
			switch string(name) {
			case "id":
				seenID = true
				a.ID, err = v.str(dec, path+".id", true, paligo.MaxActionIDLen, identifier)
			case "label":
				seenLabel = true
				a.Label, err = v.str(dec, path+".label", true, paligo.MaxActionLabel, prose)
			default:
				err = v.unknown(dec, path+"."+string(name))
			}
			if err != nil {
				return nil, err
			}
		}
		switch {
		case !seenID:
			v.fail(path+".id", "is required")
		case !seenLabel:
			v.fail(path+".label", "is required")
		case a.ID == "acknowledge":
			v.fail(path+".id", `"acknowledge" is the bot's own button`)
		case slices.ContainsFunc(out, func(b paligo.Action) bool { return b.ID == a.ID }):
			v.fail(path+".id", "%q is given more than once", a.ID)
		case j < paligo.MaxActions:
			out = append(out, a)
		}
	}
	_, err := dec.ReadToken()
	return out, err
}

func (v *eventValidator) actor(dec *jsontext.Decoder) (*paligo.Person, error) {
	if ok, err := v.object(dec, "actor"); !ok || err != nil {
		return nil, err
	}
	p := &paligo.Person{}
	for {
		name, ok, err := member(dec)
		if err != nil || !ok {
			if err == nil && p.Email != "" && !validEmail(p.Email) {
				v.fail("actor.email", "is not an email address")
			}
			return p, err
		}
		switch string(name) {
		case "email":
			p.Email, err = v.str(dec, "actor.email", false, 320, identifier)
		case "name":
			p.Name, err = v.str(dec, "actor.name", false, 200, prose)
		default:
			err = v.unknown(dec, joinPath("actor", string(name)))
		}
		if err != nil {
			return p, err
		}
	}
}

func (v *eventValidator) subject(dec *jsontext.Decoder) (*paligo.Subject, error) {
	if ok, err := v.object(dec, "subject"); !ok || err != nil {
		return nil, err
	}
	s := &paligo.Subject{}
	var seenKind, seenID bool
	for {
		name, ok, err := member(dec)
		if err != nil || !ok {
			if err == nil {
				if !seenKind {
					v.fail("subject.kind", "is required")
				}
				if !seenID {
					v.fail("subject.id", "is required")
				}
				// The same rule that decides what views draw as a link.
				if s.URL != "" && views.SafeURL(s.URL) == "" {
					v.fail("subject.url", "must be an http:// or https:// URL, with no spaces or control characters")
				}
			}
			return s, err
		}
		switch string(name) {
		case "kind":
			seenKind = true
			s.Kind, err = v.str(dec, "subject.kind", true, 64, identifier)
		case "id":
			seenID = true
			s.ID, err = v.str(dec, "subject.id", true, 256, identifier)
		case "title":
			s.Title, err = v.str(dec, "subject.title", false, 500, prose)
		case "url":
			s.URL, err = v.str(dec, "subject.url", false, 3000, identifier)
		default:
			err = v.unknown(dec, joinPath("subject", string(name)))
		}
		if err != nil {
			return s, err
		}
	}
}

// recipients reads at most MaxBatch email addresses. A longer list is
// refused once, as soon as it is seen to be longer, and none of its
// addresses is named: what is wrong with them is held aside until the list
// is known to be within the limit.
func (v *eventValidator) recipients(dec *jsontext.Decoder) ([]string, error) {
	if dec.PeekKind() != '[' {
		v.fail("recipients", "must be an array of email addresses")
		return nil, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	held := &eventValidator{i: v.i, errs: &errorList{}}
	var out []string
	for j := 0; dec.PeekKind() != ']'; j++ {
		if j == MaxBatch {
			v.fail("recipients", "at most %d recipients", MaxBatch)
			for dec.PeekKind() != ']' {
				if err := dec.SkipValue(); err != nil {
					return nil, err
				}
			}
			_, err := dec.ReadToken()
			return nil, err
		}
		path := "recipients[" + strconv.Itoa(j) + "]"
		email, ok, err := held.text(dec, path, identifier)
		if err != nil {
			return nil, err
		}
		if ok && !validEmail(email) {
			held.fail(path, "is not an email address")
		}
		out = append(out, email)
	}
	v.errs.merge(held.errs)
	_, err := dec.ReadToken()
	return out, err
}

// channels reads the destinations an event names: at most
// paligo.MaxEventChannels channel ids (C… or G…) or #names, each once.
func (v *eventValidator) channels(dec *jsontext.Decoder) ([]string, error) {
	if dec.PeekKind() != '[' {
		v.fail("channels", "must be an array of channel ids or #names")
		return nil, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	var out []string
	for j := 0; dec.PeekKind() != ']'; j++ {
		path := "channels[" + strconv.Itoa(j) + "]"
		s, ok, err := v.text(dec, path, identifier)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
		case j == paligo.MaxEventChannels:
			v.fail("channels", "at most %d channels", paligo.MaxEventChannels)
		case j > paligo.MaxEventChannels:
		case !paligo.ChannelRef(s):
			v.fail(path, "must be a channel id (C0123ABC) or a channel name (#data-alerts)")
		case !slices.Contains(out, s):
			out = append(out, s)
		}
	}
	_, err := dec.ReadToken()
	return out, err
}

// fields reads the kind-specific details: keys are identifiers, values
// prose; each bad one is named.
func (v *eventValidator) fields(dec *jsontext.Decoder) (map[string]string, error) {
	if isNull, err := null(dec); isNull || err != nil {
		return nil, err
	}
	if dec.PeekKind() != '{' {
		v.fail("fields", "must be an object of string values")
		return nil, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for {
		name, ok, err := member(dec)
		if err != nil || !ok {
			return out, err
		}
		k := string(name)
		path := "fields." + k
		// The key was decoded leniently: a U+FFFD in it may stand for
		// bytes that were not UTF-8, so it is refused either way.
		if r, bad := views.Invisible(k); bad || strings.ContainsRune(k, utf8.RuneError) {
			if !bad {
				r = utf8.RuneError
			}
			v.fail(path, "the key holds %U, a control, invisible or replacement character", r)
			if err := dec.SkipValue(); err != nil {
				return out, err
			}
			continue
		}
		val, ok, err := v.text(dec, path, prose)
		if err != nil {
			return out, err
		}
		if !ok {
			continue
		}
		if utf8.RuneCountInString(k) > 64 || utf8.RuneCountInString(val) > 2000 {
			v.fail(path, "keys are at most 64 characters and values 2000")
		}
		out[k] = val
	}
}
