package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIngest posts signed events over real HTTP from 64 concurrent
// clients to the handler with a real bbolt store (fsync per commit,
// coalesced by Batch). One op is one request.
func BenchmarkIngest(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			h, _ := newIngest(b)
			h.Keys.Now = time.Now
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var seq atomic.Int64
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			b.SetParallelism(32) // 2 cores × 32 = 64 clients
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var buf bytes.Buffer
				for pb.Next() {
					buf.Reset()
					buf.WriteByte('[')
					for i := range batch {
						if i > 0 {
							buf.WriteByte(',')
						}
						fmt.Fprintf(&buf, `{"id":"e%d","type":"run.failed","recipients":["a@example.com"],"text":"x"}`, seq.Add(1))
					}
					buf.WriteByte(']')
					body := buf.Bytes()
					ts := time.Now().Unix()
					req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Signature-Timestamp", fmt.Sprint(ts))
					req.Header.Set("X-Signature", signFor(ts, body))
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					// Drained, so the connection is kept alive as a real
					// client's would be.
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					d := time.Since(t0)
					if resp.StatusCode != 202 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat)*batch)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(lat[len(lat)*99/100])/float64(time.Millisecond), "p99-ms")
			}
		})
	}
}
