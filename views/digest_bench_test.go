package views

import (
	"fmt"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// BenchmarkDigest draws one digest of 20 items, as a large workspace's 09:00
// run draws 100,000 of them.
func BenchmarkDigest(b *testing.B) {
	events := make([]paligo.Event, 20)
	for j := range events {
		events[j] = paligo.Event{
			ID: fmt.Sprintf("e%d", j), Type: []paligo.Kind{"comment.reply", "document.created", "review.mention"}[j%3],
			OccurredAt: time.Date(2026, 11, 22, 10, 0, j*7%20, 0, time.UTC),
			Actor:      &paligo.Person{Name: fmt.Sprintf("Writer %d", j%17)},
			Subject:    &paligo.Subject{Kind: "topic", ID: fmt.Sprintf("t%d", j%400), Title: fmt.Sprintf("Topic %d", j%400), URL: fmt.Sprintf("https://paligo.example/t/%d", j%400)},
			Text:       "Looks good, one typo in step 3",
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, blocks, ok := Digest(events, "https://paligo.example/inbox"); !ok || len(blocks) != 22 {
			b.Fatalf("%d blocks", len(blocks))
		}
	}
}
