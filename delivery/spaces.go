package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/workspaces"
)

// Workspaces: every job is sent in its own workspace (store.Job.Team, a
// scope: "" for the primary workspace of SLACK_BOT_TOKEN), with that
// workspace's client, its own names cache and directory, and its own
// pacing: chat.update's workspace-wide limiter, the per-channel limiters
// and the 429 gates are a workspace's, so one busy or rate-limited
// workspace never slows another. Only the bound on calls in flight is the
// process's. The job's workspace is passed by hand from the job to every
// call it makes (inWorkspace).

// Registry is where delivery finds the connected workspaces
// (*workspaces.Registry).
type Registry interface {
	Get(team string) (*workspaces.Workspace, error)
	Expired(ctx context.Context, w *workspaces.Workspace) (*workspaces.Workspace, error)
	// Teams lists the workspaces served, the primary's first.
	Teams() ([]string, error)
}

// Teams lists the team ids of the workspaces served: the primary's first.
func (d *Deliverer) Teams() ([]string, error) {
	if d.opts.Workspaces == nil {
		if d.opts.NoPrimary {
			return nil, nil
		}
		return []string{d.primary.team}, nil
	}
	teams, err := d.opts.Workspaces.Teams()
	if err != nil {
		return nil, err
	}
	if d.opts.NoPrimary {
		return teams, nil
	}
	if len(teams) == 0 || teams[0] != d.primary.team {
		teams = append([]string{d.primary.team}, teams...)
	}
	return teams, nil
}

// space is one workspace as delivery sees it.
type space struct {
	team, scope string
	mu          sync.Mutex
	api         DeliverySlack
	ws          *workspaces.Workspace // nil for the primary workspace
	// names serialises reads of the channel list for #names.
	names struct {
		sync.Mutex
		readAt time.Time
	}
	// directoryAt is when this process last read the workspace directory
	// whole (directory.go); nil until it has.
	directoryAt atomic.Pointer[time.Time]
	// updates paces chat.update across the workspace.
	updates *rate.Limiter
}

func (d *Deliverer) newSpace(team, scope string, api DeliverySlack, ws *workspaces.Workspace) *space {
	return &space{team: team, scope: scope, api: api, ws: ws, updates: rate.NewLimiter(d.opts.UpdateRate, d.opts.UpdateBurst)}
}

// client is the workspace's Web API client (it changes when a rotating
// token is refreshed).
func (sp *space) client() DeliverySlack {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.api
}

// inWorkspace is the Deliverer at work in one workspace: a job's Slack
// calls, caches and pace are its workspace's, passed by hand from the job
// down to each call (never read from a context, never another's).
type inWorkspace struct {
	*Deliverer
	sp *space
}

// in is the Deliverer at work in sp.
func (d *Deliverer) in(sp *space) inWorkspace { return inWorkspace{d, sp} }

// inTeam is the Deliverer at work in the workspace of team.
func (d *Deliverer) inTeam(team string) (inWorkspace, error) {
	sp, err := d.space(d.store.Scope(team))
	if err != nil {
		return inWorkspace{}, err
	}
	return d.in(sp), nil
}

// errGone wraps why a job's workspace is no longer served.
var errGone = errors.New("the workspace is not served")

// space returns the workspace of scope, opening a connected one on first
// use (and starting its directory reads).
func (d *Deliverer) space(scope string) (*space, error) {
	if scope == "" {
		if d.opts.NoPrimary {
			return nil, fmt.Errorf("%w: no workspace of SLACK_BOT_TOKEN (it is not set)", errGone)
		}
		return d.primary, nil
	}
	d.mu.Lock()
	sp := d.spaces[scope]
	d.mu.Unlock()
	if sp != nil {
		return sp, nil
	}
	if d.opts.Workspaces == nil {
		return nil, fmt.Errorf("%w: %s (no workspace is connected here)", errGone, scope)
	}
	w, err := d.opts.Workspaces.Get(scope)
	if errors.Is(err, workspaces.ErrUnknown) || errors.Is(err, workspaces.ErrDisconnected) {
		return nil, fmt.Errorf("%w: %s %v", errGone, scope, err)
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if sp := d.spaces[scope]; sp != nil {
		return sp, nil
	}
	sp = d.newSpace(w.Team, scope, w.Slack, w)
	d.spaces[scope] = sp
	if !d.stopping {
		d.starts.spaces = append(d.starts.spaces, sp)
		select {
		case d.starts.wake <- struct{}{}:
		default:
		}
	}
	return sp, nil
}

// Forget drops what delivery holds of a connected workspace (after it was
// disconnected): its next job opens it again, or fails if it is no longer
// served.
func (d *Deliverer) Forget(team string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.spaces, team)
}

// Changed is told that team's installation changed: a new or renewed
// install is opened at once (its directory read from now, not at its first
// job), a refreshed token replaces the one held (the names cache, the
// directory and the pacing stay), and a disconnected one is forgotten.
func (d *Deliverer) Changed(team string) {
	if d.opts.Workspaces == nil {
		return
	}
	d.mu.Lock()
	sp := d.spaces[team]
	d.mu.Unlock()
	w, err := d.opts.Workspaces.Get(team)
	switch {
	case err != nil:
		d.Forget(team)
	case sp != nil:
		sp.mu.Lock()
		sp.ws, sp.api = w, w.Slack
		sp.mu.Unlock()
	default:
		d.space(team)
	}
}

// refreshed is told that Slack answered token_expired to sp's token: the
// token is refreshed now and sp takes the new client.
func (w inWorkspace) refreshed(ctx context.Context) (DeliverySlack, bool) {
	d, sp := w.Deliverer, w.sp
	if sp.ws == nil || d.opts.Workspaces == nil {
		return nil, false
	}
	sp.mu.Lock()
	old := sp.ws
	sp.mu.Unlock()
	fresh, err := d.opts.Workspaces.Expired(ctx, old)
	if err != nil {
		d.log.Error("refresh an expired token", "team", sp.team, "err", err)
		return nil, false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.ws, sp.api = fresh, fresh.Slack
	d.log.Info("token refreshed after token_expired", "team", sp.team)
	return fresh.Slack, true
}

// directoryRead says of team whether its directory was read whole (the
// fan-out's FanOutSpec.Read).
func (d *Deliverer) directoryRead(team string) bool {
	if team == d.primary.team {
		return d.primary.directoryReady(d.opts.DirectoryRefresh)
	}
	d.mu.Lock()
	sp := d.spaces[team]
	d.mu.Unlock()
	return sp != nil && sp.directoryReady(d.opts.DirectoryRefresh)
}

// failGone ends a job whose workspace is no longer served on the failed
// list, with the reason.
func (d *Deliverer) failGone(job store.Job, err error) (bool, error) {
	reason := "workspace disconnected: " + err.Error()
	if in, found, rerr := d.store.Installation(job.Team); rerr == nil && found && in.Disconnected != "" {
		reason = "workspace disconnected (" + in.Disconnected + ")"
	}
	if ferr := d.store.Fail(job, job.Team, reason); ferr != nil && !errors.Is(ferr, store.ErrJobGone) {
		return false, ferr
	}
	d.m.deliveries.WithLabelValues("failed").Inc()
	return true, nil
}
