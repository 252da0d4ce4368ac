package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// Answering back from Slack (docs/answering-back.md): people's replies in
// the threads of living messages go to the platform, links to its
// subjects unfurl, and the Send to Paligo shortcut sends any message.

// AnswerRecords: what answering back reads and queues.
type AnswerRecords interface {
	QueueReply(cb *paligo.ActionCallback, l paligo.Living, ts string) (store.Job, bool, error)
	SubjectAt(team, url string) (paligo.Event, bool, error)
	RecentSubjects(team, channel, query string, n int) ([]store.SubjectChoice, error)
}

// answering is a workspace's handlers at work on what people say back:
// their own type, so that inWorkspace stays small.
type answering struct{ inWorkspace }

// replyID is a reply's callback id: the same for the same message (a
// retried event, another replica), so the platform can take it once.
func replyID(team, channel, ts string) string {
	h := sha256.Sum256([]byte(team + "/" + channel + "/" + ts))
	return "reply_" + hex.EncodeToString(h[:12])
}

// threadReply sends a person's reply in the thread of a living message to
// the platform, when a subscription of the channel says replies=on. Not
// sent: the bot's own messages and other apps' (bot_id), what is not a new
// reply (edits, deletions, joins: a subtype other than a reply also sent
// to the channel), and the replies of people of other organizations.
func (h answering) threadReply(e *slackevents.MessageEvent) bot.Reply {
	if !h.Callbacks || e.ThreadTimeStamp == "" || e.ThreadTimeStamp == e.TimeStamp || e.BotID != "" || e.User == "" ||
		(e.SubType != "" && e.SubType != "thread_broadcast") {
		return bot.Reply{}
	}
	team := h.teamID()
	if e.UserTeam != "" && team != "" && e.UserTeam != team {
		// A person of another organization (a channel shared with Slack
		// Connect): as their clicks, their replies are not the platform's.
		return bot.Reply{}
	}
	return bot.Reply{After: func(ctx context.Context) {
		l, found, err := h.Store.LivingAt(e.Channel, e.ThreadTimeStamp)
		if err != nil || !found || h.scopeOf(l.Team) != h.scope() {
			if err != nil {
				h.Log.Error("reply: living message", "channel", e.Channel, "err", err)
			}
			return // not a thread of the bot's
		}
		subs, err := h.Store.Subscriptions(h.scope(), e.Channel)
		if err != nil {
			h.Log.Error("reply: subscriptions", "channel", e.Channel, "err", err)
			return
		}
		if !slices.ContainsFunc(subs, func(s paligo.Subscription) bool { return s.Replies }) {
			return
		}
		ev, err := h.Store.EventBySeq(l.Event)
		if err != nil {
			h.Log.Error("reply: event", "err", err)
			return
		}
		by := h.clicker(ctx, e.User)
		at := time.Now().UTC()
		if sec, err := strconv.ParseFloat(e.TimeStamp, 64); err == nil {
			at = time.Unix(int64(sec), 0).UTC()
		}
		cb := &paligo.ActionCallback{ID: replyID(team, e.Channel, e.TimeStamp), Type: "reply", Event: ev.ID, Subject: ev.Subject,
			Text: h.plainText(ctx, e.Text), By: by, Permalink: h.permalink(ctx, e.Channel, e.TimeStamp), Team: team,
			At: at.Format(time.RFC3339)}
		job, queued, err := h.Store.QueueReply(cb, l, e.TimeStamp)
		if err != nil {
			h.Log.Error("reply: queue its callback", "channel", e.Channel, "err", err)
			return
		}
		if queued {
			h.enqueue([]store.Job{job})
		}
	}}
}

// scopeOf is a living message's team as a scope.
func (h answering) scopeOf(team string) string {
	if team == h.teamID() && h.primary() {
		return ""
	}
	return team
}

// clicker is who a Slack user is, as the platform is told (in action,
// reply and message callbacks alike): the id, and the email and name when
// users.info answers.
func (h answering) clicker(ctx context.Context, user string) *paligo.Clicker {
	p, err := h.profile(ctx, user, adminCacheTTL)
	if err != nil {
		h.Log.Warn("users.info for a callback", "user", user, "err", err)
	}
	return &paligo.Clicker{SlackUser: user, Email: p.email, Name: p.name}
}

