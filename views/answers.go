package views

import (
	"strings"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// The Send to Paligo shortcut's modal, its subject search, and link
// previews (unfurls).
const (
	CallbackSendToPaligo = "send_to_paligo"
	BlockSendSubject     = "send_subject"
	ActionSendSubject    = "subject"
	BlockSendNote        = "send_note"
	ActionSendNote       = "note"
	// MaxSendNote bounds the note, in characters.
	MaxSendNote = 1000
	// MaxSelectOptions is Block Kit's limit of options in a select.
	MaxSelectOptions = 100
	// ReplyMark is the reaction a reply gets once the platform took it.
	ReplyMark = "incoming_envelope"
)

// SendToPaligoModal draws the Send to Paligo form: the subject (searched
// through the bot, recent ones of the channel first) and a note. meta is
// the message, as the handler keeps it.
func SendToPaligoModal(meta string) slack.ModalViewRequest {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("Search subjects"), ActionSendSubject)
	zero := 0
	sel.MinQueryLength = &zero
	subject := slack.NewInputBlock(BlockSendSubject, plain("About"), plain("The document, topic or schedule this message is about: the ones of this channel come first."), sel)
	note := slack.NewPlainTextInputBlockElement(plain("Why this matters…"), ActionSendNote)
	note.Multiline = true
	note.MaxLength = MaxSendNote
	noteBlock := slack.NewInputBlock(BlockSendNote, plain("Note (optional)"), nil, note)
	noteBlock.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackSendToPaligo,
		Title:           plain("Send to Paligo"),
		Submit:          plain("Send"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks:          slack.Blocks{BlockSet: []slack.Block{subject, noteBlock}},
	}
}

// SubjectOptions is the ack of the subject search: one option per subject,
// its title (and kind) as text, the latest event's id as value.
func SubjectOptions(choices []store.SubjectChoice) map[string]any {
	opts := []map[string]any{}
	for _, c := range choices {
		if len(opts) == MaxSelectOptions || c.Event == "" || len(c.Event) > 150 {
			continue
		}
		label := c.Subject.Title
		if label == "" {
			label = c.Subject.ID
		}
		label = Truncate(strings.TrimSpace(Clean(label))+" · "+c.Subject.Kind, 75)
		opts = append(opts, map[string]any{"text": map[string]any{"type": "plain_text", "text": label, "emoji": false}, "value": c.Event})
	}
	return map[string]any{"options": opts}
}

// SendToPaligoValues reads the form: the chosen event's id and the note.
func SendToPaligoValues(state *slack.ViewState) (event, note string) {
	if state == nil {
		return "", ""
	}
	if a, ok := state.Values[BlockSendSubject][ActionSendSubject]; ok {
		event = a.SelectedOption.Value
	}
	if a, ok := state.Values[BlockSendNote][ActionSendNote]; ok {
		note = Truncate(a.Value, MaxSendNote)
	}
	return event, note
}

// ErrorsAck answers a form with errors shown under its blocks.
func ErrorsAck(errs map[string]string) map[string]any {
	return map[string]any{"response_action": "errors", "errors": errs}
}

// Unfurl draws a link's preview: the subject's title (a link), its
// latest state and when, from the latest event about it.
func Unfurl(e paligo.Event) []slack.Block {
	look := lookOf(e.Type)
	title := look.what
	if e.Subject != nil {
		title = subjectTitle(*e.Subject)
	}
	head := look.emoji + " *" + EscapedWithin(title, 300) + "*"
	var ctx []string
	if s := paligo.Status(&e); s != "" {
		ctx = append(ctx, "*"+EscapedWithin(strings.ToUpper(s[:1])+s[1:], 60)+"*")
	}
	ctx = append(ctx, look.what)
	if !e.OccurredAt.IsZero() {
		ctx = append(ctx, slackDate(e.OccurredAt))
	}
	return []slack.Block{
		slack.NewSectionBlock(mrkdwn(head), nil, nil),
		slack.NewContextBlock("unfurl_state", mrkdwn(strings.Join(ctx, "  ·  "))),
	}
}
