package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Kind is an event type from the product contract's table.
type Kind string

// KindInfo is what the product contract says of one kind.
type KindInfo struct {
	Routable bool     // can be sent to channels with /route-alerts
	Category Category // personal category; "" when the kind has none
	Critical bool     // sent at once even to digest users
}

// Kinds is the product contract's event table.
var Kinds = map[Kind]KindInfo{
	"document.created":          {Routable: true, Category: CatFollowing},
	"document.title_changed":    {Routable: true, Category: CatFollowing},
	"assignment.started":        {Routable: true, Category: CatAssignments},
	"release.status_changed":    {Routable: true, Category: CatFollowing},
	"snapshot.created":          {Routable: true, Category: CatFollowing},
	"review.mention":            {Category: CatMentions},
	"comment.reply":             {Category: CatReplies},
	"document.shared":           {Category: CatShares},
	"publication.ready":         {Routable: true, Category: CatPublications},
	"publication.failed":        {Routable: true, Category: CatPublications, Critical: true},
	"assignment.status_changed": {Routable: true, Category: CatAssignments},
	"run.succeeded":             {Routable: true, Category: CatRuns},
	"run.failed":                {Routable: true, Category: CatRuns, Critical: true},
	"system.alert":              {Routable: true, Category: CatAlerts, Critical: true},
	"data.alert":                {Routable: true, Category: CatAlerts, Critical: true},
	"invite.accepted":           {},
}

// RoutableKinds lists the kinds /route-alerts can route, sorted.
func RoutableKinds() []Kind {
	var out []Kind
	for k, info := range Kinds {
		if info.Routable {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Person is someone in Paligo, known by email.
type Person struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Event is one notification from the platform, as accepted by the ingest API.
type Event struct {
	ID         string            `json:"id"`
	Type       Kind              `json:"type"`
	OccurredAt time.Time         `json:"occurred_at"`
	Actor      *Person           `json:"actor,omitempty"`
	Subject    *Subject          `json:"subject,omitempty"`
	Recipients []string          `json:"recipients,omitempty"`
	Text       string            `json:"text,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`

	// Seq is the store's sequence number, set when accepted.
	Seq        uint64    `json:"seq"`
	ReceivedAt time.Time `json:"received_at"`
}

// AcceptResult counts what AcceptEvents did.
type AcceptResult struct {
	Accepted   int
	Duplicates int
}

// AcceptEvents stores the events that are new (by ID) in one transaction,
// which bbolt fsyncs before it returns: an accepted event survives a crash
// right after. An ID seen before, in an earlier call or earlier in the same
// slice, counts as a duplicate and is not stored again. Concurrent callers
// are coalesced into fewer fsyncs with bbolt's Batch.
func (s *Store) AcceptEvents(events []Event) (AcceptResult, error) {
	var res AcceptResult
	now := s.Now().UTC()
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this function again; start from zero each time.
		res = AcceptResult{}
		ids, evs := tx.Bucket(bucketEventIDs), tx.Bucket(bucketEvents)
		for _, e := range events {
			if ids.Get([]byte(e.ID)) != nil {
				res.Duplicates++
				continue
			}
			seq, err := evs.NextSequence()
			if err != nil {
				return err
			}
			e.Seq, e.ReceivedAt = seq, now
			if e.OccurredAt.IsZero() {
				e.OccurredAt = now
			}
			v, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			if err := evs.Put(u64(seq), v); err != nil {
				return err
			}
			if err := ids.Put([]byte(e.ID), u64(seq)); err != nil {
				return err
			}
			if e.Type == "invite.accepted" {
				if err := acceptInvite(tx, e); err != nil {
					return err
				}
			}
			res.Accepted++
		}
		return nil
	})
	if err != nil {
		return AcceptResult{}, fmt.Errorf("store events: %w", err)
	}
	return res, nil
}

// Event returns the accepted event with the given ID.
func (s *Store) Event(id string) (Event, bool, error) {
	var e Event
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		seq := tx.Bucket(bucketEventIDs).Get([]byte(id))
		if seq == nil {
			return nil
		}
		v := tx.Bucket(bucketEvents).Get(seq)
		if v == nil {
			return fmt.Errorf("event %s indexed at %d but missing", id, binary.BigEndian.Uint64(seq))
		}
		found = true
		return json.Unmarshal(v, &e)
	})
	return e, found, err
}

// EventCount returns how many events were ever accepted.
func (s *Store) EventCount() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	return n, err
}
