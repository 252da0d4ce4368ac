package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Builders of the envelopes Slack sends, shaped like the samples in
// testdata/slack (06_event_callback_app_home_opened,
// 04_payload_block_actions_home_view, 03_envelope_slash_commands,
// 05_payload_view_submission).

// EventsAPI wraps an inner event the way Slack's event_callback does.
func (s *Server) EventsAPI(event map[string]any) Envelope {
	root := s.top() // event ids are unique across workspaces, as Slack's
	root.mu.Lock()
	id := root.nextID("Ev")
	root.mu.Unlock()
	now := time.Now()
	return Envelope{Type: "events_api", Payload: map[string]any{
		"token": "verification-token", "team_id": s.opts.TeamID, "api_app_id": s.opts.AppID,
		"event": event, "type": "event_callback", "event_id": id, "event_time": now.Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUser,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
	}}
}

// AppHomeOpened is the event Slack sends when user opens the app's Home tab.
func (s *Server) AppHomeOpened(user string) Envelope {
	ev := map[string]any{
		"type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home",
		"event_ts": fmt.Sprintf("%d.000100", time.Now().Unix()),
	}
	if v, ok := s.HomeView(user); ok {
		ev["view"] = s.viewPayload(v, nil)
	}
	return s.EventsAPI(ev)
}

// issueTrigger makes the trigger_id of an interaction by user: a modal
// opened with it is that user's.
func (s *Server) issueTrigger(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%d.3485157640.%s", time.Now().UnixNano()%1e13, s.nextID("trig"))
	s.triggers[id] = trigger{issued: time.Now(), user: user}
	return id
}

func (s *Server) userRef(user string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, team := user, s.opts.TeamID
	if u, ok := s.users[user]; ok {
		name = u.Name
		if u.TeamID != "" {
			team = u.TeamID
		}
	}
	return map[string]any{"id": user, "username": name, "name": name, "team_id": team}
}

// SlashCommand is what Slack sends when user types command text in channel.
func (s *Server) SlashCommand(user, channel, command, text string) Envelope {
	u := s.userRef(user)
	return Envelope{Type: "slash_commands", AcceptsResponsePayload: true, Payload: map[string]any{
		"token": "verification-token", "team_id": s.opts.TeamID, "team_domain": "fake",
		"channel_id": channel, "channel_name": "general", "user_id": user, "user_name": u["name"],
		"command": command, "text": text, "api_app_id": s.opts.AppID, "is_enterprise_install": "false",
		"response_url": "https://hooks.slack.com/commands/" + s.opts.TeamID + "/1/fake",
		"trigger_id":   s.issueTrigger(user),
	}}
}

func (s *Server) viewPayload(v View, state map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range v.Body {
		out[k] = val
	}
	if state == nil {
		state = map[string]any{}
	}
	out["id"], out["hash"], out["team_id"], out["app_id"], out["bot_id"] = v.ID, v.Hash, s.opts.TeamID, s.opts.AppID, "B0BOT"
	out["root_view_id"], out["previous_view_id"], out["app_installed_team_id"] = v.ID, nil, s.opts.TeamID
	out["state"] = map[string]any{"values": state}
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, ok := out[k]; !ok {
			out[k] = ""
		}
	}
	return out
}

// ErrNoSuchAction means the view has no element with that action_id, so a
// person could not have clicked it.
var ErrNoSuchAction = errors.New("fakeslack: no element with that action_id in the view")

// BlockAction is what Slack sends when user acts on the element with
// actionID in view. value is merged into the action: for a button nothing
// (its value comes from the view), for radio buttons and selects
// {"selected_option": …}, checkboxes {"selected_options": […]}, a time
// picker {"selected_time": "HH:MM"}.
//
// For a view with several buttons of the same action_id, value may name the
// button's "value" to click that one.
func (s *Server) BlockAction(user string, v View, actionID string, value map[string]any) (Envelope, error) {
	blockID, el := FindElement(v.Body, actionID)
	if want, ok := value["value"].(string); ok {
		ids, els := FindElements(v.Body, actionID)
		blockID, el = "", nil
		for i, e := range els {
			if e["value"] == want {
				blockID, el = ids[i], e
			}
		}
		value = nil
	}
	if el == nil {
		return Envelope{}, fmt.Errorf("%w: %q", ErrNoSuchAction, actionID)
	}
	action := map[string]any{
		"type": el["type"], "action_id": actionID, "block_id": blockID,
		"action_ts": fmt.Sprintf("%d.628431", time.Now().Unix()),
	}
	if el["type"] == "button" {
		action["text"], action["value"] = el["text"], el["value"]
	}
	state := map[string]any{}
	if len(value) > 0 {
		st := map[string]any{"type": el["type"]}
		for k, val := range value {
			action[k], st[k] = val, val
		}
		state[blockID] = map[string]any{actionID: st}
	}
	return Envelope{Type: "interactive", Payload: map[string]any{
		"type": "block_actions", "user": s.userRef(user), "api_app_id": s.opts.AppID,
		"token": "legacy-fixed-value", "container": map[string]any{"type": "view", "view_id": v.ID},
		"trigger_id": s.issueTrigger(user), "team": map[string]any{"id": s.opts.TeamID, "domain": "fake"},
		"enterprise": nil, "is_enterprise_install": false,
		"view":    s.viewPayload(v, state),
		"actions": []any{action},
	}}, nil
}

// ClickHome builds a block action on user's current Home tab.
func (s *Server) ClickHome(user, actionID string, value map[string]any) (Envelope, error) {
	v, ok := s.HomeView(user)
	if !ok {
		return Envelope{}, fmt.Errorf("fakeslack: no Home tab published for %s", user)
	}
	return s.BlockAction(user, v, actionID, value)
}

