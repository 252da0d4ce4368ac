package handlers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
	"github.com/paligo/paligo-slack/workspaces"
)

// Slack's escaped forms in a slash command's text (should_escape: true).
var (
	userMention  = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)
	otherMention = regexp.MustCompile(`<[#!][^>]*>`)
)

const invitesOffText = "Invitations are not set up here: whoever runs Paligo for Slack needs to set PALIGO_SLACK_INVITE_URL (the page the links open). Nothing was sent."

// paligoInvite answers /paligo-invite: help, the form, or invitations to
// the people mentioned (the rest of the text is the note).
func (h inWorkspace) paligoInvite(ctx context.Context, cmd slack.SlashCommand) bot.Reply {
	text := strings.TrimSpace(cmd.Text)
	if strings.EqualFold(text, "help") {
		return bot.Reply{Ack: ephemeral(inviteHelp)}
	}
	admin, err := h.isAdminNow(ctx, cmd.UserID)
	if err != nil {
		h.Log.Warn("admin check", "user", cmd.UserID, "err", err)
		return bot.Reply{Ack: ephemeral(roleUnknownText)}
	}
	if !admin {
		return bot.Reply{Ack: ephemeral(fmt.Sprintf(notAdminText, "invite people to Paligo"))}
	}
	if h.InviteURL == "" {
		return bot.Reply{Ack: ephemeral(invitesOffText)}
	}
	if text == "" {
		modal := views.InviteModal(cmd.ChannelID)
		return bot.Reply{After: func(ctx context.Context) {
			if _, err := h.slack().OpenViewContext(ctx, cmd.TriggerID, modal); err != nil {
				h.Log.Error("open invite modal", "user", cmd.UserID, "err", err)
				h.slack().PostEphemeralContext(ctx, cmd.ChannelID, cmd.UserID,
					slack.MsgOptionText("I couldn't open the invitation form ("+views.Escape(err.Error())+"). Please run `/paligo-invite` again.", false))
			}
		}}
	}
	if otherMention.MatchString(text) {
		return bot.Reply{Ack: ephemeral("Only people can be invited, not channels or groups: mention each person, like `/paligo-invite @alice @bob`. Nothing was sent.")}
	}
	var users []string
	for _, m := range userMention.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(users, m[1]) {
			users = append(users, m[1])
		}
	}
	if len(users) == 0 {
		return bot.Reply{Ack: ephemeral("I found no one to invite in that. Mention people with @, like `/paligo-invite @alice @bob Welcome!`, or run `/paligo-invite` alone for the form. Nothing was sent.")}
	}
	if len(users) > views.MaxInvitees {
		return bot.Reply{Ack: ephemeral(fmt.Sprintf("That is %d people; one invitation run takes at most %d. Nothing was sent.", len(users), views.MaxInvitees))}
	}
	note := strings.TrimSpace(userMention.ReplaceAllString(text, ""))
	if n := utf8.RuneCountInString(note); n > views.MaxInviteNote {
		return bot.Reply{Ack: ephemeral(fmt.Sprintf("The note is %d characters; at most %d. Nothing was sent.", n, views.MaxInviteNote))}
	}
	// Slack escaped the text: the note is stored as the person typed it.
	note = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(note)
	n, _, err := h.queueInvites(ctx, cmd.TeamID, cmd.UserID, users, note)
	if err != nil {
		h.Log.Error("queue invites", "user", cmd.UserID, "err", err)
		return bot.Reply{Ack: ephemeral("I couldn't record the invitations just now. Nothing was sent; try again in a moment.")}
	}
	return bot.Reply{Ack: ephemeral(fmt.Sprintf("Inviting %s. I'll DM you a summary once the invitations are out.", views.Plural(n, "person", "people")))}
}

