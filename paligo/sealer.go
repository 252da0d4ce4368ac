package paligo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// Sealer encrypts the tokens the bot keeps (installations' bot and refresh
// tokens) with AES-256-GCM, the key given as PALIGO_SLACK_TOKEN_KEY: 32
// random bytes, standard base64. Each value is sealed with a fresh random
// nonce and bound to what it belongs to (aad: the workspace's id), so a
// sealed token moved to another record does not open.
type Sealer struct{ aead cipher.AEAD }

// ErrTokenKey means the key is not 32 bytes of standard base64.
var ErrTokenKey = errors.New("must be 32 random bytes in standard base64 (openssl rand -base64 32)")

// NewSealer returns the Sealer of key (standard base64 of 32 bytes).
func NewSealer(key string) (*Sealer, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	if err != nil || len(raw) != 32 {
		return nil, ErrTokenKey
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, ErrTokenKey
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext for aad: "v1:" and the base64 of nonce and
// ciphertext.
func (s *Sealer) Seal(plaintext, aad string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return "v1:" + base64.StdEncoding.EncodeToString(out)
}

// ErrSealed means a sealed value does not open with this key for this
// record: another key, another record, or tampered.
var ErrSealed = errors.New("the sealed token does not open with PALIGO_SLACK_TOKEN_KEY")

// Open decrypts what Seal sealed for aad.
func (s *Sealer) Open(sealed, aad string) (string, error) {
	b64, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", ErrSealed
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", ErrSealed
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(aad))
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}
