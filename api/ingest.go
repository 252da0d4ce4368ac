package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// Ingest limits from the product contract.
const (
	MaxIngestBody   = 1 << 20
	MaxBatch        = 1000
	MaxEventIDLen   = 128
	MaxEventText    = 4000
	SignatureWindow = 5 * time.Minute
)

// Ingest answers POST /v1/events: signed, validated, durably stored events.
type Ingest struct {
	Store  *store.Store
	Secret []byte
	// Previous, while the ingest secret is being rotated, is the secret
	// before it: requests signed with it are good too.
	Previous []byte
	Now      func() time.Time
	Log      *slog.Logger
	// FanOut, if set, says how to fan events out in the transaction that
	// accepts them (false: not yet, delivery's own loop will).
	FanOut func() (store.FanOutSpec, bool)
	// Accepted, if set, is told of the new events stored (accepted) and of
	// what was fanned out with them: delivery takes it from there.
	Accepted func(accepted int, fanned store.FanOutResult)
	// Events, if set, counts events by result: accepted, duplicate,
	// rejected (every event of a refused request).
	Events *prometheus.CounterVec
	// Tokens checks the invitation token of invite.accepted events; nil
	// refuses them (invitations are off).
	Tokens *paligo.InviteTokens
}

// NewEventsCounter returns the counter Ingest.Events expects, registered
// with reg.
func NewEventsCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paligo_slack_events_total",
		Help: "Events posted to /v1/events, by result (accepted, duplicate, rejected).",
	}, []string{"result"})
	reg.MustRegister(c)
	return c
}

func (h *Ingest) count(result string, n int) {
	if h.Events != nil && n > 0 {
		h.Events.WithLabelValues(result).Add(float64(n))
	}
}

// FieldError is one invalid field of one event in a request.
type FieldError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

type ingestAnswer struct {
	Accepted   *int         `json:"accepted,omitempty"`
	Duplicates *int         `json:"duplicates,omitempty"`
	Error      string       `json:"error,omitempty"`
	Errors     []FieldError `json:"errors,omitempty"`
	// MoreErrors counts the errors found beyond the MaxErrors listed.
	MoreErrors int `json:"more_errors,omitempty"`
}

// MaxErrors is how many field errors one answer lists; the rest are
// counted (more_errors), so that a hostile body cannot make a huge answer.
const MaxErrors = 100

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.Secret) == 0 {
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusServiceUnavailable, ingestAnswer{Error: "ingest is disabled: PALIGO_SLACK_INGEST_SECRET is not set"})
		return
	}
	// An unsigned or stale request is refused before its body is read.
	ts, msg := signatureTimestamp(r.Header, h.Now())
	if msg != "" {
		writeJSON(w, http.StatusUnauthorized, ingestAnswer{Error: msg})
		return
	}
	body, err := readBody(w, r, MaxIngestBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, ingestAnswer{Error: fmt.Sprintf("body larger than %d bytes", MaxIngestBody)})
			return
		}
		writeJSON(w, http.StatusBadRequest, ingestAnswer{Error: "could not read the body"})
		return
	}
	if !signatureMatches(r.Header, ts, body, h.Secret, h.Previous) {
		writeJSON(w, http.StatusUnauthorized, ingestAnswer{Error: badSignature})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, ingestAnswer{Error: "Content-Type must be application/json"})
		return
	}
	events, errs, more := DecodeEvents(body)
	if len(errs) == 0 {
		errs = h.resolveInvites(events)
		if len(errs) > MaxErrors {
			errs, more = errs[:MaxErrors], len(errs)-MaxErrors
		}
	}
	if len(errs) > 0 {
		h.count("rejected", max(len(events), 1))
		writeJSON(w, http.StatusBadRequest, ingestAnswer{Error: "invalid events: nothing was stored", Errors: errs, MoreErrors: more})
		return
	}
	var fan *store.FanOutSpec
	if h.FanOut != nil {
		if spec, ok := h.FanOut(); ok {
			fan = &spec
		}
	}
	res, fanned, err := h.Store.AcceptAndFanOut(events, fan)
	if err != nil {
		h.Log.Error("store events", "err", err, "events", len(events))
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, ingestAnswer{Error: "could not store the events; nothing was stored, retry later"})
		return
	}
	h.count("accepted", res.Accepted)
	h.count("duplicate", res.Duplicates)
	if res.Accepted > 0 && h.Accepted != nil {
		h.Accepted(res.Accepted, fanned)
	}
	writeJSON(w, http.StatusAccepted, ingestAnswer{Accepted: &res.Accepted, Duplicates: &res.Duplicates})
}

