package demo

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
)

// renderer draws Block Kit as HTML close enough to Slack's to use it. Every
// string from a view or message is escaped here; only the markup this file
// writes is trusted. Interactive elements carry data-* attributes that the
// page's script turns into the payload Slack would send.
type renderer struct {
	users    []fakeslack.User
	channels []fakeslack.Channel
	// errors are a modal's inline errors by block_id.
	errors map[string]string
	// loc is the reader's time zone, for <!date> tokens.
	loc *time.Location
	// suggest, in a modal, answers an external select's options as the
	// bot does (block_suggestion); nil draws it empty.
	suggest func(actionID string) []any
	b       strings.Builder
}

func (r *renderer) html() template.HTML { return template.HTML(r.b.String()) }

func (r *renderer) w(s string)                 { r.b.WriteString(s) }
func (r *renderer) wf(format string, a ...any) { fmt.Fprintf(&r.b, format, a...) }
func esc(s string) string                      { return html.EscapeString(s) }
func str(m map[string]any, k string) string    { s, _ := m[k].(string); return s }
func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}
func list(m map[string]any, k string) []any { l, _ := m[k].([]any); return l }

// Blocks draws a list of blocks (decoded JSON).
func (r *renderer) Blocks(blocks []any) {
	for _, b := range blocks {
		if m, ok := b.(map[string]any); ok {
			r.block(m)
		}
	}
}

func (r *renderer) block(m map[string]any) {
	bid := str(m, "block_id")
	switch str(m, "type") {
	case "header":
		r.wf(`<h2 class="bk-header">%s</h2>`, r.text(obj(m, "text")))
	case "divider":
		r.w(`<hr class="bk-divider">`)
	case "section":
		r.w(`<div class="bk-section"><div class="bk-section-body">`)
		if t := obj(m, "text"); t != nil {
			r.wf(`<div class="bk-text">%s</div>`, r.text(t))
		}
		if fields := list(m, "fields"); len(fields) > 0 {
			r.w(`<div class="bk-fields">`)
			for _, f := range fields {
				if fm, ok := f.(map[string]any); ok {
					r.wf(`<div class="bk-field">%s</div>`, r.text(fm))
				}
			}
			r.w(`</div>`)
		}
		r.w(`</div>`)
		if acc := obj(m, "accessory"); acc != nil {
			r.w(`<div class="bk-accessory">`)
			r.element(bid, acc, false)
			r.w(`</div>`)
		}
		r.w(`</div>`)
	case "context":
		r.w(`<div class="bk-context">`)
		for _, e := range list(m, "elements") {
			em, _ := e.(map[string]any)
			if str(em, "type") == "image" {
				r.image(em, "bk-context-img")
			} else {
				r.wf(`<span>%s</span>`, r.text(em))
			}
		}
		r.w(`</div>`)
	case "actions":
		r.w(`<div class="bk-actions">`)
		for _, e := range list(m, "elements") {
			if em, ok := e.(map[string]any); ok {
				r.element(bid, em, false)
			}
		}
		r.w(`</div>`)
	case "input":
		r.wf(`<div class="bk-input" data-block-id="%s"><label class="bk-label">%s`, esc(bid), r.text(obj(m, "label")))
		if opt, _ := m["optional"].(bool); opt {
			r.w(` <span class="bk-optional">(optional)</span>`)
		}
		r.w(`</label>`)
		if el := obj(m, "element"); el != nil {
			r.element(bid, el, true)
		}
		if h := obj(m, "hint"); h != nil {
			r.wf(`<div class="bk-hint">%s</div>`, r.text(h))
		}
		if e := r.errors[bid]; e != "" {
			r.wf(`<div class="bk-error" role="alert">%s</div>`, esc(e))
		}
		r.w(`</div>`)
	case "image":
		r.image(m, "bk-image")
	default:
		r.wf(`<div class="bk-unknown">[%s block]</div>`, esc(str(m, "type")))
	}
}

func (r *renderer) image(m map[string]any, class string) {
	u := str(m, "image_url")
	if !safeURL(u) {
		return
	}
	r.wf(`<img class="%s" src="%s" alt="%s">`, class, esc(u), esc(str(m, "alt_text")))
}

