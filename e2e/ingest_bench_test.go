package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store/storetest"
)

// resetPeakRSS starts the process's peak resident memory (VmHWM) from now.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's peak resident memory in MB since resetPeakRSS.
func peakRSS() float64 { return float64(procStatusKB("self", "VmHWM")[0]) / 1024 }

// BenchmarkIngestOverListener drives the whole program over its listener
// the way the platform does: concurrent clients POSTing signed events to
// /v1/events, each fsynced before its 202 and then fanned out by delivery.
// The events are the side-by-side script's (comment.reply to no one, so
// no Slack call follows). single: 64 clients, one event a request; batch:
// 16 clients, 100 events a request. One op is one event (a batch request
// carries 100). peak-rss-MB is the whole test process's (the load's share
// included).
func BenchmarkIngestOverListener(b *testing.B) {
	for _, c := range []struct {
		name    string
		clients int
		events  int
		subs    int
		glob    string
		runs    bool // run.failed events with fields, as the subscriptions see
		engine  string
	}{{"single", 64, 1, 0, "", false, ""}, {"batch", 16, 100, 0, "", false, ""},
		// The same on PostgreSQL (a fresh schema of the test server).
		{"single-postgres", 64, 1, 0, "", false, "postgres"}, {"batch-postgres", 16, 100, 0, "", false, "postgres"},
		// The same run.failed events with no subscription, with 1,000 whose
		// first filter is a glob, and with 1,000 whose first is a value.
		{"batch-runs", 16, 100, 0, "", true, ""},
		{"batch-1000-subscriptions", 16, 100, 1000, "*", true, ""}, {"batch-1000-literal-subscriptions", 16, 100, 1000, "", true, ""}} {
		b.Run(c.name, func(b *testing.B) {
			fs := newFake(b, fakeslack.Options{Users: benchUsers(1)})
			db := filepath.Join(b.TempDir(), "bench.db")
			if c.engine == "postgres" {
				db = storetest.Postgres(b)
			}
			h := &harness{t: b, slack: fs, db: db, logs: &syncBuffer{}, clock: &testClock{}}
			h.restart()
			// 1,000 subscriptions of run.failed over 200 channels, up to 10
			// filters each, that the events below never match (a match
			// would post to the fake): what is measured is the matching.
			// Their first filter is a glob (project=p12*), or a value
			// (project=p12), which the matcher indexes.
			for i := range c.subs {
				text := "run.failed project=p" + strconv.Itoa(i%37) + c.glob
				for f := range i % 10 {
					text += fmt.Sprintf(" f%d=v%d,w*", f, i%5)
				}
				sub, err := paligo.ParseSubscription(fmt.Sprintf("C%03d", i%200), text)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := h.main.Store().Subscribe(sub); err != nil {
					b.Fatal(err)
				}
			}
			kind, fields := "comment.reply", ""
			if c.runs {
				kind, fields = "run.failed", `,"fields":{"project":"finance","f1":"v1"}`
			}
			requests := max(b.N/c.events, 1)
			resetPeakRSS()
			b.ResetTimer()
			load := driveIngest(b, []string{h.main.Addr()}, c.clients, c.events, requests, kind, fields)
			b.StopTimer()
			b.ReportMetric(load.eventsPerSec, "events/s")
			b.ReportMetric(load.reqPerSec, "req/s")
			b.ReportMetric(load.p99ms, "p99-ms")
			b.ReportMetric(peakRSS(), "peak-rss-MB")
			reportCPU(b, load, "")
			// Everything accepted is stored and fanned out.
			h.waitDelivered(ctxT(b))
			if n, _ := h.main.Store().EventCount(); n != requests*c.events {
				b.Fatalf("%d events stored, want %d", n, requests*c.events)
			}
		})
	}
}

// ingestLoad is what driveIngest measured.
type ingestLoad struct {
	eventsPerSec, reqPerSec, p99ms float64
	// machineUs and selfUs are the CPU microseconds an event of the whole
	// machine and of this process (program and load) over the load; 0
	// where they cannot be read.
	machineUs, selfUs float64
}

// driveIngest POSTs requests signed requests of events events each (of
// kind, with fields: a JSON fragment) from clients concurrent clients, as
// the platform does, client i to the program at addrs[i % len(addrs)], and
// fails b unless every one is answered 202.
func driveIngest(b *testing.B, addrs []string, clients, events, requests int, kind, fields string) ingestLoad {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	body := func(n int64) []byte {
		var evs []string
		for i := range events {
			evs = append(evs, fmt.Sprintf(`{"id":"e%d_%d","type":%q,"subject":{"kind":"topic","id":"t%d","title":"T"}%s}`, n, i, kind, i, fields))
		}
		if events == 1 {
			return []byte(evs[0])
		}
		return []byte("[" + strings.Join(evs, ",") + "]")
	}
	cpu := startCPU()
	lat, elapsed, failed := postConcurrently(client, clients, requests, func(w int, k int64) *http.Request {
		data := body(k + 1)
		req, _ := http.NewRequest("POST", "http://"+addrs[w%len(addrs)]+"/v1/events", bytes.NewReader(data))
		ts := time.Now().Unix()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Signature", signing.Sign([]byte(testIngestSecret), ts, data))
		return req
	})
	if failed > 0 {
		b.Fatalf("%d of %d requests not accepted", failed, requests)
	}
	machine, self := cpu.perEvent(requests * events)
	slices.Sort(lat)
	return ingestLoad{
		eventsPerSec: float64(requests*events) / elapsed.Seconds(),
		reqPerSec:    float64(requests) / elapsed.Seconds(),
		p99ms:        float64(lat[len(lat)*99/100]) / float64(time.Millisecond),
		machineUs:    machine,
		selfUs:       self,
	}
}

// postConcurrently sends n requests from clients concurrent clients taking
// turns: client w sends request(w, k) for each k it takes (0 to n-1), drains
// the answer so its connection is kept, and times it. It returns every
// answered request's latency, the time the whole took, and how many
// requests failed or were answered other than 202.
func postConcurrently(client *http.Client, clients, n int, request func(w int, k int64) *http.Request) (lat []time.Duration, elapsed time.Duration, failed int64) {
	var next, failures atomic.Int64
	lats := make([][]time.Duration, clients)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= int64(n) {
					return
				}
				req := request(w, k)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lats[w] = append(lats[w], time.Since(t0))
				if resp.StatusCode != http.StatusAccepted {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return slices.Concat(lats...), time.Since(start), failures.Load()
}
