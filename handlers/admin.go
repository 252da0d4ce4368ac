package handlers

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// adminCacheTTL is how long a users.info answer about someone's admin
// rights is trusted.
const adminCacheTTL = 5 * time.Minute

type adminEntry struct {
	admin bool
	at    time.Time
}

type adminCache struct {
	mu sync.Mutex
	m  map[string]adminEntry
}

// IsAdmin reports whether user may route alerts, invite people and see
// delivery health: a workspace admin or owner per users.info, or someone
// listed (by id or email) in PALIGO_SLACK_ADMINS.
func (h *Router) IsAdmin(ctx context.Context, user string) (bool, error) {
	if slices.Contains(h.Admins, user) {
		return true, nil
	}
	h.admins.mu.Lock()
	e, ok := h.admins.m[user]
	h.admins.mu.Unlock()
	if ok && time.Since(e.at) < adminCacheTTL {
		return e.admin, nil
	}
	u, err := h.Slack.GetUserInfoContext(ctx, user)
	if err != nil {
		return false, err
	}
	admin := !u.Deleted && (u.IsAdmin || u.IsOwner || u.IsPrimaryOwner)
	if !admin && u.Profile.Email != "" {
		admin = slices.ContainsFunc(h.Admins, func(a string) bool { return strings.EqualFold(a, u.Profile.Email) })
	}
	h.admins.mu.Lock()
	if h.admins.m == nil {
		h.admins.m = map[string]adminEntry{}
	}
	h.admins.m[user] = adminEntry{admin: admin, at: time.Now()}
	h.admins.mu.Unlock()
	return admin, nil
}
