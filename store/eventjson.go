package store

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paligo/paligo-slack/paligo"
)

// appendEvent appends the record of e that encoding/json's Marshal writes,
// byte for byte, without its reflection and without compacting each time
// it encodes again: every accepted event is encoded once on the way in,
// and that was an eighth of the CPU of a batch (docs/benchmarks.md). The
// test holds it to json.Marshal for every field of paligo.Event, so a
// field added there and not here fails it. A time json.Marshal refuses
// (a year past 9999) is handed to json.Marshal for its error.
func appendEvent(dst []byte, e *paligo.Event) ([]byte, error) {
	if !jsonTime(e.OccurredAt) || !jsonTime(e.ReceivedAt) {
		v, err := json.Marshal(e)
		return append(dst, v...), err
	}
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, string(e.Type))
	dst = append(dst, `,"occurred_at":`...)
	dst = appendJSONTime(dst, e.OccurredAt)
	if a := e.Actor; a != nil {
		dst = append(dst, `,"actor":{`...)
		sep := ""
		if a.Email != "" {
			dst = append(dst, `"email":`...)
			dst = appendJSONString(dst, a.Email)
			sep = ","
		}
		if a.Name != "" {
			dst = append(dst, sep+`"name":`...)
			dst = appendJSONString(dst, a.Name)
		}
		dst = append(dst, '}')
	}
	if s := e.Subject; s != nil {
		dst = append(dst, `,"subject":{"kind":`...)
		dst = appendJSONString(dst, s.Kind)
		dst = append(dst, `,"id":`...)
		dst = appendJSONString(dst, s.ID)
		if s.Title != "" {
			dst = append(dst, `,"title":`...)
			dst = appendJSONString(dst, s.Title)
		}
		if s.URL != "" {
			dst = append(dst, `,"url":`...)
			dst = appendJSONString(dst, s.URL)
		}
		dst = append(dst, '}')
	}
	if len(e.Recipients) > 0 {
		dst = appendJSONStrings(append(dst, `,"recipients":`...), e.Recipients)
	}
	if e.Text != "" {
		dst = append(dst, `,"text":`...)
		dst = appendJSONString(dst, e.Text)
	}
	if len(e.Fields) > 0 {
		dst = append(dst, `,"fields":{`...)
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys) // json.Marshal sorts a map's keys
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendJSONString(dst, k), ':')
			dst = appendJSONString(dst, e.Fields[k])
		}
		dst = append(dst, '}')
	}
	if len(e.Channels) > 0 {
		dst = appendJSONStrings(append(dst, `,"channels":`...), e.Channels)
	}
	for _, f := range [...]struct{ name, v string }{{`,"team":`, e.Team}, {`,"org":`, e.Org}, {`,"thread":`, e.Thread}} {
		if f.v != "" {
			dst = appendJSONString(append(dst, f.name...), f.v)
		}
	}
	if len(e.Actions) > 0 {
		dst = append(dst, `,"actions":[`...)
		for i, a := range e.Actions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = appendJSONString(dst, a.ID)
			dst = append(dst, `,"label":`...)
			dst = appendJSONString(dst, a.Label)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if e.Seq != 0 {
		dst = strconv.AppendUint(append(dst, `,"seq":`...), e.Seq, 10)
	}
	dst = append(dst, `,"received_at":`...)
	dst = appendJSONTime(dst, e.ReceivedAt)
	return append(dst, '}'), nil
}

// jsonTime reports whether t is a time json.Marshal writes: RFC 3339
// allows years 0 to 9999 and zone offsets within a day, in whole minutes.
func jsonTime(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	return off%60 == 0 && off > -24*3600 && off < 24*3600
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it.
func appendJSONTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

func appendJSONStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it: with <, >
// and & escaped for HTML, U+2028 and U+2029 escaped, and each byte of
// invalid UTF-8 replaced by U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
