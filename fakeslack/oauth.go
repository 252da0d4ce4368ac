package fakeslack

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"
)

// OAuth v2, as Slack runs it for an app installed from outside: the
// authorize page (GET /oauth/v2/authorize) sends the browser back to the
// app's redirect_uri with a code, single-use and valid 10 minutes, that
// oauth.v2.access exchanges for a bot token (with token rotation: a
// refresh token and expires_in, and grant_type=refresh_token for the next
// one); auth.revoke revokes a token. The installing person is the one
// SetInstaller names (by default the first admin); DenyInstall makes the
// next authorize answer access_denied.

// OAuthURL is the authorize page's URL, for the app's SLACK_OAUTH_URL.
func (s *Server) OAuthURL() string { return s.http.URL + "/oauth/v2/authorize" }

// ClientID and ClientSecret are the app's OAuth credentials.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// SetInstaller makes user the person who approves the next installs.
func (s *Server) SetInstaller(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installer = user
}

// DenyInstall makes the next authorize answer error=access_denied, as
// when the person presses Cancel.
func (s *Server) DenyInstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyNext = true
}

type oauthCode struct {
	redirect, scope, user string
	expires               time.Time
}

// issued is a token the fake gave out through OAuth.
type issued struct {
	revoked bool
	expires time.Time // zero: never (no rotation)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		http.Error(w, "invalid_client_id", http.StatusBadRequest)
		return
	case err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "":
		http.Error(w, "bad_redirect_uri", http.StatusBadRequest)
		return
	case q.Get("scope") == "":
		http.Error(w, "invalid_scope", http.StatusBadRequest)
		return
	}
	s = s.installTarget(r)
	s.mu.Lock()
	back := redirect.Query()
	if s.denyNext {
		s.denyNext = false
		back.Set("error", "access_denied")
	} else {
		user := s.installer
		if user == "" {
			for _, u := range s.sortedUsers() {
				if u.IsAdmin || u.IsOwner {
					user = u.ID
					break
				}
			}
		}
		code := randomHex(16)
		s.codes[code] = oauthCode{redirect: q.Get("redirect_uri"), scope: q.Get("scope"), user: user, expires: time.Now().Add(10 * time.Minute)}
		back.Set("code", code)
	}
	back.Set("state", q.Get("state"))
	s.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// oauthV2Access exchanges a code, or a refresh token, for a bot token.
func (s *Server) oauthV2Access(r *http.Request, c *Call) (any, []string) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = c.Arg("client_id"), c.Arg("client_secret")
	}
	switch {
	case id != s.opts.ClientID:
		return apiError("invalid_client_id"), nil
	case secret != s.opts.ClientSecret:
		return apiError("bad_client_secret"), nil
	}
	var user, scope string
	if c.Arg("grant_type") == "refresh_token" {
		rt := c.Arg("refresh_token")
		old, ok := s.refresh[rt]
		if !ok {
			return apiError("invalid_refresh_token"), nil
		}
		delete(s.refresh, rt) // each refresh token is used once
		user, scope = old.user, old.scope
	} else {
		code, ok := s.codes[c.Arg("code")]
		delete(s.codes, c.Arg("code")) // single-use, even when refused
		switch {
		case !ok || time.Now().After(code.expires):
			return apiError("invalid_code"), nil
		case c.Arg("redirect_uri") != code.redirect:
			return apiError("bad_redirect_uri"), nil
		}
		user, scope = code.user, code.scope
	}
	token := "xoxb-" + s.opts.TeamID + "-" + randomHex(12)
	tok := issued{}
	resp := map[string]any{
		"access_token": token, "token_type": "bot", "scope": scope, "bot_user_id": s.opts.BotUser,
		"app_id": s.opts.AppID, "team": map[string]any{"id": s.opts.TeamID, "name": s.opts.TeamName},
		"enterprise": nil, "is_enterprise_install": false,
		"authed_user": map[string]any{"id": user},
	}
	if s.opts.TokenRotation {
		rt := "xoxe-1-" + randomHex(16)
		s.refresh[rt] = oauthCode{user: user, scope: scope}
		tok.expires = time.Now().Add(s.opts.TokenLifetime)
		resp["refresh_token"], resp["expires_in"] = rt, max(1, int(s.opts.TokenLifetime/time.Second))
	}
	s.tokens[token] = tok
	s.issuedBy(s, token)
	return resp, nil
}

// authRevoke revokes the token it is called with.
func (s *Server) authRevoke(_ *http.Request, c *Call) (any, []string) {
	token := c.token
	if t, ok := s.tokens[token]; ok {
		t.revoked = true
		s.tokens[token] = t
	} else if token == s.opts.BotToken {
		s.revoked = true
	}
	return map[string]any{"revoked": true}, nil
}

// Revoked reports whether token (one the fake issued) was revoked.
func (s *Server) Revoked(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[token].revoked
}

// IssuedTokens returns the bot tokens issued through OAuth so far.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// ExpireTokens makes every token this workspace issued through OAuth
// answer token_expired from now on, as if its 12 hours had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for t, tok := range s.tokens {
		tok.expires = past
		s.tokens[t] = tok
	}
}
