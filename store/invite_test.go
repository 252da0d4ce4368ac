package store_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	bolt "go.etcd.io/bbolt"
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
	// U1: invited; reading again (a retried job) gives the same
	// invitation: the id taken when the run was queued, the same expiry,
	// so the same link.
	r1, err := s.ReadInviteJob(jobs[0], "One@Example.com")
	inv := r1.Invite
	if err != nil || r1.HasPrior || inv.ID == 0 || inv.Email != "one@example.com" || !inv.Expires.Equal(now.Add(paligo.InviteTTL)) {
		t.Fatalf("read: %+v %v", r1, err)
	}
	if _, found, _ := s.Invite(inv.ID); found {
		t.Errorf("the invitation is recorded before its DM is sent")
	}
	now = now.Add(time.Minute)
	again, err := s.ReadInviteJob(jobs[0], "one@example.com")
	if err != nil || again.Invite.ID != inv.ID || !again.Invite.Expires.Equal(inv.Expires) {
		t.Fatalf("read again = %+v %v, want the same invitation", again, err)
	}
	if more, err := s.EndInvite(jobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D1", TS: "1.1", Invite: &inv}); err != nil || len(more) != 0 {
		t.Fatalf("finish: %v %v", more, err)
	}
	if _, err := s.EndInvite(jobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D1", TS: "1.1", Invite: &inv}); err != store.ErrJobGone {
		t.Errorf("finishing twice = %v, want ErrJobGone", err)
	}
	// U2 has the same email (another account): U1's invitation, pending,
	// is the email's latest, and blocks a second one.
	r2, err := s.ReadInviteJob(jobs[1], "one@example.com")
	if err != nil || !r2.HasPrior || r2.Prior.ID != inv.ID || r2.Prior.Blocks(now) == "" {
		t.Fatalf("second invitation of a pending email: %+v %v", r2, err)
	}
	if more, err := s.EndInvite(jobs[1], store.InviteEnd{Result: paligo.InviteSkipped, Reason: r2.Prior.Blocks(now)}); err != nil || len(more) != 0 {
		t.Fatalf("skip: %v %v", more, err)
	}
	// U3: decided, then Slack refuses the DM for good: failed, and the run
	// is over, so the summary job comes out.
	r3, _ := s.ReadInviteJob(jobs[2], "three@example.com")
	inv3 := r3.Invite
	more, err := s.EndInvite(jobs[2], store.InviteEnd{Result: paligo.InviteFailed, Reason: "cannot_dm_bot", Invite: &inv3})
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
	r4, _ := s.ReadInviteJob(jobs2[0], "three@example.com")
	if !r4.HasPrior || r4.Prior.Blocks(now) != "" {
		t.Errorf("after a failed invitation: %+v, blocked (%s)", r4, r4.Prior.Blocks(now))
	}
	if _, err := s.EndInvite(jobs2[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D3", TS: "3.3", Invite: &r4.Invite}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(paligo.InviteTTL)
	if i1, _, _ := s.Invite(inv.ID); i1.State(now) != paligo.InviteExpired {
		t.Errorf("state a week later = %s", i1.State(now))
	}
	r5, _ := s.ReadInviteJob(jobs2[1], "one@example.com")
	if !r5.HasPrior || r5.Prior.Blocks(now) != "" {
		t.Errorf("after an expired invitation: %+v, blocked (%s)", r5, r5.Prior.Blocks(now))
	}
	if _, err := s.EndInvite(jobs2[1], store.InviteEnd{Result: paligo.InviteSent, Channel: "D1", TS: "4.4", Invite: &r5.Invite}); err != nil {
		t.Fatal(err)
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

// A run queued by a version that opened invitations as they were sent
// gets, on upgrade, the ids of its entries still on their way; an entry
// that ended keeps none, and an invitation opened already keeps its own.
func TestMigrationReservesInviteIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v9.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 9})
		invites := tx.Bucket([]byte("invites"))
		invites.SetSequence(7) // invitation 7 was opened by the old version
		return tx.Bucket([]byte("invite_runs")).Put([]byte{0, 0, 0, 0, 0, 0, 0, 1},
			[]byte(`{"seq":1,"team":"T1","inviter":"U0A","entries":[{"user":"U1"},{"user":"U2","result":"skipped"},{"user":"U3","invite":7},{"user":"U4"}]}`))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = store.Open(path, store.Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, found, err := s.InviteRun(1)
	if err != nil || !found {
		t.Fatalf("the run: %v %v", found, err)
	}
	got := []uint64{}
	for _, e := range run.Entries {
		got = append(got, e.Invite)
	}
	if want := []uint64{8, 0, 7, 9}; !slices.Equal(got, want) {
		t.Errorf("invitation ids after the upgrade = %v, want %v", got, want)
	}
}
