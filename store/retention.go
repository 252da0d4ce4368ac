package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Retention: what has settled is removed once it is older than the
// retention period, so that the file stops growing with time.
//
//   - An event received before the cutoff goes, with its id in the
//     idempotency index and its receipts, once it has been fanned out and
//     nothing still needs it: no job in the outbox or on the failed list
//     names it, and it is in no one's digest queue. Its id is free again
//     after that: the platform's retries come within minutes, not weeks.
//   - A digest sent before the cutoff leaves the record of digests sent
//     (the digest state keeps the last window, so none is sent twice).
//   - An invitation that expired or failed before the cutoff goes, and
//     with it the latest-invitation entry of its email if it was that;
//     an accepted one stays (one per person, not per day: it is what says
//     "already accepted"). An invite run created before the cutoff goes
//     when no job in the outbox or on the failed list is one of its own.
//   - An unmatched email not seen since the cutoff leaves the admins' list.
//   - A mute that ended before the cutoff goes.
//
// Each write transaction removes at most PruneOptions.Batch records, so a
// pass never holds the single writer for long: ingest commits in between.

// PruneOptions bound one pass.
type PruneOptions struct {
	// Batch is the most records one transaction removes (0:
	// DefaultPruneBatch).
	Batch int
	// Pause is how long to wait between transactions (0:
	// DefaultPrunePause; negative: none), leaving the writer to others.
	Pause time.Duration
}

// The defaults of a pass: a transaction removes at most DefaultPruneBatch
// records (about a millisecond of the writer) and the next one waits
// DefaultPrunePause, in which ingest commits. With 256 and no pause, ingest
// p99 during a pass was 2.2-2.6 times that without one
// (BenchmarkRetention90Days); a pass removes some 10,000 records a second.
const (
	DefaultPruneBatch = 64
	DefaultPrunePause = 5 * time.Millisecond
)

// PruneResult counts what one pass removed.
type PruneResult struct {
	Events, Receipts, DigestsSent, Invites, InviteRuns, Unmatched, Mutes int
	// Living counts living messages, with their keys, whose last event
	// came before the cutoff.
	Living int
	// Kept counts the events past the cutoff that were kept because
	// something still needs them.
	Kept int
	Txs  int
}

// Removed is the number of records removed.
func (r PruneResult) Removed() int {
	return r.Events + r.Receipts + r.DigestsSent + r.Invites + r.InviteRuns + r.Unmatched + r.Mutes + r.Living
}

