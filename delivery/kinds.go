package delivery

import (
	"context"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// The kinds of job delivered to Slack in its workspace, each in the
// stages of stages.go (the invitations' are in invite.go, the callbacks'
// in living.go).

// personJob is one person's notification: they are known by a Slack id
// (a follower) or by an email, looked up when the store does not know it.
type personJob struct {
	base
	p    store.PersonJob
	turn turn // the lookups' turn at the gate (gate.go)
	dm   string
	text string
	blk  []slack.Block
	// What the record writes: the receipt, what lookups learned, and
	// whether to learn the person's time zone after (digested, unknown).
	receipt store.Receipt
	learned []store.Match
	learnTZ bool
}

// load reads all the store knows for the notification in one read
// (store.ReadPersonJob).
func (j *personJob) load(context.Context) (err error) {
	j.p, err = j.w.store.ReadPersonJob(j.job, j.w.teamOf(j.job), "")
	// Lookups wait their turn by event: a critical event's first, and one
	// event's strangers never all before another's.
	j.turn = turn{event: j.job.Event, critical: paligo.Kinds[paligo.Kind(j.p.Event.Type)].Critical}
	return err
}

// decide finds who the person is (a person known only by an email that
// was never looked up takes a second read, after the lookup), skips the
// event's own actor and a person told already, and asks paligo.Decide.
func (j *personJob) decide(ctx context.Context) (bool, error) {
	w := j.w
	if j.p.User == "" {
		user, err := w.lookup(ctx, j.turn, j.job.Email, j.p.Match, j.p.MatchFound, &j.learned)
		if err != nil {
			return false, err
		}
		if user == "" {
			j.receipt = store.Receipt{Outcome: paligo.Unmatched}
			return false, nil
		}
		if j.p, err = w.store.ReadPersonJob(j.job, w.teamOf(j.job), user); err != nil {
			return false, err
		}
	}
	e := j.p.Event
	j.receipt.User = j.p.User
	if e.Actor != nil && e.Actor.Email != "" {
		actor, err := w.lookup(ctx, j.turn, e.Actor.Email, j.p.ActorMatch, j.p.ActorFound, &j.learned)
		if err != nil {
			return false, err
		}
		if actor == j.p.User {
			j.receipt.Outcome = paligo.SkippedActor
			return false, nil
		}
	}
	if j.p.Reached {
		j.receipt.Outcome = paligo.AlreadyHandled
		return false, nil
	}
	j.receipt.Outcome = paligo.Decide(j.p.Prefs, e.Type, w.store.Time())
	if j.receipt.Outcome != paligo.Sent {
		j.learnTZ = j.receipt.Outcome == paligo.Digested && w.tzs != nil && !j.p.TZFound
		return false, nil
	}
	j.dm = j.p.DM
	if j.dm == "" { // remembered by the write that records the DM sent
		var err error
		j.dm, err = w.conversationsOpen(ctx, j.p.User)
		return err == nil, err
	}
	return true, nil
}

func (j *personJob) draw() {
	e := j.p.Event
	n := views.Notification{Event: e, Personal: true}
	if e.Subject != nil {
		n.Following = j.p.Prefs.FollowsKey(e.Subject.Key())
	}
	j.text, j.blk = views.Message(n)
}

func (j *personJob) send(ctx context.Context) (err error) {
	j.receipt.Channel, j.receipt.TS, err = j.w.send(ctx, j.dm, j.text, j.blk)
	return err
}

// record ends the job with its receipt and what the lookups learned, in
// one write; a person's first digested event then learns their time zone,
// a little at a time rather than for everyone in the minute their digests
// fall due (the digest run refreshes the ones it knows).
func (j *personJob) record(ctx context.Context) error {
	if err := j.w.finish(j.job, j.receipt, j.learned...); err != nil {
		return err
	}
	if j.learnTZ {
		if _, err := j.w.tzs.Location(ctx, j.w.teamOf(j.job), j.receipt.User); err != nil {
			j.w.log.Warn("time zone lookup", "user", j.receipt.User, "err", err)
		}
	}
	return nil
}

// channelJob posts an event to a channel: a reply in the thread of its key
// when one is open there, else a new parent (a living message), or, for
// an event alone with no button that acts, a post like any other.
type channelJob struct {
	base
	c      store.ChannelJob
	post   store.Post
	status string
	text   string
	blk    []slack.Block
	more   []slack.MsgOption
	where  store.Receipt
}

// load resolves a channel the event named as #name (one the bot cannot
// see by that name fails the job), then reads the event, the channel's
// subscriptions and the living message its thread joins, in one read.
func (j *channelJob) load(ctx context.Context) error {
	w := j.w
	if name, ok := strings.CutPrefix(j.job.Channel, "#"); ok {
		id, err := w.channelNamed(ctx, name)
		if err != nil {
			return err
		}
		if id == "" {
			return slack.SlackErrorResponse{Err: "channel_not_found",
				ResponseMetadata: slack.ResponseMetadata{Messages: []string{"no channel named #" + name + " that the bot can see; for a private one, add the bot to it"}}}
		}
		dup, err := w.store.ResolveChannelJob(j.job, id)
		switch {
		case err != nil:
			return err
		case dup:
			return errEnded // the channel got the event another way
		}
		j.job.Channel = id
	}
	var err error
	j.c, err = w.store.ReadChannelJob(j.job, j.job.Channel, w.teamOf(j.job))
	return err
}

// decide refuses a channel shared with other organizations that only the
// event names (it takes events there only with an external=allow
// subscription), and chooses what the post is.
func (j *channelJob) decide(ctx context.Context) (bool, error) {
	w, c := j.w, j.c
	if j.job.Named {
		refused, err := w.externalRefused(ctx, j.job.Channel, c)
		if err != nil {
			return false, err
		}
		if refused {
			return false, slack.SlackErrorResponse{Err: "external_channel",
				ResponseMetadata: slack.ResponseMetadata{Messages: []string{"the channel is shared with other organizations; a subscription there with external=allow lets events name it"}}}
		}
	}
	e := c.Event
	j.status = paligo.Status(&e)
	j.post = store.Post{Key: c.Key, Alone: c.Key == "" || c.ThreadsOff, Status: j.status}
	switch {
	case !j.post.Alone && c.LivingFound && c.Living.Open(w.store.Time()):
		j.post.Living = c.Living.ID
	case j.post.Alone:
		j.post.Key = "event:" + e.ID
		j.post.Plain = !views.Acts(e, w.opts.ActionsURL != "")
	}
	return true, nil
}

// draw draws the post; a reply goes in its thread, broadcast to the
// channel when the state changed.
func (j *channelJob) draw() {
	now := j.w.store.Time()
	p := views.ChannelPost{Parent: views.Parent{Event: j.c.Event, PlatformActions: j.w.opts.ActionsURL != "",
		Living: paligo.Living{Key: j.post.Key, Alone: j.post.Alone, Status: j.status, Updates: 1, LastAt: now, StartedAt: now}},
		NewParent: j.post.Living == 0 && !j.post.Plain}
	for _, m := range j.c.Mentions {
		p.Mentions = append(p.Mentions, views.Mention{User: m.User, Name: m.Name, Email: m.Email, Quiet: m.Off})
	}
	j.text, j.blk = views.DrawPost(p)
	j.more = nil
	if j.post.Living != 0 {
		j.more = append(j.more, slack.MsgOptionTS(j.c.Living.TS))
		if j.status != "" && j.status != j.c.Living.Status {
			j.more = append(j.more, slack.MsgOptionBroadcast())
		}
	}
}

// send posts; a reply whose parent Slack says is gone starts a new
// parent instead.
func (j *channelJob) send(ctx context.Context) error {
	for {
		ch, ts, err := j.w.send(ctx, j.job.Channel, j.text, j.blk, j.more...)
		if j.post.Living != 0 && parentGone(err) {
			j.post.Living = 0
			j.draw()
			continue
		}
		j.where = store.Receipt{Outcome: paligo.Sent, Channel: ch, TS: ts}
		return err
	}
}

// record ends the job and records the living message it started or
// replied in (store.FinishPost), queueing the parent's update.
func (j *channelJob) record(context.Context) error {
	_, jobs, err := j.w.store.FinishPost(j.job, j.where, j.post)
	return j.w.ended(jobs, err)
}

// digestJob sends one person the digest of what of its events is still
// queued (nothing left means nothing is sent).
type digestJob struct {
	base
	r    store.DigestJob
	text string
	blk  []slack.Block
	ch   string
	ts   string
}

func (j *digestJob) load(context.Context) (err error) {
	j.r, err = j.w.store.ReadDigestJob(j.w.teamOf(j.job), j.job)
	return err
}

func (j *digestJob) decide(ctx context.Context) (bool, error) {
	if len(j.r.Events) == 0 {
		return false, nil
	}
	if j.r.DM == "" { // remembered by the write that records the digest sent
		var err error
		j.r.DM, err = j.w.conversationsOpen(ctx, j.job.User)
		return err == nil, err
	}
	return true, nil
}

// draw draws the digest and lets its events go: a job waits for its turn
// to send holding only the message (many lanes wait at once).
func (j *digestJob) draw() {
	j.text, j.blk, _ = views.Digest(j.r.Events, j.w.opts.MoreURL)
	j.r.Events = nil
}

func (j *digestJob) send(ctx context.Context) (err error) {
	j.ch, j.ts, err = j.w.send(ctx, j.r.DM, j.text, j.blk)
	return err
}

func (j *digestJob) record(context.Context) error {
	d := j.w.Deliverer
	err := d.store.FinishDigest(d.teamOf(j.job), j.job, j.ch, j.ts)
	if err == nil && j.ch != "" {
		d.m.digests.WithLabelValues(j.job.Reason).Inc()
	}
	return err
}

// parentJob brings a living message's parent up to date: chat.update with
// its latest state, or, when Slack will not update it, a new parent in
// its place.
type parentJob struct {
	base
	lj    store.LivingJob
	shown uint64 // the version Slack shows once sent
	text  string
	blk   []slack.Block
	newTS string // the new parent's, when the old one was replaced
}

func (j *parentJob) load(context.Context) (err error) {
	j.lj, err = j.w.readLiving(j.job)
	return err
}

// decide: a parent drawn already (by a click's update that went ahead)
// is not drawn again. chat.update's pace is the workspace's, not this
// channel's: while it has no room, posts that come to the channel go
// first, and the update, which draws the state as it is when it runs,
// after them. A click's update waits for its turn.
func (j *parentJob) decide(ctx context.Context) (bool, error) {
	l := j.lj.Living
	if l.Shown >= l.Version {
		j.shown = l.Shown
		return false, nil
	}
	updates := j.w.sp.updates
	for !updates.Allow() {
		if !j.job.Urgent && j.w.laneBusy(j.job) {
			return false, errLater
		}
		r := updates.Reserve()
		wait := r.Delay()
		r.Cancel()
		if err := bot.Sleep(ctx, min(wait, 100*time.Millisecond)); err != nil {
			return false, err
		}
	}
	j.shown = l.Version
	return true, nil
}

func (j *parentJob) draw() { j.text, j.blk = j.w.drawParent(j.lj) }

func (j *parentJob) send(ctx context.Context) error {
	w, l := j.w, j.lj.Living
	err := w.call(ctx, "chat.update", "", nil, func(ctx context.Context, api DeliverySlack) error {
		_, _, _, err := api.UpdateMessageContext(ctx, l.Channel, l.TS, slack.MsgOptionText(j.text, false), slack.MsgOptionBlocks(j.blk...))
		return err
	})
	if cannotUpdate(err) {
		_, reason := bot.Classify(err)
		w.log.Info("a parent Slack will not update is replaced by a new one", "channel", l.Channel, "living", l.ID, "reason", reason)
		w.m.parentsReplaced.WithLabelValues(reason).Inc()
		_, j.newTS, err = w.send(ctx, l.Channel, j.text, j.blk)
		return err
	}
	if err == nil {
		w.m.parentUpdates.Inc()
	}
	return err
}

func (j *parentJob) record(context.Context) error {
	jobs, err := j.w.store.FinishParentUpdate(j.job, j.shown, j.newTS)
	return j.w.quietly(jobs, err)
}

// noteJob replies in a living message's thread with what a click did.
type noteJob struct {
	base
	lj store.LivingJob
}

func (j *noteJob) load(context.Context) (err error) {
	j.lj, err = j.w.readLiving(j.job)
	return err
}

func (j *noteJob) decide(context.Context) (bool, error) { return true, nil }
func (j *noteJob) draw()                                {}

func (j *noteJob) send(ctx context.Context) error {
	_, _, err := j.w.send(ctx, j.job.Channel, j.job.Note, nil, slack.MsgOptionTS(j.lj.Living.TS))
	return err
}

func (j *noteJob) record(context.Context) error {
	return j.w.quietly(nil, j.w.store.EndJob(j.job))
}
