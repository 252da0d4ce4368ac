package delivery

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// txCount is what one job took of the store.
type txCount struct{ reads, writes int }

// jobTxs runs every job in the outbox, one at a time, oldest first, until
// none is left, and returns what each kind took, by the job kind's name
// and, for channel jobs, whether it started the living message.
func jobTxs(t *testing.T, d *Deliverer, st *store.Store) map[string][]txCount {
	t.Helper()
	out := map[string][]txCount{}
	for range 50 {
		jobs, err := st.PendingJobs()
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			return out
		}
		job := jobs[0]
		name := string(job.Kind)
		if name == "" {
			name = "person"
		}
		r, w := st.ReadTxs(), st.WriteTxs()
		done, err := d.deliver(t.Context(), job)
		if !done || err != nil {
			t.Fatalf("%s job %+v: done %v, %v", name, job, done, err)
		}
		out[name] = append(out[name], txCount{st.ReadTxs() - r, st.WriteTxs() - w})
	}
	t.Fatal("the outbox never emptied")
	return nil
}

// Each job kind, on its success path with what it needs already known
// (the first of its kind pays for lookups), opens at most one read
// transaction and one write transaction: load, decide, draw, send,
// record.
func TestEachJobReadsOnceAndWritesOnce(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{
		{ID: "U1", Name: "ann", Email: "ann@example.com"},
		{ID: "U2", Name: "bo", Email: "bo@example.com"},
		{ID: "U3", Name: "cy", Email: "cy@example.com"},
	}, Channels: []fakeslack.Channel{{ID: "C1", Name: "alerts", BotIsMember: true}}})
	t.Cleanup(fs.Close)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	t.Cleanup(platform.Close)
	st := storetest.MustOpen(t)
	client := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	d := NewDeliverer(st, client, DeliveryOptions{Team: fs.TeamID(), ActionsURL: platform.URL, CallbackSecret: []byte("s3cret-for-tests"),
		CallbackClient: platform.Client(), CallTimeout: 5 * time.Second,
		InviteLink: func(inv paligo.Invite) string { return "https://paligo.example/invite/x" }})
	d.primary.team = fs.TeamID()
	team := d.primary.team
	if _, err := st.Subscribe(paligo.Subscription{Channel: "C1", Kinds: []paligo.Kind{"run.failed", "run.succeeded"}}); err != nil {
		t.Fatal(err)
	}
	st.UpdatePrefs(team, "U1", func(p *paligo.Prefs) error { p.Frequency = paligo.Daily; return nil })
	run := &paligo.Subject{Kind: "schedule", ID: "nightly", Title: "Nightly"}
	accept := func(events ...paligo.Event) {
		t.Helper()
		if _, err := st.AcceptEvents(events); err != nil {
			t.Fatal(err)
		}
		if _, err := storetest.FanOut(st, team, 100); err != nil {
			t.Fatal(err)
		}
	}
	all := map[string][]txCount{}
	take := func() {
		for k, v := range jobTxs(t, d, st) {
			all[k] = append(all[k], v...)
		}
	}
	// Channel posts: the first starts a living message, the next ones
	// reply in its thread and queue the parent's update.
	for i, typ := range []string{"run.failed", "run.failed", "run.succeeded", "run.failed"} {
		accept(paligo.Event{ID: "r" + string(rune('0'+i)), Type: paligo.Kind(typ), Subject: run,
			Recipients: []string{"ann@example.com"}, Actor: &paligo.Person{Email: "bo@example.com"}})
		take()
	}
	// A click: acknowledged on the parent, a platform action's note in
	// the thread and its callback.
	l, ok, err := st.LivingOf("C1", run.Key())
	if err != nil || !ok {
		t.Fatalf("no living message: %v", err)
	}
	now := st.Now()
	if _, _, err := st.Acknowledge(store.Click{Living: l.ID, Result: paligo.ActionResult{Action: "acknowledge", Label: "Acknowledge", By: "U1", At: now, Outcome: "done"},
		Callback: &paligo.ActionCallback{ID: "cb1", Type: "action", Action: "acknowledge", Team: team, At: now.Format(time.RFC3339)}}); err != nil {
		t.Fatal(err)
	}
	take()
	if _, _, err := st.LogAction(store.Click{Living: l.ID, Result: paligo.ActionResult{Action: "rerun", Label: "Re-run", By: "U1", At: now, Outcome: "pending"},
		Note: "Re-run requested by <@U1>", Callback: &paligo.ActionCallback{ID: "cb2", Type: "action", Action: "rerun", Team: team, At: now.Format(time.RFC3339)}}); err != nil {
		t.Fatal(err)
	}
	take()
	// A digest of what ann has queued.
	if _, err := st.QueueDigests(team, []store.DigestRequest{{User: "U1", Window: now, Reason: "daily"}}); err != nil {
		t.Fatal(err)
	}
	take()
	// An invitation run of two people, then its summary to the inviter.
	if _, _, err := st.QueueInvites(paligo.InviteRun{Inviter: "U1", Created: now,
		Entries: []paligo.InviteEntry{{User: "U2"}, {User: "U3"}}}); err != nil {
		t.Fatal(err)
	}
	take()

	var kinds []string
	for k := range all {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("%-16s %v", k, all[k])
		// Every job writes once. Every job reads once, but for a person
		// known only by an email never looked up (ann's first): the
		// lookup comes between two reads, what the store knew of the
		// email and then what it knows of the person.
		for i, c := range all[k] {
			reads := 1
			if k == "person" && i == 0 {
				reads = 2
			}
			if c.reads > reads || c.writes > 1 {
				t.Errorf("%s job %d took %d reads and %d writes; want at most %d and 1", k, i, c.reads, c.writes, reads)
			}
		}
	}
	// A DM channel opened is remembered by the write that records what
	// was sent there: ann's is opened once (her first DM), not again for
	// her digest or her invitation summary; bo's and cy's by their
	// invitations.
	if n := len(fs.Calls("conversations.open")); n != 3 {
		t.Errorf("%d conversations.open calls, want 3 (one per person)", n)
	}
	for _, k := range []string{"person", "channel", "parent", "note", "callback", "digest", "invite", "invite_summary"} {
		if len(all[k]) == 0 {
			t.Errorf("no %s job ran", k)
		}
	}
}
