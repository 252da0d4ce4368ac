package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Living messages (paligo.Living): each parent post's channel, ts, key and
// state, so that a restart keeps the threads. Every change of state bumps
// its Version and, in the same transaction, makes sure one JobParent waits
// in the channel's lane to bring the parent in Slack up to date: replies
// waiting together share one update, and a crash between a reply and its
// update leaves the job that repairs the parent.

var (
	bucketLiving     = []byte("living")      // id -> paligo.Living
	bucketLivingKeys = []byte("living_keys") // channel \x00 key -> id
)

func livingKey(channel, key string) []byte { return []byte(channel + "\x00" + key) }

// postKey indexes a living message by its parent's ts (what a click on it
// carries); \x01 keeps it apart from thread keys.
func postKey(channel, ts string) []byte { return []byte(channel + "\x00\x01" + ts) }

// LivingAt returns the living message whose parent is the message at
// (channel, ts), as a click on it names it.
func (s livingRecords) LivingAt(channel, ts string) (paligo.Living, bool, error) {
	return s.livingIndexed(postKey(channel, ts))
}

// ErrNoLiving means no living message has the id a button carried.
var ErrNoLiving = errors.New("no such living message")

// LivingOf returns the living message of (channel, key) that the next
// event of key joins, if there is one.
func (s livingRecords) LivingOf(channel, key string) (paligo.Living, bool, error) {
	return s.livingIndexed(livingKey(channel, key))
}

// livingIndexed returns the living message whose id the keys bucket holds
// at k.
func (s livingRecords) livingIndexed(k []byte) (paligo.Living, bool, error) {
	var l paligo.Living
	var found bool
	err := s.db.view(func(tx kvTx) (err error) {
		l, found, err = livingByKey(tx, k)
		return err
	})
	return l, found, err
}

// livingByKey is livingIndexed in tx.
func livingByKey(tx kvTx, k []byte) (paligo.Living, bool, error) {
	id := tx.Bucket(bucketLivingKeys).Get(k)
	if id == nil {
		return paligo.Living{}, false, nil
	}
	return getTxJSON[paligo.Living](tx.Bucket(bucketLiving), id)
}

// Living returns the living message with id.
func (s livingRecords) Living(id uint64) (paligo.Living, error) {
	var l paligo.Living
	err := s.db.view(func(tx kvTx) (err error) {
		l, err = getLiving(tx, id)
		return err
	})
	return l, err
}

func getLiving(tx kvTx, id uint64) (paligo.Living, error) {
	l, found, err := getTxJSON[paligo.Living](tx.Bucket(bucketLiving), u64(id))
	if err == nil && !found {
		err = fmt.Errorf("%w: %d", ErrNoLiving, id)
	}
	return l, err
}

// Post says what a channel post was, for FinishPost.
type Post struct {
	// Living is the thread the post replied in (0: the post is a new
	// parent, or stands alone).
	Living uint64
	// Key is the thread key of a new parent; Alone marks a post no other
	// event joins (threads=off, or no key).
	Key   string
	Alone bool
	// Status is the event's (paligo.Status).
	Status string
	// Plain marks a post that is no living message at all (alone, with
	// no button that acts): only its receipt is kept.
	Plain bool
}

// FinishPost ends a channel job that Slack took, in one transaction: the
// receipt, and the living message it started or replied in (with the
// parent's update queued), unless the post is Plain. It returns the living message and any job it
// queued.
func (s livingRecords) FinishPost(job Job, r Receipt, p Post) (paligo.Living, []Job, error) {
	now := s.Now().UTC()
	r.At = now
	var l paligo.Living
	var jobs []Job
	err := s.batch(func(tx kvTx) error {
		jobs = nil
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		if p.Plain {
			return putJSON(tx.Bucket(bucketReceipts), receiptKey(job.Event, job.Channel), r)
		}
		lb := tx.Bucket(bucketLiving)
		if p.Living == 0 {
			id, err := lb.NextSequence()
			if err != nil {
				return err
			}
			l = paligo.Living{ID: id, Team: job.Team, Channel: r.Channel, TS: r.TS, Key: p.Key, Alone: p.Alone,
				StartedAt: now, Event: job.Event, Status: p.Status, Updates: 1, LastAt: now, Version: 1, Shown: 1}
			keys := tx.Bucket(bucketLivingKeys)
			if !p.Alone {
				if err := keys.Put(livingKey(r.Channel, p.Key), u64(id)); err != nil {
					return err
				}
			}
			if err := keys.Put(postKey(r.Channel, r.TS), u64(id)); err != nil {
				return err
			}
		} else {
			var err error
			if l, err = getLiving(tx, p.Living); err != nil {
				return err
			}
			r.Thread = l.TS
			l.Updates++
			l.Event, l.LastAt = job.Event, now
			if p.Status != "" && p.Status != l.Status {
				l.Status = p.Status
				l.AckedBy, l.AckedAt = "", time.Time{} // an acknowledgement is of the state it saw
			}
			if jobs, err = touch(tx, &l, false); err != nil {
				return err
			}
		}
		if err := putJSON(lb, u64(l.ID), l); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketReceipts), receiptKey(job.Event, job.Channel), r)
	})
	return l, jobs, err
}

