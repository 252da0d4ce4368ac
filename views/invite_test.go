package views_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

func TestInviteModalAndDM(t *testing.T) {
	m := views.InviteModal("C0OPS")
	slackAccepts(t, m)
	golden(t, "invite_modal", m)
	if views.InviteModal("<!channel>").PrivateMetadata != "" {
		t.Error("a channel that is not a Slack id went into private_metadata")
	}

	inv := paligo.Invite{ID: 7, Inviter: "U0ADMIN", Note: "Welcome <!channel> & <@U1>\nsecond line " + strings.Repeat("x", 2000),
		Expires: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	text, blocks := views.InviteDM(inv, "https://paligo.example/join?token=abc")
	j := slackAcceptsMessage(t, blocks)
	if text == "" || strings.Contains(j, "<!channel>") || strings.Contains(j, "<@U1>") || !strings.Contains(j, `"url":"https://paligo.example/join?token=abc"`) {
		t.Errorf("invitation DM: %s", j)
	}
	// A link that is not http(s) gets no button rather than a bad one.
	_, blocks = views.InviteDM(inv, "javascript:alert(1)")
	if j := slackAcceptsMessage(t, blocks); strings.Contains(j, "Accept invitation") {
		t.Errorf("a javascript: link became a button: %s", j)
	}
}

func TestInviteSummaryFitsWithAHundredPeople(t *testing.T) {
	run := paligo.InviteRun{Inviter: "U0ADMIN"}
	for i := range 100 {
		e := paligo.InviteEntry{User: fmt.Sprintf("U%08d", i)}
		switch i % 3 {
		case 0:
			e.Result = paligo.InviteSent
		case 1:
			e.Result, e.Reason = paligo.InviteSkipped, "already has a pending invitation <!here> "+strings.Repeat("y", 300)
		case 2:
			e.Result, e.Reason = paligo.InviteFailed, "cannot_dm_bot"
		}
		run.Entries = append(run.Entries, e)
	}
	text, blocks := views.InviteSummary(run)
	j := slackAcceptsMessage(t, blocks)
	if text != "Invitations: 34 sent, 33 skipped, 33 failed" || strings.Contains(j, "<!here>") {
		t.Errorf("summary %q: %s", text, j)
	}
	for _, e := range run.Entries {
		if !strings.Contains(j, e.User) {
			t.Errorf("%s is missing from the summary", e.User)
		}
	}
}