// ViewSubmission is what Slack sends when user submits modal v with the
// given state values (block_id -> action_id -> value object).
func (s *Server) ViewSubmission(user string, v View, values map[string]any) Envelope {
	return Envelope{Type: "interactive", AcceptsResponsePayload: true, Payload: map[string]any{
		"type": "view_submission", "team": map[string]any{"id": s.opts.TeamID, "domain": "fake"},
		"user": s.userRef(user), "api_app_id": s.opts.AppID, "token": "legacy-fixed-value",
		"trigger_id": s.issueTrigger(user), "view": s.viewPayload(v, values), "response_urls": []any{},
	}}
}

// FindElement returns the block id and the element with actionID in a view
// or message's blocks, or nil.
func FindElement(view map[string]any, actionID string) (string, map[string]any) {
	blocks, _ := view["blocks"].([]any)
	for i, b := range blocks {
		bm, _ := b.(map[string]any)
		blockID, _ := bm["block_id"].(string)
		if blockID == "" {
			// Slack gives every block an id; mimic it for blocks sent without.
			blockID = fmt.Sprintf("b%d", i)
		}
		var els []any
		if e, ok := bm["elements"].([]any); ok {
			els = e
		}
		for _, k := range []string{"accessory", "element"} {
			if e, ok := bm[k].(map[string]any); ok {
				els = append(els, e)
			}
		}
		for _, e := range els {
			em, _ := e.(map[string]any)
			if em["action_id"] == actionID {
				return blockID, em
			}
		}
	}
	return "", nil
}

// FindElements returns every element with actionID (e.g. one Unfollow
// button per followed subject), with their block ids.
func FindElements(view map[string]any, actionID string) (blockIDs []string, els []map[string]any) {
	blocks, _ := view["blocks"].([]any)
	for i, b := range blocks {
		bm, _ := b.(map[string]any)
		sub := map[string]any{"blocks": []any{bm}}
		if id, el := FindElement(sub, actionID); el != nil {
			if id == "b0" {
				id = fmt.Sprintf("b%d", i)
			}
			blockIDs, els = append(blockIDs, id), append(els, el)
		}
	}
	return blockIDs, els
}

// MessageAction is what Slack sends when user clicks the button with
// actionID (and, if not "", that value) in message m.
func (s *Server) MessageAction(user string, m Message, actionID, value string) (Envelope, error) {
	var blocks []any
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		return Envelope{}, fmt.Errorf("message blocks: %w", err)
	}
	holder := map[string]any{"blocks": blocks}
	ids, els := FindElements(holder, actionID)
	var blockID string
	var el, chosen map[string]any
	for i, e := range els {
		if opts, ok := e["options"].([]any); ok {
			// A select or an overflow menu: value names the option chosen.
			for _, o := range opts {
				if om, _ := o.(map[string]any); om != nil && om["value"] == value {
					blockID, el, chosen = ids[i], e, om
				}
			}
			if el != nil {
				break
			}
			continue
		}
		if value == "" || e["value"] == value {
			blockID, el = ids[i], e
			break
		}
	}
	if el == nil {
		return Envelope{}, fmt.Errorf("%w: %q", ErrNoSuchAction, actionID)
	}
	action := map[string]any{
		"type": el["type"], "action_id": actionID, "block_id": blockID,
		"action_ts": fmt.Sprintf("%d.628431", time.Now().Unix()),
	}
	if chosen != nil {
		action["selected_option"] = chosen
		if p, ok := el["placeholder"]; ok {
			action["placeholder"] = p
		}
	} else {
		action["text"], action["value"] = el["text"], el["value"]
	}
	s.mu.Lock()
	name := "directmessage"
	if c, ok := s.channels[m.Channel]; ok {
		name = c.Name
	}
	s.mu.Unlock()
	return Envelope{Type: "interactive", Payload: map[string]any{
		"type": "block_actions", "user": s.userRef(user), "api_app_id": s.opts.AppID,
		"token": "legacy-fixed-value", "trigger_id": s.issueTrigger(user),
		"container": map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": false},
		"team":      map[string]any{"id": s.opts.TeamID, "domain": "fake"},
		"channel":   map[string]any{"id": m.Channel, "name": name},
		"message": map[string]any{"type": "message", "subtype": "bot_message", "text": m.Text, "ts": m.TS,
			"bot_id": "B0BOT", "blocks": blocks},
		"response_url": "https://hooks.slack.com/actions/" + s.opts.TeamID + "/1/fake",
		"actions":      []any{action},
	}}, nil
}

// Join adds u to the workspace and sends the team_join event Slack sends an
// app subscribed to it, with the whole user object, as Slack does; it
// returns once the app acked it.
func (s *Server) Join(ctx context.Context, u User) error {
	s.AddUser(u)
	return s.sendUserEvent(ctx, "team_join", u.ID)
}

// ChangeUser replaces the user with u's id (a new email, deactivation) and
// sends user_change, as Slack does; it returns once the app acked it.
func (s *Server) ChangeUser(ctx context.Context, u User) error {
	s.AddUser(u)
	return s.sendUserEvent(ctx, "user_change", u.ID)
}

func (s *Server) sendUserEvent(ctx context.Context, kind, id string) error {
	s.mu.Lock()
	user := s.userJSON(s.users[id])
	s.mu.Unlock()
	ev := map[string]any{"type": kind, "user": user, "event_ts": fmt.Sprintf("%d.000200", time.Now().Unix())}
	if kind == "user_change" {
		ev["cache_ts"] = time.Now().Unix()
	}
	_, err := s.Send(ctx, s.EventsAPI(ev))
	return err
}
