package e2e

import (
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/store/storetest"
)

// Two replicas on one PostgreSQL database: Slack sends an event to one and
// its retry to the other (the newest connection, or the URL Slack's
// requests go to), and the event is handled once.
func TestReplicasTakeAnEventOnce(t *testing.T) {
	dsn := storetest.Postgres(t)
	fs := newFake(t, fakeslack.Options{})
	a := startOn(t, fs, dsn, time.Time{})
	ctx := ctxT(t)
	env := fs.AppHomeOpened("U0ALICE")
	mark := fs.Mark()
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	a.waitHome(ctx, mark, "U0ALICE")
	b := startOn(t, fs, dsn, time.Time{}) // Slack's next envelopes go to b
	env.RetryAttempt, env.RetryReason = 1, "timeout"
	if _, err := fs.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	// A later, different event is handled by b; the retry before it was not.
	b.openHome(ctx, "U0BOB")
	n := 0
	for _, c := range fs.Calls("views.publish") {
		if c.Arg("user_id") == "U0ALICE" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("app_home_opened and its retry, at two replicas, published %d times; want 1", n)
	}
}
