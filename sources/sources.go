// Package sources takes the platforms' own webhooks as they send them:
// Paligo, Paradime, dbt Cloud, Alertmanager and Grafana. Each sender has
// the credentials it can present (Auth), and a decoder that turns its body
// into the product's own events, with an id derived from what identifies
// the occurrence (none of them sends one that is documented to stay the
// same across its retries). What becomes of the events is the ingest API's
// business (package api): the same durable path as POST /v1/events.
//
// The formats, and what each sender's documentation leaves out, are in
// docs/sources/; samples of each sender's bodies are in samples/, each
// naming its source: the tests send them, and so does the demo.
package sources

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

//go:embed samples/*/*.json
var samples embed.FS

// Samples are the senders' sample bodies, SENDER/NAME.json (samples/ in
// the source).
var Samples = func() fs.FS {
	sub, err := fs.Sub(samples, "samples")
	if err != nil {
		panic(err)
	}
	return sub
}()

// Scheme is how a sender proves who it is.
type Scheme string

// The schemes of PALIGO_SLACK_SOURCE_<NAME>.
const (
	// Basic: Authorization: Basic base64(user:password).
	Basic Scheme = "basic"
	// Bearer: Authorization: Bearer TOKEN.
	Bearer Scheme = "bearer"
	// Path: the sender is given …/v1/sources/NAME/TOKEN, for senders that
	// can only be given a URL.
	Path Scheme = "path"
	// HMAC: the sender signs the raw body (dbt Cloud in Authorization,
	// Grafana in X-Grafana-Alerting-Signature).
	HMAC Scheme = "hmac"
)

// MinSecret is the shortest secret, token or password taken: the same
// floor as the ingest secret's.
const MinSecret = 16

// Sender is one platform that posts webhooks of its own.
type Sender struct {
	// Name is the endpoint's last segment: POST /v1/sources/NAME.
	Name string
	// Title is how people name it.
	Title string
	// Schemes are the credentials it can present, in the order the docs
	// recommend them.
	Schemes []Scheme
	// hmacHeader carries the signature (HMAC); timestampHeader, when the
	// sender may sign "ts:body", the timestamp.
	hmacHeader, timestampHeader string
	decode                      func(body []byte, r Request) ([]paligo.Event, error)
}

// Senders are the senders taken, in the order of the docs.
var Senders = []*Sender{paligoSender, paradimeSender, dbtCloudSender, alertmanagerSender, grafanaSender}

