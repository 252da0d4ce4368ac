package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/paligo/paligo-slack/signing"
)

// signer checks the platform's signed requests, the same way for every
// call: refused before the body is read when unsigned or stale, then the
// signature of the body (or, for a GET, of the path and query), then the
// content type. Each refusal is answered here, as {"error": …}.
type signer struct {
	keys signing.Keys
	// off is the 503's message when there is no secret.
	off string
}

func (s signer) disabled(w http.ResponseWriter) bool {
	if s.keys.Set() {
		return false
	}
	w.Header().Set("Retry-After", "60")
	writeJSON(w, http.StatusServiceUnavailable, apiError{Error: s.off})
	return true
}

// body returns the body of a signed JSON POST, at most limit bytes; false
// when the request was refused (and answered).
func (s signer) body(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if s.disabled(w) {
		return nil, false
	}
	ts, msg := s.keys.Timestamp(r.Header)
	if msg != "" {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: msg})
		return nil, false
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("body larger than %d bytes", limit)})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: "could not read the body"})
		return nil, false
	}
	if !s.keys.Matches(r.Header, ts, body) {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: signing.BadSignature})
		return nil, false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{Error: "Content-Type must be application/json"})
		return nil, false
	}
	return body, true
}

// get checks a signed GET (the path and query are what is signed); false
// when it was refused (and answered).
func (s signer) get(w http.ResponseWriter, r *http.Request) bool {
	if s.disabled(w) {
		return false
	}
	if msg := s.keys.Verify(r.Header, signing.Path(r)); msg != "" {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: msg})
		return false
	}
	return true
}

const apiOff = "the platform API is off: PALIGO_SLACK_INGEST_SECRET is not set"

type apiError struct {
	Error string `json:"error"`
}
