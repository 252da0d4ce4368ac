package fakeslack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Surfaces Block Kit is drawn on; each has its own block limit.
const (
	SurfaceMessage = "message"
	SurfaceModal   = "modal"
	SurfaceHome    = "home"
)

var blockLimit = map[string]int{SurfaceMessage: 50, SurfaceModal: 100, SurfaceHome: 100}

// ValidateView checks a view object (views.publish/open/update, or a
// response_action update/push) the way Slack does and returns its errors in
// Slack's "message [json-pointer:/path]" form; nil means Slack accepts it.
func ValidateView(view any) []string {
	v := &validator{}
	m, ok := view.(map[string]any)
	if !ok {
		v.errf("/view", "must be an object")
		return v.errs
	}
	typ, _ := m["type"].(string)
	switch typ {
	case SurfaceModal:
		v.text("/view/title", m["title"], textRule{required: true, plainOnly: true, max: 24})
		v.text("/view/submit", m["submit"], textRule{plainOnly: true, max: 24})
		v.text("/view/close", m["close"], textRule{plainOnly: true, max: 24})
		if hasInput(m["blocks"]) && m["submit"] == nil {
			v.errf("/view/submit", "is required when the view has input blocks")
		}
	case SurfaceHome:
	default:
		v.errf("/view/type", "must be one of [modal, home]")
		return v.errs
	}
	v.maxLen("/view/private_metadata", m["private_metadata"], 3000)
	v.maxLen("/view/callback_id", m["callback_id"], 255)
	v.maxLen("/view/external_id", m["external_id"], 255)
	v.blocks("/view/blocks", typ, m["blocks"])
	return v.errs
}

// ValidateBlocks checks the blocks of a message (or any surface).
func ValidateBlocks(surface string, blocks any) []string {
	v := &validator{}
	v.blocks("/blocks", surface, blocks)
	return v.errs
}

// ValidateBlocksJSON is ValidateBlocks for the JSON text chat.postMessage
// carries in its "blocks" argument.
func ValidateBlocksJSON(surface, blocks string) []string {
	var b any
	if err := json.Unmarshal([]byte(blocks), &b); err != nil {
		return []string{"invalid JSON [json-pointer:/blocks]"}
	}
	return ValidateBlocks(surface, b)
}

type validator struct{ errs []string }

func (v *validator) errf(ptr, format string, a ...any) {
	v.errs = append(v.errs, fmt.Sprintf(format, a...)+" [json-pointer:"+ptr+"]")
}

func (v *validator) maxLen(ptr string, x any, n int) {
	if s, ok := x.(string); ok && utf8.RuneCountInString(s) > n {
		v.errf(ptr, "must be less than %d characters", n+1)
	}
}

type textRule struct {
	required  bool
	plainOnly bool
	max       int
}

func (v *validator) text(ptr string, x any, r textRule) {
	if x == nil {
		if r.required {
			v.errf(ptr, "must provide an object")
		}
		return
	}
	m, ok := x.(map[string]any)
	if !ok {
		v.errf(ptr, "must be an object")
		return
	}
	typ, _ := m["type"].(string)
	switch {
	case typ == "plain_text":
	case typ == "mrkdwn" && !r.plainOnly:
	case r.plainOnly:
		v.errf(ptr+"/type", "must be plain_text")
	default:
		v.errf(ptr+"/type", "must be one of [plain_text, mrkdwn]")
	}
	s, ok := m["text"].(string)
	if !ok || s == "" {
		v.errf(ptr+"/text", "must be more than 0 characters")
		return
	}
	if r.max > 0 && utf8.RuneCountInString(s) > r.max {
		v.errf(ptr+"/text", "must be less than %d characters", r.max+1)
	}
}

func hasInput(blocks any) bool {
	list, _ := blocks.([]any)
	for _, b := range list {
		if m, ok := b.(map[string]any); ok && m["type"] == "input" {
			return true
		}
	}
	return false
}

