package paligo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Tokens signs and checks tokens that carry a record's id and expiry, and
// an HMAC-SHA256 of both, base64url, with a key derived from a secret for
// one purpose (invitation links; OAuth states). A token is proof that this
// bot issued it; whether it still works (not expired, not used) is the
// record's to say.
type Tokens struct {
	key []byte
	// previous is the key of the secret before, while it is rotated:
	// links signed with it still parse; new links are signed with key.
	previous []byte
}

// NewInviteTokens derives the token key from secret (the ingest secret), so
// the key for links is not the key for requests. Links signed with a key
// derived from previous (the secret before, while it is rotated; may be
// empty) still parse; once previous is dropped they stop working.
func NewInviteTokens(secret, previous []byte) *InviteTokens {
	return newTokens("paligo-slack invitation token v1", secret, previous)
}

// InviteTokens are the tokens of invitation links.
type InviteTokens = Tokens

// NewStateTokens are the OAuth states of the Connect flow: signed with a
// key of their own derived from secret (the ingest secret).
func NewStateTokens(secret []byte) *Tokens {
	return newTokens("paligo-slack oauth state v1", secret, nil)
}

func newTokens(label string, secret, previous []byte) *Tokens {
	t := &Tokens{key: tokenKey(label, secret)}
	if len(previous) > 0 {
		t.previous = tokenKey(label, previous)
	}
	return t
}

func tokenKey(label string, secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

const tokenPayload = 16 // id, expiry (unix seconds)

// Sign returns the token of record id, expiring at expires.
func (t *Tokens) Sign(id uint64, expires time.Time) string {
	b := make([]byte, tokenPayload, tokenPayload+sha256.Size)
	binary.BigEndian.PutUint64(b, id)
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, mac(t.key, b)...))
}

// Parse checks token's signature and returns the record id and expiry
// it carries; ok is false for anything this bot did not sign.
func (t *Tokens) Parse(token string) (id uint64, expires time.Time, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenPayload+sha256.Size) {
		return 0, time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, time.Time{}, false
	}
	good := hmac.Equal(b[tokenPayload:], mac(t.key, b[:tokenPayload]))
	if t.previous != nil && hmac.Equal(b[tokenPayload:], mac(t.previous, b[:tokenPayload])) {
		good = true
	}
	if !good {
		return 0, time.Time{}, false
	}
	id = binary.BigEndian.Uint64(b)
	return id, time.Unix(int64(binary.BigEndian.Uint64(b[8:])), 0).UTC(), id > 0
}

func mac(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)
}
