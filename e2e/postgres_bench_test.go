package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/store/storetest"
)

// BenchmarkPostgresIngestFloors measures ingest on PostgreSQL against
// floors taken by the same benchmark in the same run, so that the
// machine's day cancels out (one op is one event):
//
//   - batch: 16 clients posting 100 events a request through the whole
//     program on PostgreSQL, against a bare pgx insert of the same events
//     (16 clients, one INSERT of 100 rows of id and JSON each, committed
//     as PostgreSQL commits, with its fsync): ratio-to-bare-pgx;
//   - single: 64 clients posting one event a request, on PostgreSQL
//     against the same on bbolt: ratio-to-bbolt;
//   - replicas: the batch load spread over three replicas of the program
//     sharing one database, against one replica taking it all:
//     ratio-3-to-1 (above 1, three take more together than one).
func BenchmarkPostgresIngestFloors(b *testing.B) {
	program := func(b *testing.B, db string, replicas, clients, events int) ingestLoad {
		fs := newFake(b, fakeslack.Options{Users: benchUsers(1)})
		var hs []*harness
		var addrs []string
		for range replicas {
			h := &harness{t: b, slack: fs, db: db, logs: &syncBuffer{}, clock: &testClock{}}
			h.restart()
			hs = append(hs, h)
			addrs = append(addrs, h.main.Addr())
		}
		load := driveIngest(b, addrs, clients, events, max(b.N/events, 1), "comment.reply", "")
		hs[0].waitDelivered(ctxT(b))
		if n, _ := hs[0].main.Store().EventCount(); n != max(b.N/events, 1)*events {
			b.Fatalf("%d events stored, want %d", n, max(b.N/events, 1)*events)
		}
		// Stopped before the next load is measured.
		for _, h := range hs {
			m := h.main
			h.main = nil
			if err := m.Close(); err != nil {
				b.Fatal(err)
			}
		}
		return load
	}
	b.Run("batch", func(b *testing.B) {
		ours := program(b, storetest.Postgres(b), 1, 16, 100)
		bare := barePgxInsert(b, storetest.Postgres(b), 16, 100, max(b.N/100, 1))
		b.ReportMetric(ours.eventsPerSec, "events/s")
		b.ReportMetric(bare, "bare-pgx-events/s")
		b.ReportMetric(ours.eventsPerSec/bare, "ratio-to-bare-pgx")
	})
	b.Run("single", func(b *testing.B) {
		pg := program(b, storetest.Postgres(b), 1, 64, 1)
		bolt := program(b, filepath.Join(b.TempDir(), "bench.db"), 1, 64, 1)
		b.ReportMetric(pg.eventsPerSec, "events/s")
		b.ReportMetric(bolt.eventsPerSec, "bbolt-events/s")
		b.ReportMetric(pg.eventsPerSec/bolt.eventsPerSec, "ratio-to-bbolt")
		b.ReportMetric(pg.p99ms, "p99-ms")
	})
	b.Run("replicas", func(b *testing.B) {
		one := program(b, storetest.Postgres(b), 1, 16, 100)
		three := program(b, storetest.Postgres(b), 3, 16, 100)
		b.ReportMetric(one.eventsPerSec, "1-replica-events/s")
		b.ReportMetric(three.eventsPerSec, "3-replicas-events/s")
		b.ReportMetric(three.eventsPerSec/one.eventsPerSec, "ratio-3-to-1")
	})
}

// barePgxInsert inserts batches batches of size events (the ingest
// benchmark's events: an id and the JSON the platform posts) from clients
// concurrent connections, each batch one INSERT, and returns events/s.
func barePgxInsert(b *testing.B, dsn string, clients, size, batches int) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bare_events (id text COLLATE "C" PRIMARY KEY, body bytea NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	var failed atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			ids, bodies := make([]string, size), make([][]byte, size)
			for {
				n := seq.Add(1)
				if n > int64(batches) {
					return
				}
				for i := range size {
					ids[i] = fmt.Sprintf("e%d_%d", n, i)
					bodies[i] = fmt.Appendf(bodies[i][:0], `{"id":%q,"type":"comment.reply","subject":{"kind":"topic","id":"t%d","title":"T"}}`, ids[i], i)
				}
				if _, err := pool.Exec(ctx, `INSERT INTO bare_events (id, body) SELECT * FROM unnest($1::text[], $2::bytea[])`, ids, bodies); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(batches*size) / time.Since(start).Seconds()
}
