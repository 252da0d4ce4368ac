package store_test

import (
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

func TestInviteRunLifecycle(t *testing.T) { eachEngine(t, testInviteRunLifecycle) }

func testInviteRunLifecycle(t *testing.T) {
	s := MustOpen(t)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	run, jobs, err := s.QueueInvites(paligo.InviteRun{Team: "T1", Inviter: "U0ADMIN", Note: "hi",
		Entries: []paligo.InviteEntry{{User: "U1"}, {User: "U2"}, {User: "U3"}, {User: "U4", Result: paligo.InviteSkipped, Reason: "handler said so"}}})
	if err != nil || len(jobs) != 3 || jobs[0].Kind != store.JobInvite || jobs[0].Run != run.Seq {
		t.Fatalf("queue: %+v %v", jobs, err)
	}
	// U1: invited; opening again (a retried job) returns the same invite.
	inv, skip, more, err := s.OpenInvite(jobs[0], "One@Example.com")
	if err != nil || skip != "" || len(more) != 0 || inv.Email != "one@example.com" || inv.Status != paligo.InviteSending ||
		!inv.Expires.Equal(now.Add(paligo.InviteTTL)) {
		t.Fatalf("open: %+v %q %v", inv, skip, err)
	}
	again, _, _, err := s.OpenInvite(jobs[0], "one@example.com")
	if err != nil || again.ID != inv.ID {
		t.Fatalf("reopen = %+v %v, want the same invitation", again, err)
	}
	if more, err := s.EndInvite(jobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D1", TS: "1.1"}); err != nil || len(more) != 0 {
		t.Fatalf("finish: %v %v", more, err)
	}
	if _, err := s.EndInvite(jobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D1", TS: "1.1"}); err != store.ErrJobGone {
		t.Errorf("finishing twice = %v, want ErrJobGone", err)
	}
	// U2 has the same email (another account): pending, so skipped.
	_, skip, more, err = s.OpenInvite(jobs[1], "one@example.com")
	if err != nil || skip == "" || len(more) != 0 {
		t.Fatalf("second invitation of a pending email: %q %v %v", skip, more, err)
	}
	// U3: opened, then Slack refuses the DM for good: failed, and the run
	// is over, so the summary job comes out.
	inv3, _, _, _ := s.OpenInvite(jobs[2], "three@example.com")
	more, err = s.EndInvite(jobs[2], store.InviteEnd{Result: paligo.InviteFailed, Reason: "cannot_dm_bot"})
	if err != nil || len(more) != 1 || more[0].Kind != store.JobInviteSummary || more[0].User != "U0ADMIN" {
		t.Fatalf("fail: %+v %v; want the summary job", more, err)
	}
	got, _, _ := s.InviteRun(run.Seq)
	if sent, skipped, failed := got.Counts(); sent != 1 || skipped != 2 || failed != 1 {
		t.Errorf("run counts = %d %d %d: %+v", sent, skipped, failed, got.Entries)
	}
	if i3, _, _ := s.Invite(inv3.ID); i3.Status != paligo.InviteFailed || i3.Reason != "cannot_dm_bot" {
		t.Errorf("failed invitation = %+v", i3)
	}
	if i1, _, _ := s.Invite(inv.ID); i1.Status != paligo.InvitePending || i1.TS != "1.1" {
		t.Errorf("sent invitation = %+v", i1)
	}
	if err := s.FinishInviteSummary(more[0], "D1", "9.9"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.InviteRun(run.Seq); got.SummaryTS != "9.9" {
		t.Errorf("summary ts = %q", got.SummaryTS)
	}
	if _, jobs, _ := s.Backlog(); jobs != 0 {
		t.Errorf("%d jobs left", jobs)
	}

	// A failed invitation does not block a new one; an expired one neither.
	run2, jobs2, _ := s.QueueInvites(paligo.InviteRun{Team: "T1", Inviter: "U0ADMIN", Entries: []paligo.InviteEntry{{User: "U3"}, {User: "U1"}}})
	if _, skip, _, _ := s.OpenInvite(jobs2[0], "three@example.com"); skip != "" {
		t.Errorf("after a failed invitation: skipped (%s)", skip)
	}
	now = now.Add(paligo.InviteTTL)
	if i1, _, _ := s.Invite(inv.ID); i1.State(now) != paligo.InviteExpired {
		t.Errorf("state a week later = %s", i1.State(now))
	}
	if _, skip, _, _ := s.OpenInvite(jobs2[1], "one@example.com"); skip != "" {
		t.Errorf("after an expired invitation: skipped (%s)", skip)
	}
	recent, _ := s.RecentInvites("T1", 2)
	if len(recent) != 2 || recent[0].Run != run2.Seq || recent[0].ID < recent[1].ID {
		t.Errorf("recent = %+v, want the two newest, newest first", recent)
	}
	if other, _ := s.RecentInvites("T2", 10); len(other) != 0 {
		t.Errorf("another team sees %d invitations", len(other))
	}
}

func TestInviteRunWithEveryoneSkippedQueuesTheSummary(t *testing.T) {
	eachEngine(t, testInviteRunWithEveryoneSkippedQueuesTheSummary)
}

func testInviteRunWithEveryoneSkippedQueuesTheSummary(t *testing.T) {
	s := MustOpen(t)
	_, jobs, err := s.QueueInvites(paligo.InviteRun{Team: "T1", Inviter: "U0ADMIN", Entries: []paligo.InviteEntry{{User: "U1", Result: paligo.InviteSkipped, Reason: "x"}}})
	if err != nil || len(jobs) != 1 || jobs[0].Kind != store.JobInviteSummary {
		t.Fatalf("jobs = %+v %v", jobs, err)
	}
}