// resolveInvites ties each invite.accepted event to its invitation: the
// token of the invitation link (fields.token) or the invitation's id
// (fields.invite_id, as GET /v1/invites/{token} answers it). The token is
// not stored; the id is. An event without an actor gets the invitee's
// email as its actor.
func (h *Ingest) resolveInvites(events []paligo.Event) []FieldError {
	var errs []FieldError
	for i := range events {
		e := &events[i]
		if e.Type != "invite.accepted" {
			continue
		}
		fail := func(field, msg string) { errs = append(errs, FieldError{Index: i, Field: field, Message: msg}) }
		if h.Tokens == nil {
			fail("type", "invitations are off here (PALIGO_SLACK_INVITE_URL is not set)")
			continue
		}
		var id uint64
		switch token, idText := e.Fields["token"], e.Fields[paligo.FieldInviteID]; {
		case token != "":
			var ok bool
			if id, _, ok = h.Tokens.Parse(token); !ok {
				fail("fields.token", "is not a valid invitation token")
				continue
			}
		case idText != "":
			var err error
			if id, err = strconv.ParseUint(idText, 10, 64); err != nil || id == 0 {
				fail("fields."+paligo.FieldInviteID, "must be an invitation id")
				continue
			}
		default:
			fail("fields.token", "is required for invite.accepted: the token of the invitation link (or fields.invite_id)")
			continue
		}
		inv, found, err := h.Store.Invite(id)
		if err != nil || !found {
			fail("fields.token", "names no invitation of this workspace")
			continue
		}
		fields := make(map[string]string, len(e.Fields))
		for k, v := range e.Fields {
			if k != "token" {
				fields[k] = v
			}
		}
		fields[paligo.FieldInviteID] = strconv.FormatUint(id, 10)
		e.Fields = fields
		if e.Actor == nil {
			e.Actor = &paligo.Person{Email: inv.Email}
		}
	}
	return errs
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// Sign returns the X-Signature value for body at timestamp ts, the way Slack
// signs its own requests: v0= + hex HMAC-SHA256 of "v0:{ts}:{body}".
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "v0:%d:", ts)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks X-Signature-Timestamp and X-Signature; it returns
// "" when they are good, else what is wrong (never the expected value).
// A request signed with any of secrets (the ingest secret and, while it is
// being rotated, the previous one) is good.
func VerifySignature(hdr http.Header, body []byte, now time.Time, secrets ...[]byte) string {
	ts, msg := signatureTimestamp(hdr, now)
	if msg != "" {
		return msg
	}
	if !signatureMatches(hdr, ts, body, secrets...) {
		return badSignature
	}
	return ""
}

const badSignature = "X-Signature does not match"

// signatureMatches compares X-Signature with the signature of body at ts
// under each secret, in constant time; empty secrets are skipped.
func signatureMatches(hdr http.Header, ts int64, body []byte, secrets ...[]byte) bool {
	sig := []byte(hdr.Get("X-Signature"))
	ok := false
	for _, secret := range secrets {
		if len(secret) > 0 && hmac.Equal(sig, []byte(Sign(secret, ts, body))) {
			ok = true
		}
	}
	return ok
}

