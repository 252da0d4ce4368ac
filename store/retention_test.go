package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// What settled before the cutoff goes; what something still needs stays,
// however old. Run with several batch sizes: a pass over many small
// transactions must remove exactly what one large one does.
func TestPruneRemovesWhatSettledAndKeepsWhatIsNeeded(t *testing.T) {
	for _, batch := range []int{1, 2, 3, 500} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) { testPrune(t, batch) })
	}
}

func testPrune(t *testing.T, batch int) {
	s := MustOpen(t)
	ctx := context.Background()
	t0 := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	s.Now = func() time.Time { return now }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C1"}}))
	accept := func(events ...paligo.Event) {
		t.Helper()
		if _, err := s.AcceptEvents(events); err != nil {
			t.Fatal(err)
		}
	}
	// Day 0: five settled events (posted to C1), one whose job waits, one
	// whose job failed, one in a digest queue, one to a stranger.
	for i := range 5 {
		accept(paligo.Event{ID: fmt.Sprintf("sent-%d", i), Type: "run.failed"})
	}
	accept(paligo.Event{ID: "waiting", Type: "run.failed"},
		paligo.Event{ID: "failed", Type: "run.failed"},
		paligo.Event{ID: "queued", Type: "comment.reply", Recipients: []string{"u1@example.com"}},
		paligo.Event{ID: "stranger", Type: "comment.reply", Recipients: []string{"ghost@example.com"}})
	jobs, err := storetest.FanOut(s, "T1", 100)
	must(err)
	byEvent := map[string]store.Job{}
	for _, j := range jobs {
		e, _ := s.EventBySeq(j.Event)
		byEvent[e.ID] = j
	}
	for i := range 5 {
		_, err := s.Finish(byEvent[fmt.Sprintf("sent-%d", i)], "T1", store.Receipt{Outcome: paligo.Sent, Channel: "C1", TS: "1.1"})
		must(err)
	}
	must(s.Fail(byEvent["failed"], "T1", "channel_not_found"))
	_, err = s.Finish(byEvent["queued"], "T1", store.Receipt{Outcome: paligo.Digested, User: "U1"})
	must(err)
	_, err = s.Finish(byEvent["stranger"], "T1", store.Receipt{Outcome: paligo.Unmatched})
	must(err)
	// A digest sent on day 0, of an event of its own.
	now = t0.Add(time.Hour)
	accept(paligo.Event{ID: "digested", Type: "comment.reply", Recipients: []string{"u2@example.com"}})
	js, err := storetest.FanOut(s, "T1", 100)
	must(err)
	_, err = s.Finish(js[0], "T1", store.Receipt{Outcome: paligo.Digested, User: "U2"})
	must(err)
	dj, err := s.QueueDigests("T1", []store.DigestRequest{{User: "U2", Window: now, Reason: paligo.DigestScheduled}})
	must(err)
	must(s.FinishDigest("T1", dj[0], "D2", "2.2"))
	// Invitations on day 0: one expires unanswered, one fails, one is
	// accepted; the run's jobs have all ended.
	run, ijobs, err := s.QueueInvites(paligo.InviteRun{Team: "T1", Inviter: "U0ADMIN",
		Entries: []paligo.InviteEntry{{User: "U5"}, {User: "U6"}, {User: "U7"}}})
	must(err)
	five, err := s.ReadInviteJob(ijobs[0], "five@example.com")
	must(err)
	expired := five.Invite
	_, err = s.EndInvite(ijobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D5", TS: "5.5", Invite: &expired})
	must(err)
	six, err := s.ReadInviteJob(ijobs[1], "six@example.com")
	must(err)
	failedInv := six.Invite
	summary, err := s.EndInvite(ijobs[1], store.InviteEnd{Result: paligo.InviteFailed, Reason: "cannot_dm_bot", Invite: &failedInv})
	must(err)
	seven, err := s.ReadInviteJob(ijobs[2], "seven@example.com")
	must(err)
	accepted := seven.Invite
	summary, err = s.EndInvite(ijobs[2], store.InviteEnd{Result: paligo.InviteSent, Channel: "D7", TS: "7.7", Invite: &accepted})
	must(err)
	must(s.FinishInviteSummary(summary[0], "D1", "9.9"))
	accept(paligo.Event{ID: "joined", Type: "invite.accepted", Fields: map[string]string{paligo.FieldInviteID: fmt.Sprint(accepted.ID)}})
	// Mutes: one ended on day 0, one lasts forever, one ends on day 35.
	must(s.Mute(paligo.Mute{Channel: "C1", Subject: "k:ended", Until: t0.Add(time.Hour)}))
	must(s.Mute(paligo.Mute{Channel: "C1", Subject: "k:forever"}))
	must(s.Mute(paligo.Mute{Channel: "C1", Subject: "k:later", Until: t0.Add(35 * 24 * time.Hour)}))
	// The last of day 0 is accepted but not fanned out yet.
	accept(paligo.Event{ID: "unfanned", Type: "comment.reply"})

	// Day 40: a new settled event, and the pass with a 30-day cutoff.
	now = t0.Add(40 * 24 * time.Hour)
	res, err := s.Prune(ctx, now.Add(-30*24*time.Hour), store.PruneOptions{Batch: batch, Pause: -1})
	must(err)

	gone := []string{"sent-0", "sent-1", "sent-2", "sent-3", "sent-4", "stranger", "digested"}
	kept := []string{"waiting", "failed", "queued", "joined", "unfanned"}
	for _, id := range gone {
		if _, found, err := s.Event(id); err != nil || found {
			t.Errorf("event %s: found=%v %v; want removed", id, found, err)
		}
	}
	for _, id := range kept {
		if _, found, err := s.Event(id); err != nil || !found {
			t.Errorf("event %s: found=%v %v; want kept", id, found, err)
		}
	}
	if r, err := s.Receipts(byEvent["sent-0"].Event); err != nil || len(r) != 0 {
		t.Errorf("receipts of a removed event: %v %v", r, err)
	}
	if r, _ := s.Receipts(byEvent["queued"].Event); len(r) != 1 {
		t.Errorf("receipts of a queued event: %v, want its digest receipt", r)
	}
	if sent, _ := s.SentDigests("T1", "U2"); len(sent) != 0 {
		t.Errorf("digests sent 40 days ago: %+v, want removed", sent)
	}
	if st, _ := s.DigestState("T1", "U2"); !st.LastWindow.Equal(t0.Add(time.Hour)) {
		t.Errorf("digest state lost its last window: %+v", st)
	}
	if n, _ := s.PendingDigest("T1", "U1"); n != 1 {
		t.Errorf("U1's digest queue = %d, want 1", n)
	}
	if _, found, _ := s.Invite(expired.ID); found {
		t.Error("an invitation expired a month ago was kept")
	}
	if _, found, _ := s.Invite(failedInv.ID); found {
		t.Error("an invitation failed a month ago was kept")
	}
	if inv, found, _ := s.Invite(accepted.ID); !found || inv.Status != paligo.InviteAccepted {
		t.Errorf("the accepted invitation: %+v %v; want kept", inv, found)
	}
	if _, found, _ := s.InviteRun(run.Seq); found {
		t.Error("an invite run whose jobs all ended a month ago was kept")
	}
	if un, _ := s.Unmatched(""); len(un) != 0 {
		t.Errorf("unmatched emails not seen for a month: %+v", un)
	}
	if failed, _ := s.Failed(); len(failed) != 1 {
		t.Errorf("failed list = %d, want the one failed job kept", len(failed))
	}
	if m, _ := s.Mutes("C1"); len(m) != 2 || m[0].Subject != "k:forever" || m[1].Subject != "k:later" {
		t.Errorf("mutes after the pass: %+v, want the endless one and the one not yet ended", m)
	}
	if res.Events != len(gone) || res.Receipts != 7 || res.DigestsSent != 1 || res.Invites != 2 || res.InviteRuns != 1 || res.Unmatched != 1 || res.Mutes != 1 {
		t.Errorf("pass = %+v", res)
	}
	// Batch 1: a transaction for each record (an event with its receipts).
	if units := res.Removed() - res.Receipts; batch == 1 && res.Txs < units {
		t.Errorf("batch 1: %d transactions for %d records", res.Txs, units)
	}

	// A removed id is free again; a kept one is still a duplicate.
	r, err := s.AcceptEvents([]paligo.Event{{ID: "sent-0", Type: "run.failed"}, {ID: "waiting", Type: "run.failed"}})
	if err != nil || r.Accepted != 1 || r.Duplicates != 1 {
		t.Errorf("after the pass: %+v %v; want sent-0 new and waiting a duplicate", r, err)
	}
	// A second pass finds nothing more to remove.
	again, err := s.Prune(ctx, now.Add(-30*24*time.Hour), store.PruneOptions{Batch: batch, Pause: -1})
	if err != nil || again.Removed() != 0 {
		t.Errorf("second pass: %+v %v", again, err)
	}
}

// Nothing younger than the cutoff goes, even when it settled long ago.
func TestPruneKeepsWhatIsInsideTheWindow(t *testing.T) {
	eachEngine(t, testPruneKeepsWhatIsInsideTheWindow)
}

func testPruneKeepsWhatIsInsideTheWindow(t *testing.T) {
	s := MustOpen(t)
	t0 := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	s.Now = func() time.Time { return now }
	for day := range 10 {
		now = t0.Add(time.Duration(day) * 24 * time.Hour)
		if _, err := s.AcceptEvents([]paligo.Event{{ID: fmt.Sprintf("d%d", day), Type: "comment.reply"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := storetest.FanOut(s, "T1", 100); err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune(context.Background(), t0.Add(4*24*time.Hour), store.PruneOptions{Batch: 2, Pause: -1})
	if err != nil || res.Events != 4 {
		t.Fatalf("pass: %+v %v; want days 0-3 removed", res, err)
	}
	for day := range 10 {
		_, found, _ := s.Event(fmt.Sprintf("d%d", day))
		if found != (day >= 4) {
			t.Errorf("day %d: found = %v", day, found)
		}
	}
	if n, _ := s.EventCount(); n != 6 {
		t.Errorf("%d events left, want 6", n)
	}
}

// After retention, compacting gives back the free pages: the new file is
// smaller, opens at the same schema, and holds what was kept. It refuses a
// file in use and an existing output.
func TestCompactAfterRetention(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	s.Now = func() time.Time { return now }
	text := strings.Repeat("words ", 150)
	for i := range 20 {
		var batch []paligo.Event
		for j := range 500 {
			batch = append(batch, paligo.Event{ID: fmt.Sprintf("old-%d-%d", i, j), Type: "comment.reply", Text: text})
		}
		if _, err := s.AcceptEvents(batch); err != nil {
			t.Fatal(err)
		}
	}
	now = t0.Add(40 * 24 * time.Hour)
	if _, err := s.AcceptEvents([]paligo.Event{{ID: "new", Type: "comment.reply", Text: text}}); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.FanOut(s, "T1", 100000); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Prune(context.Background(), now.Add(-30*24*time.Hour), store.PruneOptions{Batch: 5000, Pause: -1}); err != nil || res.Events != 10000 {
		t.Fatalf("prune: %+v %v", res, err)
	}
	out := filepath.Join(dir, "compact.db")
	if _, _, err := store.Compact(path, out); !errors.Is(err, store.ErrLocked) {
		t.Errorf("compact of a file in use = %v, want ErrLocked", err)
	}
	s.Close()
	before, after, err := store.Compact(path, out)
	if err != nil {
		t.Fatal(err)
	}
	if after*4 > before {
		t.Errorf("compacted %d -> %d bytes: want at most a quarter", before, after)
	}
	if _, _, err := store.Compact(path, out); err == nil {
		t.Error("compact over an existing file was not refused")
	}
	c, err := store.Open(out, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Version(); err != nil || v != store.SchemaVersion {
		t.Errorf("compacted schema = %d %v", v, err)
	}
	if e, found, err := c.Event("new"); err != nil || !found || e.Text != text {
		t.Errorf("kept event after compaction: %v %v", found, err)
	}
	if n, _ := c.EventCount(); n != 1 {
		t.Errorf("%d events after compaction, want 1", n)
	}
}