// element draws an interactive element. In an input block (inInput) it only
// holds a value for the form's submission; elsewhere a change is sent to the
// bot at once, as Slack does.
func (r *renderer) element(blockID string, el map[string]any, inInput bool) {
	typ, aid := str(el, "type"), str(el, "action_id")
	attrs := fmt.Sprintf(`data-type="%s" data-action-id="%s" data-block-id="%s"`, esc(typ), esc(aid), esc(blockID))
	if !inInput {
		attrs += ` data-live="1"`
	}
	switch typ {
	case "button":
		class := "btn"
		switch str(el, "style") {
		case "primary":
			class += " btn-primary"
		case "danger":
			class += " btn-danger"
		}
		extra := ""
		if u := str(el, "url"); safeURL(u) {
			extra = fmt.Sprintf(` data-url="%s"`, esc(u))
		}
		r.wf(`<button type="button" class="%s" %s data-value="%s"%s>%s</button>`, class, attrs, esc(str(el, "value")), extra, r.plain(obj(el, "text")))
	case "external_select":
		// Slack asks the app for the options as the person types; the page
		// asks once, for everything, as the form opens.
		var opts []any
		if r.suggest != nil {
			opts = r.suggest(aid)
		}
		attrs = strings.Replace(attrs, `data-type="external_select"`, `data-type="static_select"`, 1)
		r.wf(`<select class="bk-select" %s><option value="" disabled selected>%s</option>`, attrs, r.plain(obj(el, "placeholder")))
		r.options(opts, nil)
		r.w(`</select>`)
	case "static_select", "multi_static_select", "overflow":
		multi := ""
		if typ == "multi_static_select" {
			multi = " multiple"
		}
		r.wf(`<select class="bk-select" %s%s>`, attrs, multi)
		if typ != "multi_static_select" {
			r.wf(`<option value="" disabled%s>%s</option>`, map[bool]string{true: " selected"}[el["initial_option"] == nil], r.plain(obj(el, "placeholder")))
		}
		selected := initialValues(el, "initial_option", "initial_options")
		r.options(list(el, "options"), selected)
		for _, g := range list(el, "option_groups") {
			gm, _ := g.(map[string]any)
			r.wf(`<optgroup label="%s">`, r.plain(obj(gm, "label")))
			r.options(list(gm, "options"), selected)
			r.w(`</optgroup>`)
		}
		r.w(`</select>`)
	case "radio_buttons", "checkboxes":
		input := map[string]string{"radio_buttons": "radio", "checkboxes": "checkbox"}[typ]
		selected := initialValues(el, "initial_option", "initial_options")
		r.wf(`<div class="bk-choices" %s>`, attrs)
		for _, o := range list(el, "options") {
			om, _ := o.(map[string]any)
			v := str(om, "value")
			r.wf(`<label class="bk-choice"><input type="%s" name="%s/%s" value="%s" data-label="%s"%s> <span>%s`,
				input, esc(blockID), esc(aid), esc(v), esc(str(obj(om, "text"), "text")),
				map[bool]string{true: " checked"}[selected[v]], r.text(obj(om, "text")))
			if d := obj(om, "description"); d != nil {
				r.wf(`<small class="bk-desc">%s</small>`, r.text(d))
			}
			r.w(`</span></label>`)
		}
		r.w(`</div>`)
	case "timepicker":
		r.wf(`<input type="time" class="bk-time" %s value="%s">`, attrs, esc(str(el, "initial_time")))
	case "datepicker":
		r.wf(`<input type="date" class="bk-time" %s value="%s">`, attrs, esc(str(el, "initial_date")))
	case "plain_text_input":
		ph := r.plain(obj(el, "placeholder"))
		if multi, _ := el["multiline"].(bool); multi {
			r.wf(`<textarea class="bk-textarea" %s placeholder="%s">%s</textarea>`, attrs, ph, esc(str(el, "initial_value")))
		} else {
			r.wf(`<input type="text" class="bk-textin" %s placeholder="%s" value="%s">`, attrs, ph, esc(str(el, "initial_value")))
		}
	case "conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select":
		var ids, labels []string
		for _, c := range r.channels {
			ids = append(ids, c.ID)
			labels = append(labels, map[bool]string{true: "🔒 ", false: "# "}[c.IsPrivate]+c.Name)
		}
		r.pickList(attrs, strings.HasPrefix(typ, "multi_"), obj(el, "placeholder"), ids, labels,
			initialValues(el, "initial_conversation", "initial_channel", "initial_conversations", "initial_channels"))
	case "users_select", "multi_users_select":
		var ids, labels []string
		for _, u := range r.users {
			ids = append(ids, u.ID)
			labels = append(labels, displayName(u))
		}
		r.pickList(attrs, typ == "multi_users_select", obj(el, "placeholder"), ids, labels, initialValues(el, "initial_user", "initial_users"))
	case "image":
		r.image(el, "bk-accessory-img")
	default:
		r.wf(`<span class="bk-unknown">[%s]</span>`, esc(typ))
	}
}

