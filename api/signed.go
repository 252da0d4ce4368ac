package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"
)

// signer checks the platform's signed requests, the same way for every
// call: refused before the body is read when unsigned or stale, then the
// signature of the body (or, for a GET, of the path and query), then the
// content type. Each refusal is answered here, as {"error": …}.
type signer struct {
	secret, previous []byte
	now              func() time.Time
	// off is the 503's message when there is no secret.
	off string
}

func (s signer) disabled(w http.ResponseWriter) bool {
	if len(s.secret) > 0 {
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
	ts, msg := signatureTimestamp(r.Header, s.now())
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
	if !signatureMatches(r.Header, ts, body, s.secret, s.previous) {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: badSignature})
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
	if msg := VerifySignature(r.Header, SignedPath(r), s.now(), s.secret, s.previous); msg != "" {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: msg})
		return false
	}
	return true
}

// SignedPath is what a GET request of the platform API signs: its path,
// and its query if it has one.
func SignedPath(r *http.Request) []byte {
	p := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		p += "?" + r.URL.RawQuery
	}
	return []byte(p)
}

const apiOff = "the platform API is off: PALIGO_SLACK_INGEST_SECRET is not set"

type apiError struct {
	Error string `json:"error"`
}
