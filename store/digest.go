package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Digests work in three durable steps. Finish(Digested) puts an event in
// the user's digest queue and counts it in the user's DigestState. When a
// digest is due (see DigestDue), QueueDigests writes one JobDigest to the
// outbox naming the queued events, and marks the state so no second job is
// made. Delivery posts it and calls FinishDigest, which, in one
// transaction, takes the events out of the queue, stamps their receipts
// with the digest's ts and records the window as sent.

// JobDigest is a job that sends one user a digest of queued events.
const JobDigest JobKind = "digest"

// DigestUser is one user's digest state, as listed by DigestStates.
type DigestUser struct {
	Team, User string
	State      paligo.DigestState
}

func digestStateKey(team, user string) []byte { return []byte(team + "/" + user) }

func getDigestState(tx kvTx, team, user string) (paligo.DigestState, error) {
	var st paligo.DigestState
	v := tx.Bucket(bucketDigestState).Get(digestStateKey(team, user))
	if v == nil {
		return st, nil
	}
	if err := json.Unmarshal(v, &st); err != nil {
		return st, fmt.Errorf("decode digest state of %s/%s: %w", team, user, err)
	}
	return st, nil
}

func putDigestState(tx kvTx, team, user string, st paligo.DigestState) error {
	return putJSON(tx.Bucket(bucketDigestState), digestStateKey(team, user), st)
}

// queueDigestItem adds event to the user's digest queue (in tx).
func queueDigestItem(tx kvTx, team, user string, event uint64, at time.Time) error {
	b := tx.Bucket(bucketDigest)
	k := append(digestPrefix(team, user), u64(event)...)
	if b.Get(k) != nil {
		return nil
	}
	if err := putJSON(b, k, DigestItem{Event: event, QueuedAt: at}); err != nil {
		return err
	}
	st, err := getDigestState(tx, team, user)
	if err != nil {
		return err
	}
	st.Pending++
	if st.Oldest.IsZero() || at.Before(st.Oldest) {
		st.Oldest = at
	}
	return putDigestState(tx, team, user, st)
}

// DigestState returns the user's digest state.
func (s digestRecords) DigestState(team, user string) (paligo.DigestState, error) {
	var st paligo.DigestState
	err := s.db.view(func(tx kvTx) (err error) {
		st, err = getDigestState(tx, team, user)
		return err
	})
	return st, err
}

// PendingDigest counts the events waiting for the user's next digest (not
// those of a digest already on its way).
func (s digestRecords) PendingDigest(team, user string) (int, error) {
	st, err := s.DigestState(team, user)
	return max(st.Pending-st.InJob, 0), err
}

