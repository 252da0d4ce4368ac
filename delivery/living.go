package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/signing"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/views"
)

// Living messages (docs/living-messages.md): the first event of a thread
// key in a channel posts a parent; the next ones within 24 hours reply in
// its thread (broadcast when the state changes) and queue the parent's
// update, which replies waiting together share. Updates and thread notes
// go through the channel's lane like every post; callbacks to the platform
// have a lane of their own.

// postLiving posts a channel job's event (c, its load): a reply in the
// thread of its key when one is open there, else a new parent, or, for
// an event alone with no button that acts, a post like any other. It
// decides which, draws it, sends it and records it in one write; a reply
// whose parent Slack says is gone becomes a new parent.
func (w inWorkspace) postLiving(ctx context.Context, job store.Job, c store.ChannelJob) (bool, error) {
	e, now := c.Event, w.store.Now()
	status := paligo.Status(&e)
	post := store.Post{Key: c.Key, Alone: c.Key == "" || c.ThreadsOff, Status: status}
	var thread string
	switch {
	case !post.Alone && c.LivingFound && c.Living.Open(now):
		post.Living, thread = c.Living.ID, c.Living.TS
	case post.Alone:
		post.Key = "event:" + e.ID
		post.Plain = !views.Acts(e, w.opts.ActionsURL != "")
	}
	for {
		p := views.ChannelPost{Parent: views.Parent{Event: e, PlatformActions: w.opts.ActionsURL != "",
			Living: paligo.Living{Key: post.Key, Alone: post.Alone, Status: status, Updates: 1, LastAt: now, StartedAt: now}},
			NewParent: post.Living == 0 && !post.Plain}
		text, blocks := views.DrawPost(p)
		var more []slack.MsgOption
		if post.Living != 0 {
			more = append(more, slack.MsgOptionTS(thread))
			if status != "" && status != c.Living.Status {
				more = append(more, slack.MsgOptionBroadcast()) // the state changed
			}
		}
		err := w.postBlocks(ctx, job.Channel, text, blocks, func(ch, ts string) error {
			_, jobs, err := w.store.FinishPost(job, store.Receipt{Outcome: paligo.Sent, Channel: ch, TS: ts}, post)
			return w.ended(jobs, err)
		}, more...)
		if post.Living != 0 && parentGone(err) {
			post.Living = 0 // the parent is gone: this event starts a new one
			continue
		}
		return w.settle(job, err)
	}
}

// errLater: the job goes behind the other jobs of its lane.
var errLater = errors.New("later, behind the lane's other jobs")

// laneBusy reports whether jobs other than parents' updates wait in job's
// lane (updates alone wait for their pace rather than take turns).
func (w inWorkspace) laneBusy(job store.Job) bool {
	d := w.Deliverer
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.lanes[laneOf(job)]
	if l == nil {
		return false
	}
	for _, j := range l.jobs {
		if j.Seq != job.Seq && j.Kind != store.JobParent {
			return true
		}
	}
	return false
}

// ended hands the jobs a finished one queued to their lanes, and counts
// the delivery.
func (d *Deliverer) ended(jobs []store.Job, err error) error {
	if errors.Is(err, store.ErrJobGone) {
		return nil
	}
	if err != nil {
		return err
	}
	d.m.deliveries.WithLabelValues(string(paligo.Sent)).Inc()
	d.Enqueue(jobs)
	return nil
}

// parentGone reports whether Slack refused a reply because its parent is
// gone (deleted) or is not a parent.
func parentGone(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && (se.Err == "thread_not_found" || se.Err == "invalid_thread_ts")
}

// cannotUpdate reports whether Slack will not update a parent any more:
// then a new parent takes its place.
func cannotUpdate(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "cant_update_message" || se.Err == "edit_window_closed")
}

