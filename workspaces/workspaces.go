// Package workspaces is the one place that says which Slack workspaces the
// bot serves and with which token: the primary workspace of SLACK_BOT_TOKEN
// (when it is set), and every workspace connected through the Connect flow
// and not disconnected, whose sealed tokens it opens (and reopens after a
// refresh). Delivery, the handlers and the platform's API ask it for a
// workspace by team id and use that workspace's client for every call.
package workspaces

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
)

// Workspace is one workspace the bot serves.
type Workspace struct {
	Team       string
	Name       string
	Enterprise string
	BotUser    string
	// Org is the platform's org the workspace was connected for ("" for
	// the primary workspace).
	Org string
	// Primary: the workspace of SLACK_BOT_TOKEN, whose extra admins
	// (PALIGO_SLACK_ADMINS) and legacy records are its own.
	Primary bool
	Slack   *bot.Client
}

// Errors of Get.
var (
	ErrUnknown      = errors.New("not a workspace this bot serves")
	ErrDisconnected = errors.New("the workspace is disconnected")
	// ErrNotYet: the primary workspace is asked for before auth.test told
	// which it is.
	ErrNotYet = errors.New("not connected to the Slack workspace yet")
)

// Installations is what the registry reads of the store: the primary
// workspace's team and the connected workspaces (*store.Store has them).
type Installations interface {
	Primary() string
	Installation(team string) (paligo.Installation, bool, error)
	Installations() ([]paligo.Installation, error)
	InstallationsVersion() (uint64, error)
}

// Registry knows the served workspaces.
type Registry struct {
	store Installations
	// sealer opens connected workspaces' tokens; nil without
	// PALIGO_SLACK_TOKEN_KEY (then only the primary is served).
	sealer *paligo.Sealer
	// base is the client whose HTTP client every workspace's shares.
	base *bot.Client
	// refresh, if set, refreshes team's rotating token now (connect).
	refresh func(ctx context.Context, team string) error

	// hasPrimary: SLACK_BOT_TOKEN is set, so there is a primary workspace
	// (known once SetPrimary is called).
	hasPrimary bool

	mu      sync.Mutex
	primary *Workspace
	byTeam  map[string]*Workspace
	// refreshing serialises the forced refreshes of one team.
	refreshing map[string]*sync.Mutex
}

// New returns a Registry. base is the primary workspace's client (or, with
// no SLACK_BOT_TOKEN, hasPrimary false, a client with no token): every
// other workspace's client shares its HTTP client.
func New(st Installations, base *bot.Client, hasPrimary bool, sealer *paligo.Sealer) *Registry {
	r := &Registry{store: st, base: base, hasPrimary: hasPrimary, sealer: sealer, byTeam: map[string]*Workspace{}, refreshing: map[string]*sync.Mutex{}}
	if t := st.Primary(); hasPrimary && t != "" {
		// Known from the last run, until auth.test says it again.
		r.primary = &Workspace{Team: t, Primary: true, Slack: base}
	}
	return r
}

// SetRefresh sets how a rotating token is refreshed at once (after Slack
// answered token_expired).
func (r *Registry) SetRefresh(f func(ctx context.Context, team string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh = f
}

// SetPrimary makes team, named by auth.test of SLACK_BOT_TOKEN, the
// primary workspace.
func (r *Registry) SetPrimary(team, name, botUser string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.primary = &Workspace{Team: team, Name: name, BotUser: botUser, Primary: true, Slack: r.base}
}

// Primary returns the primary workspace; nil until SetPrimary, and always
// without SLACK_BOT_TOKEN.
func (r *Registry) Primary() *Workspace {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.primary
}

// PrimaryTeam is the primary workspace's team id, "" while unknown.
func (r *Registry) PrimaryTeam() string {
	if p := r.Primary(); p != nil {
		return p.Team
	}
	return ""
}

// Get returns the workspace of team ("" is the primary). It fails with
// ErrUnknown for a team never connected, ErrDisconnected for one
// disconnected since.
func (r *Registry) Get(team string) (*Workspace, error) {
	r.mu.Lock()
	if p := r.primary; p != nil && (team == "" || team == p.Team) {
		r.mu.Unlock()
		return p, nil
	}
	if w, ok := r.byTeam[team]; ok {
		r.mu.Unlock()
		return w, nil
	}
	r.mu.Unlock()
	if team == "" && r.hasPrimary {
		return nil, ErrNotYet
	}
	if team == "" || r.sealer == nil {
		return nil, ErrUnknown
	}
	in, found, err := r.store.Installation(team)
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the installation of %s: %w", team, err)
	case !found:
		return nil, ErrUnknown
	case in.Disconnected != "" || in.BotTokenSealed == "":
		return nil, ErrDisconnected
	}
	token, err := r.sealer.Open(in.BotTokenSealed, in.Team)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", team, err)
	}
	w := &Workspace{Team: in.Team, Name: in.TeamName, Enterprise: in.Enterprise, BotUser: in.BotUser, Org: in.Org,
		Slack: r.base.WithToken(token)}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.byTeam[team]; ok {
		return cur, nil // another caller opened it meanwhile
	}
	r.byTeam[team] = w
	return w, nil
}