func (v *validator) blocks(ptr, surface string, x any) {
	list, ok := x.([]any)
	if !ok {
		if x != nil {
			v.errf(ptr, "must be an array")
		}
		return
	}
	if max := blockLimit[surface]; len(list) > max {
		v.errf(ptr, "must be less than %d items", max+1)
	}
	ids := map[string]bool{}
	for i, b := range list {
		p := fmt.Sprintf("%s/%d", ptr, i)
		m, ok := b.(map[string]any)
		if !ok {
			v.errf(p, "must be an object")
			continue
		}
		if id, ok := m["block_id"].(string); ok {
			v.maxLen(p+"/block_id", id, 255)
			if ids[id] {
				v.errf(p+"/block_id", "duplicate block_id %q", id)
			}
			ids[id] = true
		}
		v.block(p, surface, m)
	}
}

func (v *validator) block(p, surface string, m map[string]any) {
	switch typ, _ := m["type"].(string); typ {
	case "section":
		if m["text"] == nil && m["fields"] == nil {
			v.errf(p, "must provide text or fields")
		}
		v.text(p+"/text", m["text"], textRule{max: 3000})
		if m["fields"] != nil {
			fields, _ := m["fields"].([]any)
			if len(fields) > 10 {
				v.errf(p+"/fields", "must be less than 11 items")
			}
			for i, f := range fields {
				v.text(fmt.Sprintf("%s/fields/%d", p, i), f, textRule{required: true, max: 2000})
			}
		}
		if a, ok := m["accessory"].(map[string]any); ok {
			v.element(p+"/accessory", surface, a)
		}
	case "header":
		v.text(p+"/text", m["text"], textRule{required: true, plainOnly: true, max: 150})
	case "divider":
	case "context":
		els, _ := m["elements"].([]any)
		if len(els) == 0 || len(els) > 10 {
			v.errf(p+"/elements", "must have between 1 and 10 items")
		}
		for i, e := range els {
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			em, _ := e.(map[string]any)
			if em != nil && em["type"] == "image" {
				v.image(ep, em)
				continue
			}
			v.text(ep, e, textRule{required: true, max: 3000})
		}
	case "actions":
		els, _ := m["elements"].([]any)
		if len(els) == 0 || len(els) > 25 {
			v.errf(p+"/elements", "must have between 1 and 25 items")
		}
		seen := map[string]bool{}
		for i, e := range els {
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			em, ok := e.(map[string]any)
			if !ok {
				v.errf(ep, "must be an object")
				continue
			}
			if id, _ := em["action_id"].(string); id != "" {
				if seen[id] {
					v.errf(ep+"/action_id", "duplicate action_id %q", id)
				}
				seen[id] = true
			}
			v.element(ep, surface, em)
		}
	case "input":
		if surface == SurfaceHome {
			v.errf(p+"/type", "input blocks are not allowed in a Home tab")
		}
		v.text(p+"/label", m["label"], textRule{required: true, plainOnly: true, max: 2000})
		v.text(p+"/hint", m["hint"], textRule{plainOnly: true, max: 2000})
		em, ok := m["element"].(map[string]any)
		if !ok {
			v.errf(p+"/element", "must provide an object")
			return
		}
		v.element(p+"/element", surface, em)
	case "image":
		v.image(p, m)
	case "rich_text", "markdown", "video", "file":
		// Accepted as is; the bot does not draw these.
	default:
		v.errf(p+"/type", "unknown block type %q", typ)
	}
}

func (v *validator) image(p string, m map[string]any) {
	if s, _ := m["image_url"].(string); s == "" && m["slack_file"] == nil {
		v.errf(p+"/image_url", "must provide image_url or slack_file")
	}
	if s, _ := m["alt_text"].(string); s == "" {
		v.errf(p+"/alt_text", "must be more than 0 characters")
	}
}

