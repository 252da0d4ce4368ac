package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Target is what became of one event for one channel or person.
type Target struct {
	Channel string `json:"channel,omitempty"`
	User    string `json:"user,omitempty"`  // a person by Slack id
	Email   string `json:"email,omitempty"` // a person known only by email
	// Outcome is a receipt's (sent, digest, skipped_…, unmatched,
	// duplicate), or pending (a job waits in the outbox) or failed.
	Outcome string `json:"outcome"`
	TS      string `json:"ts,omitempty"`     // sent: the message
	Thread  string `json:"thread,omitempty"` // sent as a reply: its parent's ts
	DM      string `json:"dm,omitempty"`     // sent to a person: the DM channel
	Reason  string `json:"reason,omitempty"` // failed: Slack's reason
	// Digest, for a digest outcome: queued (waiting for the person's
	// digest) or sent (TS and DM are then the digest's message).
	Digest string    `json:"digest,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Trace is what became of one accepted event.
type Trace struct {
	Event paligo.Event
	// FannedOut is false while the event waits for its fan-out (its
	// targets are not known yet).
	FannedOut bool
	Targets   []Target
}

// TraceEvent returns what became of the event with the given id, for every
// channel and person: its receipts, the jobs still in the outbox (pending)
// and on the failed list (failed, with the reason). found is false when no
// event with that id is kept.
func (s eventRecords) TraceEvent(id string) (t Trace, found bool, err error) {
	err = s.db.view(func(tx kvTx) error {
		k := tx.Bucket(bucketEventIDs).Get([]byte(id))
		if k == nil {
			return nil
		}
		v := tx.Bucket(bucketEvents).Get(k)
		if v == nil {
			return nil
		}
		e, err := decodeEvent(k, v)
		if err != nil {
			return err
		}
		found, t.Event = true, e
		if c := tx.Bucket(bucketMeta).Get(keyFanoutCursor); c != nil {
			t.FannedOut = binary.BigEndian.Uint64(c) >= e.Seq
		}
		rc := tx.Bucket(bucketReceipts).Cursor()
		for rk, rv := rc.Seek(k); rk != nil && bytes.HasPrefix(rk, k); rk, rv = rc.Next() {
			var r Receipt
			if err := json.Unmarshal(rv, &r); err != nil {
				return err
			}
			tg := Target{Outcome: string(r.Outcome), TS: r.TS, Thread: r.Thread, At: r.At}
			switch target := string(rk[8:]); {
			case strings.HasPrefix(target, "email:"):
				tg.Email = strings.TrimPrefix(target, "email:")
			case strings.Contains(target, "/"):
				team, user, _ := strings.Cut(target, "/")
				tg.User, tg.DM = user, r.Channel
				if r.Outcome == paligo.Digested {
					if err := digestOf(tx, team, user, e.Seq, &tg); err != nil {
						return err
					}
				}
			default:
				tg.Channel = target
			}
			t.Targets = append(t.Targets, tg)
		}
		job := func(j Job, outcome, reason string, at time.Time) {
			if j.Event != e.Seq || (j.Kind != JobChannel && j.Kind != JobPerson) {
				return
			}
			t.Targets = append(t.Targets, Target{Channel: j.Channel, User: j.User, Email: j.Email, Outcome: outcome, Reason: reason, At: at})
		}
		if err := eachJSON(tx.Bucket(bucketOutbox), func(_ []byte, j Job) error { job(j, "pending", "", time.Time{}); return nil }); err != nil {
			return err
		}
		return eachJSON(tx.Bucket(bucketFailed), func(_ []byte, f FailedJob) error { job(f.Job, "failed", f.Reason, f.At); return nil })
	})
	return t, found, err
}

// digestOf says whether event seq waits in the person's digest queue or
// which digest told of it.
func digestOf(tx kvTx, team, user string, seq uint64, tg *Target) error {
	prefix := digestPrefix(team, user)
	if tx.Bucket(bucketDigest).Get(append(prefix[:len(prefix):len(prefix)], u64(seq)...)) != nil {
		tg.Digest = "queued"
		return nil
	}
	c := tx.Bucket(bucketDigestsSent).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var d SentDigest
		if err := json.Unmarshal(v, &d); err != nil {
			return err
		}
		if slices.Contains(d.Events, seq) {
			tg.Digest, tg.TS, tg.DM, tg.At = "sent", d.TS, d.Channel, d.SentAt
			return nil
		}
	}
	return nil
}