// pickList draws a select of the workspace's channels or people, ids with
// their labels.
func (r *renderer) pickList(attrs string, multi bool, placeholder map[string]any, ids, labels []string, selected map[string]bool) {
	r.wf(`<select class="bk-select" %s%s>`, attrs, map[bool]string{true: " multiple"}[multi])
	if !multi {
		r.wf(`<option value="">%s</option>`, r.plain(placeholder))
	}
	for i, id := range ids {
		r.wf(`<option value="%s"%s>%s</option>`, esc(id), map[bool]string{true: " selected"}[selected[id]], esc(labels[i]))
	}
	r.w(`</select>`)
}

// initialValues is what an element starts with: each key holds an option
// object, a list of them, an id or a list of ids.
func initialValues(el map[string]any, keys ...string) map[string]bool {
	selected := map[string]bool{}
	add := func(v any) {
		switch x := v.(type) {
		case string:
			selected[x] = x != ""
		case map[string]any:
			selected[str(x, "value")] = true
		}
	}
	for _, k := range keys {
		if l, ok := el[k].([]any); ok {
			for _, v := range l {
				add(v)
			}
		} else {
			add(el[k])
		}
	}
	return selected
}

func (r *renderer) options(opts []any, selected map[string]bool) {
	for _, o := range opts {
		om, _ := o.(map[string]any)
		v := str(om, "value")
		r.wf(`<option value="%s" data-label="%s"%s>%s</option>`, esc(v), esc(str(obj(om, "text"), "text")),
			map[bool]string{true: " selected"}[selected[v]], r.plain(obj(om, "text")))
	}
}

// plain draws a text object as plain text.
func (r *renderer) plain(t map[string]any) string {
	return emoji.Replace(esc(unescapeSlack(str(t, "text"))))
}

// text draws a text object: mrkdwn formatted, plain_text as it is.
func (r *renderer) text(t map[string]any) string {
	if t == nil {
		return ""
	}
	if str(t, "type") == "plain_text" {
		return r.plain(t)
	}
	return r.mrkdwn(str(t, "text"))
}

// MessageText draws a message's fallback text (mrkdwn).
func (r *renderer) MessageText(s string) { r.w(r.mrkdwn(s)) }

var (
	slackToken = regexp.MustCompile(`<([^<>]*)>`)
	bold       = regexp.MustCompile(`(^|[\s(>\x{e001}])\*([^*\n]+)\*`)
	italic     = regexp.MustCompile(`(^|[\s(>\x{e001}])_([^_\n]+)_`)
	strike     = regexp.MustCompile(`(^|[\s(>\x{e001}])~([^~\n]+)~`)
	code       = regexp.MustCompile("`([^`\n]+)`")
)

// mrkdwn turns Slack's mrkdwn into HTML. The <…> tokens (links, mentions,
// dates) are drawn first and held by placeholders while the text around
// them is escaped and formatted, so *<url|title>* is a bold link.
func (r *renderer) mrkdwn(s string) string {
	s = strings.NewReplacer(phOpen, "", phClose, "").Replace(s)
	var drawn []string
	held := slackToken.ReplaceAllStringFunc(s, func(tok string) string {
		drawn = append(drawn, r.token(tok[1:len(tok)-1]))
		return phOpen + strconv.Itoa(len(drawn)-1) + phClose
	})
	out := placeholder.ReplaceAllStringFunc(formatRun(held), func(ph string) string {
		i, _ := strconv.Atoi(ph[len(phOpen) : len(ph)-len(phClose)])
		return drawn[i]
	})
	// Block quotes: lines starting with "> " (escaped by then).
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "&gt; ") {
			lines[i] = `<span class="bk-quote">` + strings.TrimPrefix(l, "&gt; ") + `</span>`
		}
	}
	return strings.Join(lines, "<br>")
}