var (
	clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

func (v *validator) element(p, surface string, m map[string]any) {
	v.maxLen(p+"/action_id", m["action_id"], 255)
	v.text(p+"/placeholder", m["placeholder"], textRule{plainOnly: true, max: 150})
	switch typ, _ := m["type"].(string); typ {
	case "button":
		v.text(p+"/text", m["text"], textRule{required: true, plainOnly: true, max: 75})
		v.maxLen(p+"/value", m["value"], 2000)
		v.maxLen(p+"/url", m["url"], 3000)
		if st, ok := m["style"].(string); ok && st != "primary" && st != "danger" {
			v.errf(p+"/style", "must be one of [primary, danger]")
		}
	case "static_select", "multi_static_select":
		v.options(p, m, 100, true)
	case "overflow":
		v.options(p, m, 5, true)
	case "radio_buttons", "checkboxes":
		v.options(p, m, 10, false)
	case "timepicker":
		if s, ok := m["initial_time"].(string); ok && !clockRE.MatchString(s) {
			v.errf(p+"/initial_time", "must be HH:mm")
		}
	case "datepicker":
		if s, ok := m["initial_date"].(string); ok && !dateRE.MatchString(s) {
			v.errf(p+"/initial_date", "must be YYYY-MM-DD")
		}
	case "users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
		"channels_select", "multi_channels_select", "external_select", "multi_external_select":
		if n, ok := m["max_selected_items"].(float64); ok && n < 1 {
			v.errf(p+"/max_selected_items", "must be at least 1")
		}
	case "plain_text_input":
		if surface == SurfaceHome {
			v.errf(p+"/type", "plain_text_input is only allowed in input blocks")
		}
		if n, ok := m["max_length"].(float64); ok && (n < 1 || n > 3000) {
			v.errf(p+"/max_length", "must be between 1 and 3000")
		}
		v.maxLen(p+"/initial_value", m["initial_value"], 3000)
	case "image", "datetimepicker", "email_text_input", "url_text_input", "number_input", "rich_text_input", "file_input", "workflow_button":
	default:
		v.errf(p+"/type", "unknown element type %q", typ)
	}
}

// options checks an element's options (or option_groups) and that its
// initial option(s) are among them, as Slack does.
func (v *validator) options(p string, m map[string]any, max int, plainOnly bool) {
	// Slack allows max options in a list, or max groups of max options each.
	var all []any
	if groups, ok := m["option_groups"].([]any); ok {
		if len(groups) > max {
			v.errf(p+"/option_groups", "must be less than %d items", max+1)
		}
		for i, g := range groups {
			gm, _ := g.(map[string]any)
			opts, _ := gm["options"].([]any)
			if len(opts) > max {
				v.errf(fmt.Sprintf("%s/option_groups/%d/options", p, i), "must be less than %d items", max+1)
			}
			v.text(fmt.Sprintf("%s/option_groups/%d/label", p, i), gm["label"], textRule{required: true, plainOnly: true, max: 75})
			all = append(all, opts...)
		}
	} else {
		all, _ = m["options"].([]any)
		if len(all) == 0 {
			v.errf(p+"/options", "must provide at least 1 item")
		}
		if len(all) > max {
			v.errf(p+"/options", "must be less than %d items", max+1)
		}
	}
	values := map[string]bool{}
	for i, o := range all {
		op := fmt.Sprintf("%s/options/%d", p, i)
		om, ok := o.(map[string]any)
		if !ok {
			v.errf(op, "must be an object")
			continue
		}
		v.text(op+"/text", om["text"], textRule{required: true, plainOnly: plainOnly, max: 75})
		v.text(op+"/description", om["description"], textRule{plainOnly: plainOnly, max: 75})
		val, _ := om["value"].(string)
		v.maxLen(op+"/value", val, 150)
		values[val] = true
	}
	check := func(ip string, o any) {
		om, _ := o.(map[string]any)
		val, _ := om["value"].(string)
		if !values[val] {
			v.errf(ip, "must match one of the options")
		}
	}
	if io, ok := m["initial_option"]; ok && io != nil {
		check(p+"/initial_option", io)
	}
	if ios, ok := m["initial_options"]; ok && ios != nil {
		list, _ := ios.([]any)
		if len(list) == 0 {
			v.errf(p+"/initial_options", "must provide at least 1 item")
		}
		for i, o := range list {
			check(fmt.Sprintf("%s/initial_options/%d", p, i), o)
		}
	}
}
