// Package connect is the Connect flow: the platform's signed Connect link
// (GET /slack/install) sends an admin's browser to Slack's OAuth v2
// authorize page with a signed, expiring, single-use state; Slack sends it
// back (GET /slack/oauth/callback) with a code, exchanged for the
// workspace's tokens (oauth.v2.access); the installer's Slack email must be
// the Connect link's, or the token is revoked (auth.revoke); the
// installation is stored with its tokens sealed, and the browser goes back
// to the platform with the outcome. Every page the browser sees here is a
// small, plain HTML page that says what happened and what to do next.
package connect

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

// LinkLifetime is how long a Connect link, and the OAuth state it leads
// to, are good for.
const LinkLifetime = 10 * time.Minute

// Records is what the Connect flow keeps: the OAuth states of flows under
// way, and the workspaces' installations (*store.Store has them).
type Records interface {
	NewOAuthState(st paligo.OAuthState) (uint64, error)
	TakeOAuthState(seq uint64) (paligo.OAuthState, bool, error)
	SaveInstallation(in paligo.Installation) (paligo.Installation, error)
	Installation(team string) (paligo.Installation, bool, error)
	Installations() ([]paligo.Installation, error)
	Disconnect(team, reason string) (paligo.Installation, bool, error)
}

// Flow serves the Connect flow.
type Flow struct {
	Store Records
	// Secret (and Previous, while it is rotated) sign the Connect links:
	// the ingest secret.
	Secret, Previous []byte
	States           *paligo.Tokens
	Sealer           *paligo.Sealer
	ClientID         string
	ClientSecret     string
	// OAuthURL is Slack's authorize page; APIURL the Web API's base
	// (ending in "/"); PublicURL where browsers and Slack reach the
	// listener (the redirect URI is PublicURL/slack/oauth/callback).
	OAuthURL, APIURL, PublicURL string
	Scopes                      []string
	Now                         func() time.Time
	Log                         *slog.Logger
	HTTP                        *http.Client
	// Changed, if set, is told of a workspace whose installation changed
	// (installed, reinstalled, its token refreshed, disconnected), so
	// that what is held of it is read again.
	Changed func(team string)

	// refreshing serialises refreshes: each refresh token works once.
	refreshing sync.Mutex
}

func (f *Flow) changed(team string) {
	if f.Changed != nil {
		f.Changed(team)
	}
}

// Handler serves GET /slack/install and GET /slack/oauth/callback.
func (f *Flow) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slack/install", f.install)
	mux.HandleFunc("GET /slack/oauth/callback", f.callback)
	return mux
}

func (f *Flow) redirectURI() string {
	return strings.TrimSuffix(f.PublicURL, "/") + "/slack/oauth/callback"
}