// Placeholders are private-use characters, taken out of the input first.
const phOpen, phClose = "\ue000", "\ue001"

var placeholder = regexp.MustCompile(phOpen + `[0-9]+` + phClose)

// emoji are the :codes: the bot's messages use, drawn as Slack draws them.
var emoji = strings.NewReplacer(
	":page_facing_up:", "📄", ":pencil2:", "✏️", ":clipboard:", "📋", ":package:", "📦", ":camera:", "📷",
	":speech_balloon:", "💬", ":leftwards_arrow_with_hook:", "↩️", ":handshake:", "🤝", ":white_check_mark:", "✅",
	":x:", "❌", ":large_green_circle:", "🟢", ":red_circle:", "🔴", ":rotating_light:", "🚨", ":warning:", "⚠️",
	":tada:", "🎉", ":bell:", "🔔", ":envelope:", "✉️", ":wave:", "👋", ":calendar:", "📅", ":zzz:", "💤",
	":arrow_forward:", "▶️", ":no_bell:", "🔕", ":hourglass_flowing_sand:", "⏳", ":information_source:", "ℹ️",
	":bust_in_silhouette:", "👤", ":incoming_envelope:", "📨",
)

// emojiHTML draws s (plain text with :codes:) escaped, its emoji as
// Slack draws them.
func emojiHTML(s string) string { return emoji.Replace(esc(s)) }

// formatRun escapes plain mrkdwn text and applies :emoji:, *bold*,
// _italic_, ~strike~ and `code`.
func formatRun(s string) string {
	t := emoji.Replace(esc(unescapeSlack(s)))
	t = code.ReplaceAllString(t, "<code>$1</code>")
	t = bold.ReplaceAllString(t, "$1<b>$2</b>")
	t = italic.ReplaceAllString(t, "$1<i>$2</i>")
	t = strike.ReplaceAllString(t, "$1<s>$2</s>")
	return t
}

// token draws one <…> token: <@U…>, <#C…>, <!date^…|fallback>, <!here>,
// <url|label>.
func (r *renderer) token(t string) string {
	label := ""
	if i := strings.IndexByte(t, '|'); i >= 0 {
		t, label = t[:i], t[i+1:]
	}
	switch {
	case strings.HasPrefix(t, "@"):
		name := label
		for _, u := range r.users {
			if u.ID == t[1:] {
				name = displayName(u)
			}
		}
		if name == "" {
			name = t[1:]
		}
		return `<span class="bk-mention">@` + esc(unescapeSlack(name)) + `</span>`
	case strings.HasPrefix(t, "#"):
		name := label
		for _, c := range r.channels {
			if c.ID == t[1:] {
				name = c.Name
			}
		}
		if name == "" {
			name = t[1:]
		}
		return `<span class="bk-mention">#` + esc(unescapeSlack(name)) + `</span>`
	case strings.HasPrefix(t, "!date^"):
		parts := strings.Split(t, "^")
		var sec int64
		if len(parts) > 1 {
			fmt.Sscan(parts[1], &sec)
		}
		if sec > 0 {
			loc := r.loc
			if loc == nil {
				loc = time.UTC
			}
			return `<time>` + esc(time.Unix(sec, 0).In(loc).Format("Mon 2 Jan 15:04 MST")) + `</time>`
		}
		return esc(unescapeSlack(label))
	case strings.HasPrefix(t, "!"):
		return `<span class="bk-mention">@` + esc(strings.TrimPrefix(t, "!")) + `</span>`
	}
	u := unescapeSlack(t)
	if label == "" {
		label = t
	}
	if !safeURL(u) {
		return esc(unescapeSlack(label))
	}
	return `<a href="` + esc(u) + `" target="_blank" rel="noopener">` + esc(unescapeSlack(label)) + `</a>`
}

// unescapeSlack undoes Slack's three escapes (&amp; &lt; &gt;).
func unescapeSlack(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func safeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "mailto")
}

func displayName(u fakeslack.User) string {
	if u.RealName != "" {
		return u.RealName
	}
	return u.Name
}

// decodeBlocks decodes a message's blocks.
func decodeBlocks(raw json.RawMessage) []any {
	var blocks []any
	json.Unmarshal(raw, &blocks)
	return blocks
}
