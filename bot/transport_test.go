package bot_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/bot"
)

// A crowd of calls keeps its connections: the next crowd finds them open
// rather than dialing (and, with Slack, handshaking TLS) again.
func TestACrowdOfCallsKeepsItsConnections(t *testing.T) {
	var dialed atomic.Int64
	var inside sync.WaitGroup
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside.Done()
		<-release // every call of the crowd is in flight at once
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"url":"https://x.slack.com/","team":"T","user":"bot","team_id":"T1","user_id":"U1"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := bot.NewClient("xoxb-test", "xapp-test", srv.URL+"/api/")
	const crowd = 20
	burst := func() {
		inside.Add(crowd)
		var calls sync.WaitGroup
		for range crowd {
			calls.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := c.AuthTestContext(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		inside.Wait()
		close(release)
		calls.Wait()
		release = make(chan struct{})
	}
	burst()
	if n := dialed.Load(); n != crowd {
		t.Fatalf("the first crowd of %d calls dialed %d connections", crowd, n)
	}
	burst()
	if n := dialed.Load() - crowd; n != 0 {
		t.Errorf("the second crowd dialed %d new connections; want the first crowd's %d reused", n, crowd)
	}
}
