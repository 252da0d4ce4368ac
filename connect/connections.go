package connect

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/paligo/paligo-slack/signing"
	"github.com/slack-go/slack"
)

// The platform's view of its connections, signed like the rest of the
// platform API (the request path is the signed body):
//
//	GET    /v1/connections          the installations, never their tokens
//	DELETE /v1/connections/{team}   disconnect one (auth.revoke)

// Connection is one installation as the platform sees it.
type Connection struct {
	Team           string    `json:"team"`
	TeamName       string    `json:"team_name,omitempty"`
	Enterprise     string    `json:"enterprise,omitempty"`
	Org            string    `json:"org,omitempty"`
	BotUser        string    `json:"bot_user,omitempty"`
	Scopes         string    `json:"scopes,omitempty"`
	Installer      string    `json:"installer,omitempty"`
	InstallerEmail string    `json:"installer_email,omitempty"`
	InstalledAt    time.Time `json:"installed_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Connected      bool      `json:"connected"`
	Disconnected   string    `json:"disconnected,omitempty"` // why, when it is not connected
}

// Connections serves the two calls.
func (f *Flow) Connections() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/connections", f.listConnections)
	mux.HandleFunc("DELETE /v1/connections/{team}", f.deleteConnection)
	return mux
}

func (f *Flow) signedCall(w http.ResponseWriter, r *http.Request) bool {
	if msg := signing.Verify(r.Header, signing.Path(r), f.Now(), f.Secret, f.Previous); msg != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
		return false
	}
	return true
}

func (f *Flow) listConnections(w http.ResponseWriter, r *http.Request) {
	if !f.signedCall(w, r) {
		return
	}
	ins, err := f.Store.Installations()
	if err != nil {
		f.Log.Error("list connections", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "could not read the connections; retry later"})
		return
	}
	out := []Connection{}
	for _, in := range ins {
		out = append(out, Connection{Team: in.Team, TeamName: in.TeamName, Enterprise: in.Enterprise, Org: in.Org, BotUser: in.BotUser,
			Scopes: in.Scopes, Installer: in.Installer, InstallerEmail: in.InstallerEmail, InstalledAt: in.InstalledAt,
			UpdatedAt: in.UpdatedAt, Connected: in.Disconnected == "", Disconnected: in.Disconnected})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (f *Flow) deleteConnection(w http.ResponseWriter, r *http.Request) {
	if !f.signedCall(w, r) {
		return
	}
	team := r.PathValue("team")
	in, found, err := f.Store.Installation(team)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "could not read the connection; retry later"})
		return
	}
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "team: no workspace " + team + " is connected"})
		return
	}
	if in.BotTokenSealed != "" {
		token, err := f.Sealer.Open(in.BotTokenSealed, in.Team)
		if err != nil {
			f.Log.Error("disconnect: the token does not open", "team", team, "err", err)
		} else {
			client := slack.New(token, slack.OptionAPIURL(f.APIURL), slack.OptionHTTPClient(f.HTTP))
			f.revoke(r.Context(), client, team)
		}
	}
	if _, _, err := f.Store.Disconnect(team, "disconnected by the platform"); err != nil {
		f.Log.Error("disconnect", "team", team, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "could not record the disconnection; retry later"})
		return
	}
	f.changed(team)
	f.Log.Info("workspace disconnected", "team", team, "by", "the platform")
	writeJSON(w, http.StatusOK, map[string]any{"team": team, "connected": false})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
