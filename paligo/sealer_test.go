package paligo

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestSealerKeepsTokensSecretAndBoundToTheirRecord(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal("xoxb-secret-token", "T0ONE")
	if strings.Contains(sealed, "xoxb") || sealed == s.Seal("xoxb-secret-token", "T0ONE") {
		t.Errorf("sealed %q: holds the token, or has no fresh nonce", sealed)
	}
	if got, err := s.Open(sealed, "T0ONE"); err != nil || got != "xoxb-secret-token" {
		t.Errorf("open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, "T0TWO"); err == nil {
		t.Error("a token sealed for one workspace opened for another")
	}
	other, _ := NewSealer(base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210")))
	if _, err := other.Open(sealed, "T0ONE"); err == nil {
		t.Error("a token opened with another key")
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	if _, err := s.Open(string(tampered), "T0ONE"); err == nil {
		t.Error("a tampered token opened")
	}
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "!!!!" + key[4:]} {
		if _, err := NewSealer(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}
