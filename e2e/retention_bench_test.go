package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
)

// BenchmarkRetention90Days streams events into the whole program over its
// listener for a simulated 90 days (the program's clock moves a day at a
// time; 16 clients, one event a request, a tenth of them to one of 50
// strangers so that receipts pile up too), with the default 30-day
// retention and the program's pass settings. From day 31 on, every other
// day a removal pass (two days' worth) runs while that day's events come
// in. It reports the file's size at days 30, 60 and 90 (it must level
// off), and the ingest p99 of the requests made while a pass ran against
// that of the requests on the days between, when none did (within 1.2x).
func BenchmarkRetention90Days(b *testing.B) {
	const days, perDay, clients = 90, 1500, 16
	for range b.N {
		fs := newFake(b, fakeslack.Options{Users: benchUsers(1)})
		t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
		h := &harness{t: b, slack: fs, db: filepath.Join(b.TempDir(), "bench.db"), logs: &syncBuffer{}, clock: &testClock{now: t0},
			retention: store.Retention{Every: -1}}
		h.restart()
		url := "http://" + h.main.Addr() + "/v1/events"
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
		var during, without []time.Duration
		var mu sync.Mutex
		var passing atomic.Bool
		sizes, datas := map[int]float64{}, map[int]float64{}
		var removed int
		for day := range days {
			now := t0.Add(time.Duration(day) * 24 * time.Hour)
			h.clock.Set(now)
			passDone := make(chan store.PruneResult, 1)
			if day >= 30 && day%2 == 1 {
				passing.Store(true)
				go func() {
					res, err := h.main.RetentionLoop().RunOnce(context.Background())
					passing.Store(false)
					if err != nil {
						b.Error(err)
					}
					passDone <- res
				}()
			} else {
				passDone <- store.PruneResult{}
			}
			var seq, failed atomic.Int64
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for {
						n := seq.Add(1)
						if n > perDay {
							return
						}
						to := ""
						if n%10 == 0 {
							to = fmt.Sprintf(`,"recipients":["stranger%d@example.com"]`, n%50)
						}
						data := fmt.Appendf(nil, `{"id":"d%d-%d","type":"comment.reply","subject":{"kind":"topic","id":"t%d","title":"A topic"}%s}`, day, n, n%100, to)
						req, _ := http.NewRequest("POST", url, bytes.NewReader(data))
						ts := now.Unix()
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("X-Signature-Timestamp", strconv.FormatInt(ts, 10))
						req.Header.Set("X-Signature", signing.Sign([]byte(testIngestSecret), ts, data))
						inPass := passing.Load()
						start := time.Now()
						resp, err := client.Do(req)
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						d := time.Since(start)
						if resp.StatusCode != http.StatusAccepted {
							failed.Add(1)
						}
						if inPass && passing.Load() {
							mu.Lock()
							during = append(during, d)
							mu.Unlock()
						} else if !inPass && day >= 30 {
							mu.Lock()
							without = append(without, d)
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			if f := failed.Load(); f > 0 {
				b.Fatalf("day %d: %d requests not accepted", day, f)
			}
			removed += (<-passDone).Events
			h.waitDelivered(ctxT(b))
			if d := day + 1; d%30 == 0 {
				size, data, err := h.main.Store().FileSize()
				if err != nil {
					b.Fatal(err)
				}
				sizes[d], datas[d] = float64(size)/(1<<20), float64(data)/(1<<20)
			}
		}
		kept, _ := h.main.Store().EventCount()
		if want := 30 * perDay; kept < want || kept > want+perDay {
			b.Fatalf("%d events kept after 90 days, want 30 days' worth (%d)", kept, want)
		}
		if len(during) < 100 {
			b.Fatalf("only %d requests were made during a pass: too few for a p99", len(during))
		}
		p99 := func(d []time.Duration) float64 {
			slices.Sort(d)
			return float64(d[len(d)*99/100]) / float64(time.Millisecond)
		}
		pd, pw := p99(during), p99(without)
		b.ReportMetric(sizes[30], "file-MB-day30")
		b.ReportMetric(sizes[60], "file-MB-day60")
		b.ReportMetric(sizes[90], "file-MB-day90")
		b.ReportMetric(datas[30], "data-MB-day30")
		b.ReportMetric(datas[90], "data-MB-day90")
		b.ReportMetric(pw, "p99-ms-no-pass")
		b.ReportMetric(pd, "p99-ms-in-pass")
		b.ReportMetric(pd/pw, "p99-ratio")
		b.ReportMetric(float64(len(during)), "reqs-in-pass")
		b.ReportMetric(float64(removed), "events-removed")
	}
}