// deliverParent brings a living message's parent up to date: chat.update
// with its latest state, or, when Slack will not update it, a new parent
// in its place.
func (w inWorkspace) deliverParent(ctx context.Context, job store.Job) (bool, error) {
	lj, gone, err := w.readLiving(job)
	if gone || err != nil {
		return gone, err
	}
	l := lj.Living
	if l.Shown >= l.Version {
		// Drawn already (by a click's update that went ahead).
		jobs, err := w.store.FinishParentUpdate(job, l.Shown, "")
		return true, w.quietly(jobs, err)
	}
	// chat.update's pace is the workspace's, not this channel's: while it
	// has no room, posts that come to the channel go first, and the
	// update, which draws the state as it is when it runs, after them. A
	// click's update waits for its turn.
	updates := w.sp.updates
	for !updates.Allow() {
		if !job.Urgent && w.laneBusy(job) {
			return false, errLater
		}
		r := updates.Reserve()
		wait := r.Delay()
		r.Cancel()
		if err := bot.Sleep(ctx, min(wait, 100*time.Millisecond)); err != nil {
			return false, err
		}
	}
	text, blocks := w.drawParent(lj)
	err = w.call(ctx, "chat.update", "", nil, func(ctx context.Context, api DeliverySlack) error {
		_, _, _, err := api.UpdateMessageContext(ctx, l.Channel, l.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
	if cannotUpdate(err) {
		_, reason := bot.Classify(err)
		w.log.Info("a parent Slack will not update is replaced by a new one", "channel", l.Channel, "living", l.ID, "reason", reason)
		w.m.parentsReplaced.WithLabelValues(reason).Inc()
		err = w.postBlocks(ctx, l.Channel, text, blocks, func(_, ts string) error {
			jobs, err := w.store.FinishParentUpdate(job, l.Version, ts)
			return w.quietly(jobs, err)
		})
		return w.settle(job, err)
	}
	if err != nil {
		return w.settle(job, err)
	}
	w.m.parentUpdates.Inc()
	return true, w.record(ctx, func() error {
		jobs, err := w.store.FinishParentUpdate(job, l.Version, "")
		return w.quietly(jobs, err)
	})
}

// readLiving is the load of a living message's job; gone (the job ended)
// when retention removed the living message meanwhile.
func (w inWorkspace) readLiving(job store.Job) (lj store.LivingJob, gone bool, err error) {
	d := w.Deliverer
	lj, err = d.store.ReadLivingJob(job)
	if errors.Is(err, store.ErrNoLiving) {
		return lj, true, d.store.EndJob(job)
	}
	return lj, false, err
}

// quietly is ended without counting a delivery.
func (d *Deliverer) quietly(jobs []store.Job, err error) error {
	if errors.Is(err, store.ErrJobGone) {
		return nil
	}
	if err == nil {
		d.Enqueue(jobs)
	}
	return err
}

// drawParent draws a living message's parent as it stands (lj, its load).
func (w inWorkspace) drawParent(lj store.LivingJob) (string, []slack.Block) {
	d := w.Deliverer
	e, l := lj.Event, lj.Living
	p := views.Parent{Event: e, Living: l, PlatformActions: d.opts.ActionsURL != ""}
	if e.Subject != nil {
		if m := paligo.MutedBy(&e, l.Channel, lj.Mutes, d.store.Now()); m != nil {
			until := m.Until
			p.MutedUntil, p.MutedBy = &until, m.By
		}
	}
	text, blocks := views.ParentMessage(p)
	return text, blocks
}

// deliverNote replies in a living message's thread with what a click did.
func (w inWorkspace) deliverNote(ctx context.Context, job store.Job) (bool, error) {
	lj, gone, err := w.readLiving(job)
	if gone || err != nil {
		return gone, err
	}
	l := lj.Living
	err = w.postBlocks(ctx, job.Channel, job.Note, nil, func(_, _ string) error {
		return w.quietly(nil, w.store.EndJob(job))
	}, slack.MsgOptionTS(l.TS))
	return w.settle(job, err)
}

// callbacks are the Deliverer calling the platform back
// (PALIGO_SLACK_ACTIONS_URL): a job of no workspace.
type callbacks struct{ d *Deliverer }

// deliverCallback tells the platform of a click: a signed POST to
// ActionsURL, the same id on every try. 2xx is done; 5xx, 408, 429 and
// network errors are tried again (the lane's capped backoff); any other
// answer fails it for good, shown in the thread and the failed list.
func (c callbacks) deliverCallback(ctx context.Context, job store.Job) (bool, error) {
	d := c.d
	cb := job.Callback
	if cb == nil {
		return true, d.store.EndJob(job)
	}
	result := paligo.ActionResult{Action: cb.Action, Callback: cb.ID}
	if cb.By != nil {
		result.By = cb.By.SlackUser
	}
	if at, err := time.Parse(time.RFC3339, cb.At); err == nil {
		result.At = at
	}
	if l, err := d.store.Living(job.Living); err == nil {
		for _, r := range l.Log {
			if r.Callback == cb.ID {
				result.Label = r.Label
			}
		}
	}
	if d.opts.ActionsURL == "" {
		return c.callbackFailed(job, result, "PALIGO_SLACK_ACTIONS_URL is not set")
	}
	body, err := json.Marshal(cb)
	if err != nil {
		return false, err
	}
	status, answer, err := c.sendCallback(ctx, body)
	switch {
	case err != nil:
		return false, fmt.Errorf("callback %s: %w", cb.ID, err)
	case status >= 200 && status < 300:
		result.Outcome = "requested"
		note := ""
		if cb.Action == "acknowledge" || job.Living == 0 {
			// The acknowledgement is on the parent already; a callback of
			// no living message (a workspace disconnected) has no thread.
			result.Action = ""
		} else {
			note = views.NoteText(result)
		}
		d.m.callbacks.WithLabelValues("requested").Inc()
		jobs, err := d.store.SettleCallback(job, result, note)
		return true, d.quietly(jobs, err)
	case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		d.m.callbacks.WithLabelValues("retried").Inc()
		return false, fmt.Errorf("callback %s: the platform answered %d", cb.ID, status)
	default:
		detail := "the platform answered " + strconv.Itoa(status)
		if status >= 300 && status < 400 {
			detail += " (a redirect: callbacks do not follow redirects, set PALIGO_SLACK_ACTIONS_URL to where it points)"
		} else if answer != "" {
			detail += ": " + answer
		}
		return c.callbackFailed(job, result, detail)
	}
}

func (c callbacks) callbackFailed(job store.Job, result paligo.ActionResult, detail string) (bool, error) {
	d := c.d
	result.Outcome, result.Detail = "failed", detail
	d.m.callbacks.WithLabelValues("failed").Inc()
	d.log.Warn("callback failed", "callback", job.Callback.ID, "action", job.Callback.Action, "reason", detail)
	note := ""
	if job.Living != 0 {
		note = views.NoteText(result)
	}
	jobs, err := d.store.SettleCallback(job, result, note)
	return true, d.quietly(jobs, err)
}

// sendCallback POSTs body, signed, and returns the status and the start of
// the answer (its "error" when it is JSON that has one).
func (c callbacks) sendCallback(ctx context.Context, body []byte) (int, string, error) {
	d := c.d
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, d.opts.ActionsURL, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paligo-slack")
	signing.Header(req.Header, d.opts.CallbackSecret, d.store.Now(), body)
	resp, err := d.opts.CallbackClient.Do(req)
	if err != nil {
		// The URL may hold a secret of its own: say only what failed.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	var answer struct {
		Error string `json:"error"`
	}
	text := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &answer) == nil && answer.Error != "" {
		text = answer.Error
	}
	return resp.StatusCode, views.Truncate(views.Clean(text), 200), nil
}
