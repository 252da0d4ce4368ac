package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store/storetest"
)

// BenchmarkAcceptEvents stores events with the store alone, on each
// engine: 16 callers, 100 events a call, as BenchmarkIngestOverListener's
// batches come, without HTTP, signatures, JSON or fan-out. It is what each
// engine costs the ingest by itself, and so the most the whole program
// could reach on it.
func BenchmarkAcceptEvents(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s := mustOpenAt(b, storetest.DSN(b, engine))
			const callers, per = 16, 100
			calls := max(b.N/per, 1)
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for {
						n := next.Add(1)
						if n > int64(calls) {
							return
						}
						evs := make([]paligo.Event, per)
						for i := range evs {
							evs[i] = paligo.Event{ID: fmt.Sprintf("e%d_%d", n, i), Type: "comment.reply",
								Subject: &paligo.Subject{Kind: "topic", ID: fmt.Sprintf("t%d", i), Title: "T"}}
						}
						res, err := s.AcceptEvents(evs)
						if err != nil || res.Accepted != per {
							b.Errorf("accepted %d of %d: %v", res.Accepted, per, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(calls*per)/time.Since(start).Seconds(), "events/s")
		})
	}
}
