package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// digestOf queues n events (kinds that digest users get later) for U1 of T1
// through the outbox, as delivery would, and returns their seqs.
func queueFor(t *testing.T, s *store.Store, user string, n int, at time.Time) []uint64 {
	t.Helper()
	s.Now = func() time.Time { return at }
	events := make([]paligo.Event, n)
	for i := range events {
		events[i] = paligo.Event{ID: fmt.Sprintf("%s-%d-%d", user, at.Unix(), i), Type: "comment.reply", Recipients: []string{user + "@example.com"}}
	}
	if _, err := s.AcceptEvents(events); err != nil {
		t.Fatal(err)
	}
	jobs, err := storetest.FanOut(s, "T1", 10000)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, j := range jobs {
		if _, err := s.Finish(j, "T1", store.Receipt{Outcome: paligo.Digested, User: user}); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, j.Event)
	}
	return seqs
}

func TestDigestQueueJobAndFinish(t *testing.T) { eachEngine(t, testDigestQueueJobAndFinish) }

func testDigestQueueJobAndFinish(t *testing.T) {
	s := MustOpen(t)
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	seqs := queueFor(t, s, "U1", 3, t0)
	st, err := s.DigestState("T1", "U1")
	if err != nil || st.Pending != 3 || !st.Oldest.Equal(t0) || st.Job != 0 {
		t.Fatalf("state after 3 queued = %+v, %v", st, err)
	}
	var cands []string
	s.DigestCandidates("T1", func(user string, p paligo.Prefs, st paligo.DigestState) error {
		cands = append(cands, user)
		return nil
	})
	if len(cands) != 1 || cands[0] != "U1" {
		t.Fatalf("candidates = %v", cands)
	}

	window := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	jobs, err := s.QueueDigests("T1", []store.DigestRequest{{User: "U1", Window: window, Reason: paligo.DigestScheduled}})
	if err != nil || len(jobs) != 1 || len(jobs[0].Items) != 3 || jobs[0].Kind != store.JobDigest {
		t.Fatalf("QueueDigests = %+v, %v", jobs, err)
	}
	// A second request while the job waits makes nothing, and the user is
	// no longer a candidate.
	if again, _ := s.QueueDigests("T1", []store.DigestRequest{{User: "U1", Window: window}}); len(again) != 0 {
		t.Errorf("second digest job queued: %+v", again)
	}
	cands = nil
	s.DigestCandidates("T1", func(user string, p paligo.Prefs, st paligo.DigestState) error {
		cands = append(cands, user)
		return nil
	})
	if len(cands) != 0 {
		t.Errorf("candidates with a job waiting = %v", cands)
	}
	// An event queued after the job was made is not in it and stays.
	later := queueFor(t, s, "U1", 1, t0.Add(90*time.Minute))
	dj, err := s.ReadDigestJob("T1", jobs[0])
	events := dj.Events
	if err != nil || len(events) != 3 {
		t.Fatalf("ReadDigestJob = %d events, %v", len(events), err)
	}
	if pending, _ := s.PendingJobs(); len(pending) != 1 || pending[0].Seq != jobs[0].Seq {
		t.Fatalf("outbox = %+v, want the digest job (it survives a restart)", pending)
	}
	s.Now = func() time.Time { return window.Add(time.Second) }
	if err := s.FinishDigest("T1", jobs[0], "D1", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	st, _ = s.DigestState("T1", "U1")
	if st.Pending != 1 || !st.Oldest.Equal(t0.Add(90*time.Minute)) || st.Job != 0 || !st.LastWindow.Equal(window) || st.LastTS != "1700000000.000100" {
		t.Errorf("state after the digest = %+v", st)
	}
	sent, err := s.SentDigests("T1", "U1")
	if err != nil || len(sent) != 1 || sent[0].TS != "1700000000.000100" || sent[0].Channel != "D1" ||
		!sent[0].Window.Equal(window) || len(sent[0].Events) != 3 || sent[0].Events[0] != seqs[0] {
		t.Fatalf("sent digests = %+v, %v; want the one with its 3 events, channel, ts and window", sent, err)
	}
	if r, _, _ := s.Receipt(seqs[0], "T1/U1"); r.Outcome != paligo.Digested {
		t.Errorf("receipt of a digested event = %+v", r)
	}
	for _, e := range sent[0].Events {
		if e == later[0] {
			t.Errorf("the event queued after the job (%d) is in the sent digest: %v", later[0], sent[0].Events)
		}
	}
	if err := s.FinishDigest("T1", jobs[0], "D1", "x"); err != store.ErrJobGone {
		t.Errorf("finishing twice = %v, want ErrJobGone", err)
	}
	// A digest job whose events another digest already took sends nothing.
	jobs2, _ := s.QueueDigests("T1", []store.DigestRequest{{User: "U1", Window: window.Add(time.Hour)}})
	stale := jobs2[0]
	stale.Items = append(stale.Items, seqs...)
	if dj, _ := s.ReadDigestJob("T1", stale); len(dj.Events) != 1 {
		t.Errorf("events of a job with items already sent = %d, want 1", len(dj.Events))
	}
}

func TestDigestFailReleasesTheUser(t *testing.T) { eachEngine(t, testDigestFailReleasesTheUser) }

func testDigestFailReleasesTheUser(t *testing.T) {
	s := MustOpen(t)
	queueFor(t, s, "U1", 2, time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	jobs, _ := s.QueueDigests("T1", []store.DigestRequest{{User: "U1", Window: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}})
	if err := s.Fail(jobs[0], "T1", "user_disabled"); err != nil {
		t.Fatal(err)
	}
	st, _ := s.DigestState("T1", "U1")
	if st.Job != 0 || st.Pending != 2 {
		t.Errorf("state after a failed digest = %+v, want no job and the events kept", st)
	}
	if f, _ := s.Failed(); len(f) != 1 || f[0].Reason != "user_disabled" {
		t.Errorf("failed list = %+v", f)
	}
}

func TestQueueDigestsAsksDueAgain(t *testing.T) { eachEngine(t, testQueueDigestsAsksDueAgain) }

func testQueueDigestsAsksDueAgain(t *testing.T) {
	s := MustOpen(t)
	queueFor(t, s, "U1", 1, time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	jobs, err := s.QueueDigests("T1", []store.DigestRequest{{User: "U1", Due: func(p paligo.Prefs, st paligo.DigestState) bool { return false }}})
	if err != nil || len(jobs) != 0 {
		t.Errorf("QueueDigests with Due false = %+v, %v", jobs, err)
	}
}

func TestMigrationToV4CountsQueuedDigestItems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		meta.Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 3})
		for _, b := range []string{"prefs", "events", "event_ids", "routes", "followers", "outbox", "failed", "receipts", "slack_cache", "unmatched"} {
			tx.CreateBucket([]byte(b))
		}
		d, _ := tx.CreateBucket([]byte("digest"))
		for i, u := range []string{"T1/U1", "T1/U1", "T1/U2"} {
			k := append([]byte(u+"\x00"), 0, 0, 0, 0, 0, 0, 0, byte(i+1))
			d.Put(k, fmt.Appendf(nil, `{"event":%d,"queued_at":%q}`, i+1, at.Add(time.Duration(i)*time.Minute).Format(time.RFC3339)))
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st1, _ := s.DigestState("T1", "U1")
	st2, _ := s.DigestState("T1", "U2")
	if st1.Pending != 2 || !st1.Oldest.Equal(at) || st2.Pending != 1 || !st2.Oldest.Equal(at.Add(2*time.Minute)) {
		t.Errorf("states after migration: U1 %+v, U2 %+v", st1, st2)
	}
}
