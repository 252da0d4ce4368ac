package workspaces_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/workspaces"
)

const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func setup(t *testing.T) (*store.Store, *paligo.Sealer, *bot.Client) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := paligo.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return st, sealer, bot.NewClient("xoxb-primary", "", "http://127.0.0.1:1/api/")
}

func install(t *testing.T, st *store.Store, sealer *paligo.Sealer, team, token string) {
	t.Helper()
	if _, err := st.SaveInstallation(paligo.Installation{Team: team, BotTokenSealed: sealer.Seal(token, team), RefreshTokenSealed: sealer.Seal("xoxe-"+team, team)}); err != nil {
		t.Fatal(err)
	}
}

func TestTheRegistryServesThePrimaryAndTheConnected(t *testing.T) {
	st, sealer, base := setup(t)
	r := workspaces.New(st, base, true, sealer)
	if _, err := r.Get(""); !errors.Is(err, workspaces.ErrNotYet) {
		t.Errorf("the primary before auth.test: %v", err)
	}
	r.SetPrimary("T1", "One", "U0BOT")
	for _, team := range []string{"", "T1"} {
		if w, err := r.Get(team); err != nil || !w.Primary || w.Team != "T1" || w.Slack != base {
			t.Errorf("Get(%q) = %+v %v", team, w, err)
		}
	}
	if _, err := r.Get("T2"); !errors.Is(err, workspaces.ErrUnknown) {
		t.Errorf("a team never connected: %v", err)
	}
	install(t, st, sealer, "T2", "xoxb-two")
	w, err := r.Get("T2")
	if err != nil || w.Primary || w.Team != "T2" || w.Slack == base {
		t.Fatalf("a connected team: %+v %v", w, err)
	}
	if again, _ := r.Get("T2"); again != w {
		t.Error("the workspace was opened twice")
	}
	st.Disconnect("T2", "app_uninstalled")
	r.Forget("T2")
	if _, err := r.Get("T2"); !errors.Is(err, workspaces.ErrDisconnected) {
		t.Errorf("a disconnected team: %v", err)
	}
	// A sealed token that does not open (another record's) is an error, not a workspace.
	in, _, _ := st.Installation("T1")
	in.Team, in.BotTokenSealed = "T9", sealer.Seal("xoxb-nine", "T8")
	st.SaveInstallation(in)
	if _, err := r.Get("T9"); err == nil || errors.Is(err, workspaces.ErrUnknown) {
		t.Errorf("a token sealed for another workspace: %v", err)
	}
	install(t, st, sealer, "T3", "xoxb-three")
	if teams, _ := r.Teams(); !slices.Equal(teams, []string{"T1", "T3", "T9"}) {
		t.Errorf("teams = %v", teams)
	}
	// Without SLACK_BOT_TOKEN there is no primary: "" is no one.
	none := workspaces.New(st, base, false, sealer)
	if _, err := none.Get(""); !errors.Is(err, workspaces.ErrUnknown) {
		t.Errorf("no primary: %v", err)
	}
	// A restart knows the primary from the file, before auth.test.
	st.SetPrimary("T1")
	if w, err := workspaces.New(st, base, true, sealer).Get(""); err != nil || w.Team != "T1" {
		t.Errorf("the primary after a restart: %+v %v", w, err)
	}
}

// Many callers that met token_expired on one workspace at once: one
// refresh, and every one of them gets the refreshed workspace.
func TestAnExpiredTokenIsRefreshedOnce(t *testing.T) {
	st, sealer, base := setup(t)
	r := workspaces.New(st, base, true, sealer)
	install(t, st, sealer, "T2", "xoxb-old")
	var refreshes atomic.Int32
	r.SetRefresh(func(_ context.Context, team string) error {
		refreshes.Add(1)
		install(t, st, sealer, team, "xoxb-new")
		return nil
	})
	old, err := r.Get("T2")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]*workspaces.Workspace, 8)
	for i := range got {
		wg.Go(func() {
			w, err := r.Expired(t.Context(), old)
			if err != nil {
				t.Error(err)
			}
			got[i] = w
		})
	}
	wg.Wait()
	if n := refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	for _, w := range got {
		if w == nil || w == old || w != got[0] {
			t.Fatalf("callers got %v, want one new workspace", got)
		}
	}
	r.SetPrimary("T1", "", "")
	if _, err := r.Expired(t.Context(), r.Primary()); err == nil || refreshes.Load() != 1 {
		t.Errorf("the primary's token (SLACK_BOT_TOKEN, not rotated here): %v, %d refreshes", err, refreshes.Load())
	}
}