// signatureTimestamp checks what can be checked before the body is read:
// both headers are there and the timestamp is within SignatureWindow (a
// request captured and replayed later is refused here).
func signatureTimestamp(hdr http.Header, now time.Time) (int64, string) {
	tsHdr, sig := hdr.Get("X-Signature-Timestamp"), hdr.Get("X-Signature")
	if tsHdr == "" || sig == "" {
		return 0, "missing X-Signature-Timestamp or X-Signature"
	}
	// Decimal digits only, as Slack's scheme writes them: strconv would
	// also take "+N", and a signed string must be read one way only.
	if len(tsHdr) > 18 || strings.TrimLeft(tsHdr, "0123456789") != "" || (len(tsHdr) > 1 && tsHdr[0] == '0') {
		return 0, "X-Signature-Timestamp is not unix seconds"
	}
	ts, err := strconv.ParseInt(tsHdr, 10, 64)
	if err != nil {
		return 0, "X-Signature-Timestamp is not unix seconds"
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureWindow || d < -SignatureWindow {
		return 0, "X-Signature-Timestamp is more than 5 minutes away"
	}
	return ts, ""
}

// DecodeEvents parses one event object or an array of them and validates
// every field. It returns the first MaxErrors errors found, in order, and
// how many more there were.
func DecodeEvents(body []byte) (events []paligo.Event, errs []FieldError, more int) {
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
	list := &errorList{}
	events = make([]paligo.Event, 0, len(raws))
	for i, raw := range raws {
		events = append(events, decodeEvent(&eventValidator{i: i, errs: list}, raw))
	}
	// Every string was checked where it stands; this catches what is not
	// a string (a member name) so that no byte is ever replaced.
	if list.n == 0 && !utf8.Valid(body) {
		return one("body is not valid UTF-8")
	}
	return events, list.items, list.n - len(list.items)
}

// errorList keeps the first MaxErrors errors and counts them all.
type errorList struct {
	items []FieldError
	n     int
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

// str decodes an optional string field, checking that it is valid UTF-8
// (never replaced), what it may hold, and its length in characters.
func (v *eventValidator) str(m map[string]json.RawMessage, field, path string, required bool, max int, kind ...textKind) string {
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
// become the same one; an identifier may hold no control or invisible
// character.
func (v *eventValidator) text(raw json.RawMessage, path string, kind ...textKind) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		v.fail(path, "must be a string")
		return "", false
	}
	if !strictUTF8(raw) {
		v.fail(path, "is not valid UTF-8")
		return "", false
	}
	if len(kind) > 0 && kind[0] == identifier {
		if r, bad := views.Invisible(s); bad {
			v.fail(path, "holds %U, a control or invisible character", r)
			return "", false
		}
	}
	return s, true
}

// strictUTF8 reports whether the JSON string raw is valid UTF-8 whose \u
// escapes pair their surrogates (encoding/json would quietly put U+FFFD in
// place of both faults).
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

func (v *eventValidator) object(raw json.RawMessage, path string, allowed ...string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		v.fail(path, "must be an object")
		return nil
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			v.fail(joinPath(path, k), "is not a known field")
		}
	}
	return m
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

func decodeEvent(v *eventValidator, raw json.RawMessage) paligo.Event {
	m := v.object(raw, "", "id", "type", "occurred_at", "actor", "subject", "recipients", "text", "fields")
	if m == nil {
		return paligo.Event{}
	}
	var e paligo.Event
	e.ID = v.str(m, "id", "id", true, MaxEventIDLen, identifier)
	e.Type = paligo.Kind(v.str(m, "type", "type", true, 64, identifier))
	if _, ok := paligo.Kinds[e.Type]; e.Type != "" && !ok {
		v.fail("type", "%q is not a known event kind", e.Type)
	}
	if at := v.str(m, "occurred_at", "occurred_at", false, 64, identifier); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			v.fail("occurred_at", "must be an RFC 3339 time")
		}
		e.OccurredAt = t.UTC()
	}
	if raw, ok := m["actor"]; ok && string(raw) != "null" {
		if am := v.object(raw, "actor", "email", "name"); am != nil {
			e.Actor = &paligo.Person{Email: v.str(am, "email", "actor.email", false, 320, identifier), Name: v.str(am, "name", "actor.name", false, 200)}
			if e.Actor.Email != "" && !validEmail(e.Actor.Email) {
				v.fail("actor.email", "is not an email address")
			}
		}
	}
	if raw, ok := m["subject"]; ok && string(raw) != "null" {
		if sm := v.object(raw, "subject", "kind", "id", "title", "url"); sm != nil {
			e.Subject = &paligo.Subject{
				Kind:  v.str(sm, "kind", "subject.kind", true, 64, identifier),
				ID:    v.str(sm, "id", "subject.id", true, 256, identifier),
				Title: v.str(sm, "title", "subject.title", false, 500),
				URL:   v.str(sm, "url", "subject.url", false, 3000, identifier),
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
func (v *eventValidator) recipients(raw json.RawMessage) []string {
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
		email, ok := v.text(r, path, identifier)
		if ok && !validEmail(email) {
			v.fail(path, "is not an email address")
		}
		out = append(out, email)
	}
	return out
}

// fields decodes the kind-specific details: keys are identifiers, values
// prose; each bad one is named.
func (v *eventValidator) fields(raw json.RawMessage) map[string]string {
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
