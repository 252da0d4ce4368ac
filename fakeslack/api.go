package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// apiMethods answer the Web API methods the product uses. Each runs with
// s.mu held and returns either a map (ok:true) or an apiError with optional
// detail messages.
var apiMethods = map[string]func(s *Server, r *http.Request, c *Call) (any, []string){
	"auth.test":             (*Server).authTest,
	"apps.connections.open": (*Server).connectionsOpen,
	"views.publish":         (*Server).viewsPublish,
	"views.open":            (*Server).viewsOpen,
	"views.update":          (*Server).viewsUpdate,
	"chat.postMessage":      (*Server).chatPostMessage,
	"chat.postEphemeral":    (*Server).chatPostEphemeral,
	"chat.update":           (*Server).chatUpdate,
	"conversations.info":    (*Server).conversationsInfo,
	"conversations.open":    (*Server).conversationsOpen,
	"conversations.list":    (*Server).conversationsList,
	"users.info":            (*Server).usersInfo,
	"users.lookupByEmail":   (*Server).usersLookupByEmail,
	"users.list":            (*Server).usersList,
	"oauth.v2.access":       (*Server).oauthV2Access,
	"auth.revoke":           (*Server).authRevoke,
	"chat.unfurl":           (*Server).chatUnfurl,
	"reactions.add":         (*Server).reactionsAdd,
	"chat.getPermalink":     (*Server).chatGetPermalink,
}

