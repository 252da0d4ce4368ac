package delivery

import (
	"testing"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// One person's notification reads the store once: the event, who they are,
// their preferences, receipt, DM channel and time zone come in one read
// transaction (store.ReadPersonJob), and one write ends the job. Only an
// email never looked up takes a second read, after users.lookupByEmail.
func TestPersonJobReadsTheStoreOnce(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Users: []fakeslack.User{
		{ID: "U1", Name: "ann", Email: "ann@example.com"},
		{ID: "U2", Name: "bo", Email: "bo@example.com"},
	}})
	t.Cleanup(fs.Close)
	st := storetest.MustOpen(t)
	client := bot.NewClient(fs.BotToken(), fs.AppToken(), fs.URL())
	d := NewDeliverer(st, client, DeliveryOptions{Team: fs.TeamID()})
	d.primary.team = fs.TeamID()
	ctx := t.Context()

	send := func(id, kind string, freq paligo.Frequency) (reads int, j store.Job) {
		t.Helper()
		st.UpdatePrefs(d.primary.team, "U1", func(p *paligo.Prefs) error { p.Frequency = freq; return nil })
		if _, err := st.AcceptEvents([]paligo.Event{{ID: id, Type: paligo.Kind(kind), Recipients: []string{"ann@example.com"},
			Actor: &paligo.Person{Email: "bo@example.com"}}}); err != nil {
			t.Fatal(err)
		}
		jobs, err := storetest.FanOut(st, d.primary.team, 10)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("fan-out = %v, %v", jobs, err)
		}
		before := st.ReadTxs()
		done, err := d.deliver(ctx, jobs[0])
		if !done || err != nil {
			t.Fatalf("deliver %s = %v, %v", id, done, err)
		}
		return st.ReadTxs() - before, jobs[0]
	}

	// The first: ann's and bo's emails are looked up, the DM opened.
	reads, _ := send("e1", "run.failed", paligo.Instant)
	if reads != 2 {
		t.Errorf("first notification took %d read transactions, want 2 (one before the lookup, one after)", reads)
	}
	// From then on everything is known: one read, whatever the outcome.
	for _, c := range []struct {
		id, kind string
		freq     paligo.Frequency
		want     paligo.Outcome
	}{
		{"e2", "run.failed", paligo.Instant, paligo.Sent},
		{"e3", "comment.reply", paligo.Daily, paligo.Digested},
		{"e4", "comment.reply", paligo.Off, paligo.SkippedOff},
	} {
		reads, job := send(c.id, c.kind, c.freq)
		r, found, err := st.Receipt(job.Event, d.primary.team+"/U1")
		if err != nil || !found || r.Outcome != c.want {
			t.Fatalf("%s: receipt %+v (found %v, %v); want %s", c.id, r, found, err, c.want)
		}
		if reads != 1 {
			t.Errorf("%s (%s) took %d read transactions, want 1", c.id, c.want, reads)
		}
	}
	if n := len(fs.Calls("users.lookupByEmail")); n != 2 {
		t.Errorf("%d users.lookupByEmail calls, want 2 (ann and bo, once each)", n)
	}
	if n := len(fs.Messages(fs.DMChannel("U1"))); n != 2 {
		t.Errorf("%d DMs to ann, want 2", n)
	}
}