// Prune removes what settled before cutoff, in small transactions; it stops
// early, with what it did so far, when ctx is done.
func (s *Store) Prune(ctx context.Context, cutoff time.Time, opts PruneOptions) (PruneResult, error) {
	if opts.Batch <= 0 {
		opts.Batch = DefaultPruneBatch
	}
	if opts.Pause == 0 {
		opts.Pause = DefaultPrunePause
	}
	var r PruneResult
	pinned, cursor, runs, err := s.pinned()
	if err != nil {
		return r, err
	}
	steps := []func(tx kvTx, from []byte, budget int) ([]byte, error){
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneEvents(tx, from, budget, cutoff, cursor, pinned, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneDigestsSent(tx, from, budget, cutoff, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return s.pruneInvites(tx, from, budget, cutoff, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneInviteRuns(tx, from, budget, cutoff, runs, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneUnmatched(tx, from, budget, cutoff, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return s.pruneMutes(tx, from, budget, cutoff, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneLiving(tx, from, budget, cutoff, &r)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneLivingKeys(tx, from, budget)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneOAuthStates(tx, from, budget, cutoff)
		},
		func(tx kvTx, from []byte, budget int) ([]byte, error) {
			return pruneSeenEvents(tx, from, budget, s.Now().Add(-seenFor))
		},
	}
	for _, step := range steps {
		var from []byte
		for {
			if err := ctx.Err(); err != nil {
				return r, nil
			}
			var next []byte
			if err := s.update(func(tx kvTx) (err error) {
				next, err = step(tx, from, opts.Batch)
				return err
			}); err != nil {
				return r, fmt.Errorf("retention: %w", err)
			}
			r.Txs++
			if next == nil {
				break
			}
			from = next
			if opts.Pause > 0 {
				select {
				case <-ctx.Done():
					return r, nil
				case <-time.After(opts.Pause):
				}
			}
		}
	}
	return r, nil
}

// pinned reads, in one transaction, the events something still needs (the
// jobs in the outbox and on the failed list, the digest queues), the
// fan-out cursor at that moment (an event fanned out later may have jobs
// this read did not see) and the invite runs with jobs.
func (s *Store) pinned() (events map[uint64]bool, cursor uint64, runs map[uint64]bool, err error) {
	events, runs = map[uint64]bool{}, map[uint64]bool{}
	pin := func(j Job) {
		events[j.Event] = true
		for _, seq := range j.Items {
			events[seq] = true
		}
		if j.Run != 0 {
			runs[j.Run] = true
		}
	}
	err = s.db.view(func(tx kvTx) error {
		if v := tx.Bucket(bucketMeta).Get(keyFanoutCursor); v != nil {
			cursor = binary.BigEndian.Uint64(v)
		}
		if err := eachJSON(tx.Bucket(bucketOutbox), func(_ []byte, j Job) error { pin(j); return nil }); err != nil {
			return err
		}
		if err := eachJSON(tx.Bucket(bucketFailed), func(_ []byte, f FailedJob) error { pin(f.Job); return nil }); err != nil {
			return err
		}
		// A queued item's key ends with the event's sequence.
		return tx.Bucket(bucketDigest).ForEach(func(k, _ []byte) error {
			if len(k) >= 8 {
				events[binary.BigEndian.Uint64(k[len(k)-8:])] = true
			}
			return nil
		})
	})
	return events, cursor, runs, err
}

// scanLimit bounds the records one transaction reads to scanLimit times
// the records it may remove: a long run of records that stay (failed jobs'
// events, accepted invitations) is read over several transactions too.
const scanLimit = 8

// Each prune step removes at most budget records from the key from on and
// returns the key to go on from, or nil when it has reached the end.

func pruneEvents(tx kvTx, from []byte, budget int, cutoff time.Time, cursor uint64, pinned map[uint64]bool, r *PruneResult) ([]byte, error) {
	evs, ids, receipts, urls := tx.Bucket(bucketEvents), tx.Bucket(bucketEventIDs), tx.Bucket(bucketReceipts), tx.Bucket(bucketSubjectURLs)
	type doomed struct {
		key, id  []byte
		receipts [][]byte
		url      []byte // its subject URL's index entry, when it is still the latest
	}
	var list []doomed
	n, scanned := 0, 0
	var next []byte
	c := evs.Cursor()
	k, v := c.First()
	if from != nil {
		k, v = c.Seek(from)
	}
	for ; k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if seq > cursor {
			break // not fanned out when the pass began
		}
		var e struct {
			ID         string          `json:"id"`
			Team       string          `json:"team"`
			Subject    *paligo.Subject `json:"subject"`
			ReceivedAt time.Time       `json:"received_at"`
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", seq, err)
		}
		if !e.ReceivedAt.Before(cutoff) {
			break // events are in arrival order: the rest are newer
		}
		if n >= budget || scanned >= scanLimit*budget {
			next = bytes.Clone(k)
			break
		}
		scanned++
		if pinned[seq] {
			r.Kept++
			continue
		}
		d := doomed{key: bytes.Clone(k)}
		if at := ids.Get([]byte(e.ID)); at != nil && binary.BigEndian.Uint64(at) == seq {
			d.id = []byte(e.ID)
		}
		if e.Subject != nil && e.Subject.URL != "" {
			k := subjectURLKey(e.Team, e.Subject.URL)
			if at := urls.Get(k); at != nil && binary.BigEndian.Uint64(at) == seq {
				d.url = k
			}
		}
		// Its receipts: the event's sequence is their prefix.
		rc := receipts.Cursor()
		for rk, _ := rc.Seek(d.key); rk != nil && bytes.HasPrefix(rk, d.key); rk, _ = rc.Next() {
			d.receipts = append(d.receipts, bytes.Clone(rk))
		}
		list = append(list, d)
		n += 1 + len(d.receipts)
	}
	// Deleted after the scan: a bbolt cursor that deletes as it walks can
	// step over keys.
	for _, d := range list {
		for _, rk := range d.receipts {
			if err := receipts.Delete(rk); err != nil {
				return nil, err
			}
		}
		if d.id != nil {
			if err := ids.Delete(d.id); err != nil {
				return nil, err
			}
		}
		if d.url != nil {
			if err := urls.Delete(d.url); err != nil {
				return nil, err
			}
		}
		if err := evs.Delete(d.key); err != nil {
			return nil, err
		}
		r.Events++
		r.Receipts += len(d.receipts)
	}
	return next, nil
}

func pruneDigestsSent(tx kvTx, from []byte, budget int, cutoff time.Time, r *PruneResult) ([]byte, error) {
	return pruneWhere(tx.Bucket(bucketDigestsSent), from, budget, &r.DigestsSent, func(_, v []byte) (bool, error) {
		var d struct {
			SentAt time.Time `json:"sent_at"`
		}
		err := json.Unmarshal(v, &d)
		return err == nil && d.SentAt.Before(cutoff), err
	})
}

func (s *Store) pruneInvites(tx kvTx, from []byte, budget int, cutoff time.Time, r *PruneResult) ([]byte, error) {
	emails := tx.Bucket(bucketInviteEmails)
	return pruneWhere(tx.Bucket(bucketInvites), from, budget, &r.Invites, func(k, v []byte) (bool, error) {
		var inv paligo.Invite
		if err := json.Unmarshal(v, &inv); err != nil {
			return false, err
		}
		var ended time.Time
		switch inv.State(cutoff) {
		case paligo.InviteExpired:
			ended = inv.Expires
		case paligo.InviteFailed:
			ended = inv.Created
		default:
			return false, nil
		}
		if !ended.Before(cutoff) {
			return false, nil
		}
		key := Scoped(s.Scope(inv.Team), inv.Email)
		if at := emails.Get(key); at != nil && bytes.Equal(at, k) {
			if err := emails.Delete(key); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

func pruneInviteRuns(tx kvTx, from []byte, budget int, cutoff time.Time, withJobs map[uint64]bool, r *PruneResult) ([]byte, error) {
	return pruneWhere(tx.Bucket(bucketInviteRuns), from, budget, &r.InviteRuns, func(k, v []byte) (bool, error) {
		if withJobs[binary.BigEndian.Uint64(k)] {
			return false, nil
		}
		var run struct {
			Created time.Time `json:"created"`
		}
		err := json.Unmarshal(v, &run)
		return err == nil && run.Created.Before(cutoff), err
	})
}

func pruneUnmatched(tx kvTx, from []byte, budget int, cutoff time.Time, r *PruneResult) ([]byte, error) {
	return pruneWhere(tx.Bucket(bucketUnmatched), from, budget, &r.Unmatched, func(_, v []byte) (bool, error) {
		var u paligo.UnmatchedEmail
		err := json.Unmarshal(v, &u)
		return err == nil && u.LastAt.Before(cutoff), err
	})
}

// pruneMutes removes the mutes that ended before cutoff; the fan-out's
// cache of them is emptied in the same transaction.
func (s *Store) pruneMutes(tx kvTx, from []byte, budget int, cutoff time.Time, r *PruneResult) ([]byte, error) {
	before := r.Mutes
	next, err := pruneWhere(tx.Bucket(bucketMutes), from, budget, &r.Mutes, func(_, v []byte) (bool, error) {
		var m paligo.Mute
		err := json.Unmarshal(v, &m)
		return err == nil && !m.Until.IsZero() && m.Until.Before(cutoff), err
	})
	if r.Mutes > before {
		s.subsCache.invalidate()
	}
	return next, err
}

// pruneLiving removes the living messages whose last event came before
// cutoff and that wait for no update (their buttons then answer that the
// message is too old to act on).
func pruneLiving(tx kvTx, from []byte, budget int, cutoff time.Time, r *PruneResult) ([]byte, error) {
	out := tx.Bucket(bucketOutbox)
	return pruneWhere(tx.Bucket(bucketLiving), from, budget, &r.Living, func(_, v []byte) (bool, error) {
		var l paligo.Living
		err := json.Unmarshal(v, &l)
		return err == nil && l.LastAt.Before(cutoff) && (l.UpdateJob == 0 || out.Get(u64(l.UpdateJob)) == nil), err
	})
}

// pruneLivingKeys removes the thread keys and parent ts's of living
// messages that are gone.
func pruneLivingKeys(tx kvTx, from []byte, budget int) ([]byte, error) {
	living := tx.Bucket(bucketLiving)
	var n int
	return pruneWhere(tx.Bucket(bucketLivingKeys), from, budget, &n, func(_, id []byte) (bool, error) {
		return living.Get(id) == nil, nil
	})
}

// pruneOAuthStates removes Connect flows that were never finished (their
// state expired long before cutoff).
func pruneOAuthStates(tx kvTx, from []byte, budget int, cutoff time.Time) ([]byte, error) {
	var n int
	return pruneWhere(tx.Bucket(bucketOAuthStates), from, budget, &n, func(_, v []byte) (bool, error) {
		var st paligo.OAuthState
		err := json.Unmarshal(v, &st)
		return err == nil && st.Expires.Before(cutoff), err
	})
}

// pruneSeenEvents forgets the Events API event ids taken before since.
func pruneSeenEvents(tx kvTx, from []byte, budget int, since time.Time) ([]byte, error) {
	var n int
	return pruneWhere(tx.Bucket(bucketSeenEvents), from, budget, &n, func(_, v []byte) (bool, error) {
		return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < since.Unix(), nil
	})
}

// pruneWhere deletes the keys of b from from on for which old says so, at
// most budget of them, counting them in n.
func pruneWhere(b kvBucket, from []byte, budget int, n *int, old func(k, v []byte) (bool, error)) ([]byte, error) {
	var doomed [][]byte
	c := b.Cursor()
	k, v := c.First()
	if from != nil {
		k, v = c.Seek(from)
	}
	var next []byte
	for scanned := 0; k != nil; k, v = c.Next() {
		if len(doomed) == budget || scanned == scanLimit*budget {
			next = bytes.Clone(k)
			break
		}
		scanned++
		ok, err := old(k, v)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", k, err)
		}
		if ok {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	*n += len(doomed)
	return next, nil
}

// Retention runs Prune now and then, in the background.
type Retention struct {
	Store *Store
	// Keep is the retention period.
	Keep time.Duration
	// Every is the time between passes (0: an hour). The first pass runs
	// a minute after Run starts (or at once when Every is shorter).
	// Negative: no passes of its own, only RunOnce's (benchmarks).
	Every   time.Duration
	Options PruneOptions
	Log     *slog.Logger
	// Passed, if set, is told of each pass.
	Passed func(PruneResult, error)
}

// Run prunes until ctx is done.
func (r *Retention) Run(ctx context.Context) error {
	every := r.Every
	if every < 0 {
		<-ctx.Done()
		return nil
	}
	if every == 0 {
		every = time.Hour
	}
	t := time.NewTimer(min(every, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.RunOnce(ctx)
		t.Reset(every)
	}
}

// RunOnce makes one pass with the cutoff Keep before the store's clock.
func (r *Retention) RunOnce(ctx context.Context) (PruneResult, error) {
	start := time.Now()
	res, err := r.Store.Prune(ctx, r.Store.Now().Add(-r.Keep), r.Options)
	if r.Log != nil {
		if err != nil {
			r.Log.Error("retention pass", "err", err, "removed", res.Removed())
		} else if res.Removed() > 0 {
			r.Log.Info("retention pass", "events", res.Events, "receipts", res.Receipts, "digests_sent", res.DigestsSent,
				"invites", res.Invites, "invite_runs", res.InviteRuns, "unmatched", res.Unmatched, "mutes", res.Mutes, "living", res.Living, "kept", res.Kept,
				"txs", res.Txs, "took", time.Since(start).Round(time.Millisecond).String())
		}
	}
	if r.Passed != nil {
		r.Passed(res, err)
	}
	return res, err
}
