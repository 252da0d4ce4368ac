package api

import (
	"errors"
	"net/http"

	"github.com/paligo/paligo-slack/workspaces"
)

// Workspaces finds the workspace a platform call names
// (*workspaces.Registry): a team id, "" for the primary workspace.
type Workspaces interface {
	Get(team string) (*workspaces.Workspace, error)
}

// workspaceOf answers the workspace named team, or writes the refusal
// (400 naming the field for a workspace not served, 503 while the primary
// is not known yet) and returns nil.
func workspaceOf(w http.ResponseWriter, ws Workspaces, team string) *workspaces.Workspace {
	s, err := ws.Get(team)
	switch {
	case err == nil:
		return s
	case errors.Is(err, workspaces.ErrNotYet):
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "not connected to the Slack workspace yet; nothing was done, retry later"})
	case errors.Is(err, workspaces.ErrDisconnected):
		writeJSON(w, http.StatusBadRequest, apiError{Error: "team: the workspace was disconnected"})
	case errors.Is(err, workspaces.ErrUnknown) && team == "":
		writeJSON(w, http.StatusBadRequest, apiError{Error: "team: required (this deployment serves connected workspaces only)"})
	case errors.Is(err, workspaces.ErrUnknown):
		writeJSON(w, http.StatusBadRequest, apiError{Error: "team: not a workspace this bot serves"})
	default:
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "could not read the workspace; retry later"})
	}
	return nil
}
