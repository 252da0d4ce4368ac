package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// What people say back in Slack: replies in threads (the message event),
// links to the app's domains (link_shared, chat.unfurl), reactions,
// permalinks, message shortcuts (message_action) and the options of an
// external select (block_suggestion). Shaped after Slack's docs:
// https://api.slack.com/events/message, /events/link_shared,
// /methods/chat.unfurl, /methods/reactions.add, /methods/chat.getPermalink,
// /reference/interaction-payloads/shortcuts-interactive-payload and
// /reference/block-kit/block-elements/select-menu-element#external_select.

// Reaction is one reaction on a message.
type Reaction struct {
	Name, User string
}

// ReplyAsUser posts text from user in the thread of the message at
// threadTS in channel (a person typing a reply), and returns the message
// and the Events API envelope Slack sends an app subscribed to
// message.channels (or message.groups) about it.
func (s *Server) ReplyAsUser(channel, threadTS, user, text string) (Message, Envelope, error) {
	s.mu.Lock()
	var parent *Message
	for i := range s.messages {
		if m := &s.messages[i]; m.Channel == channel && m.TS == threadTS && !m.Ephemeral && !m.Deleted {
			parent = m
		}
	}
	if parent == nil || parent.IsReply() {
		s.mu.Unlock()
		return Message{}, Envelope{}, fmt.Errorf("fakeslack: no parent message %s in %s", threadTS, channel)
	}
	parent.ReplyCount++
	m := Message{Channel: channel, TS: s.newTS(), Text: text, Author: user, ThreadTS: threadTS}
	s.messages = append(s.messages, m)
	kind := s.channelType(channel)
	s.notifyLocked()
	s.mu.Unlock()
	return m, s.EventsAPI(map[string]any{
		"type": "message", "channel": channel, "user": user, "text": text, "ts": m.TS,
		"thread_ts": threadTS, "parent_user_id": s.opts.BotUser, "event_ts": m.TS, "channel_type": kind,
		"team": s.opts.TeamID, "client_msg_id": s.clientMsgID(),
		"blocks": richText(text),
	}), nil
}

// MessageEvent is the message event Slack sends about m (a message an app
// subscribed to message.channels sees, the app's own included: those
// carry its bot_id and app_id).
func (s *Server) MessageEvent(m Message) Envelope {
	s.mu.Lock()
	kind := s.channelType(m.Channel)
	s.mu.Unlock()
	ev := map[string]any{"type": "message", "channel": m.Channel, "text": m.Text, "ts": m.TS, "event_ts": m.TS,
		"channel_type": kind, "team": s.opts.TeamID}
	if m.Author == "" {
		ev["user"], ev["bot_id"], ev["app_id"] = s.opts.BotUser, "B0BOT", s.opts.AppID
		ev["bot_profile"] = map[string]any{"id": "B0BOT", "app_id": s.opts.AppID, "name": "Paligo", "team_id": s.opts.TeamID}
	} else {
		ev["user"], ev["client_msg_id"] = m.Author, s.clientMsgID()
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
		if m.Broadcast {
			ev["subtype"] = "thread_broadcast"
		}
	}
	return s.EventsAPI(ev)
}

// EditedEvent is the message_changed event Slack sends when the author of
// m edits it to text.
func (s *Server) EditedEvent(m Message, text string) Envelope {
	s.mu.Lock()
	kind := s.channelType(m.Channel)
	for i := range s.messages {
		if s.messages[i].Channel == m.Channel && s.messages[i].TS == m.TS {
			s.messages[i].Text = text
		}
	}
	s.mu.Unlock()
	edited := map[string]any{"type": "message", "user": m.Author, "text": text, "ts": m.TS,
		"edited": map[string]any{"user": m.Author, "ts": fmt.Sprintf("%d.000300", time.Now().Unix())}}
	if m.ThreadTS != "" {
		edited["thread_ts"] = m.ThreadTS
	}
	return s.EventsAPI(map[string]any{"type": "message", "subtype": "message_changed", "hidden": true,
		"channel": m.Channel, "channel_type": kind, "ts": fmt.Sprintf("%d.000400", time.Now().Unix()),
		"event_ts": fmt.Sprintf("%d.000400", time.Now().Unix()), "message": edited,
		"previous_message": map[string]any{"type": "message", "user": m.Author, "text": m.Text, "ts": m.TS}})
}