// touch records a change of l (the caller stores l): a new Version, and a
// JobParent in the channel's lane unless one is waiting already (urgent:
// one is queued ahead of the lane even so, for the person who clicked).
func touch(tx kvTx, l *paligo.Living, urgent bool) ([]Job, error) {
	l.Version++
	return queueUpdate(tx, l, urgent)
}

func queueUpdate(tx kvTx, l *paligo.Living, urgent bool) ([]Job, error) {
	out := tx.Bucket(bucketOutbox)
	if l.UpdateJob != 0 && out.Get(u64(l.UpdateJob)) != nil && !urgent {
		return nil, nil
	}
	seq, err := out.NextSequence()
	if err != nil {
		return nil, err
	}
	j := Job{Seq: seq, Team: l.Team, Event: l.Event, Kind: JobParent, Channel: l.Channel, Living: l.ID, Urgent: urgent}
	if err := putJSON(out, u64(seq), j); err != nil {
		return nil, err
	}
	l.UpdateJob = seq
	return []Job{j}, nil
}

// addJob puts a new job in the outbox.
func addJob(tx kvTx, j Job) (Job, error) {
	out := tx.Bucket(bucketOutbox)
	seq, err := out.NextSequence()
	if err != nil {
		return j, err
	}
	j.Seq = seq
	return j, putJSON(out, u64(seq), j)
}

// addNote queues a reply in l's thread telling note ("" queues none),
// appended to jobs.
func addNote(tx kvTx, l *paligo.Living, note string, jobs []Job) ([]Job, error) {
	if note == "" {
		return jobs, nil
	}
	j, err := addJob(tx, Job{Team: l.Team, Event: l.Event, Kind: JobNote, Channel: l.Channel, Living: l.ID, Note: note})
	return append(jobs, j), err
}

// FinishParentUpdate ends a JobParent: Slack shows version shown of the
// living message, at ts (a new parent's, when the old one could not be
// updated and was replaced; "" when it was updated in place). If the
// living message changed meanwhile, a new JobParent is queued and
// returned.
func (s livingRecords) FinishParentUpdate(job Job, shown uint64, ts string) ([]Job, error) {
	now := s.Now().UTC()
	var jobs []Job
	err := s.batch(func(tx kvTx) error {
		jobs = nil
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		l, err := getLiving(tx, job.Living)
		if err != nil {
			return err
		}
		if ts != "" && ts != l.TS {
			l.TS, l.StartedAt = ts, now
			if err := tx.Bucket(bucketLivingKeys).Put(postKey(l.Channel, ts), u64(l.ID)); err != nil {
				return err
			}
		}
		l.Shown = max(l.Shown, shown)
		if l.UpdateJob == job.Seq {
			l.UpdateJob = 0
		}
		if l.Shown < l.Version && l.UpdateJob == 0 {
			if jobs, err = queueUpdate(tx, &l, false); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketLiving), u64(l.ID), l)
	})
	return jobs, err
}

// ErrAcknowledged means the living message's state is acknowledged
// already.
var ErrAcknowledged = errors.New("already acknowledged")

// Click is one click on a living message's button, for Acknowledge and
// LogAction: who, what it did, the thread reply that tells of it ("" for
// none), and the callback to the platform (nil when none is sent).
type Click struct {
	Living   uint64
	Result   paligo.ActionResult
	Note     string
	Callback *paligo.ActionCallback
}

// Acknowledge records c.Result.By acknowledging the living message's
// current state; ErrAcknowledged (with the living message) when someone
// did already.
func (s livingRecords) Acknowledge(c Click) (paligo.Living, []Job, error) {
	return s.click(c, func(l *paligo.Living) error {
		if l.AckedBy != "" {
			return ErrAcknowledged
		}
		l.AckedBy, l.AckedAt = c.Result.By, c.Result.At
		return nil
	})
}