// install checks the platform's Connect link and sends the browser to
// Slack's authorize page.
func (f *Flow) install(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.RawQuery
	i := strings.LastIndex(raw, "&sig=")
	if i < 0 {
		f.page(w, http.StatusBadRequest, "This Connect link is not valid", "It is not signed. Start again from Paligo's settings: press Connect there.", "")
		return
	}
	signed, sig := raw[:i], raw[i+len("&sig="):]
	q, err := url.ParseQuery(signed)
	if sig, _ = url.QueryUnescape(sig); err != nil || !f.linkSigned(q.Get("ts"), signed, sig) {
		f.page(w, http.StatusForbidden, "This Connect link is not valid", "Its signature does not match. Start again from Paligo's settings: press Connect there.", "")
		return
	}
	ts, _ := strconv.ParseInt(q.Get("ts"), 10, 64)
	now := f.Now()
	if at := time.Unix(ts, 0); now.Sub(at) > LinkLifetime || at.Sub(now) > time.Minute {
		f.page(w, http.StatusForbidden, "This Connect link has expired", "Connect links are good for 10 minutes. Press Connect again in Paligo's settings.", "")
		return
	}
	org, email, back := q.Get("org"), q.Get("email"), q.Get("return")
	if why := checkLink(org, email, back); why != "" {
		f.page(w, http.StatusBadRequest, "This Connect link is not valid", why+" Ask Paligo's support: the platform made a link this app cannot use.", "")
		return
	}
	expires := now.Add(LinkLifetime)
	seq, err := f.Store.NewOAuthState(paligo.OAuthState{Org: org, Email: email, Return: back, Expires: expires})
	if err != nil {
		f.Log.Error("connect: save the OAuth state", "err", err)
		f.page(w, http.StatusServiceUnavailable, "Connecting is not possible just now", "Please try again in a minute.", "")
		return
	}
	to, _ := url.Parse(f.OAuthURL)
	v := to.Query()
	v.Set("client_id", f.ClientID)
	v.Set("scope", strings.Join(f.Scopes, ","))
	v.Set("redirect_uri", f.redirectURI())
	v.Set("state", f.States.Sign(seq, expires))
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// linkSigned checks the Connect link's signature: v0= and the hex
// HMAC-SHA256 of "v0:{ts}:{the query before &sig=}" with the ingest secret
// (or the one before it, while it is rotated), compared in constant time.
func (f *Flow) linkSigned(ts, signed, sig string) bool {
	if ts == "" || strings.Trim(ts, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	for _, secret := range [][]byte{f.Secret, f.Previous} {
		if len(secret) > 0 && hmac.Equal([]byte(sig), []byte(signing.Sign(secret, n, []byte(signed)))) {
			return true
		}
	}
	return false
}

func checkLink(org, email, back string) string {
	if org == "" || len(org) > 128 || strings.ContainsFunc(org, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "It names no org, or one this app cannot keep."
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return "Its admin email is not an email address."
	}
	if u, err := url.Parse(back); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "It has no http(s) address to come back to."
	}
	return ""
}

// callback takes Slack's answer: the state (signed, unexpired, unused),
// then the code, exchanged for the workspace's tokens.
func (f *Flow) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	seq, expires, ok := f.States.Parse(q.Get("state"))
	if !ok {
		f.page(w, http.StatusForbidden, "This answer from Slack is not valid", "It does not come from a Connect this app started. Start again from Paligo's settings: press Connect there.", "")
		return
	}
	st, found, err := f.Store.TakeOAuthState(seq)
	switch {
	case err != nil:
		f.Log.Error("connect: read the OAuth state", "err", err)
		f.page(w, http.StatusServiceUnavailable, "Connecting is not possible just now", "Please try again in a minute.", "")
		return
	case !found:
		f.page(w, http.StatusForbidden, "This Connect was used already", "Each Connect works once. If the workspace is not connected yet, press Connect again in Paligo's settings.", "")
		return
	case f.Now().After(expires):
		f.page(w, http.StatusForbidden, "This Connect has expired", "It is good for 10 minutes. Press Connect again in Paligo's settings.", back(st.Return, "error", "expired", ""))
		return
	}
	if e := q.Get("error"); e != "" {
		f.page(w, http.StatusOK, "Slack was not connected", "The install was cancelled in Slack ("+e+"). Nothing was changed.", back(st.Return, "error", e, ""))
		return
	}
	if q.Get("code") == "" {
		f.page(w, http.StatusBadRequest, "This answer from Slack is not valid", "It carries no code. Press Connect again in Paligo's settings.", back(st.Return, "error", "no_code", ""))
		return
	}
	in, why, err := f.finishInstall(r.Context(), q.Get("code"), st)
	if err != nil {
		f.Log.Error("connect: finish the install", "org", st.Org, "err", err)
		f.page(w, http.StatusBadGateway, "Slack was not connected", "Slack could not be reached to finish the install. Please press Connect again in a minute.", back(st.Return, "error", "slack_unavailable", ""))
		return
	}
	if why != "" {
		f.page(w, http.StatusForbidden, "Slack was not connected", why, back(st.Return, "error", reasonOf(why), ""))
		return
	}
	f.changed(in.Team)
	f.Log.Info("workspace connected", "team", in.Team, "org", in.Org, "installer", in.Installer)
	http.Redirect(w, r, back(st.Return, "connected", "", in.Team), http.StatusFound)
}

