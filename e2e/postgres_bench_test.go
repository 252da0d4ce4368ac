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
// machine's day cancels out (one op is one event). Each side is measured
// in turn, three rounds, and the medians are reported (sideBySide), with
// what each side cost the machine and this process an event:
//
//   - batch: 16 clients posting 100 events a request through the whole
//     program on PostgreSQL, against a bare pgx insert of the same events
//     (16 clients over pgxpool's default pool, one INSERT of 100 rows of
//     id and JSON each, committed as PostgreSQL commits, with its fsync):
//     ratio-to-bare-pgx;
//   - single: 64 clients posting one event a request, on PostgreSQL
//     against the same on bbolt: ratio-to-bbolt;
//   - replicas: the batch load spread over three replicas of the program
//     sharing one database, against one replica taking it all:
//     ratio-3-to-1 (above 1, three take more together than one).
func BenchmarkPostgresIngestFloors(b *testing.B) {
	// n is how many requests of events events make b.N events.
	n := func(b *testing.B, events int) int { return max(b.N/events, 1) }
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
		load := driveIngest(b, addrs, clients, events, n(b, events), "comment.reply", "")
		hs[0].waitDelivered(ctxT(b))
		if got, _ := hs[0].main.Store().EventCount(); got != n(b, events)*events {
			b.Fatalf("%d events stored, want %d", got, n(b, events)*events)
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
		sideBySide(b, figures{ours: "events/s", floor: "bare-pgx-events/s", ratio: "ratio-to-bare-pgx", floorCPU: "bare-"},
			func() ingestLoad { return program(b, storetest.Postgres(b), 1, 16, 100) },
			func() ingestLoad { return barePgxInsert(b, storetest.Postgres(b), 16, 100, n(b, 100)) })
	})
	b.Run("single", func(b *testing.B) {
		sideBySide(b, figures{ours: "events/s", floor: "bbolt-events/s", ratio: "ratio-to-bbolt", floorCPU: "bbolt-", p99: true},
			func() ingestLoad { return program(b, storetest.Postgres(b), 1, 64, 1) },
			func() ingestLoad { return program(b, filepath.Join(b.TempDir(), "bench.db"), 1, 64, 1) })
	})
	b.Run("replicas", func(b *testing.B) {
		sideBySide(b, figures{ours: "3-replicas-events/s", floor: "1-replica-events/s", ratio: "ratio-3-to-1", oursCPU: "3-replicas-", floorCPU: "1-replica-"},
			func() ingestLoad { return program(b, storetest.Postgres(b), 3, 16, 100) },
			func() ingestLoad { return program(b, storetest.Postgres(b), 1, 16, 100) })
	})
}

// figures names what sideBySide reports: each side's events/s, their
// ratio, the prefixes of each side's CPU figures, and whether ours' p99.
type figures struct {
	ours, floor, ratio string
	oursCPU, floorCPU  string
	p99                bool
}

// sideBySideRounds is how many times sideBySide measures each side.
const sideBySideRounds = 3

// sideBySide measures ours and then its floor, in turn, sideBySideRounds
// times, and reports the median of each figure and of the rounds' ratios:
// what the shared machine does meanwhile moves the two of a round alike,
// and one slow round does not make the figure.
func sideBySide(b *testing.B, names figures, ours, floor func() ingestLoad) {
	var o, f []ingestLoad
	var ratios []float64
	for range sideBySideRounds {
		x, y := ours(), floor()
		o, f = append(o, x), append(f, y)
		ratios = append(ratios, x.eventsPerSec/y.eventsPerSec)
	}
	med := func(ls []ingestLoad, get func(ingestLoad) float64) float64 {
		var v []float64
		for _, l := range ls {
			v = append(v, get(l))
		}
		return median(v)
	}
	b.ReportMetric(med(o, func(l ingestLoad) float64 { return l.eventsPerSec }), names.ours)
	b.ReportMetric(med(f, func(l ingestLoad) float64 { return l.eventsPerSec }), names.floor)
	b.ReportMetric(median(ratios), names.ratio)
	if names.p99 {
		b.ReportMetric(med(o, func(l ingestLoad) float64 { return l.p99ms }), "p99-ms")
	}
	for _, side := range []struct {
		prefix string
		loads  []ingestLoad
	}{{names.oursCPU, o}, {names.floorCPU, f}} {
		reportCPU(b, ingestLoad{
			machineUs: med(side.loads, func(l ingestLoad) float64 { return l.machineUs }),
			selfUs:    med(side.loads, func(l ingestLoad) float64 { return l.selfUs }),
		}, side.prefix)
	}
}

// reportCPU reports what a load cost the machine and this process (the
// program and the load) an event, named with prefix; the difference is
// PostgreSQL's (and anything else the machine ran meanwhile).
func reportCPU(b *testing.B, l ingestLoad, prefix string) {
	if l.machineUs > 0 {
		b.ReportMetric(l.machineUs, prefix+"machine-cpu-us/event")
		b.ReportMetric(l.selfUs, prefix+"process-cpu-us/event")
	}
}

// barePgxInsert inserts batches batches of size events (the ingest
// benchmark's events: an id and the JSON the platform posts) from clients
// concurrent connections, each batch one INSERT, and returns events/s and
// the CPU they took.
func barePgxInsert(b *testing.B, dsn string, clients, size, batches int) ingestLoad {
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
	cpu := startCPU()
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
	elapsed := time.Since(start)
	machine, self := cpu.perEvent(batches * size)
	return ingestLoad{eventsPerSec: float64(batches*size) / elapsed.Seconds(), machineUs: machine, selfUs: self}
}