// LogAction records a click (a platform action, a mute) on the living
// message: its result shown on the parent, the note in its thread, the
// callback sent.
func (s livingRecords) LogAction(c Click) (paligo.Living, []Job, error) {
	return s.click(c, nil)
}

func (s livingRecords) click(c Click, change func(*paligo.Living) error) (paligo.Living, []Job, error) {
	var l paligo.Living
	var jobs []Job
	err := s.update(func(tx kvTx) error {
		jobs = nil
		var err error
		if l, err = getLiving(tx, c.Living); err != nil {
			return err
		}
		if change != nil {
			if err := change(&l); err != nil {
				return err
			}
		}
		logResult(&l, c.Result)
		if jobs, err = touch(tx, &l, true); err != nil {
			return err
		}
		if jobs, err = addNote(tx, &l, c.Note, jobs); err != nil {
			return err
		}
		if c.Callback != nil {
			j, err := addJob(tx, Job{Event: l.Event, Kind: JobCallback, Channel: l.Channel, Living: l.ID, Callback: c.Callback})
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return putJSON(tx.Bucket(bucketLiving), u64(l.ID), l)
	})
	return l, jobs, err
}

func logResult(l *paligo.Living, r paligo.ActionResult) {
	if r.Action == "" {
		return
	}
	if r.Callback != "" {
		for i := range l.Log {
			if l.Log[i].Callback == r.Callback {
				l.Log[i] = r
				return
			}
		}
	}
	l.Log = append(l.Log, r)
	if n := len(l.Log) - paligo.MaxActionLogLen; n > 0 {
		l.Log = append([]paligo.ActionResult(nil), l.Log[n:]...)
	}
}

// SettleCallback ends a JobCallback with what the platform answered:
// result (its Outcome "requested", or "failed" with Detail) shown on the
// parent and told in the thread (note). A callback that failed for good
// also goes to the failed list, where an admin can retry it.
func (s livingRecords) SettleCallback(job Job, result paligo.ActionResult, note string) ([]Job, error) {
	now := s.Now().UTC()
	var jobs []Job
	err := s.update(func(tx kvTx) error {
		jobs = nil
		if err := takeJob(tx, job.Seq); err != nil {
			return err
		}
		if result.Outcome == "failed" {
			if err := putJSON(tx.Bucket(bucketFailed), u64(job.Seq), FailedJob{Job: job, Reason: result.Detail, At: now}); err != nil {
				return err
			}
		}
		if cb := job.Callback; cb != nil && (cb.Type == "reply" || cb.Type == "message") {
			// What a person said, not a click: the parent's log is not
			// its place; a failure is told in the thread, once.
			if note == "" || job.Living == 0 {
				return nil
			}
			l, err := getLiving(tx, job.Living)
			if errors.Is(err, ErrNoLiving) {
				return nil
			}
			if err != nil {
				return err
			}
			jobs, err = addNote(tx, &l, note, nil)
			return err
		}
		if result.Action == "" && note == "" {
			return nil // nothing to show (an acknowledgement the platform took)
		}
		l, err := getLiving(tx, job.Living)
		if errors.Is(err, ErrNoLiving) {
			return nil // pruned meanwhile; the platform's answer stands
		}
		if err != nil {
			return err
		}
		logResult(&l, result)
		if jobs, err = touch(tx, &l, false); err != nil {
			return err
		}
		if jobs, err = addNote(tx, &l, note, jobs); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketLiving), u64(l.ID), l)
	})
	return jobs, err
}

// QueueCallback puts a callback to the platform of no living message (a
// workspace disconnected) in the outbox.
func (s livingRecords) QueueCallback(cb *paligo.ActionCallback) (Job, error) {
	var j Job
	err := s.update(func(tx kvTx) (err error) {
		j, err = addJob(tx, Job{Kind: JobCallback, Callback: cb})
		return err
	})
	return j, err
}

// EndJob ends a job that leaves no record behind: a thread note Slack
// took, or a job whose living message is gone.
func (s livingRecords) EndJob(job Job) error {
	return s.batch(func(tx kvTx) error { return takeJob(tx, job.Seq) })
}

// LivingCount is how many living messages are stored.
func (s livingRecords) LivingCount() (int, error) {
	n := 0
	err := s.db.view(func(tx kvTx) error {
		n = tx.Bucket(bucketLiving).KeyN()
		return nil
	})
	return n, err
}