// finishInstall exchanges code, checks the installer's email and stores the
// installation; why is what to tell the admin when it must not be kept.
func (f *Flow) finishInstall(ctx context.Context, code string, st paligo.OAuthState) (paligo.Installation, string, error) {
	resp, err := f.exchange(ctx, url.Values{"code": {code}, "redirect_uri": {f.redirectURI()}})
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return paligo.Installation{}, "Slack refused the install (" + se.Err + "). Press Connect again in Paligo's settings.", nil
	}
	if err != nil {
		return paligo.Installation{}, "", err
	}
	client := slack.New(resp.AccessToken, slack.OptionAPIURL(f.APIURL), slack.OptionHTTPClient(f.HTTP))
	u, err := client.GetUserInfoContext(ctx, resp.AuthedUser.ID)
	if err != nil {
		f.revoke(ctx, client, resp.Team.ID)
		return paligo.Installation{}, "", fmt.Errorf("users.info of the installer: %w", err)
	}
	if !strings.EqualFold(u.Profile.Email, st.Email) {
		f.revoke(ctx, client, resp.Team.ID)
		return paligo.Installation{}, fmt.Sprintf("The Slack account that installed the app (%s) is not the Paligo admin who pressed Connect (%s), so the install was undone. Sign in to Slack as %s, or ask that admin to connect.",
			orNone(u.Profile.Email), st.Email, st.Email), nil
	}
	in := paligo.Installation{Team: resp.Team.ID, TeamName: resp.Team.Name, Enterprise: resp.Enterprise.ID, BotUser: resp.BotUserID,
		Scopes: resp.Scope, Installer: resp.AuthedUser.ID, InstallerEmail: u.Profile.Email, Org: st.Org,
		BotTokenSealed: f.Sealer.Seal(resp.AccessToken, resp.Team.ID)}
	if resp.RefreshToken != "" {
		in.RefreshTokenSealed = f.Sealer.Seal(resp.RefreshToken, resp.Team.ID)
		in.TokenExpires = f.Now().Add(time.Duration(resp.ExpiresIn) * time.Second).UTC()
	}
	in, err = f.Store.SaveInstallation(in)
	if errors.Is(err, store.ErrConnectedElsewhere) {
		// Its token is not revoked: it is the installation's, which the
		// other org still uses.
		f.Log.Warn("connect: refused, the workspace is connected to another org", "team", in.Team, "org", st.Org)
		return paligo.Installation{}, "This Slack workspace is already connected to another Paligo organization, which still receives its events. Nothing was changed. To move it here, disconnect it there first (in that organization's settings, or by removing the app from the workspace), then press Connect again.", nil
	}
	return in, "", err
}

func orNone(s string) string {
	if s == "" {
		return "no email"
	}
	return s
}

// reasonOf names why for the platform's return URL.
func reasonOf(why string) string {
	if strings.Contains(why, "is not the Paligo admin") {
		return "email_mismatch"
	}
	if strings.Contains(why, "already connected to another") {
		return "connected_elsewhere"
	}
	return "slack_refused"
}

// exchange calls oauth.v2.access with the app's credentials and form.
func (f *Flow) exchange(ctx context.Context, form url.Values) (*slack.OAuthV2Response, error) {
	form.Set("client_id", f.ClientID)
	form.Set("client_secret", f.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.APIURL+"oauth.v2.access", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr, err := f.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // not the URL: say what failed
		}
		return nil, fmt.Errorf("oauth.v2.access: %w", err)
	}
	defer hr.Body.Close()
	if hr.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oauth.v2.access: HTTP %d", hr.StatusCode)
	}
	var out slack.OAuthV2Response
	if err := json.NewDecoder(hr.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("oauth.v2.access: %w", err)
	}
	if !out.Ok {
		return nil, slack.SlackErrorResponse{Err: out.Error}
	}
	return &out, nil
}