// submitInvite sends the invitations chosen in the /paligo-invite form, or
// answers with inline errors.
func (h inWorkspace) submitInvite(ctx context.Context, cb slack.InteractionCallback) bot.Reply {
	fail := func(block, msg string) bot.Reply {
		return bot.Reply{Ack: map[string]any{"response_action": "errors", "errors": map[string]string{block: msg}}}
	}
	admin, err := h.isAdminNow(ctx, cb.User.ID)
	if err != nil {
		return fail(views.BlockInviteUsers, roleUnknownText)
	}
	if !admin {
		return fail(views.BlockInviteUsers, fmt.Sprintf(notAdminText, "invite people to Paligo"))
	}
	if h.InviteURL == "" {
		return fail(views.BlockInviteUsers, invitesOffText)
	}
	values := cb.View.State.Values
	var users []string
	for _, u := range values[views.BlockInviteUsers][views.ActionInviteUsers].SelectedUsers {
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	switch {
	case len(users) == 0:
		return fail(views.BlockInviteUsers, "Choose at least one person.")
	case len(users) > views.MaxInvitees:
		return fail(views.BlockInviteUsers, fmt.Sprintf("Choose at most %d people at once.", views.MaxInvitees))
	}
	for _, u := range users {
		if !userID.MatchString(u) {
			return fail(views.BlockInviteUsers, "Only people can be invited.")
		}
	}
	note := strings.TrimSpace(values[views.BlockInviteNote][views.ActionInviteNote].Value)
	if n := utf8.RuneCountInString(note); n > views.MaxInviteNote {
		return fail(views.BlockInviteNote, fmt.Sprintf("The note is %d characters; at most %d.", n, views.MaxInviteNote))
	}
	if _, _, err := h.queueInvites(ctx, teamOf(cb), cb.User.ID, users, note); err != nil {
		h.Log.Error("queue invites", "user", cb.User.ID, "err", err)
		return fail(views.BlockInviteUsers, "I couldn't record the invitations just now. Nothing was sent; try again in a moment.")
	}
	return bot.Reply{} // the form closes; the summary comes as a DM
}

var userID = regexp.MustCompile(`^[UW][A-Z0-9]+$`)

// queueInvites records one invite run for users and hands its jobs to
// delivery, which reads each person from Slack, skips or invites them, and
// DMs the inviter the summary. It returns how many people it holds and
// the run's number.
func (h inWorkspace) queueInvites(ctx context.Context, team, inviter string, users []string, note string) (int, uint64, error) {
	p, err := h.profile(ctx, inviter, adminCacheTTL)
	if err != nil {
		// The invitation names the inviter by their Slack id anyway.
		h.Log.Warn("inviter profile", "user", inviter, "err", err)
	}
	run := paligo.InviteRun{Team: team, Inviter: inviter, InviterEmail: p.email, InviterName: p.name, Note: note}
	for _, u := range users {
		run.Entries = append(run.Entries, paligo.InviteEntry{User: u})
	}
	run, jobs, err := h.Store.QueueInvites(run)
	if err != nil {
		return 0, 0, err
	}
	h.Log.Info("invites queued", "by", inviter, "run", run.Seq, "people", len(users))
	if h.Delivery != nil {
		h.Delivery.Enqueue(jobs)
	}
	return len(users), run.Seq, nil
}

// PlatformInvite is POST /v1/invites: the same invitation run as
// /paligo-invite, for an inviter who must be an admin by the same rule,
// asked of Slack afresh. It returns the run's number, or
// paligo.ErrInvitesOff or paligo.ErrNotAdmin.
func (h *Router) PlatformInvite(ctx context.Context, team, inviter string, users []string, note string) (uint64, error) {
	if h.InviteURL == "" {
		return 0, paligo.ErrInvitesOff
	}
	// Every lookup below is the team's, never another workspace's.
	w, ok := h.enter(team)
	if !ok {
		return 0, fmt.Errorf("workspace %s: %w", team, workspaces.ErrUnknown)
	}
	admin, err := w.isAdminNow(ctx, inviter)
	if err != nil {
		return 0, fmt.Errorf("check the inviter's role: %w", err)
	}
	if !admin {
		return 0, paligo.ErrNotAdmin
	}
	_, run, err := w.queueInvites(ctx, team, inviter, users, note)
	return run, err
}
