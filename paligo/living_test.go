package paligo

import (
	"testing"
	"time"
)

func TestThreadKeyStatusAndLifetime(t *testing.T) {
	s := &Subject{Kind: "schedule", ID: "dbt"}
	for _, c := range []struct {
		e         Event
		key, stat string
	}{
		{Event{Type: "run.failed", Subject: s}, "schedule:dbt", "failed"},
		{Event{Type: "run.succeeded", Subject: s, Thread: "run-7"}, "thread:run-7", "succeeded"},
		{Event{Type: "publication.ready"}, "", "ready"},
		{Event{Type: "data.alert", Subject: s}, "schedule:dbt", "alerting"},
		{Event{Type: "release.status_changed", Subject: s, Fields: map[string]string{"status": " Published "}}, "schedule:dbt", "published"},
		{Event{Type: "document.created", Subject: s}, "schedule:dbt", ""},
	} {
		if k := ThreadKey(&c.e); k != c.key {
			t.Errorf("%s: key %q, want %q", c.e.Type, k, c.key)
		}
		if st := Status(&c.e); st != c.stat {
			t.Errorf("%s: status %q, want %q", c.e.Type, st, c.stat)
		}
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	l := Living{StartedAt: t0}
	if !l.Open(t0.Add(ThreadLifetime-time.Second)) || l.Open(t0.Add(ThreadLifetime)) {
		t.Error("a thread is open for 24 hours from its parent, and no longer")
	}
	if alone := (Living{StartedAt: t0, Alone: true}); alone.Open(t0) {
		t.Error("a post alone took a reply")
	}
}
