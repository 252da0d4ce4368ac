package paligo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// InviteTokens signs and checks the tokens of invitation links: the
// invitation's id and expiry, and an HMAC-SHA256 of both, base64url. A token
// is proof that this bot issued that link; whether it still works (not
// expired, not used) is the invitation record's to say.
type InviteTokens struct {
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
	t := &InviteTokens{key: tokenKey(secret)}
	if len(previous) > 0 {
		t.previous = tokenKey(previous)
	}
	return t
}

func tokenKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("paligo-slack invitation token v1"))
	return m.Sum(nil)
}

const tokenPayload = 16 // id, expiry (unix seconds)

// Sign returns the token of invitation id, expiring at expires.
func (t *InviteTokens) Sign(id uint64, expires time.Time) string {
	b := make([]byte, tokenPayload, tokenPayload+sha256.Size)
	binary.BigEndian.PutUint64(b, id)
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, mac(t.key, b)...))
}

// Parse checks token's signature and returns the invitation id and expiry
// it carries; ok is false for anything this bot did not sign.
func (t *InviteTokens) Parse(token string) (id uint64, expires time.Time, ok bool) {
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
