package delivery

import (
	"context"
	"errors"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/store"
)

// Every job goes through the same named stages, in order, as Alertmanager's
// notify pipeline composes its stages; each kind of job (a person's
// notification, a channel's post, a digest, an invitation and its summary,
// a living message's update and note, a callback to the platform) is a type
// with one method per stage, whose fields carry what a stage hands the next:
//
//	load    one store read: all the store knows that the job needs
//	decide  the rules (paligo), and Slack asked only what the store does
//	        not know; false ends the job here, with nothing to send
//	draw    the message (views)
//	send    to Slack, paced and gated (or, a callback, to the platform)
//	record  one store write: how the job ended, and what it learned
//
// A stage's error says the job must wait: run classifies it once, with
// bot.Classify, into a retry, or a failure for good that the kind records
// (fail). A job that is no more (taken meanwhile, retention removed what
// it was about) ends quietly.
type jobKind interface {
	load(ctx context.Context) error
	decide(ctx context.Context) (send bool, err error)
	draw()
	send(ctx context.Context) error
	record(ctx context.Context) error
	// fail records the job failed for good, with the reason people see.
	fail(reason string) error
}

// errEnded: the job has ended already (a stage found it done, or someone
// else's); nothing is left to record.
var errEnded = errors.New("the job has ended")

// run takes job through k's stages. done means the job left the outbox
// (sent, skipped, failed for good); otherwise err says why it must be
// retried.
func (w inWorkspace) run(ctx context.Context, job store.Job, k jobKind) (done bool, err error) {
	err = k.load(ctx)
	send := false
	if err == nil {
		send, err = k.decide(ctx)
	}
	if err == nil && send {
		k.draw()
		err = k.send(ctx)
	}
	if err != nil {
		return w.settle(job, err, k.fail)
	}
	write := func() error { return k.record(ctx) }
	if send {
		// Slack took it: a record the store cannot take yet is retried,
		// not the message.
		err = w.record(ctx, write)
	} else {
		err = write()
	}
	if ended(err) {
		return true, nil
	}
	return err == nil, err
}

// ended reports whether err says the job is over already.
func ended(err error) bool {
	return errors.Is(err, errEnded) || errors.Is(err, store.ErrJobGone)
}

// settle turns a stage's error into the job's fate: an error retrying
// cannot cure ends the job with fail (done); anything else is retried.
func (w inWorkspace) settle(job store.Job, err error, fail func(reason string) error) (bool, error) {
	if ended(err) {
		return true, nil
	}
	verdict, reason := bot.Classify(err)
	if verdict == bot.Fatal && job.Team != "" {
		// A connected workspace's token is no good (revoked, or the app
		// uninstalled): its jobs end failed, and the others' go on.
		w.Forget(job.Team)
		reason = "workspace token refused (" + reason + ")"
	} else if verdict != bot.Refused {
		// Fatal too: the bot stops, and the job waits for a good token
		// rather than being failed.
		return false, err
	}
	if ferr := fail(reason); ferr != nil && !ended(ferr) {
		return false, ferr
	}
	return true, nil
}

// base is what every kind of job has: the job and the workspace it runs in.
type base struct {
	w   inWorkspace
	job store.Job
}

// fail puts the job on the failed list, where an admin sees why and can
// retry it.
func (b *base) fail(reason string) error {
	d := b.w.Deliverer
	if err := d.store.Fail(b.job, d.teamOf(b.job), reason); err != nil {
		return err
	}
	d.m.deliveries.WithLabelValues("failed").Inc()
	d.log.Warn("delivery failed", "lane", laneLabel(laneOf(b.job)), "event", b.job.Event, "reason", reason)
	return nil
}
