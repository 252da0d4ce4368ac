package sources

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// reader reads a body token by token (jsontext, the syntax layer of
// encoding/json/v2), for the bodies that come in volume (alert groups):
// no reflection, and what is not used is skipped, never unquoted.
type reader struct{ dec *jsontext.Decoder }

func newReader(body []byte) *reader {
	// From a bytes.Buffer the decoder reads the body in place.
	return &reader{dec: jsontext.NewDecoder(bytes.NewBuffer(body), lenient)}
}

// object reads the object at path (null reads as nothing), calling member
// with each member's name, raw and quoted; member reads the value.
func (r *reader) object(path string, member func(name []byte) error) error {
	switch r.dec.PeekKind() {
	case '{':
	case 'n':
		_, err := r.dec.ReadToken()
		return err
	case 0:
		_, err := r.dec.ReadToken()
		return err
	default:
		return r.wrongKind(path, "object")
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return err
	}
	for r.dec.PeekKind() != '}' {
		name, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
	}
	_, err := r.dec.ReadToken()
	return err
}

// end checks that nothing follows the body's value.
func (r *reader) end() error {
	_, err := r.dec.ReadToken()
	switch {
	case err == nil:
		return &BodyError{Message: "more than one JSON value in the body"}
	case errors.Is(err, io.EOF):
		return nil
	}
	return err
}

func (r *reader) wrongKind(path, want string) error {
	if k := r.dec.PeekKind(); k != 0 {
		return &BodyError{Field: path, Message: "is a JSON " + kindName(k) + " where the sender sends a " + want}
	}
	_, err := r.dec.ReadToken()
	return err
}

func (r *reader) str(path string) (string, error) {
	if k := r.dec.PeekKind(); k != '"' {
		if k == 'n' {
			_, err := r.dec.ReadToken()
			return "", err
		}
		return "", r.wrongKind(path, "string")
	}
	v, err := r.dec.ReadValue()
	if err != nil {
		return "", err
	}
	return unquote(v), nil
}

func (r *reader) int(path string) (int, error) {
	if r.dec.PeekKind() != '0' {
		return 0, r.wrongKind(path, "number")
	}
	v, err := r.dec.ReadValue()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, &BodyError{Field: path, Message: "is not a whole number"}
	}
	return n, nil
}

// id reads an id written as a string or a number.
func (r *reader) id(path string) (string, error) {
	if r.dec.PeekKind() == '0' {
		v, err := r.dec.ReadValue()
		return string(v), err
	}
	return r.str(path)
}

// strMap reads an object of strings.
func (r *reader) strMap(path string) (map[string]string, error) {
	var m map[string]string
	err := r.object(path, func(name []byte) error {
		k := unquote(name)
		v, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		if v.Kind() != '"' {
			return &BodyError{Field: path + "." + k, Message: "is a JSON " + kindName(v.Kind()) + " where the sender sends a string"}
		}
		if m == nil {
			m = map[string]string{}
		}
		m[k] = unquote(v)
		return nil
	})
	return m, err
}

// unquote is a JSON string's text (v is valid JSON: the decoder read it).
func unquote(v []byte) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	b, _ := jsontext.AppendUnquote(nil, v)
	return string(b)
}
