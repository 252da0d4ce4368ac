package delivery

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/paligo/paligo-slack/store"
)

// Replicas sharing one PostgreSQL database each run delivery, and a lane
// (a channel, a person) belongs to one of them at a time (store/lanes.go):
// its posts go in order and at its pace whichever replica took the events.
//
// A job whose lane this replica does not hold waits here while the lane is
// claimed. If another replica holds it, the job is left to that replica,
// which finds it in the outbox: each replica reads the jobs new since its
// last look every LeaseScan, and the whole outbox every LeaseTTL/3, which
// finds the lanes whose holder died (their leases expired: taken over).
// Held lanes are renewed every LeaseTTL/3, released once idle, and all
// released when delivery stops, after its calls in flight.

// laneLeases is the Deliverer's part in it.
type laneLeases struct {
	d       *Deliverer
	held    map[string]bool        // under Deliverer.mu
	waiting map[string][]store.Job // jobs of lanes not held, to claim; under Deliverer.mu
	wake    chan struct{}

	// lastSeq: every job up to it that is in the outbox is known here
	// (under Deliverer.mu). reading lets one read of the outbox at a
	// time serve every lane waiting to catch up.
	lastSeq uint64
	reading sync.Mutex
	// finished holds the jobs this replica ended lately, with when: a read
	// of the outbox that began before one ended still lists it (under
	// Deliverer.mu).
	finished map[uint64]time.Time

	claimed   prometheus.Counter
	takenOver prometheus.Counter
	lost      prometheus.Counter
}

func newLaneLeases(reg prometheus.Registerer) *laneLeases {
	l := &laneLeases{
		held: map[string]bool{}, waiting: map[string][]store.Job{}, wake: make(chan struct{}, 1), finished: map[uint64]time.Time{},
		claimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_jobs_claimed_total",
			Help: "Outbox jobs this replica took to run, in lanes it claimed (replicas on PostgreSQL).",
		}),
		takenOver: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_lanes_taken_over_total",
			Help: "Lanes this replica took over from another whose lease had expired (it died, or was cut off).",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_leases_lost_total",
			Help: "Lanes' leases this replica found another had taken (it was paused or cut off past its lease).",
		}),
	}
	if reg != nil {
		reg.MustRegister(l.claimed, l.takenOver, l.lost)
	}
	return l
}

// holds reports whether this replica runs lane (under d.mu): always on a
// bbolt file (l nil).
func (l *laneLeases) holds(lane string) bool {
	return l == nil || l.held[lane]
}

// await keeps job until its lane is claimed (under d.mu).
func (l *laneLeases) await(j store.Job) {
	d := l.d
	d.queued[j.Seq] = true
	l.waiting[laneOf(j)] = append(l.waiting[laneOf(j)], j)
	select {
	case d.leases.wake <- struct{}{}:
	default:
	}
}

// leaseLoop claims, finds and renews lanes until ctx ends.
func (l *laneLeases) leaseLoop(ctx context.Context) {
	d := l.d
	scan := time.NewTicker(d.opts.LeaseScan)
	defer scan.Stop()
	every := d.opts.LeaseTTL / 3
	var renewed, full time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.leases.wake:
		case <-scan.C:
		}
		d.leases.claimWaiting()
		now := time.Now()
		if now.Sub(full) >= every {
			full = now
			d.leases.findJobs(0)
		} else {
			d.mu.Lock()
			after := d.leases.lastSeq
			d.mu.Unlock()
			d.leases.findJobs(after)
		}
		d.leases.claimWaiting()
		if now.Sub(renewed) >= every {
			renewed = now
			d.leases.renewLanes()
		}
	}
}

// findJobs hands the outbox's jobs after seq to their lanes, or to await.
func (l *laneLeases) findJobs(after uint64) {
	d := l.d
	if _, err := d.leases.findJobsAfter(after); err != nil {
		d.log.Error("read the outbox", "err", err)
	}
}

