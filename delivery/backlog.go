package delivery

import (
	"context"

	"github.com/paligo/paligo-slack/store"
)

// The jobs held in memory to run are bounded (DeliveryOptions.MaxQueued):
// a backlog of any size costs the outbox's disk, not memory. Once as many
// are held, a new job is left in the outbox, and so is every later one (by
// sequence: a lane's jobs never run out of order), from backlog.from on.
// When half of what is held has gone, the jobs left are read from the
// outbox, in order, as many as there is room for; once a read reaches the
// outbox's end and no job was left behind while it read, every job is
// held again.

type backlog struct {
	d       *Deliverer
	from    uint64 // jobs from this sequence on wait in the outbox; 0: none
	skipped bool   // a job was left in the outbox since the latest read began
	highest uint64 // the highest sequence ever held
}

// leaveInOutbox reports whether j is left in the outbox for now (under
// d.mu). A job older than one held (an admin's retry) or urgent (a
// click's update) is always held.
func (b *backlog) leaveInOutbox(j store.Job) bool {
	d := b.d
	switch {
	case j.Urgent || j.Seq <= b.highest:
		return false
	case b.from != 0 && j.Seq >= b.from:
	case len(d.queued) >= d.opts.MaxQueued:
		b.from = j.Seq
	default:
		return false
	}
	b.skipped = true
	return true
}

func (b *backlog) wakeRefill() {
	select {
	case b.d.refill <- struct{}{}:
	default:
	}
}

// refillLoop reads the jobs left in the outbox when there is room.
func (b *backlog) refillLoop(ctx context.Context) {
	d := b.d
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.refill:
		}
		if err := b.refillOnce(); err != nil {
			d.log.Error("read the outbox's backlog", "err", err)
		}
	}
}

func (b *backlog) refillOnce() error {
	d := b.d
	for {
		d.mu.Lock()
		from, room := b.from, d.opts.MaxQueued-len(d.queued)
		if from == 0 || room < d.opts.MaxQueued/2 || d.stopping {
			d.mu.Unlock()
			return nil
		}
		b.skipped = false
		d.mu.Unlock()
		jobs, err := d.store.PendingJobsAfter(from-1, room)
		if err != nil {
			return err
		}
		d.mu.Lock()
		b.from = 0
		d.enqueueLocked(jobs)
		next := from
		if len(jobs) > 0 {
			next = jobs[len(jobs)-1].Seq + 1
		}
		switch {
		case b.from != 0:
			// Full again while holding them: the rest from there.
		case len(jobs) == room || b.skipped:
			b.from = next // more to read
		}
		d.mu.Unlock()
	}
}