// Forget drops what is known of team, after its installation changed (a
// reinstall, a refreshed token, a disconnect): the next Get reads it again.
func (r *Registry) Forget(team string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byTeam, team)
}

// Expired is told that Slack answered token_expired to w's token: the
// token is refreshed at once (once, however many callers saw it expire)
// and the workspace with the new token is returned.
func (r *Registry) Expired(ctx context.Context, w *Workspace) (*Workspace, error) {
	r.mu.Lock()
	refresh := r.refresh
	l := r.refreshing[w.Team]
	if l == nil {
		l = &sync.Mutex{}
		r.refreshing[w.Team] = l
	}
	r.mu.Unlock()
	if refresh == nil || w.Primary {
		return nil, fmt.Errorf("workspace %s: the token expired and cannot be refreshed", w.Team)
	}
	l.Lock()
	defer l.Unlock()
	if cur, err := r.Get(w.Team); err != nil {
		return nil, err
	} else if cur != w {
		return cur, nil // refreshed by another caller while this one waited
	}
	if err := refresh(ctx, w.Team); err != nil {
		return nil, err
	}
	r.Forget(w.Team)
	return r.Get(w.Team)
}

// Teams lists the workspaces served: the primary's team first, then every
// connected workspace not disconnected.
func (r *Registry) Teams() ([]string, error) {
	var out []string
	if p := r.Primary(); p != nil {
		out = append(out, p.Team)
	}
	if r.sealer == nil {
		return out, nil
	}
	ins, err := r.store.Installations()
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if in.Disconnected == "" && in.BotTokenSealed != "" && (len(out) == 0 || in.Team != out[0]) {
			out = append(out, in.Team)
		}
	}
	return out, nil
}

// FollowEvery is how often Follow looks for installations changed by
// another replica.
const FollowEvery = 2 * time.Second

// Follow keeps the registry in step with what other replicas sharing the
// database do to installations (a disconnect, a refreshed token, a
// reinstall): every interval it reads the installations' version, and
// when it moved, calls changed for each team whose installation is new or
// differs from what it saw last. Between two changes it costs one small
// read. It returns when ctx ends.
func (r *Registry) Follow(ctx context.Context, every time.Duration, changed func(team string)) {
	if r.sealer == nil {
		return // only the primary workspace, whose token is the setting's
	}
	version, err := r.store.InstallationsVersion()
	seen := map[string]string{}
	if err == nil {
		err = r.look(seen, nil)
	}
	if err != nil {
		version = 0 // look again at the next tick
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := r.store.InstallationsVersion()
		if err != nil || v == version {
			continue
		}
		// The version is read before the installations, so a change made
		// between the two is seen now or at the next tick, never missed.
		if r.look(seen, changed) == nil {
			version = v
		}
	}
}

// look compares the installations with seen (team -> fingerprint),
// calling changed for each that differs, and updates seen.
func (r *Registry) look(seen map[string]string, changed func(team string)) error {
	ins, err := r.store.Installations()
	if err != nil {
		return err
	}
	for _, in := range ins {
		// The sealed token changes with every refresh (a fresh nonce),
		// Disconnected with a disconnect, UpdatedAt with any save.
		fp := in.BotTokenSealed + "\x00" + in.Disconnected + "\x00" + in.UpdatedAt.Format(time.RFC3339Nano)
		if seen[in.Team] == fp {
			continue
		}
		seen[in.Team] = fp
		if changed != nil {
			changed(in.Team)
		}
	}
	return nil
}
