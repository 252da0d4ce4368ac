// Package signing signs and checks the requests the platform and the bot
// send each other, the way Slack signs its own: X-Signature-Timestamp (unix
// seconds) and X-Signature, "v0=" and the hex HMAC-SHA256 of
// "v0:{timestamp}:{body}" with the ingest secret. The platform signs its
// events, its API calls (a GET signs its path and query) and its Connect
// links; the bot signs its callbacks. A timestamp more than Window away is
// refused before anything else, so a request captured and sent again later
// is refused; signatures are compared in constant time; while the secret
// is rotated, the one before is accepted too.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Window is how far a request's timestamp may be from now.
const Window = 5 * time.Minute

// BadSignature is what a request whose signature does not match is told.
const BadSignature = "X-Signature does not match"

// Sign returns the X-Signature value for body at timestamp ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks X-Signature-Timestamp and X-Signature of a request whose
// signed body is body; it returns "" when they are good, else what is
// wrong (never the expected value). A request signed with any of secrets
// (the secret and, while it is rotated, the one before) is good.
func Verify(hdr http.Header, body []byte, now time.Time, secrets ...[]byte) string {
	ts, msg := Timestamp(hdr, now)
	if msg != "" {
		return msg
	}
	if !Matches(hdr, ts, body, secrets...) {
		return BadSignature
	}
	return ""
}

// Matches compares X-Signature with the signature of body at ts under each
// secret, in constant time; empty secrets are skipped.
func Matches(hdr http.Header, ts int64, body []byte, secrets ...[]byte) bool {
	sig := []byte(hdr.Get("X-Signature"))
	ok := false
	for _, secret := range secrets {
		if len(secret) > 0 && hmac.Equal(sig, []byte(Sign(secret, ts, body))) {
			ok = true
		}
	}
	return ok
}

// Timestamp checks what can be checked before the body is read: both
// headers are there and the timestamp is within Window. It returns the
// timestamp, or what is wrong.
func Timestamp(hdr http.Header, now time.Time) (int64, string) {
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
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return 0, "X-Signature-Timestamp is more than 5 minutes away"
	}
	return ts, ""
}

// Path is what a request without a body (GET, DELETE) signs: its path,
// and its query if it has one.
func Path(r *http.Request) []byte {
	p := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		p += "?" + r.URL.RawQuery
	}
	return []byte(p)
}

// Header sets the signature headers of a request of body, signed at now.
func Header(h http.Header, secret []byte, now time.Time, body []byte) {
	ts := now.Unix()
	h.Set("X-Signature-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Signature", Sign(secret, ts, body))
}

// Keys are what checks the platform's requests: the secret, the one
// before it while it is rotated, and the clock.
type Keys struct {
	Secret, Previous []byte
	Now              func() time.Time
}

// Set reports whether there is a secret to check with.
func (k Keys) Set() bool { return len(k.Secret) > 0 }

// Verify is Verify with k's secrets and clock.
func (k Keys) Verify(hdr http.Header, body []byte) string {
	return Verify(hdr, body, k.Now(), k.Secret, k.Previous)
}

// Timestamp is Timestamp at k's clock.
func (k Keys) Timestamp(hdr http.Header) (int64, string) { return Timestamp(hdr, k.Now()) }

// Matches is Matches with k's secrets.
func (k Keys) Matches(hdr http.Header, ts int64, body []byte) bool {
	return Matches(hdr, ts, body, k.Secret, k.Previous)
}
