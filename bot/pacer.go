package bot

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// reconnectPacer spaces out Socket Mode connections. slack-go reconnects at
// once after every disconnect or dropped socket; when Slack (or a proxy)
// keeps dropping us right after we connect, that becomes a storm of
// apps.connections.open calls, a Tier 1 method. The pacer lets a reconnect
// after a healthy connection through at once, and delays each one after a
// short-lived connection exponentially, up to Max.
type reconnectPacer struct {
	Min    time.Duration // delay after the first short-lived connection
	Max    time.Duration // the cap
	Stable time.Duration // a connection that lasted this long was healthy

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	last   time.Time // when the last connection attempt was let through
	streak int       // short-lived connections in a row
}

func newReconnectPacer() *reconnectPacer {
	return &reconnectPacer{
		// Max stays below the client's 30 s timeout, which the wait counts
		// in (wrap also clamps it to the call's deadline).
		Min: time.Second, Max: 20 * time.Second, Stable: time.Minute,
		now: time.Now, sleep: Sleep,
	}
}

// reserve returns how long the next connection attempt must wait, and books
// it.
func (p *reconnectPacer) reserve() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var d time.Duration
	switch {
	case p.last.IsZero():
	case now.Sub(p.last) >= p.Stable:
		p.streak = 0
	default:
		p.streak++
		d = p.Min << min(p.streak-1, 20)
		if d > p.Max || d <= 0 {
			d = p.Max
		}
		// Up to 20% jitter so that many bots do not reconnect in step.
		d += time.Duration(rand.Int64N(int64(d)/5 + 1))
	}
	p.last = now.Add(d)
	return d
}

// callRoom is the time a paced apps.connections.open call keeps for itself
// within its deadline.
const callRoom = 5 * time.Second

// wrap returns a RoundTripper that paces apps.connections.open calls.
func (p *reconnectPacer) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/apps.connections.open") {
			d := p.reserve()
			// The wait is inside the call's own timeout: a wait that used
			// it all would fail the call, each failure would lengthen the
			// next wait, and the bot would never connect again. It leaves
			// the call time to be made.
			if dl, ok := r.Context().Deadline(); ok {
				d = min(d, max(0, dl.Sub(p.now())-callRoom))
			}
			if err := p.sleep(r.Context(), d); err != nil {
				return nil, err
			}
		}
		return base.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
