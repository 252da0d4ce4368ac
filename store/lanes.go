package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// A lane (one channel's posts, one person's messages) belongs to one
// replica at a time, so that its messages go in order and at Slack's pace
// whichever replica took the events: the replica that holds a lane's lease
// runs its outbox jobs, and renews the lease while it runs. A replica that
// dies stops renewing; once its leases expire another claims the lanes
// (taken over) and runs what is left of their jobs. On a bbolt file the one
// process holds every lane.

// LaneClaim is what ClaimLanes got.
type LaneClaim struct {
	Granted []string // the lanes this replica now holds
	// TakenOver are those of Granted another replica held until its lease
	// expired.
	TakenOver []string
}

// ClaimLanes claims the lanes no replica holds (or whose lease expired)
// for ttl; the lanes it already holds are renewed. Rows another replica
// is claiming at the same moment are skipped (FOR UPDATE SKIP LOCKED).
func (s outboxRecords) ClaimLanes(lanes []string, ttl time.Duration) (LaneClaim, error) {
	e, ok := s.db.(*pgEngine)
	if !ok || len(lanes) == 0 {
		return LaneClaim{Granted: lanes}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rows, err := e.pool.Query(ctx, `WITH ins AS (
			INSERT INTO paligo_lanes (lane, owner, expires)
			SELECT l, $2, now() + $3 * interval '1 millisecond' FROM unnest($1::text[]) AS l
			ON CONFLICT (lane) DO NOTHING
			RETURNING lane, $2::text AS was
		), free AS (
			SELECT lane, owner FROM paligo_lanes
			WHERE lane = ANY($1::text[]) AND (owner = $2 OR expires < now())
			FOR UPDATE SKIP LOCKED
		), upd AS (
			UPDATE paligo_lanes p SET owner = $2, expires = now() + $3 * interval '1 millisecond'
			FROM free WHERE p.lane = free.lane
			RETURNING p.lane, free.owner AS was
		)
		SELECT lane, was FROM ins UNION ALL SELECT lane, was FROM upd`, lanes, s.replica, ttl.Milliseconds())
	if err != nil {
		return LaneClaim{}, e.scrub(err)
	}
	defer rows.Close()
	var c LaneClaim
	for rows.Next() {
		var lane, was string
		if err := rows.Scan(&lane, &was); err != nil {
			return LaneClaim{}, e.scrub(err)
		}
		c.Granted = append(c.Granted, lane)
		if was != s.replica {
			c.TakenOver = append(c.TakenOver, lane)
		}
	}
	return c, e.scrub(rows.Err())
}

// RenewLanes extends the leases of held for ttl and returns the lanes of
// held this replica no longer holds (another took them after its lease
// expired: this replica was paused, or cut off, too long).
func (s outboxRecords) RenewLanes(held []string, ttl time.Duration) (lost []string, err error) {
	e, ok := s.db.(*pgEngine)
	if !ok || len(held) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	rows, err := e.pool.Query(ctx, `UPDATE paligo_lanes SET expires = now() + $3 * interval '1 millisecond'
		WHERE owner = $2 AND lane = ANY($1::text[]) RETURNING lane`, held, s.replica, ttl.Milliseconds())
	if err != nil {
		return nil, e.scrub(err)
	}
	defer rows.Close()
	kept := map[string]bool{}
	for rows.Next() {
		var lane string
		if err := rows.Scan(&lane); err != nil {
			return nil, e.scrub(err)
		}
		kept[lane] = true
	}
	if err := rows.Err(); err != nil {
		return nil, e.scrub(err)
	}
	for _, l := range held {
		if !kept[l] {
			lost = append(lost, l)
		}
	}
	return lost, nil
}

// ReleaseLanes gives up the leases of lanes this replica has no work for.
func (s outboxRecords) ReleaseLanes(lanes []string) error {
	e, ok := s.db.(*pgEngine)
	if !ok || len(lanes) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	_, err := e.pool.Exec(ctx, "DELETE FROM paligo_lanes WHERE owner = $2 AND lane = ANY($1::text[])", lanes, s.replica)
	return e.scrub(err)
}

// PendingJobsAfter returns up to max jobs of the outbox after seq, oldest
// first (max <= 0: all of them).
func (s outboxRecords) PendingJobsAfter(seq uint64, max int) ([]Job, error) {
	var jobs []Job
	err := s.db.view(func(tx kvTx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(u64(seq + 1)); k != nil && (max <= 0 || len(jobs) < max); k, v = c.Next() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decode job %x: %w", k, err)
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	return jobs, err
}

// StillPending says which of the jobs seqs are still in the outbox: a
// replica that claims a lane runs only those (another may have finished
// one since the outbox was read).
func (s outboxRecords) StillPending(seqs []uint64) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	err := s.db.view(func(tx kvTx) error {
		keys := make([][]byte, len(seqs))
		for i, seq := range seqs {
			keys[i] = u64(seq)
		}
		prefetch(tx, prefetchReq{bucket: bucketOutbox, keys: keys})
		b := tx.Bucket(bucketOutbox)
		for i, k := range keys {
			if b.Get(k) != nil {
				out[seqs[i]] = true
			}
		}
		return nil
	})
	return out, err
}