func (s *Server) channelType(channel string) string {
	if c, ok := s.channels[channel]; ok && c.IsPrivate {
		return "group"
	}
	if strings.HasPrefix(channel, "D") {
		return "im"
	}
	return "channel"
}

func (s *Server) clientMsgID() string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, s.seq)
}

// richText is a message's blocks as Slack's clients write them.
func richText(text string) []any {
	return []any{map[string]any{"type": "rich_text", "block_id": "rt0", "elements": []any{
		map[string]any{"type": "rich_text_section", "elements": []any{map[string]any{"type": "text", "text": text}}}}}}
}

// linkPattern finds the URLs of a message as Slack marks them up:
// <https://…> or <https://…|label>.
var linkPattern = regexp.MustCompile(`<(https?://[^|>\s]+)(?:\|[^>]*)?>`)

// PostLinks posts text from user to channel (as PostAsUser) and returns
// the link_shared envelope Slack sends the app about the links on domains
// (the app's unfurl domains, a host or any of its subdomains), at most 5
// as Slack does, or false when none is on them.
func (s *Server) PostLinks(channel, user, text string, domains []string) (Message, Envelope, bool) {
	m := s.PostAsUser(channel, user, text)
	var links []any
	for _, match := range linkPattern.FindAllStringSubmatch(text, -1) {
		u, err := url.Parse(match[1])
		if err != nil {
			continue
		}
		host := strings.ToLower(u.Hostname())
		for _, d := range domains {
			if host == d || strings.HasSuffix(host, "."+d) {
				links = append(links, map[string]any{"domain": d, "url": match[1]})
				break
			}
		}
		if len(links) == 5 {
			break
		}
	}
	if len(links) == 0 {
		return m, Envelope{}, false
	}
	s.mu.Lock()
	member := true
	if c, ok := s.channels[channel]; ok {
		member = !c.IsPrivate || c.BotIsMember
	}
	s.mu.Unlock()
	return m, s.EventsAPI(map[string]any{
		"type": "link_shared", "channel": channel, "is_bot_user_member": member, "user": user,
		"message_ts": m.TS, "unfurl_id": channel + "." + strings.ReplaceAll(m.TS, ".", "") + ".fake",
		"source": "conversations_history", "links": links, "event_ts": m.TS,
	}), true
}

// Unfurls are the unfurls the app attached to message (channel, ts), by
// URL: each the blocks it gave.
func (s *Server) Unfurls(channel, ts string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m.Unfurls
		}
	}
	return nil
}

// Reactions are the reactions on message (channel, ts).
func (s *Server) Reactions(channel, ts string) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return slices.Clone(m.Reactions)
		}
	}
	return nil
}

// message finds the live message (channel, ts).
func (s *Server) message(channel, ts string) *Message {
	for i := range s.messages {
		if m := &s.messages[i]; m.Channel == channel && m.TS == ts && !m.Ephemeral && !m.Deleted {
			return m
		}
	}
	return nil
}