// findJobsAfter is findJobs that says how many jobs it read: at most
// MaxQueued (what is past them is read next time).
func (l *laneLeases) findJobsAfter(after uint64) (int, error) {
	d := l.d
	began := time.Now()
	jobs, err := d.store.PendingJobsAfter(after, d.opts.MaxQueued)
	if err != nil {
		return 0, err
	}
	n := len(jobs)
	d.mu.Lock()
	for seq, at := range d.leases.finished {
		if at.Before(began.Add(-time.Minute)) {
			delete(d.leases.finished, seq)
		}
	}
	jobs = slices.DeleteFunc(jobs, func(j store.Job) bool {
		d.leases.lastSeq = max(d.leases.lastSeq, j.Seq)
		_, ended := d.leases.finished[j.Seq]
		return ended // read before it ended
	})
	d.mu.Unlock()
	d.Enqueue(jobs)
	return n, nil
}

// catchUp reads the outbox until every job before seq is known here.
// Writes are one at a time across replicas and a job's sequence is taken
// in its write, so once job seq is committed, every job before it is: a
// read that begins after it finds them all.
func (l *laneLeases) catchUp(seq uint64) error {
	d := l.d
	d.leases.reading.Lock()
	defer d.leases.reading.Unlock()
	d.mu.Lock()
	after := d.leases.lastSeq
	d.mu.Unlock()
	for after < seq {
		n, err := d.leases.findJobsAfter(after)
		if err != nil {
			return err
		}
		d.mu.Lock()
		if n < d.opts.MaxQueued {
			// The read reached the outbox's end as it was once job seq
			// was committed.
			d.leases.lastSeq = max(d.leases.lastSeq, seq)
		}
		after = d.leases.lastSeq
		d.mu.Unlock()
	}
	return nil
}

// insertInOrder puts j among jobs by its sequence, never ahead of the
// first when it is under way.
func insertInOrder(jobs []store.Job, j store.Job, inFlight bool) []store.Job {
	from := 0
	if inFlight {
		from = 1
	}
	i := len(jobs)
	for i > from && jobs[i-1].Seq > j.Seq && !jobs[i-1].Urgent {
		i--
	}
	return slices.Insert(jobs, i, j)
}

// endedHere notes that this replica ended job (under d.mu).
func (l *laneLeases) endedHere(seq uint64) {
	if l != nil {
		l.finished[seq] = time.Now()
	}
}

// claimWaiting claims the lanes of the jobs awaiting them: the granted
// lanes run their jobs; the others' jobs are left to their holders.
func (l *laneLeases) claimWaiting() {
	d := l.d
	d.mu.Lock()
	lanes := make([]string, 0, len(d.leases.waiting))
	for lane := range d.leases.waiting {
		lanes = append(lanes, lane)
	}
	d.mu.Unlock()
	if len(lanes) == 0 {
		return
	}
	c, err := d.store.ClaimLanes(lanes, d.opts.LeaseTTL)
	if err != nil {
		d.log.Error("claim lanes", "err", err, "lanes", len(lanes))
		return // they wait for the next try
	}
	d.leases.takenOver.Add(float64(len(c.TakenOver)))
	if len(c.TakenOver) > 0 {
		d.log.Info("lanes taken over", "lanes", len(c.TakenOver))
		d.leases.startSpent(c.TakenOver)
	}
	granted := map[string]bool{}
	for _, lane := range c.Granted {
		granted[lane] = true
	}
	d.mu.Lock()
	var run []store.Job
	for _, lane := range lanes {
		jobs := d.leases.waiting[lane]
		if granted[lane] {
			run = append(run, jobs...)
			continue // they stay awaited (queued) until they run
		}
		delete(d.leases.waiting, lane)
		for _, j := range jobs {
			delete(d.queued, j.Seq)
		}
	}
	d.mu.Unlock()
	// The replica that held a lane before may have ended some of its jobs
	// after this one read them: only those still in the outbox run.
	var still map[uint64]bool
	checked := map[uint64]bool{}
	if len(run) > 0 {
		seqs := make([]uint64, len(run))
		for i, j := range run {
			seqs[i] = j.Seq
			checked[j.Seq] = true
		}
		if still, err = d.store.StillPending(seqs); err != nil {
			d.log.Error("read the outbox", "err", err)
			// The lanes are held: the next read of the outbox finds their
			// jobs.
			still = map[uint64]bool{}
		}
	}
	// The lanes become held, and their jobs queued, at once: a job that
	// came meanwhile (waiting behind them) goes after them, in order.
	d.mu.Lock()
	defer d.mu.Unlock()
	run = run[:0]
	for _, lane := range c.Granted {
		d.leases.held[lane] = true
		for _, j := range d.leases.waiting[lane] {
			delete(d.queued, j.Seq)
			if !checked[j.Seq] || still[j.Seq] {
				run = append(run, j) // still pending, or came after the check
			}
		}
		delete(d.leases.waiting, lane)
	}
	slices.SortFunc(run, func(a, b store.Job) int { return cmp.Compare(a.Seq, b.Seq) })
	d.leases.claimed.Add(float64(len(run)))
	d.enqueueLocked(run)
}

