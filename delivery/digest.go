package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// UserInfoSlack is the Web API method digests need: users.info, for the
// user's time zone.
type UserInfoSlack interface {
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// DigestOptions tune Digests. Zero values get the defaults.
type DigestOptions struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Spec is the cron schedule of the digest run. Default every minute
	// ("* * * * *"): a digest leaves within a minute of its time.
	Spec string
	// TZMaxAge is how long a user's time zone is believed before users.info
	// is asked again. Default 24 hours.
	TZMaxAge time.Duration
	// TZRefreshes bounds the stale time zones refreshed in one run (the
	// others use the stale zone until a later run). Default 100.
	TZRefreshes int
	// Batch is how many users' digest jobs one transaction writes. Default
	// 500.
	Batch int
	// LockRetry is how often a replica that does not hold the digest lock
	// tries to take it. Default 15 s: a dead holder's loop is taken over
	// within a minute.
	LockRetry time.Duration
}

// DigestLock is the name of the lock the digest loop runs under.
const DigestLock = "digest loop"

// Digests is the cron loop that sends each user their digest on time, in
// their own time zone: every run looks at the users with events queued,
// asks paligo.DigestDue and hands one digest job per due user to the
// Deliverer, which sends it like any other job (paced, retried, recorded
// only when Slack says ok).
type Digests struct {
	store DigestRecords
	d     *Deliverer
	users UserInfoSlack
	opts  DigestOptions
	log   *slog.Logger

	queued   *prometheus.CounterVec
	duration prometheus.Histogram
	locks    *prometheus.CounterVec
	holding  atomic.Bool
}

// NewDigests returns the digest loop for d's workspace; Run starts it.
func NewDigests(st DigestRecords, d *Deliverer, users UserInfoSlack, opts DigestOptions) *Digests {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Spec == "" {
		opts.Spec = "* * * * *"
	}
	if opts.TZMaxAge <= 0 {
		opts.TZMaxAge = 24 * time.Hour
	}
	if opts.TZRefreshes <= 0 {
		opts.TZRefreshes = 100
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.LockRetry <= 0 {
		opts.LockRetry = 15 * time.Second
	}
	g := &Digests{store: st, d: d, users: users, opts: opts, log: opts.Log,
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_digests_queued_total",
			Help: "Digest jobs handed to delivery, by reason (scheduled, now, instant, pause_ended).",
		}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "paligo_slack_digest_run_seconds", Help: "Time one digest run took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		locks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_digest_lock_total",
			Help: "The digest loop's lock, by what happened: taken (this replica began running the loop), lost (its connection to the database failed).",
		}, []string{"event"}),
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(g.queued, g.duration, g.locks)
	}
	return g
}

// Run starts the cron loop once delivery knows its workspace, runs once at
// once (the catch-up after downtime), and stops when ctx ends, waiting for
// a run in progress.
func (g *Digests) Run(ctx context.Context) error {
	select {
	case <-g.d.ready:
	case <-ctx.Done():
		return nil
	}
	for {
		lock, err := g.store.TryLock(DigestLock)
		if err != nil {
			g.log.Warn("digest lock", "err", err)
		}
		if lock != nil {
			if err := g.runHolding(ctx, lock); err != nil || ctx.Err() != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(g.opts.LockRetry):
		}
	}
}

// runHolding runs the cron loop while this replica holds the digest lock:
// until ctx ends, or the lock is lost (then a run under way stops, and
// another replica's loop takes over; a digest a run queued is never queued
// again for its window, which the store checks as it queues).
func (g *Digests) runHolding(ctx context.Context, lock *store.Lock) error {
	defer lock.Release()
	g.locks.WithLabelValues("taken").Inc()
	g.holding.Store(true)
	defer g.holding.Store(false)
	g.log.Info("digest loop runs here", "replica", g.store.Replica())
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lock.Lost():
			g.locks.WithLabelValues("lost").Inc()
			g.log.Warn("digest lock lost: the loop stops here until it is taken again")
			cancel()
		case <-run.Done():
		}
	}()
	return cronLoop(run, g.opts.Spec, g.log, func() {
		if _, err := g.RunOnce(run); err != nil {
			g.log.Error("digest run", "err", err)
		}
	})
}

// Holding reports whether this replica runs the digest loop now.
func (g *Digests) Holding() bool { return g.holding.Load() }

// cronLoop runs job on spec (UTC), once at the start, and never two at once
// (a run still going when the next is due skips that one); a panic in job
// is logged and the loop goes on. It returns when ctx ends and the run in
// progress, if any, has finished.
func cronLoop(ctx context.Context, spec string, log *slog.Logger, job func()) error {
	logger := cronLogger{log}
	// Recover goes inside SkipIfStillRunning: outside it, a panic would
	// keep the "running" token and every later run would skip.
	wrapped := cron.NewChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)).Then(cron.FuncJob(job))
	c := cron.New(cron.WithLocation(time.UTC), cron.WithLogger(logger))
	if _, err := c.AddJob(spec, wrapped); err != nil {
		return fmt.Errorf("digest schedule %q: %w", spec, err)
	}
	c.Start()
	first := make(chan struct{})
	go func() { defer close(first); wrapped.Run() }()
	<-ctx.Done()
	<-c.Stop().Done()
	<-first
	return nil
}