// chatUnfurl attaches the app's previews to the links of a person's
// message: unfurls is a JSON object of URL → {"blocks": […]} (or a legacy
// attachment), every URL one the message holds.
func (s *Server) chatUnfurl(_ *http.Request, c *Call) (any, []string) {
	ch, ts := c.Arg("channel"), c.Arg("ts")
	if id := c.Arg("unfurl_id"); id != "" && c.Arg("source") != "" {
		// unfurl_id is channel.ts-without-dot.suffix (PostLinks).
		parts := strings.Split(id, ".")
		if len(parts) >= 2 && len(parts[1]) > 6 {
			ch, ts = parts[0], parts[1][:len(parts[1])-6]+"."+parts[1][len(parts[1])-6:]
		}
	}
	if ch == "" || ts == "" {
		return apiError("cannot_find_message"), nil
	}
	if _, e := s.conversation(ch); e != "" {
		return apiError("cannot_find_channel"), nil
	}
	m := s.message(ch, ts)
	if m == nil {
		return apiError("cannot_find_message"), nil
	}
	raw := c.Arg("unfurls")
	if raw == "" {
		return apiError("missing_unfurls"), nil
	}
	var unfurls map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &unfurls); err != nil || len(unfurls) == 0 {
		return apiError("invalid_unfurls_format"), nil
	}
	var errs []string
	for u, body := range unfurls {
		if !strings.Contains(m.Text, u) {
			return apiError("cannot_unfurl_url"), []string{"the message does not hold " + u}
		}
		var one struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		if err := json.Unmarshal(body, &one); err != nil || len(one.Blocks) == 0 {
			return apiError("invalid_unfurls_format"), []string{u + ": an unfurl is an object with blocks"}
		}
		if e := ValidateBlocksJSON(SurfaceMessage, string(one.Blocks)); len(e) > 0 {
			errs = append(errs, e...)
		}
	}
	if len(errs) > 0 {
		return apiError("invalid_blocks"), errs
	}
	if m.Unfurls == nil {
		m.Unfurls = map[string]json.RawMessage{}
	}
	for u, body := range unfurls {
		m.Unfurls[u] = body
	}
	s.notifyLocked()
	return map[string]any{}, nil
}

// emojiName is what reactions.add takes as a name (no colons).
var emojiName = regexp.MustCompile(`^[a-z0-9_+'-]{1,100}$`)

// reactionsAdd adds a reaction, as the bot, to a message.
func (s *Server) reactionsAdd(_ *http.Request, c *Call) (any, []string) {
	ch, ts, name := c.Arg("channel"), c.Arg("timestamp"), c.Arg("name")
	switch {
	case ch == "" || ts == "":
		return apiError("no_item_specified"), nil
	case !emojiName.MatchString(name):
		return apiError("invalid_name"), nil
	}
	if _, e := s.conversation(ch); e != "" {
		return e, nil
	}
	m := s.message(ch, ts)
	if m == nil {
		return apiError("message_not_found"), nil
	}
	r := Reaction{Name: name, User: s.opts.BotUser}
	if slices.Contains(m.Reactions, r) {
		return apiError("already_reacted"), nil
	}
	m.Reactions = append(m.Reactions, r)
	s.notifyLocked()
	return map[string]any{}, nil
}

// chatGetPermalink answers a message's permalink, as Slack writes it.
func (s *Server) chatGetPermalink(_ *http.Request, c *Call) (any, []string) {
	ch, ts := c.Arg("channel"), c.Arg("message_ts")
	if _, e := s.conversation(ch); e != "" {
		return e, nil
	}
	m := s.message(ch, ts)
	if m == nil {
		return apiError("message_not_found"), nil
	}
	link := "https://fake.slack.com/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", "")
	if m.IsReply() {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch
	}
	return map[string]any{"channel": ch, "permalink": link}, nil
}

// MessageShortcut is what Slack sends when user picks the app's message
// shortcut callbackID on message m.
func (s *Server) MessageShortcut(user string, m Message, callbackID string) Envelope {
	s.mu.Lock()
	name := "directmessage"
	if c, ok := s.channels[m.Channel]; ok {
		name = c.Name
	}
	s.mu.Unlock()
	msg := map[string]any{"type": "message", "text": m.Text, "ts": m.TS}
	if m.Author != "" {
		msg["user"] = m.Author
	} else {
		msg["user"], msg["bot_id"] = s.opts.BotUser, "B0BOT"
	}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
	}
	return Envelope{Type: "interactive", Payload: map[string]any{
		"type": "message_action", "callback_id": callbackID, "token": "legacy-fixed-value",
		"action_ts": fmt.Sprintf("%d.412350", time.Now().Unix()), "trigger_id": s.issueTrigger(user),
		"team": map[string]any{"id": s.opts.TeamID, "domain": "fake"}, "user": s.userRef(user),
		"channel": map[string]any{"id": m.Channel, "name": name}, "message_ts": m.TS, "message": msg,
		"response_url": "https://hooks.slack.com/app/" + s.opts.TeamID + "/1/fake", "is_enterprise_install": false,
	}}
}

