package views

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// The /paligo-invite modal and the invitation DM.
const (
	CallbackInvite    = "paligo_invite"
	BlockInviteUsers  = "invite_users"
	ActionInviteUsers = "users"
	BlockInviteNote   = "invite_note"
	ActionInviteNote  = "note"
	ActionInviteOpen  = "invite_accept" // the link button; Slack still sends a block action
	// MaxInvitees bounds one run, in the modal and in the command.
	MaxInvitees = 100
	// MaxInviteNote bounds the note, in characters.
	MaxInviteNote = 1000
	// maxInvitesShown is how many invitations the admin Home tab lists.
	maxInvitesShown = 10
)

// InviteModal draws the /paligo-invite form: whom to invite and a note.
// channel (where the command was typed) rides in private_metadata.
func InviteModal(channel string) slack.ModalViewRequest {
	sel := slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeUser, plain("Choose people"), ActionInviteUsers)
	max := MaxInvitees
	sel.MaxSelectedItems = &max
	users := slack.NewInputBlock(BlockInviteUsers, plain("People to invite"), plain("Each gets a DM with a personal link to join Paligo."), sel)
	note := slack.NewPlainTextInputBlockElement(plain("Welcome aboard! We use Paligo for…"), ActionInviteNote)
	note.Multiline = true
	note.MaxLength = MaxInviteNote
	noteBlock := slack.NewInputBlock(BlockInviteNote, plain("Note (optional)"), plain("Shown in the invitation."), note)
	noteBlock.Optional = true
	meta := ""
	if slackID(channel) {
		meta = channel
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackInvite,
		Title:           plain("Invite to Paligo"),
		Submit:          plain("Send invitations"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks:          slack.Blocks{BlockSet: []slack.Block{users, noteBlock}},
	}
}

// dateToken draws t in the reader's own time zone, with a UTC fallback.
func dateToken(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_long_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// inviterName is how an invitation names who sent it.
func inviterName(inv paligo.Invite) string {
	if userID(inv.Inviter) {
		return "<@" + inv.Inviter + ">"
	}
	if inv.InviterName != "" {
		return EscapedWithin(inv.InviterName, 100)
	}
	return "A teammate"
}

// InviteDM draws the invitation: who invites, their note, and the Accept
// button carrying link (the signed, personal URL).
func InviteDM(inv paligo.Invite, link string) (string, []slack.Block) {
	who := inviterName(inv)
	text := "You're invited to join Paligo"
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain("You're invited to Paligo")),
		slack.NewSectionBlock(mrkdwn(who+" invited you to join Paligo, where the team writes and publishes its documentation. Accept to create your account; your Paligo notifications will then come here."), nil, nil),
	}
	if note := strings.TrimSpace(inv.Note); note != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(quote(note)), nil, nil))
	}
	if u := SafeURL(link); u != "" {
		btn := slack.NewButtonBlockElement(ActionInviteOpen, fmt.Sprint(inv.ID), plain("Accept invitation"))
		btn.URL = u
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("invite_actions", btn))
	}
	blocks = append(blocks, slack.NewContextBlock("invite_expiry",
		mrkdwn("This link is personal and works once, until "+dateToken(inv.Expires)+".")))
	return text, blocks
}

// InviteSummary draws what the inviter is told when a run has ended:
// sent, skipped (with reasons) and failed (with reasons).
func InviteSummary(run paligo.InviteRun) (string, []slack.Block) {
	sent, skipped, failed := run.Counts()
	title := fmt.Sprintf("Invitations: %d sent, %d skipped, %d failed", sent, skipped, failed)
	blocks := []slack.Block{slack.NewHeaderBlock(plain(title))}
	var sentTo []string
	var other []string
	for _, e := range run.Entries {
		who := "<@" + e.User + ">"
		if !userID(e.User) {
			who = EscapedWithin(e.User, 40)
		}
		switch e.Result {
		case paligo.InviteSent:
			sentTo = append(sentTo, who)
		case paligo.InviteSkipped:
			other = append(other, "• "+who+" skipped: "+EscapedWithin(e.Reason, 200))
		case paligo.InviteFailed:
			other = append(other, "• "+who+" failed: "+EscapedWithin(e.Reason, 200))
		}
	}
	if len(sentTo) > 0 {
		blocks = append(blocks, sections("*Sent to* "+strings.Join(sentTo, ", ")+". Each link works for 7 days; you'll hear from me when someone accepts.", ", ")...)
	}
	if len(other) > 0 {
		blocks = append(blocks, sections(strings.Join(other, "\n"), "\n")...)
	}
	if sent+skipped+failed == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("No one was invited."), nil, nil))
	}
	if len(blocks) > MaxMessageBlocks {
		blocks = blocks[:MaxMessageBlocks]
	}
	return title, blocks
}

// sections splits text at sep into sections within Slack's 3000 characters.
func sections(text, sep string) []slack.Block {
	var out []slack.Block
	for text != "" {
		cut := len(text)
		if len(text) > MaxSectionText {
			cut = strings.LastIndex(text[:MaxSectionText], sep)
			if cut <= 0 {
				cut = MaxSectionText
				for cut > 0 && text[cut]&0xC0 == 0x80 { // not inside a UTF-8 character
					cut--
				}
			}
		}
		out = append(out, slack.NewSectionBlock(mrkdwn(text[:cut]), nil, nil))
		text = strings.TrimPrefix(text[cut:], sep)
	}
	return out
}

// userID reports whether s is a Slack user id (U… or W…), safe to draw as
// a mention.
func userID(s string) bool {
	return len(s) > 1 && (s[0] == 'U' || s[0] == 'W') && slackID(s)
}

// InviteLine is one invitation as the admin Home tab lists it.
type InviteLine struct {
	User    string
	Inviter string
	Status  string // paligo.Invite.State at drawing time
	Created time.Time
	Expires time.Time
	At      time.Time // accepted at
	Reason  string
}

func invitesBlocks(lines []InviteLine) []slack.Block {
	if len(lines) == 0 {
		return []slack.Block{slack.NewSectionBlock(mrkdwn("*Invitations:* none yet. `/paligo-invite` invites teammates."), nil, nil)}
	}
	var out []string
	for i, l := range lines {
		if i == maxInvitesShown {
			break
		}
		var state string
		switch l.Status {
		case paligo.InviteAccepted:
			state = "accepted " + dateToken(l.At)
		case paligo.InvitePending, paligo.InviteSending:
			state = "pending until " + dateToken(l.Expires)
		case paligo.InviteExpired:
			state = "expired: `/paligo-invite` sends a new one"
		case paligo.InviteFailed:
			state = "failed: `" + EscapedWithin(l.Reason, 200) + "`"
		default:
			state = EscapedWithin(l.Status, 40)
		}
		user, by := EscapedWithin(l.User, 40), EscapedWithin(l.Inviter, 40)
		if userID(l.User) {
			user = "<@" + l.User + ">"
		}
		if userID(l.Inviter) {
			by = "<@" + l.Inviter + ">"
		}
		out = append(out, fmt.Sprintf("• %s, by %s: %s", user, by, state))
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn("*Recent invitations*\n"+strings.Join(out, "\n")), nil, nil)}
}