// DigestCandidates calls fn, with their preferences, for every user of team
// with events queued and no digest job in the outbox: the users a digest
// may be due for. fn runs inside a read transaction: it must be quick.
func (s digestRecords) DigestCandidates(team string, fn func(user string, p paligo.Prefs, st paligo.DigestState) error) error {
	return s.db.view(func(tx kvTx) error {
		prefix := []byte(team + "/")
		c := tx.Bucket(bucketDigestState).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var st paligo.DigestState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode digest state of %s: %w", k, err)
			}
			if st.Pending == 0 || st.Job != 0 {
				continue
			}
			user := string(k[len(prefix):])
			p, err := getPrefs(tx, team, user)
			if err != nil {
				return err
			}
			if err := fn(user, p, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// DigestRequest asks QueueDigests for one user's digest.
type DigestRequest struct {
	User   string
	Window time.Time // the window it is sent for
	Reason string
	// Due, if set, is asked again inside the transaction with the user's
	// current preferences and state; false skips the user (they changed
	// their mind, or a digest was queued meanwhile).
	Due func(p paligo.Prefs, st paligo.DigestState) bool
}

// QueueDigests writes, in one transaction, a digest job for each request
// whose user still has events queued and no digest job waiting. The job
// names the events queued now; later ones wait for the next digest.
func (s digestRecords) QueueDigests(team string, reqs []DigestRequest) ([]Job, error) {
	var jobs []Job
	err := s.update(func(tx kvTx) error {
		jobs = jobs[:0]
		out, items := tx.Bucket(bucketOutbox), tx.Bucket(bucketDigest)
		for _, r := range reqs {
			st, err := getDigestState(tx, team, r.User)
			if err != nil {
				return err
			}
			if st.Pending == 0 || st.Job != 0 {
				continue
			}
			if r.Due != nil {
				p, err := getPrefs(tx, team, r.User)
				if err != nil {
					return err
				}
				if !r.Due(p, st) {
					continue
				}
			}
			job := Job{Team: s.Scope(team), Kind: JobDigest, User: r.User, Window: r.Window.UTC(), Reason: r.Reason}
			prefix := digestPrefix(team, r.User)
			c := items.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				job.Items = append(job.Items, binary.BigEndian.Uint64(k[len(prefix):]))
			}
			if len(job.Items) == 0 {
				continue // the count was wrong; FinishDigest will mend it
			}
			if job.Seq, err = out.NextSequence(); err != nil {
				return err
			}
			if err := putJSON(out, u64(job.Seq), job); err != nil {
				return err
			}
			st.Job, st.InJob = job.Seq, len(job.Items)
			if err := putDigestState(tx, team, r.User, st); err != nil {
				return err
			}
			jobs = append(jobs, job)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue digests: %w", err)
	}
	return jobs, nil
}

// DigestJob is what a digest job needs: its events still queued (a
// digest with none is not sent) and the person's DM channel, when known.
type DigestJob struct {
	Events []paligo.Event
	DM     string
}

// ReadDigestJob reads, in one transaction, what digest job j of team
// needs: the events of j that are still queued for its user (another
// digest may have taken some), oldest first, and the user's DM channel.
func (s digestRecords) ReadDigestJob(team string, j Job) (DigestJob, error) {
	var r DigestJob
	err := s.db.view(func(tx kvTx) (err error) {
		evs := tx.Bucket(bucketEvents)
		r.Events = make([]paligo.Event, 0, len(j.Items))
		err = stillQueued(tx.Bucket(bucketDigest), digestPrefix(team, j.User), j.Items, func(seq uint64, _ []byte) error {
			if e, ok := s.events.get(seq); ok {
				r.Events = append(r.Events, e)
				return nil
			}
			v := evs.Get(u64(seq))
			if v == nil {
				return fmt.Errorf("event %d not found", seq)
			}
			e, err := decodeEvent(u64(seq), v)
			if err != nil {
				return err
			}
			s.events.put(seq, e)
			r.Events = append(r.Events, e)
			return nil
		})
		if err != nil {
			return err
		}
		r.DM, _, err = getTxJSON[string](tx.Bucket(bucketSlackCache), Scoped(j.Team, "dm:"+j.User))
		return err
	})
	return r, err
}

// stillQueued calls fn, in order, for each of items (event sequences) that
// is still in the queue under prefix, with its key. A job's items are in
// the queue's order, so one walk of the user's queue finds them all,
// rather than a seek for each; items in any other order are looked up one
// by one.
func stillQueued(queue kvBucket, prefix []byte, items []uint64, fn func(seq uint64, key []byte) error) error {
	if !slices.IsSorted(items) {
		for _, seq := range items {
			k := append(prefix[:len(prefix):len(prefix)], u64(seq)...)
			if queue.Get(k) == nil {
				continue
			}
			if err := fn(seq, k); err != nil {
				return err
			}
		}
		return nil
	}
	c := queue.Cursor()
	i := 0
	for k, _ := c.Seek(prefix); k != nil && i < len(items) && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != len(prefix)+8 {
			continue
		}
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		for i < len(items) && items[i] < seq {
			i++
		}
		if i < len(items) && items[i] == seq {
			if err := fn(seq, k); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

// SentDigest records one digest Slack accepted.
type SentDigest struct {
	Window  time.Time `json:"window"`
	Reason  string    `json:"reason"`
	Channel string    `json:"channel"`
	TS      string    `json:"ts"`
	Events  []uint64  `json:"events"` // what it told of
	SentAt  time.Time `json:"sent_at"`
}

func sentDigestKey(team, user string, seq uint64) []byte {
	return append(digestPrefix(team, user), u64(seq)...)
}

// eventCache keeps recently decoded events (which never change once
// accepted): the digests of one run tell many people of the same events.
type eventCache struct {
	mu sync.Mutex
	m  map[uint64]paligo.Event
}

// eventCacheSize bounds the cache: a large workspace's run tells of tens of
// thousands of distinct events (100,000 users x 20 items over 20,000
// events: with 8,192 the cache thrashed and the run took 17-21 s instead
// of 15); decoded, 32,768 events are some 20 MB.
const eventCacheSize = 32768

func (c *eventCache) get(seq uint64) (paligo.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[seq]
	return e, ok
}

func (c *eventCache) put(seq uint64, e paligo.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[uint64]paligo.Event)
	}
	if len(c.m) >= eventCacheSize {
		for k := range c.m { // evict one, at random
			delete(c.m, k)
			break
		}
	}
	c.m[seq] = e
}

// FinishDigest ends digest job j once Slack accepted it at channel and ts
// (both empty when nothing was left to send): in one transaction the job
// leaves the outbox, its events leave the queue, and the digest is
// recorded (SentDigests) with its window, so that window is never sent
// again. The events' receipts keep saying "digest"; the record says which
// message told of them.
func (s digestRecords) FinishDigest(team string, j Job, channel, ts string) error {
	now := s.Now().UTC()
	return s.batch(func(tx kvTx) error {
		if err := takeJob(tx, j.Seq); err != nil {
			return err
		}
		items := tx.Bucket(bucketDigest)
		prefix := digestPrefix(team, j.User)
		told := make([]uint64, 0, len(j.Items))
		if err := stillQueued(items, prefix, j.Items, func(seq uint64, _ []byte) error {
			told = append(told, seq)
			return nil
		}); err != nil {
			return err
		}
		// Deleted after the walk: a cursor's Delete moves what its Next finds.
		for _, seq := range told {
			if err := items.Delete(append(prefix[:len(prefix):len(prefix)], u64(seq)...)); err != nil {
				return err
			}
		}
		st, err := getDigestState(tx, team, j.User)
		if err != nil {
			return err
		}
		if err := recount(tx, team, j.User, &st); err != nil {
			return err
		}
		if st.Job == j.Seq {
			st.Job, st.InJob = 0, 0
		}
		if channel != "" {
			if err := rememberDM(tx, j.Team, j.User, channel); err != nil {
				return err
			}
			if j.Window.After(st.LastWindow) {
				st.LastWindow = j.Window
			}
			st.LastSentAt, st.LastChannel, st.LastTS = now, channel, ts
			rec := SentDigest{Window: j.Window, Reason: j.Reason, Channel: channel, TS: ts, Events: told, SentAt: now}
			if err := putJSON(tx.Bucket(bucketDigestsSent), sentDigestKey(team, j.User, j.Seq), rec); err != nil {
				return err
			}
		}
		return putDigestState(tx, team, j.User, st)
	})
}

// SentDigests lists the digests the user was sent, oldest first.
func (s digestRecords) SentDigests(team, user string) ([]SentDigest, error) {
	var out []SentDigest
	err := s.db.view(func(tx kvTx) error {
		prefix := digestPrefix(team, user)
		c := tx.Bucket(bucketDigestsSent).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var d SentDigest
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// recount sets st's Pending and Oldest from the user's queue.
func recount(tx kvTx, team, user string, st *paligo.DigestState) error {
	st.Pending, st.Oldest = 0, time.Time{}
	prefix := digestPrefix(team, user)
	c := tx.Bucket(bucketDigest).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var it DigestItem
		if err := json.Unmarshal(v, &it); err != nil {
			return err
		}
		st.Pending++
		if st.Oldest.IsZero() || it.QueuedAt.Before(st.Oldest) {
			st.Oldest = it.QueuedAt
		}
	}
	return nil
}

// releaseDigestJob clears the user's digest job mark if it is seq (in tx),
// so the next window can try again.
func releaseDigestJob(tx kvTx, team, user string, seq uint64) error {
	st, err := getDigestState(tx, team, user)
	if err != nil || st.Job != seq {
		return err
	}
	st.Job, st.InJob = 0, 0
	return putDigestState(tx, team, user, st)
}

// UserTZ is what the bot remembers of a user's Slack time zone.
type UserTZ struct {
	TZ        string    `json:"tz"`         // IANA name, e.g. "Asia/Kolkata"
	Offset    int       `json:"offset"`     // seconds east of UTC, if TZ is unknown here
	CheckedAt time.Time `json:"checked_at"` // when users.info said so
}

// zones caches loaded time zones by name: time.LoadLocation reads and
// parses the zone file on every call.
var zones sync.Map // string -> *time.Location

// Location is the zone, falling back to the fixed offset Slack gave when
// the name is not in the time zone database.
func (z UserTZ) Location() *time.Location {
	if z.TZ != "" {
		if loc, ok := zones.Load(z.TZ); ok {
			return loc.(*time.Location)
		}
		if loc, err := time.LoadLocation(z.TZ); err == nil {
			zones.Store(z.TZ, loc)
			return loc
		}
	}
	if z.Offset != 0 {
		return time.FixedZone(z.TZ, z.Offset)
	}
	return time.UTC
}

// CachedTZ returns the user's time zone as last read from users.info.
func (s directoryRecords) CachedTZ(scope, user string) (UserTZ, bool, error) {
	return getJSON[UserTZ](s.Store, bucketSlackCache, Scoped(scope, "tz:"+user))
}

// CacheTZ remembers the user's time zone.
func (s directoryRecords) CacheTZ(scope, user string, z UserTZ) error {
	if z.CheckedAt.IsZero() {
		z.CheckedAt = s.Now().UTC()
	}
	return s.batch(func(tx kvTx) error {
		return putJSON(tx.Bucket(bucketSlackCache), Scoped(scope, "tz:"+user), z)
	})
}

// DigestSeed is one user's events to queue with QueueDigestItems.
type DigestSeed struct {
	User   string
	Events []uint64 // seqs of accepted events
}

// QueueDigestItems queues accepted events for users' digests directly, as
// if delivery had decided "digest" for each, in one transaction: for
// imports, the demo workspace and benchmarks. Receipts are written as
// delivery would.
func (s digestRecords) QueueDigestItems(team string, at time.Time, seeds []DigestSeed) error {
	return s.update(func(tx kvTx) error {
		rb := tx.Bucket(bucketReceipts)
		for _, sd := range seeds {
			for _, seq := range sd.Events {
				if tx.Bucket(bucketEvents).Get(u64(seq)) == nil {
					return fmt.Errorf("event %d not found", seq)
				}
				if err := queueDigestItem(tx, team, sd.User, seq, at); err != nil {
					return err
				}
				r := Receipt{Outcome: paligo.Digested, User: sd.User, At: at.UTC()}
				if err := putJSON(rb, receiptKey(seq, team+"/"+sd.User), r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