// renewLanes renews the held lanes, drops those another replica took, and
// releases those with no work.
func (l *laneLeases) renewLanes() {
	d := l.d
	d.mu.Lock()
	var held, idle []string
	for lane := range d.leases.held {
		if l := d.lanes[lane]; l == nil && len(d.leases.waiting[lane]) == 0 {
			idle = append(idle, lane)
			delete(d.leases.held, lane)
		} else {
			held = append(held, lane)
		}
	}
	d.mu.Unlock()
	if err := d.store.ReleaseLanes(idle); err != nil {
		d.log.Warn("release idle lanes", "err", err)
	}
	lost, err := d.store.RenewLanes(held, d.opts.LeaseTTL)
	if err != nil {
		d.log.Error("renew lanes", "err", err)
		return
	}
	if len(lost) == 0 {
		return
	}
	d.leases.lost.Add(float64(len(lost)))
	d.log.Warn("lanes' leases lost to another replica", "lanes", len(lost))
	d.mu.Lock()
	for _, lane := range lost {
		delete(d.leases.held, lane)
		if l := d.lanes[lane]; l != nil {
			d.leases.dropJobs(l)
		}
	}
	d.mu.Unlock()
}

// dropJobs forgets the jobs of a lane this replica no longer holds: its
// holder runs them (under d.mu). The job under way (the first, while the
// lane has it in flight) finishes here.
func (ll *laneLeases) dropJobs(l *lane) {
	d := ll.d
	keep := 0
	if l.inFlight {
		keep = 1
	}
	for _, j := range l.jobs[keep:] {
		delete(d.queued, j.Seq)
		d.depth.Add(-1)
	}
	l.jobs = l.jobs[:keep]
}

// releaseAll gives every held lane up, once delivery has stopped.
func (l *laneLeases) releaseAll() {
	d := l.d
	d.mu.Lock()
	lanes := make([]string, 0, len(d.leases.held))
	for lane := range d.leases.held {
		lanes = append(lanes, lane)
	}
	d.leases.held = map[string]bool{}
	d.mu.Unlock()
	if err := d.store.ReleaseLanes(lanes); err != nil {
		d.log.Warn("release lanes", "err", err)
	}
}

// startSpent starts the pace of taken-over channel lanes with their burst
// spent: the replica that held them may have just used it, and a channel
// must not get two bursts in a row.
func (l *laneLeases) startSpent(lanes []string) {
	d := l.d
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	for _, lane := range lanes {
		if strings.Contains(lane, ":") || lane == "callback" {
			continue // a person's lane ("user:", "email:"): no channel pace
		}
		key := lane
		if !strings.Contains(lane, "|") {
			key = "|" + lane // the primary workspace's scope is ""
		}
		l := rate.NewLimiter(d.opts.ChannelRate, d.opts.ChannelBurst)
		l.ReserveN(now, d.opts.ChannelBurst)
		d.limiters[key] = l
	}
}

// laneOf is the lane of job j: jobs that must go out one after another
// share one. The posts to a channel (and its living messages' updates and
// notes) are the channel's, the notifications of one person theirs,
// callbacks to the platform the callbacks'; each within its workspace.
func laneOf(j store.Job) string {
	var lane string
	switch {
	case j.Kind == store.JobChannel || j.Kind == store.JobParent || j.Kind == store.JobNote:
		lane = j.Channel
	case j.Kind == store.JobCallback:
		return "callback"
	case j.User != "":
		lane = "user:" + j.User
	default:
		lane = "email:" + j.Email
	}
	if j.Team != "" {
		return j.Team + "|" + lane
	}
	return lane
}
