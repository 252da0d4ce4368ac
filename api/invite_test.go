package api_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

// openInvite records an invitation of user (email) by U0ADMIN, sent, as
// delivery does, and returns it.
func openInvite(t *testing.T, s *store.Store, user, email string) paligo.Invite {
	t.Helper()
	_, jobs, err := s.QueueInvites(paligo.InviteRun{Team: "T1", Inviter: "U0ADMIN", InviterEmail: "ada@example.com", InviterName: "Ada", Note: "hi",
		Entries: []paligo.InviteEntry{{User: user}}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("queue: %v %v", jobs, err)
	}
	r, err := s.ReadInviteJob(jobs[0], email)
	if err != nil || r.HasPrior {
		t.Fatalf("read: %+v %v", r, err)
	}
	if _, err := s.EndInvite(jobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D1", TS: "1.1", Invite: &r.Invite}); err != nil {
		t.Fatalf("sent: %v", err)
	}
	inv, _, err := s.Invite(r.Invite.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// inviteToken gives h invitation tokens and returns the token of a fresh
// invitation.
func inviteToken(t *testing.T, h *api.Ingest, s *store.Store) string {
	t.Helper()
	if h.Tokens == nil {
		h.Tokens = paligo.NewInviteTokens(secret, nil)
	}
	inv := openInvite(t, s, fmt.Sprintf("U%d", time.Now().UnixNano()%1e9), fmt.Sprintf("n%d@example.com", time.Now().UnixNano()))
	return h.Tokens.Sign(inv.ID, inv.Expires)
}

func TestIngestInviteAccepted(t *testing.T) {
	h, s := newIngest(t)
	h.Tokens = paligo.NewInviteTokens(secret, nil)
	now := h.Keys.Now()
	s.Now = h.Keys.Now
	inv := openInvite(t, s, "U0NEW", "new@example.com")
	token := h.Tokens.Sign(inv.ID, inv.Expires)
	other := paligo.NewInviteTokens([]byte("another-secret-0123456789"), nil).Sign(inv.ID, inv.Expires)

	bad := []struct{ name, fields, field string }{
		{"no token", `{}`, "fields.token"},
		{"token signed with another key", fmt.Sprintf(`{"token":%q}`, other), "fields.token"},
		{"token cut short", fmt.Sprintf(`{"token":%q}`, token[:len(token)-2]), "fields.token"},
		{"unknown invite id", `{"invite_id":"999"}`, "fields.token"},
		{"invite id not a number", `{"invite_id":"x"}`, "fields.invite_id"},
	}
	for _, c := range bad {
		body := fmt.Sprintf(`{"id":"acc-%s","type":"invite.accepted","fields":%s}`, strings.ReplaceAll(c.name, " ", "-"), c.fields)
		code, out := post(t, h, now, req{body: body})
		errs, _ := out["errors"].([]any)
		if code != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != c.field {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, code, out, c.field)
		}
	}
	if n, _ := s.EventCount(); n != 0 {
		t.Fatalf("refused events were stored: %d", n)
	}
	if got, _, _ := s.Invite(inv.ID); got.Status != paligo.InvitePending {
		t.Fatalf("a refused event changed the invitation: %+v", got)
	}

	code, out := post(t, h, now, req{body: fmt.Sprintf(`{"id":"acc-1","type":"invite.accepted","fields":{"token":%q}}`, token)})
	if code != 202 || out["accepted"] != 1.0 {
		t.Fatalf("good token: %d %v", code, out)
	}
	got, _, _ := s.Invite(inv.ID)
	if got.Status != paligo.InviteAccepted || got.AcceptEvent == 0 || !got.AcceptedAt.Equal(now) {
		t.Errorf("invitation after invite.accepted = %+v", got)
	}
	e, _, _ := s.Event("acc-1")
	if e.Fields["token"] != "" || e.Fields[paligo.FieldInviteID] != fmt.Sprint(inv.ID) || e.Actor == nil || e.Actor.Email != "new@example.com" {
		t.Errorf("stored event = %+v (the token must not be kept; the invite id and invitee must)", e)
	}
	// The same acceptance again (another event id) changes nothing.
	post(t, h, now.Add(time.Minute), req{body: fmt.Sprintf(`{"id":"acc-2","type":"invite.accepted","fields":{"invite_id":"%d"}}`, inv.ID), ts: now.Unix()})
	if again, _, _ := s.Invite(inv.ID); again.AcceptEvent != got.AcceptEvent {
		t.Errorf("a second invite.accepted took over the invitation: %+v", again)
	}
}

func getInvite(t *testing.T, h *api.Invites, path string, signPath string, ts time.Time) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if signPath != "" {
		r.Header.Set("X-Signature-Timestamp", fmt.Sprint(ts.Unix()))
		r.Header.Set("X-Signature", signing.Sign(secret, ts.Unix(), []byte(signPath)))
	}
	w := httptest.NewRecorder()
	mux := api.NewHTTP(api.Endpoints{Invites: h}, nil, nil)
	mux.ServeHTTP(w, r)
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func TestInviteTokenCheck(t *testing.T) {
	_, s := newIngest(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	tokens := paligo.NewInviteTokens(secret, nil)
	h := &api.Invites{Store: s, Tokens: tokens, Keys: signing.Keys{Secret: secret, Now: func() time.Time { return now }}, Log: slog.New(slog.DiscardHandler)}
	inv := openInvite(t, s, "U0NEW", "New@Example.com")
	token := tokens.Sign(inv.ID, inv.Expires)
	path := "/v1/invites/" + token

	code, out := getInvite(t, h, path, path, now)
	inviter, _ := out["inviter"].(map[string]any)
	if code != 200 || out["email"] != "new@example.com" || out["slack_user"] != "U0NEW" || out["status"] != paligo.InvitePending ||
		inviter["slack_user"] != "U0ADMIN" || inviter["email"] != "ada@example.com" || out["note"] != "hi" ||
		out["expires_at"] != inv.Expires.Format(time.RFC3339) {
		t.Errorf("good token: %d %v", code, out)
	}

	// Tampering: flip one character of the signature part, or of the id.
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, tok := range map[string]string{
		"signature changed":  flip(token, len(token)-5),
		"id changed":         flip(token, 3),
		"other key":          paligo.NewInviteTokens([]byte("another-secret-0123456789"), nil).Sign(inv.ID, inv.Expires),
		"signed, no such id": tokens.Sign(inv.ID+100, inv.Expires),
		"garbage":            "not-a-token",
		"truncated":          tokens.Sign(inv.ID, inv.Expires)[:5] + "x",
	} {
		p := "/v1/invites/" + tok
		if code, out := getInvite(t, h, p, p, now); code != 404 || out["email"] != nil {
			t.Errorf("%s: %d %v, want 404 and nothing about the invitation", name, code, out)
		}
	}

	for name, c := range map[string]struct {
		signed string
		ts     time.Time
	}{
		"unsigned":                   {"", now},
		"signature for another path": {"/v1/invites/other", now},
		"stale timestamp":            {path, now.Add(-6 * time.Minute)},
	} {
		if code, out := getInvite(t, h, path, c.signed, c.ts); code != 401 || out["email"] != nil {
			t.Errorf("%s: %d %v, want 401", name, code, out)
		}
	}

	// Expired: a week and a second later.
	later := now.Add(paligo.InviteTTL + time.Second)
	h.Keys.Now = func() time.Time { return later }
	if code, out := getInvite(t, h, path, path, later); code != 410 || out["status"] != paligo.InviteExpired || out["email"] != nil {
		t.Errorf("expired: %d %v, want 410 expired", code, out)
	}
	h.Keys.Now = func() time.Time { return now }

	// Used: accepted through the ingest API.
	ing := &api.Ingest{Store: s, Keys: signing.Keys{Secret: secret, Now: func() time.Time { return now }}, Log: slog.New(slog.DiscardHandler), Tokens: tokens}
	if code, out := post(t, ing, now, req{body: fmt.Sprintf(`{"id":"acc","type":"invite.accepted","fields":{"token":%q}}`, token)}); code != 202 {
		t.Fatalf("accept: %d %v", code, out)
	}
	if code, out := getInvite(t, h, path, path, now); code != 410 || out["status"] != paligo.InviteAccepted {
		t.Errorf("used: %d %v, want 410 accepted", code, out)
	}
}
