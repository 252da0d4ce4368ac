package paligo_test

import (
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

func TestInviteTokens(t *testing.T) {
	tok := paligo.NewInviteTokens([]byte("secret-0123456789abcdef"), nil)
	exp := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := tok.Sign(42, exp)
	id, e, ok := tok.Parse(s)
	if !ok || id != 42 || !e.Equal(exp) {
		t.Fatalf("parse = %d %v %v", id, e, ok)
	}
	for i := range s {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		if _, _, ok := tok.Parse(s[:i] + string(c) + s[i+1:]); ok {
			t.Fatalf("a token with character %d changed was accepted", i)
		}
	}
	if _, _, ok := paligo.NewInviteTokens([]byte("another-secret-0123456"), nil).Parse(s); ok {
		t.Error("a token signed with another secret was accepted")
	}
	for _, bad := range []string{"", "x", s + "A", s[:len(s)-1]} {
		if _, _, ok := tok.Parse(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}

	// Rotating: the new secret signs, links of the previous one still
	// parse; without the previous one they do not.
	rotated := paligo.NewInviteTokens([]byte("new-secret-0123456789"), []byte("secret-0123456789abcdef"))
	if id, _, ok := rotated.Parse(s); !ok || id != 42 {
		t.Error("a link signed before the rotation stopped working during it")
	}
	fresh := rotated.Sign(43, exp)
	if id, _, ok := paligo.NewInviteTokens([]byte("new-secret-0123456789"), nil).Parse(fresh); !ok || id != 43 {
		t.Error("a link signed during the rotation is not signed with the new secret")
	}
	if _, _, ok := tok.Parse(fresh); ok {
		t.Error("a link signed during the rotation parses with the old secret alone")
	}
	if _, _, ok := paligo.NewInviteTokens([]byte("new-secret-0123456789"), nil).Parse(s); ok {
		t.Error("a link of the previous secret still works after the rotation ended")
	}
}