// Lookup returns the sender named name, or nil.
func Lookup(name string) *Sender {
	for _, s := range Senders {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Setting is the environment variable that turns the sender on.
func (s *Sender) Setting() string {
	return "PALIGO_SLACK_SOURCE_" + strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
}

// Auth is one sender's credentials, as set in its setting. It never
// prints its secrets.
type Auth struct {
	Scheme Scheme
	user   string
	secret string
	// sum is what the sender's header must hash to (basic, bearer), so
	// that a comparison takes the same time whatever the lengths.
	sum [32]byte
}

func (Auth) String() string       { return "[redacted]" }
func (Auth) GoString() string     { return "[redacted]" }
func (Auth) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// ParseAuth reads the sender's setting, SCHEME:SECRET (basic:USER:PASSWORD).
// The error never quotes the value.
func (s *Sender) ParseAuth(v string) (Auth, error) {
	scheme, rest, ok := strings.Cut(v, ":")
	a := Auth{Scheme: Scheme(strings.ToLower(scheme))}
	names := make([]string, len(s.Schemes))
	for i, sc := range s.Schemes {
		names[i] = string(sc)
	}
	if !ok || !slices.Contains(s.Schemes, a.Scheme) {
		return Auth{}, fmt.Errorf("is SCHEME:SECRET, and %s can use %s", s.Title, strings.Join(names, ", "))
	}
	switch a.Scheme {
	case Basic:
		user, pass, ok := strings.Cut(rest, ":")
		if !ok || user == "" {
			return Auth{}, errors.New("basic is basic:USER:PASSWORD")
		}
		if len(pass) < MinSecret {
			return Auth{}, fmt.Errorf("the password is shorter than %d characters", MinSecret)
		}
		a.user, a.secret = user, pass
		a.sum = sha256.Sum256([]byte("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))))
	case Path:
		if strings.IndexFunc(rest, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~')
		}) >= 0 {
			return Auth{}, errors.New("a path token is letters, digits, - _ . and ~ (it goes in the URL)")
		}
		fallthrough
	default:
		if len(rest) < MinSecret {
			return Auth{}, fmt.Errorf("the %s secret is shorter than %d characters", a.Scheme, MinSecret)
		}
		if _, bad := views.Invisible(rest); bad || strings.ContainsAny(rest, " ") {
			return Auth{}, fmt.Errorf("the %s secret holds a space or a control character", a.Scheme)
		}
		a.secret = rest
		a.sum = sha256.Sum256([]byte(rest))
	}
	return a, nil
}

// Refusal is why a request's credentials were refused (a 401).
type Refusal string

// Credentials checks what can be checked before the body is read: the
// Authorization header (basic, bearer) or the path's token (path). token
// is the path segment after the sender's name ("" when there is none).
// For HMAC it only checks that a signature was sent. "" means it passed.
func (s *Sender) Credentials(a Auth, h http.Header, token string) Refusal {
	given := ""
	switch a.Scheme {
	case Path:
		if token == "" {
			return "this source's URL ends with its secret token: …/v1/sources/" + Refusal(s.Name) + "/TOKEN"
		}
		given = token
	case Basic, Bearer:
		given = h.Get("Authorization")
		if given == "" {
			return Refusal("missing credentials: this source takes " + schemeWord(a.Scheme) + " authentication (Authorization header)")
		}
		if a.Scheme == Bearer {
			word, tok, _ := strings.Cut(given, " ")
			if !strings.EqualFold(word, "Bearer") {
				return "wrong credentials: this source takes Authorization: Bearer TOKEN"
			}
			given = tok
		}
	case HMAC:
		if h.Get(s.hmacHeader) == "" {
			return Refusal("missing signature: " + s.hmacHeader + " is required")
		}
		return ""
	}
	sum := sha256.Sum256([]byte(given))
	if subtle.ConstantTimeCompare(sum[:], a.sum[:]) != 1 {
		return "wrong credentials"
	}
	return ""
}

func schemeWord(s Scheme) string {
	if s == Basic {
		return "Basic"
	}
	return "Bearer"
}

// Send is how the sender posts body with credentials a: the path's tail
// after /v1/sources/NAME ("" or "/TOKEN") and the headers it sets. The
// demo sends the samples this way.
func (s *Sender) Send(a Auth, body []byte) (tail string, h http.Header) {
	h = http.Header{"Content-Type": {"application/json"}}
	switch a.Scheme {
	case Basic:
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.secret)))
	case Bearer:
		h.Set("Authorization", "Bearer "+a.secret)
	case Path:
		tail = "/" + a.secret
	case HMAC:
		m := hmac.New(sha256.New, []byte(a.secret))
		m.Write(body)
		h.Set(s.hmacHeader, hex.EncodeToString(m.Sum(nil)))
	}
	return tail, h
}

// MaxSkew is how far a signed timestamp may be from now.
const MaxSkew = 5 * time.Minute

// Signature checks an HMAC sender's signature of the raw body (and, when
// the sender sent one, of its timestamp). "" means it passed; other
// schemes always pass.
func (s *Sender) Signature(a Auth, h http.Header, body []byte, now time.Time) Refusal {
	if a.Scheme != HMAC {
		return ""
	}
	sig, err := hex.DecodeString(strings.TrimSpace(h.Get(s.hmacHeader)))
	if err != nil {
		return Refusal("wrong signature: " + s.hmacHeader + " is the hex HMAC-SHA256 of the body")
	}
	m := hmac.New(sha256.New, []byte(a.secret))
	if ts := h.Get(s.timestampHeader); s.timestampHeader != "" && ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return Refusal(s.timestampHeader + " is not Unix seconds")
		}
		if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
			return Refusal("stale signature: " + s.timestampHeader + " is more than 5 minutes away")
		}
		m.Write([]byte(ts + ":"))
	}
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return "wrong signature"
	}
	return ""
}

// Request is what an adapter knows of a request besides its body.
type Request struct {
	// Scope is the workspace the URL names (team=T or org=O, as given), so
	// that two workspaces' identical deliveries never share an id.
	Scope string
	// Now is when it was received.
	Now time.Time
	// DBTCloudURL is the base of dbt Cloud's run links ("": DBTCloudURL,
	// the default access URL).
	DBTCloudURL string
}

// BodyError says what is wrong with a body: Field (a JSON path, "" for
// the whole body) and Message.
type BodyError struct {
	Field, Message string
}

