package store

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
}

// NewInviteTokens derives the token key from secret (the ingest secret), so
// the key for links is not the key for requests. Rotating the secret
// invalidates every link issued before.
func NewInviteTokens(secret []byte) *InviteTokens {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("paligo-slack invitation token v1"))
	return &InviteTokens{key: m.Sum(nil)}
}

const tokenPayload = 16 // id, expiry (unix seconds)

// Sign returns the token of invitation id, expiring at expires.
func (t *InviteTokens) Sign(id uint64, expires time.Time) string {
	b := make([]byte, tokenPayload, tokenPayload+sha256.Size)
	binary.BigEndian.PutUint64(b, id)
	binary.BigEndian.PutUint64(b[8:], uint64(expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, t.mac(b)...))
}

// Parse checks token's signature and returns the invitation id and expiry
// it carries; ok is false for anything this bot did not sign.
func (t *InviteTokens) Parse(token string) (id uint64, expires time.Time, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenPayload+sha256.Size) {
		return 0, time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !hmac.Equal(b[tokenPayload:], t.mac(b[:tokenPayload])) {
		return 0, time.Time{}, false
	}
	id = binary.BigEndian.Uint64(b)
	return id, time.Unix(int64(binary.BigEndian.Uint64(b[8:])), 0).UTC(), id > 0
}

func (t *InviteTokens) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write(payload)
	return m.Sum(nil)
}