func (s *Server) authTest(_ *http.Request, _ *Call) (any, []string) {
	return map[string]any{
		"url": "https://fake.slack.com/", "team": s.opts.TeamName, "user": "paligo",
		"team_id": s.opts.TeamID, "user_id": s.opts.BotUser, "bot_id": "B0BOT",
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) connectionsOpen(r *http.Request, _ *Call) (any, []string) {
	ticket := s.nextID("ticket-")
	s.tickets[ticket] = true
	return map[string]any{"url": "ws://" + r.Host + "/link/?ticket=" + ticket + "&app_id=" + s.opts.AppID}, nil
}

// userJSON draws a user like users.info does (08_users_info.openapi-example.json).
func (s *Server) userJSON(u *User) map[string]any {
	loc, err := time.LoadLocation(u.TZ)
	offset, label := 0, u.TZ
	if err == nil {
		label, offset = time.Now().In(loc).Zone()
	}
	profile := map[string]any{
		"avatar_hash": "ge3b51ca72de", "display_name": u.Name, "display_name_normalized": u.Name,
		"real_name": u.RealName, "real_name_normalized": u.RealName, "team": s.opts.TeamID,
		"status_emoji": "", "status_text": "",
	}
	if u.Email != "" && !u.IsBot {
		profile["email"] = u.Email
	}
	return map[string]any{
		"id": u.ID, "team_id": s.opts.TeamID, "name": u.Name, "deleted": u.Deleted, "color": "9f69e7",
		"real_name": u.RealName, "tz": u.TZ, "tz_label": label, "tz_offset": offset,
		"profile": profile, "is_admin": u.IsAdmin, "is_owner": u.IsOwner, "is_primary_owner": false,
		"is_restricted": false, "is_ultra_restricted": false, "is_bot": u.IsBot, "is_app_user": false,
		"updated": 1502138686, "has_2fa": false,
	}
}

func (s *Server) usersInfo(_ *http.Request, c *Call) (any, []string) {
	u, ok := s.users[c.Arg("user")]
	if !ok {
		return apiError("user_not_found"), nil
	}
	return map[string]any{"user": s.userJSON(u)}, nil
}

func (s *Server) usersLookupByEmail(_ *http.Request, c *Call) (any, []string) {
	email := strings.ToLower(c.Arg("email"))
	if email == "" {
		return apiError("invalid_arguments"), nil
	}
	for _, u := range s.sortedUsers() {
		if strings.ToLower(u.Email) == email && !u.IsBot && !u.Deleted {
			return map[string]any{"user": s.userJSON(u)}, nil
		}
	}
	return apiError("users_not_found"), nil
}

func (s *Server) sortedUsers() []*User {
	var out []*User
	for _, u := range s.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *User) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// page cuts a list for cursor pagination the way Slack does: the cursor is
// opaque to the caller; here it is the next index.
func page(c *Call, n int) (from, to int, next string) {
	limit, _ := strconv.Atoi(c.Arg("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	from, _ = strconv.Atoi(c.Arg("cursor"))
	from = min(max(from, 0), n)
	to = min(from+limit, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next
}

func (s *Server) usersList(_ *http.Request, c *Call) (any, []string) {
	all := s.sortedUsers()
	from, to, next := page(c, len(all))
	var members []any
	for _, u := range all[from:to] {
		members = append(members, s.userJSON(u))
	}
	return map[string]any{"members": members, "response_metadata": map[string]any{"next_cursor": next}}, nil
}

func (s *Server) conversationsList(_ *http.Request, c *Call) (any, []string) {
	types := c.Arg("types")
	if types == "" {
		types = "public_channel"
	}
	var list []*Channel
	for _, ch := range s.channels {
		if ch.IsArchived && c.Arg("exclude_archived") == "true" {
			continue
		}
		// Slack lists private channels only where the bot is a member.
		if ch.IsPrivate && (!strings.Contains(types, "private_channel") || !ch.BotIsMember) {
			continue
		}
		if !ch.IsPrivate && !strings.Contains(types, "public_channel") {
			continue
		}
		list = append(list, ch)
	}
	slices.SortFunc(list, func(a, b *Channel) int { return strings.Compare(a.ID, b.ID) })
	from, to, next := page(c, len(list))
	var out []any
	for _, ch := range list[from:to] {
		out = append(out, map[string]any{
			"id": ch.ID, "name": ch.Name, "is_channel": !ch.IsPrivate, "is_group": false,
			"is_private": ch.IsPrivate, "is_archived": ch.IsArchived, "is_member": ch.BotIsMember,
			"is_ext_shared": ch.IsExtShared, "is_shared": ch.IsExtShared, "num_members": ch.Members,
		})
	}
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, nil
}

func (s *Server) conversationsOpen(_ *http.Request, c *Call) (any, []string) {
	users := strings.Split(c.Arg("users"), ",")
	if len(users) != 1 || users[0] == "" {
		return apiError("invalid_arguments"), nil
	}
	u, ok := s.users[users[0]]
	if !ok {
		return apiError("user_not_found"), nil
	}
	if u.Deleted {
		return apiError("user_disabled"), nil
	}
	_, already := s.dms[u.ID]
	id := s.openDMLocked(u.ID)
	return map[string]any{"no_op": already, "already_open": already, "channel": map[string]any{"id": id}}, nil
}

// openDMLocked returns the DM channel between the app and user, opening it
// if needed.
func (s *Server) openDMLocked(user string) string {
	id, ok := s.dms[user]
	if !ok {
		id = "D" + strings.TrimLeft(user, "UW")
		s.dms[user] = id
	}
	return id
}

// OpenDM opens the DM between the app and user, as a person does by going
// to the app's Messages tab, and returns its id.
func (s *Server) OpenDM(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openDMLocked(user)
}

// conversation resolves a channel argument to where a message lands.
func (s *Server) conversation(id string) (string, apiError) {
	if ch, ok := s.channels[id]; ok {
		switch {
		case ch.IsArchived:
			return "", "is_archived"
		case ch.IsPrivate && !ch.BotIsMember:
			return "", "channel_not_found"
		}
		return id, ""
	}
	for _, dm := range s.dms {
		if dm == id {
			return id, ""
		}
	}
	// Posting to a user id opens (or reuses) the DM with them.
	if u, ok := s.users[id]; ok && !u.Deleted {
		if _, ok := s.dms[id]; !ok {
			s.dms[id] = "D" + strings.TrimLeft(id, "UW")
		}
		return s.dms[id], ""
	}
	return "", "channel_not_found"
}

func (s *Server) newTS() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", s.opts.Now().Unix(), s.seq%1000000)
}

// messageBody checks text and blocks the way chat.postMessage does.
func messageBody(c *Call) (text string, blocks json.RawMessage, warn string, e apiError, errs []string) {
	text = c.Arg("text")
	b := c.Arg("blocks")
	if text == "" && (b == "" || b == "[]" || b == "null") {
		return "", nil, "", "no_text", nil
	}
	if b != "" {
		if errs := ValidateBlocksJSON(SurfaceMessage, b); len(errs) > 0 {
			return "", nil, "", "invalid_blocks", errs
		}
		blocks = json.RawMessage(b)
	}
	if utf8.RuneCountInString(text) > 40000 {
		text = string([]rune(text)[:40000])
		warn = "message_truncated"
	}
	return text, blocks, warn, "", nil
}

func (s *Server) chatPostMessage(_ *http.Request, c *Call) (any, []string) {
	ch, e := s.conversation(c.Arg("channel"))
	if e != "" {
		return e, nil
	}
	text, blocks, warn, e, errs := messageBody(c)
	if e != "" {
		return e, errs
	}
	// A reply names its parent: a message of the channel that is not a
	// reply itself (Slack's docs: "avoid using a reply's ts value; use its
	// parent instead"; this fake refuses it).
	threadTS := c.Arg("thread_ts")
	var parent *Message
	if threadTS != "" {
		for i := range s.messages {
			if m := &s.messages[i]; m.Channel == ch && m.TS == threadTS && !m.Ephemeral {
				parent = m
			}
		}
		switch {
		case parent == nil || parent.Deleted:
			return apiError("thread_not_found"), nil
		case parent.IsReply():
			return apiError("invalid_thread_ts"), []string{"[ERROR] " + threadTS + " is a reply; reply to its parent " + parent.ThreadTS}
		}
		parent.ReplyCount++
	}
	broadcast := threadTS != "" && (c.Arg("reply_broadcast") == "true" || c.Arg("reply_broadcast") == "1")
	ts := s.newTS()
	s.messages = append(s.messages, Message{Channel: ch, TS: ts, Text: text, Blocks: blocks, ThreadTS: threadTS, Broadcast: broadcast})
	msg := map[string]any{"type": "message", "subtype": "bot_message", "text": text, "ts": ts, "bot_id": "B0BOT", "blocks": blocks}
	if threadTS != "" {
		msg["thread_ts"] = threadTS
	}
	resp := map[string]any{"channel": ch, "ts": ts, "message": msg}
	if warn != "" {
		resp["warning"] = warn
		resp["response_metadata"] = map[string]any{"warnings": []string{warn}}
	}
	return resp, nil
}

// chatUpdate changes one of the app's own messages, named by its channel
// id (not a user id, as Slack's docs say) and ts.
func (s *Server) chatUpdate(_ *http.Request, c *Call) (any, []string) {
	ch, ts := c.Arg("channel"), c.Arg("ts")
	if ch == "" || ts == "" {
		return apiError("invalid_arguments"), nil
	}
	if _, e := s.conversation(ch); e != "" || s.users[ch] != nil {
		return apiError("channel_not_found"), nil
	}
	for i := range s.messages {
		m := &s.messages[i]
		if m.Channel != ch || m.TS != ts || m.Ephemeral {
			continue
		}
		if m.Deleted {
			return apiError("message_not_found"), nil
		}
		if m.Author != "" {
			return apiError("cant_update_message"), nil
		}
		text, blocks, _, e, errs := messageBody(c)
		if e != "" {
			return e, errs
		}
		m.Text, m.Blocks = text, blocks
		m.Edits++
		s.notifyLocked()
		return map[string]any{"channel": ch, "ts": ts, "text": text,
			"message": map[string]any{"text": text, "bot_id": "B0BOT", "blocks": blocks}}, nil
	}
	return apiError("message_not_found"), nil
}

func (s *Server) conversationsInfo(_ *http.Request, c *Call) (any, []string) {
	ch, ok := s.channels[c.Arg("channel")]
	// Slack hides private channels the bot is not in.
	if !ok || (ch.IsPrivate && !ch.BotIsMember) {
		return apiError("channel_not_found"), nil
	}
	return map[string]any{"channel": map[string]any{
		"id": ch.ID, "name": ch.Name, "is_channel": true, "is_group": false, "is_im": false,
		"is_private": ch.IsPrivate, "is_archived": ch.IsArchived, "is_member": ch.BotIsMember,
		"is_ext_shared": ch.IsExtShared, "is_shared": ch.IsExtShared,
	}}, nil
}

func (s *Server) chatPostEphemeral(_ *http.Request, c *Call) (any, []string) {
	ch, e := s.conversation(c.Arg("channel"))
	if e != "" {
		return e, nil
	}
	if _, ok := s.users[c.Arg("user")]; !ok {
		return apiError("user_not_found"), nil
	}
	text, blocks, _, e, errs := messageBody(c)
	if e != "" {
		return e, errs
	}
	ts := s.newTS()
	s.messages = append(s.messages, Message{Channel: ch, User: c.Arg("user"), TS: ts, Text: text, Blocks: blocks, Ephemeral: true})
	return map[string]any{"message_ts": ts}, nil
}

// viewArg decodes the "view" argument, which slack-go sends in a JSON body
// and other clients as a JSON string in a form.
func viewArg(c *Call) (map[string]any, bool) {
	switch v := c.JSON["view"].(type) {
	case map[string]any:
		return v, true
	case string:
		var m map[string]any
		return m, json.Unmarshal([]byte(v), &m) == nil
	}
	if f := c.Form.Get("view"); f != "" {
		var m map[string]any
		return m, json.Unmarshal([]byte(f), &m) == nil
	}
	return nil, false
}

// checkedView decodes the "view" argument and checks it as Slack does: its
// type (wantType, or any if "") and Block Kit's limits.
func checkedView(c *Call, method, wantType string) (map[string]any, apiError, []string) {
	if p := c.view; p != nil && p.method == method && p.wantType == wantType {
		return p.view, p.e, p.errs
	}
	view, ok := viewArg(c)
	if !ok {
		return nil, "invalid_arguments", []string{"missing required field: view"}
	}
	if wantType != "" && view["type"] != wantType {
		return nil, "invalid_arguments", []string{method + " takes a " + wantType + " view [json-pointer:/view/type]"}
	}
	if errs := ValidateView(view); len(errs) > 0 {
		return nil, "invalid_arguments", errs
	}
	return view, "", nil
}

// viewSurfaces are the methods that take a view, with the type each wants.
var viewSurfaces = map[string]string{"views.publish": SurfaceHome, "views.open": SurfaceModal, "views.update": ""}

// viewCheck is a call's view, decoded and checked before the server's lock
// is taken: the check needs nothing of the server's state, and a crowd of
// views.publish calls (a Monday morning's first visits) waited for one
// another's checks behind the lock.
type viewCheck struct {
	method, wantType string
	view             map[string]any
	e                apiError
	errs             []string
}

func precheckView(c *Call) {
	if want, ok := viewSurfaces[c.Method]; ok {
		v, e, errs := checkedView(c, c.Method, want)
		c.view = &viewCheck{method: c.Method, wantType: want, view: v, e: e, errs: errs}
	}
}

func (s *Server) storeView(id, typ, user string, body map[string]any) map[string]any {
	// Slack gives every block an id; the bot's block_actions then carry it.
	if blocks, ok := body["blocks"].([]any); ok {
		for _, b := range blocks {
			if bm, ok := b.(map[string]any); ok {
				if _, has := bm["block_id"]; !has {
					bm["block_id"] = s.nextID("blk")
				}
			}
		}
	}
	hash := fmt.Sprintf("%d.%08x", time.Now().Unix(), s.rnd.Uint32())
	s.views[id] = &View{ID: id, Type: typ, User: user, Hash: hash, Body: body, Updated: time.Now()}
	if typ == SurfaceHome {
		s.home[user] = id
	} else {
		s.modal = id
	}
	s.notifyLocked()
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	out["id"], out["hash"], out["team_id"], out["app_id"], out["bot_id"] = id, hash, s.opts.TeamID, s.opts.AppID, "B0BOT"
	out["state"] = map[string]any{"values": map[string]any{}}
	out["root_view_id"] = id
	return map[string]any{"view": out}
}

func (s *Server) viewsPublish(_ *http.Request, c *Call) (any, []string) {
	user := c.Arg("user_id")
	if _, ok := s.users[user]; !ok {
		return apiError("user_not_found"), nil
	}
	view, e, errs := checkedView(c, "views.publish", SurfaceHome)
	if e != "" {
		return e, errs
	}
	id, ok := s.home[user]
	if !ok {
		id = s.nextID("V")
	}
	if h := c.Arg("hash"); h != "" {
		if v := s.views[id]; v != nil && v.Hash != h {
			return apiError("hash_conflict"), nil
		}
	}
	return s.storeView(id, SurfaceHome, user, view), nil
}

func (s *Server) viewsOpen(_ *http.Request, c *Call) (any, []string) {
	tid := c.Arg("trigger_id")
	t, ok := s.triggers[tid]
	switch {
	case !ok:
		return apiError("invalid_trigger_id"), nil
	case t.used || time.Since(t.issued) > s.opts.TriggerTTL:
		return apiError("expired_trigger_id"), nil
	}
	view, e, errs := checkedView(c, "views.open", SurfaceModal)
	if e != "" {
		return e, errs
	}
	t.used = true
	s.triggers[tid] = t
	id := s.nextID("V")
	if t.user != "" {
		s.modals[t.user] = id
	}
	return s.storeView(id, SurfaceModal, t.user, view), nil
}

func (s *Server) viewsUpdate(_ *http.Request, c *Call) (any, []string) {
	id := c.Arg("view_id")
	v, ok := s.views[id]
	if !ok {
		return apiError("not_found"), nil
	}
	if h := c.Arg("hash"); h != "" && h != v.Hash {
		return apiError("hash_conflict"), nil
	}
	view, e, errs := checkedView(c, "views.update", "")
	if e != "" {
		return e, errs
	}
	typ, _ := view["type"].(string)
	return s.storeView(id, typ, v.User, view), nil
}