// cronLogger puts cron's log lines (recovered panics, skipped runs) in slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// RunOnce queues a digest for every user one is due for at the store's
// current time, in every workspace served, and returns how many it queued.
func (g *Digests) RunOnce(ctx context.Context) (int, error) {
	start := time.Now()
	defer func() { g.duration.Observe(time.Since(start).Seconds()) }()
	teams, err := g.d.Teams()
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, team := range teams {
		n, err := g.runTeam(ctx, team)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", team, err))
		}
	}
	return total, errors.Join(errs...)
}

// runTeam is RunOnce for one workspace.
func (g *Digests) runTeam(ctx context.Context, team string) (int, error) {
	w, err := g.d.inTeam(team)
	if err != nil {
		return 0, nil // no longer served: its digests wait
	}
	now := g.store.Time()
	type candidate struct {
		user  string
		prefs paligo.Prefs
		state paligo.DigestState
	}
	// Collected first: Slack calls must not hold a read transaction open.
	var cands []candidate
	err = g.store.DigestCandidates(team, func(user string, p paligo.Prefs, st paligo.DigestState) error {
		cands = append(cands, candidate{user, p, st})
		return nil
	})
	if err != nil {
		return 0, err
	}
	refreshes := g.opts.TZRefreshes
	var reqs []store.DigestRequest
	total := 0
	flush := func() error {
		if len(reqs) == 0 {
			return nil
		}
		jobs, err := g.store.QueueDigests(team, reqs)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			g.queued.WithLabelValues(j.Reason).Inc()
		}
		g.d.Enqueue(jobs)
		total += len(jobs)
		reqs = reqs[:0]
		return nil
	}
	for _, c := range cands {
		if ctx.Err() != nil {
			break
		}
		if c.prefs.Frequency == paligo.Off || c.prefs.Paused(now) {
			continue // no Slack call for someone nothing can be due for
		}
		loc, err := g.location(ctx, w, c.user, now, &refreshes)
		if err != nil {
			g.log.Warn("digest waits for the user's time zone", "user", c.user, "err", err)
			continue
		}
		window, reason, due := paligo.DigestDue(c.prefs, c.state, loc, now)
		if !due {
			continue
		}
		reqs = append(reqs, store.DigestRequest{User: c.user, Window: window, Reason: reason,
			// Asked again in the writing transaction: the user may have
			// changed their settings since the candidates were read.
			Due: func(p paligo.Prefs, st paligo.DigestState) bool {
				_, _, ok := paligo.DigestDue(p, st, loc, now)
				return ok
			}})
		if len(reqs) == g.opts.Batch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	return total, flush()
}

// SendNow queues a digest of everything the user has waiting, whatever the
// schedule (Send digest now, a switch to instant, Resume). It returns how
// many notifications the digest holds: 0 when nothing waits (or a digest
// is already on its way).
func (g *Digests) SendNow(team, user, reason string) (int, error) {
	jobs, err := g.store.QueueDigests(team, []store.DigestRequest{{User: user, Window: g.store.Time(), Reason: reason}})
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	g.queued.WithLabelValues(reason).Inc()
	g.d.Enqueue(jobs)
	return len(jobs[0].Items), nil
}

// Location returns the Slack time zone of user of workspace team.
func (g *Digests) Location(ctx context.Context, team, user string) (*time.Location, error) {
	w, err := g.d.inTeam(team)
	if err != nil {
		return nil, err
	}
	budget := 1
	return g.location(ctx, w, user, g.store.Time(), &budget)
}

// location returns the user's time zone from the cache, asking users.info
// when it is unknown, or stale and *refreshes allows (a stale zone is
// better than none when Slack cannot answer).
func (g *Digests) location(ctx context.Context, w inWorkspace, user string, now time.Time, refreshes *int) (*time.Location, error) {
	scope := w.sp.scope
	z, found, err := g.store.CachedTZ(scope, user)
	if err != nil {
		return nil, err
	}
	if found && (now.Sub(z.CheckedAt) < g.opts.TZMaxAge || *refreshes <= 0) {
		return z.Location(), nil
	}
	*refreshes--
	err = w.call(ctx, "users.info", "", nil, func(ctx context.Context, api DeliverySlack) error {
		u, err := api.GetUserInfoContext(ctx, user)
		if err != nil {
			return err
		}
		z = store.UserTZ{TZ: u.TZ, Offset: u.TZOffset, CheckedAt: now.UTC()}
		return g.store.CacheTZ(scope, user, z)
	})
	if err != nil {
		if found {
			g.log.Warn("users.info failed; using the time zone read before", "user", user, "err", err)
			return z.Location(), nil
		}
		return nil, err
	}
	return z.Location(), nil
}
