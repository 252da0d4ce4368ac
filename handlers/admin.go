package handlers

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paligo/paligo-slack/bot"
)

// adminCacheTTL is how long a users.info answer about someone's admin
// rights is trusted.
const adminCacheTTL = 5 * time.Minute

type adminEntry struct {
	admin       bool
	email, name string
	at          time.Time
}

type adminCache struct {
	mu sync.Mutex
	m  map[string]adminEntry
}

// IsAdmin reports whether user may route alerts, invite people and see
// delivery health: a workspace admin or owner per users.info, or someone
// listed (by id or email) in PALIGO_SLACK_ADMINS.
//
// IsAdmin may answer from a users.info answer up to adminCacheTTL old: it is
// for drawing (the Home tab, which buttons to show). Requests that change
// something ask isAdminNow.
func (h inWorkspace) IsAdmin(ctx context.Context, user string) (bool, error) {
	return h.isAdmin(ctx, user, adminCacheTTL)
}

// isAdminNow is IsAdmin with a fresh users.info answer. Every request that
// changes something (routes, invitations, retries) asks it, so someone who
// lost their admin role cannot act through a view drawn before, nor within
// the cache's lifetime.
func (h inWorkspace) isAdminNow(ctx context.Context, user string) (bool, error) {
	return h.isAdmin(ctx, user, 0)
}

func (h inWorkspace) isAdmin(ctx context.Context, user string, maxAge time.Duration) (bool, error) {
	if h.primary() && slices.Contains(h.Admins, user) {
		return true, nil
	}
	p, err := h.profile(ctx, user, maxAge)
	return p.admin, err
}

// directoryRoleTTL is how long the workspace directory's word on a role
// is believed for drawing (it is read whole daily, and kept fresh by
// user_change in between).
const directoryRoleTTL = 25 * time.Hour

// profile is what users.info says of user (admin rights, email, name),
// trusted for maxAge; for drawing (maxAge > 0), what the workspace
// directory says, when it has read them, saves the call.
func (h inWorkspace) profile(ctx context.Context, user string, maxAge time.Duration) (adminEntry, error) {
	key := h.scope() + "/" + user
	h.admins.mu.Lock()
	e, ok := h.admins.m[key]
	h.admins.mu.Unlock()
	if ok && time.Since(e.at) < maxAge {
		return e, nil
	}
	if r, found, err := h.Store.CachedRole(h.scope(), user); maxAge > 0 && err == nil && found && h.Store.Time().Sub(r.At) < directoryRoleTTL {
		e = adminEntry{admin: r.Admin, email: r.Email, name: r.Name, at: time.Now()}
	} else {
		u, err := h.slack().GetUserInfoContext(ctx, user)
		if err != nil {
			return adminEntry{}, err
		}
		e = adminEntry{admin: bot.IsAdmin(*u), email: u.Profile.Email, name: bot.DisplayName(*u), at: time.Now()}
		if u.Deleted {
			e.email = ""
		}
	}
	if !e.admin && e.email != "" && h.primary() {
		e.admin = slices.ContainsFunc(h.Admins, func(a string) bool { return strings.EqualFold(a, e.email) })
	}
	h.admins.mu.Lock()
	if h.admins.m == nil {
		h.admins.m = map[string]adminEntry{}
	}
	h.admins.m[key] = e
	h.admins.mu.Unlock()
	return e, nil
}

// forget drops what is cached of user of the workspace of scope.
func (c *adminCache) forget(scope, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, scope+"/"+user)
}