func (f *Flow) revoke(ctx context.Context, client *slack.Client, team string) {
	if _, err := client.SendAuthRevokeContext(ctx, ""); err != nil {
		f.Log.Error("connect: revoke the token of a refused install", "team", team, "err", err)
	}
}

// back is the platform's return URL with the outcome added.
func back(ret, status, reason, team string) string {
	u, err := url.Parse(ret)
	if err != nil {
		return ""
	}
	v := u.Query()
	v.Set("status", status)
	if reason != "" {
		v.Set("reason", reason)
	}
	if team != "" {
		v.Set("team", team)
	}
	u.RawQuery = v.Encode()
	return u.String()
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — Paligo for Slack</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:36em;margin:12vh auto;padding:0 1em;color:#1d1c1d}h1{font-size:1.4em}a{color:#1264a3}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>{{if .Back}}<p><a href="{{.Back}}">Back to Paligo</a></p>{{end}}</body></html>
`))

// page answers with a small HTML page: what happened, what to do next,
// and a link back to the platform when there is one. Everything in it is
// escaped.
func (f *Flow) page(w http.ResponseWriter, status int, title, text, backURL string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTmpl.Execute(w, struct{ Title, Text, Back string }{title, text, backURL})
}

// RefreshBefore is how long before its expiry a rotating token is
// refreshed.
const RefreshBefore = 15 * time.Minute

// RefreshDue refreshes the bot token of every connected workspace whose
// token expires within RefreshBefore (token rotation: oauth.v2.access with
// grant_type=refresh_token; each refresh token works once, so the new pair
// is stored before anything else). It returns how many it refreshed.
func (f *Flow) RefreshDue(ctx context.Context) (int, error) {
	ins, err := f.Store.Installations()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, in := range ins {
		if in.Disconnected != "" || in.RefreshTokenSealed == "" || in.TokenExpires.IsZero() || in.TokenExpires.Sub(f.Now()) > RefreshBefore {
			continue
		}
		if err := f.refresh(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.Team, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func (f *Flow) refresh(ctx context.Context, in paligo.Installation) error {
	f.refreshing.Lock()
	defer f.refreshing.Unlock()
	cur, found, err := f.Store.Installation(in.Team)
	if err != nil {
		return err
	}
	if !found || cur.Disconnected != "" || cur.BotTokenSealed != in.BotTokenSealed {
		return nil // refreshed (or disconnected) meanwhile
	}
	rt, err := f.Sealer.Open(in.RefreshTokenSealed, in.Team)
	if err != nil {
		return err
	}
	resp, err := f.exchange(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if err != nil {
		return fmt.Errorf("refresh the token: %w", err)
	}
	in.BotTokenSealed = f.Sealer.Seal(resp.AccessToken, in.Team)
	in.RefreshTokenSealed = f.Sealer.Seal(resp.RefreshToken, in.Team)
	in.TokenExpires = f.Now().Add(time.Duration(resp.ExpiresIn) * time.Second).UTC()
	if _, err := f.Store.SaveInstallation(in); err != nil {
		return err
	}
	f.changed(in.Team)
	f.Log.Info("token refreshed", "team", in.Team, "expires", in.TokenExpires)
	return nil
}

// Refresh refreshes team's rotating token now (after Slack answered
// token_expired).
func (f *Flow) Refresh(ctx context.Context, team string) error {
	in, found, err := f.Store.Installation(team)
	switch {
	case err != nil:
		return err
	case !found || in.Disconnected != "":
		return fmt.Errorf("workspace %s is not connected", team)
	case in.RefreshTokenSealed == "":
		return fmt.Errorf("workspace %s has no refresh token (no token rotation)", team)
	}
	return f.refresh(ctx, in)
}

// Run refreshes due tokens every minute until ctx ends.
func (f *Flow) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := f.RefreshDue(ctx); err != nil {
			f.Log.Error("token refresh", "refreshed", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
