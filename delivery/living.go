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

// readLiving is the load of a living message's job: errEnded (the job
// ended here) when retention removed the living message meanwhile.
func (w inWorkspace) readLiving(job store.Job) (store.LivingJob, error) {
	lj, err := w.store.ReadLivingJob(job)
	if errors.Is(err, store.ErrNoLiving) {
		if err := w.store.EndJob(job); err != nil {
			return lj, err
		}
		return lj, errEnded
	}
	return lj, err
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
		if m := paligo.MutedBy(&e, l.Channel, lj.Mutes, d.store.Time()); m != nil {
			until := m.Until
			p.MutedUntil, p.MutedBy = &until, m.By
		}
	}
	text, blocks := views.ParentMessage(p)
	return text, blocks
}

// callbackJob tells the platform of a click (PALIGO_SLACK_ACTIONS_URL): a
// signed POST, the same id on every try; a job of no workspace. 2xx is
// done; 5xx, 408, 429 and network errors are tried again (the lane's
// capped backoff); any other answer fails it for good, shown in the
// thread and the failed list.
type callbackJob struct {
	base
	cb     *paligo.ActionCallback
	result paligo.ActionResult
	body   []byte
	note   string
}

// load reads the label of the click's action from its living message.
func (j *callbackJob) load(context.Context) error {
	d := j.w.Deliverer
	j.cb = j.job.Callback
	if j.cb == nil {
		if err := d.store.EndJob(j.job); err != nil {
			return err
		}
		return errEnded
	}
	j.result = paligo.ActionResult{Action: j.cb.Action, Callback: j.cb.ID}
	if j.cb.By != nil {
		j.result.By = j.cb.By.SlackUser
	}
	if at, err := time.Parse(time.RFC3339, j.cb.At); err == nil {
		j.result.At = at
	}
	if l, err := d.store.Living(j.job.Living); err == nil {
		for _, r := range l.Log {
			if r.Callback == j.cb.ID {
				j.result.Label = r.Label
			}
		}
	}
	return nil
}

func (j *callbackJob) decide(context.Context) (bool, error) {
	if j.w.opts.ActionsURL == "" {
		j.failed("PALIGO_SLACK_ACTIONS_URL is not set")
		return false, nil
	}
	return true, nil
}

func (j *callbackJob) draw() {
	j.body, _ = json.Marshal(j.cb) // plain data: it always encodes
}

func (j *callbackJob) send(ctx context.Context) error {
	d, cb := j.w.Deliverer, j.cb
	status, answer, err := j.post(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("callback %s: %w", cb.ID, err)
	case status >= 200 && status < 300 && (cb.Type == "reply" || cb.Type == "message"):
		j.result.Outcome = "requested"
		d.m.callbacks.WithLabelValues("requested").Inc()
		if cb.Type == "reply" {
			j.markReply(ctx)
		}
		return nil
	case status >= 200 && status < 300:
		j.result.Outcome = "requested"
		if cb.Action == "acknowledge" || j.job.Living == 0 {
			// The acknowledgement is on the parent already; a callback of
			// no living message (a workspace disconnected) has no thread.
			j.result.Action = ""
		} else {
			j.note = views.NoteText(j.result)
		}
		d.m.callbacks.WithLabelValues("requested").Inc()
		return nil
	case status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		d.m.callbacks.WithLabelValues("retried").Inc()
		return fmt.Errorf("callback %s: the platform answered %d", cb.ID, status)
	}
	detail := "the platform answered " + strconv.Itoa(status)
	if status >= 300 && status < 400 {
		detail += " (a redirect: callbacks do not follow redirects, set PALIGO_SLACK_ACTIONS_URL to where it points)"
	} else if answer != "" {
		detail += ": " + answer
	}
	j.failed(detail)
	return nil
}

// failed marks the callback failed for good with detail: shown on the
// parent and in the thread, and on the failed list (SettleCallback). A
// reply's failure is told in its thread.
func (j *callbackJob) failed(detail string) {
	d := j.w.Deliverer
	j.result.Outcome, j.result.Detail = "failed", detail
	d.m.callbacks.WithLabelValues("failed").Inc()
	d.log.Warn("callback failed", "callback", j.cb.ID, "action", j.cb.Action, "type", j.cb.Type, "reason", detail)
	j.note = ""
	switch {
	case j.job.Living == 0:
	case j.cb.Type == "reply":
		who := "A reply"
		if j.cb.By != nil && j.cb.By.SlackUser != "" {
			who = "<@" + j.cb.By.SlackUser + ">'s reply"
		}
		j.note = ":warning: " + who + " could not be sent to the platform: " + views.EscapedWithin(detail, 200)
	default:
		j.note = views.NoteText(j.result)
	}
}

// reactor is the Slack method that marks a reply.
type reactor interface {
	AddReactionContext(ctx context.Context, name string, item slack.ItemRef) error
}

// markReply marks the reply the platform took (a reaction), in the
// reply's workspace: a mark that cannot be made is logged, not retried
// (the platform has the reply).
func (j *callbackJob) markReply(ctx context.Context) {
	d := j.w.Deliverer
	if j.job.Channel == "" || j.job.TS == "" {
		return
	}
	w, err := d.inTeam(j.cb.Team)
	if err == nil {
		err = w.call(ctx, "reactions.add", j.job.Channel, nil, func(ctx context.Context, api DeliverySlack) error {
			r, ok := api.(reactor)
			if !ok {
				return nil
			}
			err := r.AddReactionContext(ctx, views.ReplyMark, slack.ItemRef{Channel: j.job.Channel, Timestamp: j.job.TS})
			var se slack.SlackErrorResponse
			if errors.As(err, &se) && se.Err == "already_reacted" {
				return nil // marked by a try before
			}
			return err
		})
	}
	if err != nil {
		d.log.Warn("mark a reply sent", "channel", j.job.Channel, "err", err)
	}
}

func (j *callbackJob) record(context.Context) error {
	jobs, err := j.w.store.SettleCallback(j.job, j.result, j.note)
	return j.w.quietly(jobs, err)
}

// post POSTs the callback's body, signed, and returns the status and the
// start of the answer (its "error" when it is JSON that has one).
func (j *callbackJob) post(ctx context.Context) (int, string, error) {
	d := j.w.Deliverer
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, d.opts.ActionsURL, bytes.NewReader(j.body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paligo-slack")
	signing.Header(req.Header, d.opts.CallbackSecret, d.store.Time(), j.body)
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