func (e *BodyError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func bad(field, format string, a ...any) error {
	return &BodyError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// MaxValues bounds a body's JSON values, counted before it is decoded (by
// its commas and openings, so a comma inside a string counts too): a
// hostile body of 1 MiB costs one pass over its bytes, never a million
// small allocations.
const MaxValues = 50_000

// Decode turns a body into the product's events; a *BodyError says what
// is not the sender's format.
func (s *Sender) Decode(body []byte, r Request) ([]paligo.Event, error) {
	if err := checkShape(body); err != nil {
		return nil, err
	}
	events, err := s.decode(body, r)
	if err != nil {
		var be *BodyError
		if !errors.As(err, &be) {
			err = jsonError(err)
		}
		return nil, err
	}
	for i := range events {
		e := &events[i]
		if e.Fields == nil {
			e.Fields = map[string]string{}
		}
		e.Fields[paligo.FieldSource] = s.Name
		if e.OccurredAt.IsZero() {
			e.OccurredAt = r.Now
		}
	}
	return events, nil
}

// checkShape refuses, cheaply, a body that is not one JSON object or holds
// more than MaxValues values.
func checkShape(body []byte) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &BodyError{Message: "the body must be one JSON object"}
	}
	if n := bytes.Count(body, []byte{','}) + bytes.Count(body, []byte{'{'}) + bytes.Count(body, []byte{'['}); n > MaxValues {
		return &BodyError{Message: fmt.Sprintf("more than %d JSON values in one body", MaxValues)}
	}
	return nil
}

// lenient decodes a sender's body as senders write it: a name given twice
// is not worth refusing (the last one counts), and not checking for one is
// a good part of the decoder's time.
var lenient = jsontext.AllowDuplicateNames(true)

// jsonError says what the JSON decoder found wrong, where.
func jsonError(err error) *BodyError {
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		msg := "is not what the sender sends"
		switch {
		case sem.Err != nil:
			msg = jsonMessage(sem.Err)
		case sem.JSONKind != 0 && sem.GoType != nil:
			msg = "is a JSON " + kindName(sem.JSONKind) + " where the sender sends a " + goKind(sem.GoType.Kind().String())
		}
		return &BodyError{Field: pathOf(string(sem.JSONPointer)), Message: msg}
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return &BodyError{Message: fmt.Sprintf("not JSON: %s (at byte %d)", jsonMessage(syn.Err), syn.ByteOffset)}
	}
	return &BodyError{Message: jsonMessage(err)}
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "list"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return k.String()
}

func goKind(k string) string {
	switch k {
	case "slice":
		return "list"
	case "struct", "map":
		return "object"
	case "int", "int64":
		return "number"
	}
	return k
}

// pathOf writes a JSON pointer (/alerts/0/labels) as a path
// (alerts[0].labels).
func pathOf(ptr string) string {
	var b strings.Builder
	for i, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if _, err := strconv.Atoi(tok); err == nil && i > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// jsonMessage is a decoding error without the library's prefix.
func jsonMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"jsontext: ", "json: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// idOf is a stable id: the sender's name and a hash of the parts
// (128 bits, hex).
func idOf(sender string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return sender + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// ident is s as an identifier of at most n characters: no control or
// invisible characters.
func ident(s string, n int) string {
	if _, bad := views.Invisible(s); bad {
		s = strings.Map(func(r rune) rune {
			if _, bad := views.Invisible(string(r)); bad {
				return -1
			}
			return r
		}, s)
	}
	return cut(strings.TrimSpace(s), n)
}

// cut shortens s to at most n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return views.Truncate(s, n)
}

// Limits of what an adapter puts in an event: the ingest API's.
const (
	maxFieldKey   = 64
	maxFieldValue = 2000
	maxFields     = 64
	maxText       = 4000
	maxTitle      = 500
	maxSubjectID  = 256
)

// fields collects an event's fields within the ingest API's limits.
type fields map[string]string

// set sets k to v, unless v is empty; a key or value out of bounds is
// cleaned and cut.
func (f fields) set(k, v string) {
	k = ident(k, maxFieldKey)
	if k == "" || v == "" {
		return
	}
	if _, ok := f[k]; !ok && len(f) >= maxFields {
		return
	}
	f[k] = cut(v, maxFieldValue)
}

// link is u if it may become a link, else "".
func link(u string) string { return views.SafeURL(u) }

// emails picks the email addresses out of values (each may list several,
// separated by commas, semicolons or spaces), each once.
func emails(out []string, values ...string) []string {
	for _, v := range values {
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' }) {
			w = strings.Trim(w, "<>")
			if paligo.ValidEmail(w) && !slices.Contains(out, w) && len(out) < 50 {
				out = append(out, w)
			}
		}
	}
	return out
}

// slug is a display name as one word a filter can name: lower case,
// spaces as "-" ("Finance warehouse" → "finance-warehouse").
func slug(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.Fields(s), "-")
}

// flexID is an id a sender writes as a JSON string or a number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return errors.New("must be a string or a number")
		}
		*f = flexID(s)
	case string(b) == "null":
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*f = flexID(b)
	default:
		return errors.New("must be a string or a number")
	}
	return nil
}