// permalink is a message's link in Slack ("" when Slack does not say).
func (h answering) permalink(ctx context.Context, channel, ts string) string {
	var link string
	err := callAgain(ctx, func(ctx context.Context) (err error) {
		link, err = h.slack().GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	if err != nil {
		h.Log.Warn("chat.getPermalink", "channel", channel, "err", err)
	}
	return link
}

// slackToken is one of Slack's tokens in a message's text: <@U…>,
// <#C…|name>, <!here>, <https://…|label>, <mailto:…|…>.
var slackToken = regexp.MustCompile(`<([^<>\n]+)>`)

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// maxNameLookups bounds the users.info calls one text's mentions make.
const maxNameLookups = 10

// plainText is a message's text as plain text: mentions as @name,
// channels as #name, links as their label and URL, Slack's escapes
// undone.
func (h answering) plainText(ctx context.Context, text string) string {
	names := map[string]string{}
	out := slackToken.ReplaceAllStringFunc(text, func(tok string) string {
		target, label, labelled := strings.Cut(tok[1:len(tok)-1], "|")
		switch {
		case strings.HasPrefix(target, "@"):
			if labelled && label != "" {
				return "@" + strings.TrimPrefix(label, "@")
			}
			id := target[1:]
			name, ok := names[id]
			if !ok && len(names) < maxNameLookups {
				name = h.clicker(ctx, id).Name
				names[id] = name
			}
			if name == "" {
				name = id
			}
			return "@" + name
		case strings.HasPrefix(target, "#"):
			if labelled && label != "" {
				return "#" + label
			}
			return target
		case strings.HasPrefix(target, "!subteam^"):
			if labelled {
				return label
			}
			return "@group"
		case strings.HasPrefix(target, "!date^"):
			return label
		case strings.HasPrefix(target, "!"):
			return "@" + target[1:]
		case strings.HasPrefix(target, "mailto:"):
			return strings.TrimPrefix(target, "mailto:")
		case labelled && label != "" && label != target:
			return label + " (" + target + ")"
		}
		return target
	})
	return unescaper.Replace(out)
}

// unfurled remembers the links already unfurled, by message: Slack sends
// link_shared when a link is typed and again when it is posted, and a
// link appears once in a message's unfurls.
type unfurled struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (u *unfurled) first(key string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if u.seen == nil || len(u.seen) > 10000 {
		for k, at := range u.seen {
			if now.Sub(at) > time.Hour {
				delete(u.seen, k)
			}
		}
		if u.seen == nil {
			u.seen = map[string]time.Time{}
		}
	}
	if _, ok := u.seen[key]; ok {
		return false
	}
	u.seen[key] = now
	return true
}

// unfurl answers link_shared: each link (on PALIGO_SLACK_UNFURL_DOMAINS)
// to a subject the bot has events for is unfurled with its title, latest
// state and time, from the events stored; other links are left alone.
func (h answering) unfurl(e *slackevents.LinkSharedEvent) bot.Reply {
	if len(h.UnfurlDomains) == 0 || len(e.Links) == 0 {
		return bot.Reply{}
	}
	team := h.teamID()
	return bot.Reply{After: func(ctx context.Context) {
		unfurls := map[string]slack.Attachment{}
		for _, l := range e.Links {
			u, err := url.Parse(l.URL)
			if err != nil || !onDomains(u.Hostname(), h.UnfurlDomains) || len(unfurls) == 5 {
				continue
			}
			if _, done := unfurls[l.URL]; done || !h.unfurls.first(e.Channel+"/"+e.MessageTimeStamp+"/"+l.URL) {
				continue
			}
			ev, found, err := h.Store.SubjectAt(team, l.URL)
			if err != nil {
				h.Log.Error("unfurl: subject", "err", err)
				continue
			}
			if !found {
				continue // a link to something the bot knows nothing of
			}
			unfurls[l.URL] = slack.Attachment{Blocks: slack.Blocks{BlockSet: views.Unfurl(ev)}}
		}
		if len(unfurls) == 0 {
			return
		}
		err := callAgain(ctx, func(ctx context.Context) error {
			_, _, _, err := h.slack().UnfurlMessageContext(ctx, e.Channel, e.MessageTimeStamp, unfurls)
			return err
		})
		if err != nil {
			h.Log.Warn("chat.unfurl", "channel", e.Channel, "links", len(unfurls), "err", err)
		}
	}}
}

// onDomains reports whether host is one of domains or under one.
func onDomains(host string, domains []string) bool {
	host = strings.ToLower(host)
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// shortcutDraft is what the Send to Paligo modal keeps of the message, in
// its private_metadata (at most 3,000 characters).
type shortcutDraft struct {
	Channel string `json:"c"`
	TS      string `json:"ts"`
	Author  string `json:"a,omitempty"`
	Text    string `json:"t"`
}

// maxDraftText bounds the message text the modal carries: a longer one is
// sent cut, with "…".
const maxDraftText = 2000

// sendToPaligo opens the Send to Paligo modal on the message the person
// picked the shortcut on.
func (h answering) sendToPaligo(cb slack.InteractionCallback) bot.Reply {
	user, channel := cb.User.ID, cb.Channel.ID
	if !h.Callbacks {
		return bot.Reply{After: func(ctx context.Context) {
			h.tell(ctx, channel, user, "Send to Paligo is off here: the bot has no PALIGO_SLACK_ACTIONS_URL to send to.")
		}}
	}
	author := cb.Message.User
	if cb.Message.BotID != "" {
		author = ""
	}
	d := shortcutDraft{Channel: channel, TS: cb.Message.Timestamp, Author: author, Text: views.Truncate(cb.Message.Text, maxDraftText)}
	meta, _ := json.Marshal(d)
	for len(meta) > 2900 && len([]rune(d.Text)) > 100 {
		d.Text = views.Truncate(d.Text, len([]rune(d.Text))*3/4)
		meta, _ = json.Marshal(d)
	}
	trigger := cb.TriggerID
	return bot.Reply{After: func(ctx context.Context) {
		if _, err := h.slack().OpenViewContext(ctx, trigger, views.SendToPaligoModal(string(meta))); err != nil {
			h.Log.Warn("open the Send to Paligo modal", "err", err)
		}
	}}
}

// suggestSubjects answers the modal's subject search (block_suggestion)
// in the ack: the subjects of the channel's living messages first, then
// the latest ones, those whose title or id holds what was typed.
func (h answering) suggestSubjects(cb slack.InteractionCallback) bot.Reply {
	var d shortcutDraft
	json.Unmarshal([]byte(cb.View.PrivateMetadata), &d)
	choices, err := h.Store.RecentSubjects(h.teamID(), d.Channel, cb.Value, views.MaxSelectOptions)
	if err != nil {
		h.Log.Error("subjects for Send to Paligo", "err", err)
	}
	return bot.Reply{Ack: views.SubjectOptions(choices)}
}

// submitSendToPaligo sends the message, the subject chosen and the note to
// the platform: {"type": "message", …}, through the outbox; the person is
// told in the channel, alone.
func (h answering) submitSendToPaligo(cb slack.InteractionCallback) bot.Reply {
	var d shortcutDraft
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &d); err != nil || d.Channel == "" {
		return bot.Reply{}
	}
	eventID, note := views.SendToPaligoValues(cb.View.State)
	if eventID == "" {
		return bot.Reply{Ack: views.ErrorsAck(map[string]string{views.BlockSendSubject: "Choose what this message is about."})}
	}
	user, team := cb.User.ID, h.teamID()
	return bot.Reply{After: func(ctx context.Context) {
		ev, found, err := h.Store.Event(eventID)
		if err != nil || !found || ev.Subject == nil || h.scopeOf(ev.Team) != h.scope() {
			h.tell(ctx, d.Channel, user, "That subject is no longer known here; nothing was sent.")
			return
		}
		msg := &paligo.ActionCallback{ID: newCallbackID(), Type: "message", Event: ev.ID, Subject: ev.Subject,
			Text: h.plainText(ctx, d.Text), By: h.clicker(ctx, user), Permalink: h.permalink(ctx, d.Channel, d.TS),
			Note: note, Team: team, At: time.Now().UTC().Format(time.RFC3339)}
		if d.Author != "" {
			msg.Author = h.clicker(ctx, d.Author)
		}
		job, err := h.Store.QueueCallback(msg)
		if err != nil {
			h.Log.Error("queue a Send to Paligo callback", "err", err)
			h.tell(ctx, d.Channel, user, "That did not work just now; please try again in a moment.")
			return
		}
		h.enqueue([]store.Job{job})
		h.tell(ctx, d.Channel, user, "Sent to Paligo, about "+views.Escape(views.Truncate(subjectName(ev.Subject), 100))+".")
	}}
}

func subjectName(s *paligo.Subject) string {
	if s.Title != "" {
		return s.Title
	}
	return s.Key()
}
