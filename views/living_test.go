package views_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// A parent draws the latest event, its state, what clicks did, and the
// buttons that apply: Acknowledge while a critical state is not
// acknowledged, the platform's actions only with a callback URL, Mute only
// for something with a subject.
func TestParentMessageDrawsStateAndTheButtonsThatApply(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	subject := &paligo.Subject{Kind: "schedule", ID: "dbt", Title: "Nightly dbt", URL: "https://paradime.example/s/dbt"}
	failed := paligo.Event{ID: "e1", Type: "run.failed", Subject: subject, Actions: []paligo.Action{{ID: "rerun", Label: "Re-run"}}}
	l := paligo.Living{Status: "failed", Updates: 3, LastAt: at}
	draw := func(p views.Parent) string {
		t.Helper()
		_, blocks := views.ParentMessage(p)
		return plainJSON(slackAcceptsMessage(t, blocks))
	}
	s := draw(views.Parent{Event: failed, Living: l})
	for _, want := range []string{"*Failed*", "3 updates", views.ActionLivingAck, views.ActionLivingMute, "Mute here", views.ActionOpen} {
		if !strings.Contains(s, want) {
			t.Errorf("a failed run's parent lacks %q: %s", want, s)
		}
	}
	if strings.Contains(s, views.ActionLivingPlatform) {
		t.Errorf("platform actions drawn without a callback URL: %s", s)
	}
	if s := draw(views.Parent{Event: failed, Living: l, PlatformActions: true}); !strings.Contains(s, views.ActionLivingPlatform+"rerun") || !strings.Contains(s, "Re-run") {
		t.Errorf("the platform's action is not drawn: %s", s)
	}
	acked := l
	acked.AckedBy, acked.AckedAt = "U0BO", at
	acked.Log = []paligo.ActionResult{{Action: "rerun", Label: "Re-run", By: "U0BO", At: at, Outcome: "requested"}}
	s = draw(views.Parent{Event: failed, Living: acked})
	if strings.Contains(s, views.ActionLivingAck) || !strings.Contains(s, "Acknowledged by <@U0BO>") || !strings.Contains(s, "Re-run requested by <@U0BO>") {
		t.Errorf("an acknowledged parent: %s", s)
	}
	forever := time.Time{}
	if s := draw(views.Parent{Event: failed, Living: l, MutedUntil: &forever, MutedBy: "U0ADA"}); !strings.Contains(s, "Muted here for good by <@U0ADA>") {
		t.Errorf("a muted parent: %s", s)
	}
	// Not critical: no Acknowledge. No subject: no Mute, no Open.
	ok := paligo.Event{ID: "e2", Type: "run.succeeded"}
	s = draw(views.Parent{Event: ok, Living: paligo.Living{Status: "succeeded", Updates: 1, LastAt: at, Alone: true}})
	if strings.Contains(s, views.ActionLivingAck) || strings.Contains(s, views.ActionLivingMute) || strings.Contains(s, views.ActionOpen) || strings.Contains(s, "update") {
		t.Errorf("a post alone of a success without a subject: %s", s)
	}
	if views.Acts(ok, true) || !views.Acts(failed, false) || !views.Acts(paligo.Event{Type: "run.succeeded", Actions: failed.Actions}, true) {
		t.Error("Acts disagrees with the buttons drawn")
	}
}