// BlockSuggestion is what Slack sends, for an external select with
// actionID in view v, when user types value into it: the app answers the
// options in its ack (CheckOptions).
func (s *Server) BlockSuggestion(user string, v View, actionID, value string) (Envelope, error) {
	ids, els := FindElements(v.Body, actionID)
	if len(els) == 0 || els[0]["type"] != "external_select" && els[0]["type"] != "multi_external_select" {
		return Envelope{}, fmt.Errorf("%w: no external select %q", ErrNoSuchAction, actionID)
	}
	return Envelope{Type: "interactive", Payload: map[string]any{
		"type": "block_suggestion", "user": s.userRef(user), "api_app_id": s.opts.AppID, "token": "legacy-fixed-value",
		"container": map[string]any{"type": "view", "view_id": v.ID}, "action_id": actionID, "block_id": ids[0],
		"value": value, "team": map[string]any{"id": s.opts.TeamID, "domain": "fake"},
		"view": s.viewPayload(v, nil),
	}}, nil
}

// CheckOptions checks the ack of a block_suggestion as Slack reads it: at
// most 100 options, or 100 option groups, each option a plain_text of at
// most 75 characters and a value of at most 150.
func CheckOptions(ack json.RawMessage) []string {
	var a struct {
		Options []struct {
			Text  map[string]any `json:"text"`
			Value string         `json:"value"`
		} `json:"options"`
		OptionGroups []json.RawMessage `json:"option_groups"`
	}
	if err := json.Unmarshal(ack, &a); err != nil {
		return []string{"the ack is not JSON: " + err.Error()}
	}
	var errs []string
	if len(a.Options) > 100 || len(a.OptionGroups) > 100 {
		errs = append(errs, "more than 100 options")
	}
	for i, o := range a.Options {
		text, _ := o.Text["text"].(string)
		switch {
		case o.Text["type"] != "plain_text":
			errs = append(errs, fmt.Sprintf("options[%d].text must be plain_text", i))
		case text == "" || len([]rune(text)) > 75:
			errs = append(errs, fmt.Sprintf("options[%d].text is 1 to 75 characters", i))
		case o.Value == "" || len(o.Value) > 150:
			errs = append(errs, fmt.Sprintf("options[%d].value is 1 to 150 characters", i))
		}
	}
	return errs
}

// methodScopes are the scopes a bot token needs for a method (Slack's
// method reference), for the methods whose scope Options.Scopes can take
// away.
var methodScopes = map[string]string{
	"chat.postMessage": "chat:write", "chat.postEphemeral": "chat:write", "chat.update": "chat:write",
	"chat.unfurl": "links:write", "reactions.add": "reactions:write",
	"users.lookupByEmail": "users:read.email", "users.info": "users:read", "users.list": "users:read",
	"conversations.list": "channels:read", "conversations.open": "im:write",
}

// missingScope answers, as Slack does, a call whose token lacks the
// method's scope ("" when it has it, or Options.Scopes is not set).
func (s *Server) missingScope(method, token string) (needed, provided string) {
	if s.opts.Scopes == nil || token != s.opts.BotToken {
		return "", ""
	}
	need, ok := methodScopes[method]
	if !ok || slices.Contains(s.opts.Scopes, need) {
		return "", ""
	}
	return need, strings.Join(s.opts.Scopes, ",")
}

func (s *Server) refuseScope(w http.ResponseWriter, call Call, needed, provided string) {
	s.record(call, http.StatusOK, "missing_scope")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "missing_scope", "needed": needed, "provided": provided})
}
