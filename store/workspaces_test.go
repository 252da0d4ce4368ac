package store_test

import (
	"slices"
	"testing"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// Two workspaces in one file: the primary's records carry no team (as
// before workspaces were connected), a connected workspace's carry its
// team; each event reaches only its own workspace's subscriptions,
// followers and lookups, even where both use the same user id strings.
func TestEachWorkspaceHasItsOwnRecords(t *testing.T) {
	eachEngine(t, testEachWorkspaceHasItsOwnRecords)
}

func testEachWorkspaceHasItsOwnRecords(t *testing.T) {
	s := MustOpen(t)
	if err := s.SetPrimary("T1"); err != nil {
		t.Fatal(err)
	}
	if s.Scope("T1") != "" || s.Scope("") != "" || s.Scope("T2") != "T2" {
		t.Fatalf("scopes: %q %q %q", s.Scope("T1"), s.Scope(""), s.Scope("T2"))
	}
	for _, sub := range []paligo.Subscription{
		{Channel: "C1", Kinds: []paligo.Kind{"run.failed"}},             // primary, made before workspaces
		{Team: "T2", Channel: "C2", Kinds: []paligo.Kind{"run.failed"}}, // the connected one's
	} {
		if _, err := s.Subscribe(sub); err != nil {
			t.Fatal(err)
		}
	}
	for _, team := range []string{"T1", "T2"} {
		if _, err := s.UpdatePrefs(team, "U1", func(p *paligo.Prefs) error {
			p.Follow(paligo.Subject{Kind: "topic", ID: "t-" + team})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.CacheUser("", "ann@example.com", "U7")
	s.CacheUser("T2", "ann@example.com", "U8")
	_, err := s.AcceptEvents([]paligo.Event{
		{ID: "a", Type: "run.failed", Recipients: []string{"ann@example.com"}, Subject: &paligo.Subject{Kind: "topic", ID: "t-T1"}},
		{ID: "b", Team: "T2", Type: "run.failed", Recipients: []string{"ann@example.com", "ghost@example.com"}, Subject: &paligo.Subject{Kind: "topic", ID: "t-T1"}},
		{ID: "c", Team: "T2", Type: "document.created", Subject: &paligo.Subject{Kind: "topic", ID: "t-T2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.FanOutWith(store.FanOutSpec{Team: "T1", Read: func(team string) bool { return team == "T2" }}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C1", "email:ann@example.com", "user:U1", // the primary's event: its channel, lookup, follower
		"T2|C2", "T2|email:ann@example.com", // the connected one's: its channel, its email (ghost is unmatched there)
		"T2|user:U1"} // and the follower of t-T2 there, not the U1 of T1
	if got := lanes(r.Jobs); !slices.Equal(got, want) {
		t.Errorf("lanes = %v, want %v", got, want)
	}
	if r.Unmatched != 1 {
		t.Errorf("unmatched = %d, want 1 (ghost, in T2, whose directory was read)", r.Unmatched)
	}
	if un, _ := s.Unmatched("T2"); len(un) != 1 || un[0].Email != "ghost@example.com" {
		t.Errorf("T2's unmatched = %+v", un)
	}
	if un, _ := s.Unmatched(""); len(un) != 0 {
		t.Errorf("the primary's unmatched = %+v", un)
	}
	for _, c := range []struct{ scope, want string }{{"", "U7"}, {"T2", "U8"}} {
		if u, _, _ := s.CachedUser(c.scope, "ann@example.com"); u.User != c.want {
			t.Errorf("ann in %q = %q, want %q", c.scope, u.User, c.want)
		}
	}
	// A job fails in each; each workspace's failed list holds its own.
	for _, j := range r.Jobs[:4] {
		if j.Kind == store.JobChannel {
			if err := s.Fail(j, "T1", "channel_not_found"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		scope string
		want  string
	}{{"", "C1"}, {"T2", "C2"}} {
		f, n, err := s.FailedFirst(c.scope, 10)
		if err != nil || n != 1 || f[0].Job.Channel != c.want {
			t.Errorf("failed of %q = %+v (%d) %v", c.scope, f, n, err)
		}
	}
	if f, n, _ := s.FailedFirst(store.AllScopes, -1); n != 2 || len(f) != 2 {
		t.Errorf("every failed job: %d", n)
	}
	// The primary is remembered across a restart.
	s2 := reopen(t, s)
	if s2.Primary() != "T1" {
		t.Errorf("primary after reopening = %q", s2.Primary())
	}
}

// Every save and disconnect of an installation moves InstallationsVersion,
// which replicas watch; reading installations does not.
func TestInstallationsVersionMovesWithEachChange(t *testing.T) {
	eachEngine(t, testInstallationsVersion)
}

func testInstallationsVersion(t *testing.T) {
	s := MustOpen(t)
	version := func() uint64 {
		t.Helper()
		v, err := s.InstallationsVersion()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	if _, err := s.SaveInstallation(paligo.Installation{Team: "T1", BotTokenSealed: "sealed"}); err != nil {
		t.Fatal(err)
	}
	v1 := version()
	if v1 == v0 {
		t.Error("saving an installation left the version")
	}
	if _, _, err := s.Installation("T1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Installations(); err != nil {
		t.Fatal(err)
	}
	if version() != v1 {
		t.Error("reading installations moved the version")
	}
	if _, found, err := s.Disconnect("T1", "tokens_revoked"); err != nil || !found {
		t.Fatal(found, err)
	}
	v2 := version()
	if v2 == v1 {
		t.Error("a disconnect left the version")
	}
	// A disconnect of one already disconnected changes nothing.
	if _, _, err := s.Disconnect("T1", "again"); err != nil {
		t.Fatal(err)
	}
	if version() != v2 {
		t.Error("a disconnect that changed nothing moved the version")
	}
}
