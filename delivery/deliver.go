// Package delivery takes accepted events from the store's outbox to Slack:
// the fan-out of each event to channels and people, one lane per channel or
// person (in order, at Slack's pace), 429 gates per method and channel, a
// bound on calls in flight, retries by bot.Classify and bot.Backoff; and the
// kinds of sending that ride the same outbox: living messages (threads,
// their parents' updates, clicks' notes and callbacks to the platform:
// living.go), the digest loop (a cron run each minute that queues every
// digest due, in each person's time zone) and invitations. Every job goes
// through the same stages (stages.go): load, decide, draw, send, record. A
// job leaves the outbox only once Slack said ok, or refused it for good.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// DeliverySlack is the part of the Web API delivery uses; *Client has it.
type DeliverySlack interface {
	AuthTestContext(ctx context.Context) (*slack.AuthTestResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	GetUserByEmailContext(ctx context.Context, email string) (*slack.User, error)
	OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error)
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
	// UsersPage is one page of users.list: up to limit people from cursor,
	// and the cursor of the next page ("" after the last).
	UsersPage(ctx context.Context, cursor string, limit int) ([]slack.User, string, error)
	// ChannelsPage is one page of conversations.list: the channels the bot
	// can see, archived ones left out.
	ChannelsPage(ctx context.Context, cursor string, limit int) ([]slack.Channel, string, error)
	GetConversationInfoContext(ctx context.Context, input *slack.GetConversationInfoInput) (*slack.Channel, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// DeliveryOptions tune a Deliverer. Zero values get the defaults.
type DeliveryOptions struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Team is the workspace whose people are notified; empty means ask
	// auth.test.
	Team string
	// Workers bounds the Slack calls in flight at once (and so how many
	// messages a crash can send twice). Default 8.
	Workers int
	// ChannelRate and ChannelBurst pace messages to each channel. Slack
	// allows about one per second with short bursts: default 1/s, burst 3.
	ChannelRate  rate.Limit
	ChannelBurst int
	// MinBackoff and MaxBackoff bound the wait after a 5xx or network error
	// (doubling in between). Defaults 500ms and 1 minute.
	MinBackoff, MaxBackoff time.Duration
	// UnmatchedTTL is how long "no Slack user has this email" is believed
	// before users.lookupByEmail is asked again. Default 1 hour.
	UnmatchedTTL time.Duration
	// DirectoryRefresh is how often the workspace directory is read whole
	// (team_join and user_change keep it fresh in between). Default 24h.
	DirectoryRefresh time.Duration
	// DirectoryRate paces users.list (Tier 2). Default 20 a minute.
	DirectoryRate rate.Limit
	// FanOutEvery is how often delivery looks for accepted events without
	// being told of them (ingest tells it at once). Default 1s.
	FanOutEvery time.Duration
	// CallTimeout bounds one Slack call. Default 15s.
	CallTimeout time.Duration
	// MoreURL is where a digest's "and N more" line links (Paligo's
	// activity page); empty leaves the line without a link.
	MoreURL string
	// InviteLink is the signed link of an invitation; nil fails invitations.
	InviteLink func(paligo.Invite) string
	// UpdateRate and UpdateBurst pace chat.update across the workspace
	// (Tier 3: about 50 a minute). Default 50 a minute, burst 10.
	UpdateRate  rate.Limit
	UpdateBurst int
	// ActionsURL is where clicks on Acknowledge and the platform's actions
	// are sent (PALIGO_SLACK_ACTIONS_URL); empty draws no platform action
	// and keeps acknowledgements in Slack.
	ActionsURL string
	// CallbackSecret signs the callbacks (the ingest secret).
	CallbackSecret []byte
	// CallbackClient sends them; default a client with a 10 s timeout.
	// Whatever its CheckRedirect, redirects are not followed.
	CallbackClient *http.Client
	// Workspaces gives the connected workspaces' clients (spaces.go); nil
	// serves the primary workspace alone.
	Workspaces Registry
	// OnPrimary, if set, is told the primary workspace's team once Run
	// knows it.
	OnPrimary func(team string)
	// NoPrimary: there is no SLACK_BOT_TOKEN; every job is a connected
	// workspace's.
	NoPrimary bool
	// LeaseTTL is how long a lane's lease lasts unrenewed, with replicas on
	// PostgreSQL (lanes.go): a dead replica's lanes are taken over after
	// it. Default 15 s.
	LeaseTTL time.Duration
	// LeaseScan is how often a replica reads the jobs other replicas put in
	// the outbox for its lanes. Default 250 ms.
	LeaseScan time.Duration
	// MaxQueued bounds the jobs held in memory to run (backlog.go); the
	// others wait in the outbox and are read as these go. Default 20,000.
	MaxQueued int
}

// Deliverer takes accepted events from the store's outbox to Slack: posts
// to routed channels, DMs to people who want them now, digest entries for
// the others. Each lane (a channel, a person) goes in order and at Slack's
// pace; lanes do not wait for one another; a 429 pauses only its channel or
// method, for Retry-After.
type Deliverer struct {
	store Records
	// primary is the workspace of SLACK_BOT_TOKEN; spaces the connected
	// ones opened so far, by team (spaces.go).
	primary *space
	opts    DeliveryOptions
	log     *slog.Logger
	m       *deliveryMetrics
	tzs     Locator
	// backoff spaces a lane's retries after a 5xx or a network error.
	backoff bot.Backoff
	paused  atomic.Bool // the store cannot commit; no job is taken

	ready chan struct{} // closed once the primary team is known
	// starts: lanes and directory reads waiting for Run's goroutines
	// (under mu; startLoop starts them with Run's context).
	starts starter
	wake   chan struct{}
	refill chan struct{} // the backlog may be read (backlog.go)
	slots  chan struct{}
	wg     sync.WaitGroup
	depth  atomic.Int64

	mu       sync.Mutex
	stopping bool            // Run is waiting for its lanes; start no more
	queued   map[uint64]bool // job seqs in some lane
	backlog  backlog         // jobs left in the outbox past MaxQueued (backlog.go)
	lanes    map[string]*lane
	gates    map[string]*gate
	limiters map[string]*rate.Limiter
	spaces   map[string]*space
	// leases: with replicas, the lanes this one holds (lanes.go); nil on a
	// bbolt file, whose one process holds every lane.
	leases *laneLeases
}

type lane struct {
	key      string
	jobs     []store.Job
	running  bool
	inFlight bool // jobs[0] is being delivered
	failures int
}

// NewDeliverer returns a Deliverer; Run starts it.
func NewDeliverer(st Records, api DeliverySlack, opts DeliveryOptions) *Deliverer {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.ChannelRate <= 0 {
		opts.ChannelRate = 1
	}
	if opts.ChannelBurst <= 0 {
		opts.ChannelBurst = 3
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.UnmatchedTTL <= 0 {
		opts.UnmatchedTTL = time.Hour
	}
	if opts.FanOutEvery <= 0 {
		opts.FanOutEvery = time.Second
	}
	if opts.DirectoryRefresh <= 0 {
		opts.DirectoryRefresh = 24 * time.Hour
	}
	if opts.DirectoryRate <= 0 {
		opts.DirectoryRate = rate.Every(3 * time.Second)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 15 * time.Second
	}
	if opts.UpdateRate <= 0 {
		opts.UpdateRate = rate.Every(time.Minute / 50)
	}
	if opts.UpdateBurst <= 0 {
		opts.UpdateBurst = 10
	}
	if opts.CallbackClient == nil {
		opts.CallbackClient = &http.Client{Timeout: 10 * time.Second}
	}
	// A callback is never re-posted elsewhere: a redirect could send the
	// signed body to any address (one inside the network the bot runs
	// in). A 3xx is answered as it is, and fails the callback with its
	// status.
	noRedirects := *opts.CallbackClient
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.CallbackClient = &noRedirects
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 15 * time.Second
	}
	if opts.LeaseScan <= 0 {
		opts.LeaseScan = 250 * time.Millisecond
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 20_000
	}
	d := &Deliverer{
		store: st, opts: opts, log: opts.Log,
		backoff:  bot.Backoff{Min: opts.MinBackoff, Max: opts.MaxBackoff},
		ready:    make(chan struct{}),
		wake:     make(chan struct{}, 1),
		refill:   make(chan struct{}, 1),
		slots:    make(chan struct{}, opts.Workers),
		queued:   map[uint64]bool{},
		lanes:    map[string]*lane{},
		gates:    map[string]*gate{},
		limiters: map[string]*rate.Limiter{},
		spaces:   map[string]*space{},
	}
	d.starts.d, d.starts.wake = d, make(chan struct{}, 1)
	d.backlog.d = d
	d.primary = d.newSpace(opts.Team, "", api, nil)
	d.m = newDeliveryMetrics(opts.Registry, func() float64 { return float64(d.depth.Load()) })
	if st.Shared() {
		d.leases = newLaneLeases(opts.Registry)
		d.leases.d = d
	}
	return d
}

// FanOutSpec says how ingest may fan events out in the transaction that
// accepts them: once delivery knows its workspace.
func (d *Deliverer) FanOutSpec() (store.FanOutSpec, bool) {
	select {
	case <-d.ready:
	default:
		return store.FanOutSpec{}, false
	}
	return d.fanOutSpec(), true
}

func (d *Deliverer) fanOutSpec() store.FanOutSpec {
	return store.FanOutSpec{Team: d.primary.team, Read: d.directoryRead}
}

// teamOf is the team id of job's workspace.
func (d *Deliverer) teamOf(job store.Job) string {
	if job.Team == "" {
		return d.primary.team
	}
	return job.Team
}

// Accepted takes what ingest stored: the jobs it fanned out go to their
// lanes; events it could not fan out wake the fan-out loop.
func (d *Deliverer) Accepted(accepted int, fanned store.FanOutResult) {
	d.takeFanOut(fanned)
	if fanned.Events < accepted {
		d.Notify()
	}
}

// takeFanOut counts the strangers a fan-out ended and hands its jobs to
// their lanes.
func (d *Deliverer) takeFanOut(r store.FanOutResult) {
	if r.Unmatched > 0 {
		d.m.deliveries.WithLabelValues(string(paligo.Unmatched)).Add(float64(r.Unmatched))
	}
	d.Enqueue(r.Jobs)
}

// Notify tells the Deliverer that new events were accepted.
func (d *Deliverer) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Enqueue hands jobs already in the outbox (e.g. failed ones an admin
// retried) to their lanes.
func (d *Deliverer) Enqueue(jobs []store.Job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enqueueLocked(jobs)
}

// enqueueLocked is Enqueue under d.mu.
func (d *Deliverer) enqueueLocked(jobs []store.Job) {
	for _, j := range jobs {
		if d.queued[j.Seq] {
			continue // e.g. retried by an admin while Run was loading the outbox
		}
		if d.backlog.leaveInOutbox(j) {
			continue
		}
		if !d.leases.holds(laneOf(j)) {
			d.leases.await(j)
			continue
		}
		d.queued[j.Seq] = true
		d.backlog.highest = max(d.backlog.highest, j.Seq)
		l := d.lanes[laneOf(j)]
		if l == nil {
			l = &lane{key: laneOf(j)}
			d.lanes[l.key] = l
		}
		switch {
		case j.Urgent && len(l.jobs) > 0:
			// Ahead of the waiting jobs, behind the one under way.
			l.jobs = slices.Insert(l.jobs, 1, j)
		case d.leases != nil:
			// Replicas: jobs come from this replica's ingest and from the
			// outbox (others'), not in order; the lane runs them in the
			// outbox's, which is the order their events were accepted.
			l.jobs = insertInOrder(l.jobs, j, l.inFlight)
		default:
			l.jobs = append(l.jobs, j)
		}
		d.depth.Add(1)
		if !l.running {
			d.starts.lane(l)
		}
	}
}

// fanOutBatch is how many events one fan-out transaction takes.
const fanOutBatch = 500

// Run delivers until ctx ends, then waits for calls in flight to finish.
func (d *Deliverer) Run(ctx context.Context) error {
	for try := 1; d.primary.team == "" && !d.opts.NoPrimary; try++ {
		resp, err := d.primary.api.AuthTestContext(ctx)
		if err == nil {
			d.primary.team = resp.TeamID
			break
		}
		d.log.Warn("delivery waits for auth.test", "err", err)
		if bot.Sleep(ctx, d.backoff.Delay(try)) != nil {
			return nil
		}
	}
	if !d.opts.NoPrimary {
		if err := d.store.SetPrimary(d.primary.team); err != nil {
			return fmt.Errorf("record the primary workspace: %w", err)
		}
		if d.opts.OnPrimary != nil {
			d.opts.OnPrimary(d.primary.team)
		}
	}
	// The outbox's first jobs, as many as are held; the rest as these go.
	pending, err := d.store.PendingJobsAfter(0, d.opts.MaxQueued)
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	if len(pending) == d.opts.MaxQueued {
		d.mu.Lock()
		d.backlog.from, d.backlog.skipped = pending[len(pending)-1].Seq+1, true
		d.mu.Unlock()
	}
	d.wg.Go(func() { d.starts.loop(ctx) })
	close(d.ready)
	if !d.opts.NoPrimary {
		d.wg.Go(func() { d.in(d.primary).keepDirectory(ctx) })
	}
	// Each connected workspace's directory is read from the start.
	if teams, err := d.Teams(); err != nil {
		d.log.Error("list the workspaces", "err", err)
	} else {
		for _, t := range teams {
			if t != d.primary.team {
				d.space(t)
			}
		}
	}
	d.Enqueue(pending)

	if d.leases != nil {
		d.wg.Go(func() { d.leases.leaseLoop(ctx) })
	}
	d.wg.Go(func() { d.backlog.refillLoop(ctx) })
	d.backlog.wakeRefill()
	tick := time.NewTicker(d.opts.FanOutEvery)
	defer tick.Stop()
	for {
		for d.store.Writable() == nil {
			r, err := d.store.FanOutWith(d.fanOutSpec(), fanOutBatch)
			if err != nil {
				d.log.Error("fan out", "err", err)
				break
			}
			d.takeFanOut(r)
			if r.Events < fanOutBatch {
				break // all caught up
			}
		}
		select {
		case <-ctx.Done():
			// Jobs enqueued from now on stay in the outbox for the next start.
			d.mu.Lock()
			d.stopping = true
			d.mu.Unlock()
			d.wg.Wait()
			if d.leases != nil {
				d.leases.releaseAll() // the others take the lanes over at once
			}
			return nil
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// starter starts the lanes that got jobs, and the directory reads of the
// workspaces opened, with Run's context (under Deliverer.mu).
type starter struct {
	d      *Deliverer
	lanes  []*lane
	spaces []*space
	wake   chan struct{}
}

// lane has l started by loop (under d.mu).
func (st *starter) lane(l *lane) {
	d := st.d
	if d.stopping {
		return // its jobs stay in the outbox for the next start
	}
	l.running = true
	st.lanes = append(st.lanes, l)
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// loop starts, with Run's ctx, the lanes that got jobs and the directory
// reads of the workspaces opened, until ctx ends.
func (st *starter) loop(ctx context.Context) {
	d := st.d
	for {
		d.mu.Lock()
		lanes, spaces := st.lanes, st.spaces
		st.lanes, st.spaces = nil, nil
		for _, l := range lanes {
			d.wg.Go(func() { d.runLane(ctx, l) })
		}
		for _, sp := range spaces {
			d.wg.Go(func() { d.in(sp).keepDirectory(ctx) })
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-st.wake:
		}
	}
}

func (d *Deliverer) runLane(ctx context.Context, l *lane) {
	for {
		d.mu.Lock()
		if !d.leases.holds(l.key) {
			d.leases.dropJobs(l) // another replica holds the lane now
		}
		if len(l.jobs) == 0 || ctx.Err() != nil {
			l.running = false
			if len(l.jobs) == 0 {
				delete(d.lanes, l.key)
			}
			d.mu.Unlock()
			return
		}
		job := l.jobs[0]
		if d.leases != nil && job.Seq > d.leases.lastSeq {
			// Another replica may have put an earlier job of this lane in
			// the outbox: read it first (lanes.go).
			d.mu.Unlock()
			if err := d.leases.catchUp(job.Seq); err != nil {
				l.failures++
				bot.Sleep(ctx, d.backoff.Delay(l.failures))
			}
			continue
		}
		l.inFlight = true
		d.mu.Unlock()

		if !d.writable(ctx) {
			d.mu.Lock()
			l.inFlight = false
			d.mu.Unlock()
			continue
		}
		done, err := d.deliver(ctx, job)
		// The job is still the lane's first (nothing goes ahead of one in
		// flight) until it is taken off or put back, under this one lock.
		d.mu.Lock()
		l.inFlight = false
		if done {
			delete(d.queued, job.Seq)
			d.leases.endedHere(job.Seq)
			l.jobs[0] = store.Job{}
			l.jobs = l.jobs[1:]
			l.failures = 0
			low := d.backlog.from != 0 && len(d.queued) <= d.opts.MaxQueued/2
			d.mu.Unlock()
			d.depth.Add(-1)
			if low {
				d.backlog.wakeRefill()
			}
			continue
		}
		if ctx.Err() == nil && errors.Is(err, errLater) {
			// Behind the lane's other jobs (a parent's update waiting for
			// chat.update's pace must not hold the posts back).
			l.jobs = append(l.jobs[1:], job)
			d.mu.Unlock()
			continue
		}
		d.mu.Unlock()
		if ctx.Err() != nil {
			continue
		}
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			continue // the gate holds the next call back for Retry-After
		}
		l.failures++
		wait := d.backoff.Delay(l.failures)
		d.log.Warn("delivery will retry", "lane", laneLabel(l.key), "event", job.Event, "in", wait.Round(time.Millisecond), "err", err)
		bot.Sleep(ctx, wait)
	}
}

// laneLabel keeps emails out of logs.
func laneLabel(key string) string {
	if strings.HasPrefix(key, "email:") {
		return "email:…"
	}
	return key
}

// deliver does one job, in the stages of its kind (stages.go). done means
// the job left the outbox (sent, queued, skipped or failed for good);
// otherwise err says why it must be retried.
func (d *Deliverer) deliver(ctx context.Context, job store.Job) (done bool, err error) {
	if job.Kind == store.JobCallback {
		w := inWorkspace{Deliverer: d} // to the platform: no workspace
		return w.run(ctx, job, &callbackJob{base: base{w, job}})
	}
	sp, err := d.space(job.Team)
	if errors.Is(err, errGone) {
		return d.failGone(job, err)
	}
	if err != nil {
		return false, err
	}
	w := d.in(sp)
	b := base{w, job}
	var k jobKind
	switch job.Kind {
	case store.JobDigest:
		k = &digestJob{base: b}
	case store.JobInvite:
		k = &inviteJob{base: b}
	case store.JobInviteSummary:
		k = &summaryJob{base: b}
	case store.JobParent:
		k = &parentJob{base: b}
	case store.JobNote:
		k = &noteJob{base: b}
	case store.JobChannel:
		k = &channelJob{base: b}
	default:
		k = &personJob{base: b}
	}
	return w.run(ctx, job, k)
}

// channelNamed returns the id of the channel called name ("" when the bot
// sees none): from the names cache, else from conversations.list read
// whole, at most once every channelNamesEvery.
func (w inWorkspace) channelNamed(ctx context.Context, name string) (string, error) {
	sp := w.sp
	if id, ok, err := w.store.ChannelByName(sp.scope, name); err != nil || ok {
		return id, err
	}
	sp.names.Lock()
	defer sp.names.Unlock()
	if id, ok, err := w.store.ChannelByName(sp.scope, name); err != nil || ok {
		return id, err // read meanwhile
	}
	if !sp.names.readAt.IsZero() && time.Since(sp.names.readAt) < channelNamesEvery {
		return "", nil
	}
	byName := map[string]string{}
	cursor := ""
	for {
		chs, next, err := sp.client().ChannelsPage(ctx, cursor, 200)
		if err != nil {
			return "", err
		}
		for _, c := range chs {
			byName[c.Name] = c.ID
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	sp.names.readAt = time.Now()
	if err := w.store.CacheChannelNames(sp.scope, byName); err != nil {
		return "", err
	}
	return byName[name], nil
}

// externalRefused reports whether channel is shared with other
// organizations (what the job's load knew, or conversations.info,
// remembered for sharedCheckEvery) and has no external=allow
// subscription.
func (w inWorkspace) externalRefused(ctx context.Context, channel string, known store.ChannelJob) (bool, error) {
	c := known.Shared
	if !known.SharedFound || w.store.Time().Sub(c.CheckedAt) > sharedCheckEvery {
		info, err := w.sp.client().GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		if err != nil {
			return false, err
		}
		c.External = info.IsExtShared
		if err := w.store.CacheChannelShared(channel, c.External); err != nil {
			return false, err
		}
	}
	return c.External && !known.ExternalAllowed, nil
}

// sharedCheckEvery is how long what conversations.info said of a channel
// being shared is believed.
const sharedCheckEvery = time.Hour

// channelNamesEvery bounds how often a name no one knows reads the channel
// list again (conversations.list is Tier 2: about 20 calls a minute).
const channelNamesEvery = 30 * time.Second

// SetLocator lets delivery learn a user's time zone when their first
// digest item is queued.
func (d *Deliverer) SetLocator(l Locator) { d.tzs = l }

// Locator finds a user's time zone.
type Locator interface {
	Location(ctx context.Context, team, user string) (*time.Location, error)
}

func (d *Deliverer) finish(job store.Job, r store.Receipt, learned ...store.Match) error {
	outcome, err := d.store.Finish(job, d.teamOf(job), r, learned...)
	if errors.Is(err, store.ErrJobGone) {
		return nil
	}
	if err == nil {
		d.m.deliveries.WithLabelValues(string(outcome)).Inc()
	}
	return err
}

// send posts one message (fallback text and blocks, and more options: a
// thread, a broadcast) to channel, paced by the channel's limiter and
// through chat.postMessage's gate, and returns where it landed.
func (w inWorkspace) send(ctx context.Context, channel, text string, blocks []slack.Block, more ...slack.MsgOption) (ch, ts string, err error) {
	opts := append([]slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl()}, more...)
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	err = w.call(ctx, "chat.postMessage", channel, w.limiter(ctx, channel), func(ctx context.Context, api DeliverySlack) (err error) {
		ch, ts, err = api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ch, ts, err
}

// record writes down what Slack has already done. The message is out, so
// it must not go again because the store could not take the record (a full
// disk): a write that cannot commit is tried again, the write alone, until
// it commits or the program stops. Only then, the job still in the outbox,
// does the message go once more at the next start, like any call in flight
// at a crash.
func (d *Deliverer) record(ctx context.Context, write func() error) error {
	for try := 1; ; try++ {
		err := write()
		if !errors.Is(err, store.ErrCannotCommit) {
			if try > 1 && err == nil {
				d.log.Info("a record the store could not take at first is written", "tries", try)
			}
			return err
		}
		d.m.recordRetries.Inc()
		if try == 1 {
			d.log.Error("Slack took the message but the store cannot record it; retrying the record, not the message", "err", err)
		}
		d.pause(err)
		if bot.Sleep(ctx, min(d.backoff.Delay(try), 5*time.Second)) != nil {
			return err
		}
	}
}

// pause and resume mark the time delivery takes no new job because the
// store cannot commit, saying so once when it starts and once when it ends.
func (d *Deliverer) pause(err error) {
	if d.paused.CompareAndSwap(false, true) {
		d.m.paused.Set(1)
		d.log.Error("delivery paused: the store cannot commit", "err", err)
	}
}

func (d *Deliverer) resume() {
	if d.paused.CompareAndSwap(true, false) {
		d.m.paused.Set(0)
		d.log.Info("delivery resumed: the store commits again")
	}
}

// writable waits, while the store cannot commit, before delivery takes
// another job (a job taken then would be sent and not recorded). It is
// false when ctx ended.
func (d *Deliverer) writable(ctx context.Context) bool {
	for try := 1; ; try++ {
		err := d.store.Writable()
		if err == nil {
			d.resume()
			return true
		}
		d.pause(err)
		if bot.Sleep(ctx, min(d.backoff.Delay(try), 5*time.Second)) != nil {
			return false
		}
	}
}

// lookup finds the Slack user with email: the cached match when there is
// one (a match is believed; "no one" only for UnmatchedTTL), no one when
// the workspace directory is read and lacks it, else users.lookupByEmail,
// whose answer is added to learned for the job's record to remember. ""
// means no one (bots and deleted users count as no one).
func (w inWorkspace) lookup(ctx context.Context, t turn, email string, cached store.SlackUser, found bool, learned *[]store.Match) (string, error) {
	if found && (cached.User != "" || time.Since(cached.CheckedAt) < w.opts.UnmatchedTTL) {
		return cached.User, nil
	}
	// The workspace directory, read whole, knows everyone: an email it
	// lacks is a stranger's, and costs no call (directory.go).
	sp := w.sp
	if sp.directoryReady(w.opts.DirectoryRefresh) {
		return "", nil
	}
	var user string
	err := w.callFor(ctx, t, "users.lookupByEmail", "", nil, func(ctx context.Context, api DeliverySlack) error {
		u, err := api.GetUserByEmailContext(ctx, email)
		var se slack.SlackErrorResponse
		switch {
		case errors.As(err, &se) && se.Err == "users_not_found":
		case err != nil:
			return err
		case bot.Notifiable(*u):
			user = u.ID
		}
		return nil
	})
	if err == nil {
		*learned = append(*learned, store.Match{Email: email, User: user})
	}
	return user, err
}

// conversationsOpen opens the DM channel with user. The write that
// records what was sent there remembers it (the job's next load knows it).
func (w inWorkspace) conversationsOpen(ctx context.Context, user string) (string, error) {
	var ch string
	err := w.call(ctx, "conversations.open", "", nil, func(ctx context.Context, api DeliverySlack) error {
		c, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err != nil {
			return err
		}
		ch = c.ID
		return nil
	})
	return ch, err
}

// limiter paces posts to channel in the workspace of ctx's job.
func (w inWorkspace) limiter(ctx context.Context, channel string) *rate.Limiter {
	key := w.sp.scope + "|" + channel
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.limiters[key]
	if !ok {
		l = rate.NewLimiter(w.opts.ChannelRate, w.opts.ChannelBurst)
		w.limiters[key] = l
	}
	return l
}

// call makes one Slack call, with the client of the workspace of ctx's job,
// through its gate (the workspace's method, or method+channel for
// messages): paced by lim if given, one at a time per gate, not before the
// gate's Retry-After, and within the overall bound of calls in flight. The
// call itself does not stop when ctx ends (a message half-sent is worse
// than a shutdown a moment later); it has its own timeout. A connected
// workspace's token_expired refreshes the token and makes the call again,
// once.
func (w inWorkspace) call(ctx context.Context, method, channel string, lim *rate.Limiter, fn func(context.Context, DeliverySlack) error) error {
	return w.callFor(ctx, turn{}, method, channel, lim, fn)
}

// callFor is call for t: whom the call is for decides its turn at the
// method's gate (gate.go).
func (w inWorkspace) callFor(ctx context.Context, t turn, method, channel string, lim *rate.Limiter, fn func(context.Context, DeliverySlack) error) error {
	if lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return err
		}
	}
	sp := w.sp
	key := sp.scope + "|" + method
	if channel != "" {
		key += ":" + channel
	}
	w.mu.Lock()
	g := w.gates[key]
	if g == nil {
		g = &gate{}
		w.gates[key] = g
	}
	w.mu.Unlock()

	if err := g.acquire(ctx, t); err != nil {
		return err
	}
	defer g.release()
	if err := bot.Sleep(ctx, time.Until(g.until)); err != nil {
		return err
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.slots }()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.CallTimeout)
	defer cancel()
	err := fn(cctx, sp.client())
	if bot.TokenExpired(err) {
		if api, ok := w.refreshed(cctx); ok {
			err = fn(cctx, api)
		}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		g.until = time.Now().Add(rl.RetryAfter)
		w.m.rateLimited.WithLabelValues(method).Inc()
	}
	return err
}

type deliveryMetrics struct {
	parentUpdates   prometheus.Counter
	parentsReplaced *prometheus.CounterVec
	callbacks       *prometheus.CounterVec
	directory       prometheus.Gauge
	paused          prometheus.Gauge
	recordRetries   prometheus.Counter
	deliveries      *prometheus.CounterVec
	digests         *prometheus.CounterVec
	invites         *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
}

func newDeliveryMetrics(reg prometheus.Registerer, depth func() float64) *deliveryMetrics {
	m := &deliveryMetrics{
		parentUpdates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_parent_updates_total", Help: "Living messages' parents updated in place (chat.update).",
		}),
		parentsReplaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_parents_replaced_total", Help: "Parents Slack would not update, replaced by a new parent, by Slack's reason.",
		}, []string{"reason"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_callbacks_total", Help: "Callbacks to the platform (PALIGO_SLACK_ACTIONS_URL), by result (requested, retried, failed).",
		}, []string{"result"}),
		directory: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paligo_slack_directory_people", Help: "People in the workspace directory as last read whole from users.list (0 until it is).",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "paligo_slack_delivery_paused", Help: "1 while delivery takes no job because the store cannot commit.",
		}),
		recordRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paligo_slack_record_retries_total", Help: "Records of messages Slack took that the store could not commit at first and were written again.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_deliveries_total",
			Help: "Delivery jobs ended, by outcome (sent, digest, skipped_*, duplicate, unmatched, failed).",
		}, []string{"outcome"}),
		digests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_digests_sent_total", Help: "Digest DMs Slack accepted, by reason (scheduled, now, instant, pause_ended).",
		}, []string{"reason"}),
		invites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_invites_total", Help: "People of /paligo-invite runs, by result (sent, skipped, failed).",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paligo_slack_rate_limited_total", Help: "Slack 429 answers to delivery calls, by method.",
		}, []string{"method"}),
	}
	if reg != nil {
		reg.MustRegister(m.parentUpdates, m.parentsReplaced, m.callbacks, m.directory, m.paused, m.recordRetries, m.deliveries, m.digests, m.invites, m.rateLimited, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "paligo_slack_outbox_depth", Help: "Delivery jobs held in memory to run (at most 20,000; a larger backlog waits in the store).",
		}, depth))
	}
	return m
}
