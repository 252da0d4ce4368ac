package delivery

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// fakeKind records the stages run tells it to do.
type fakeKind struct {
	calls    []string
	loadErr  error
	sends    bool
	decErr   error
	sendErr  error
	recErr   error
	failedAs string
}

func (k *fakeKind) load(context.Context) error { k.calls = append(k.calls, "load"); return k.loadErr }
func (k *fakeKind) decide(context.Context) (bool, error) {
	k.calls = append(k.calls, "decide")
	return k.sends, k.decErr
}
func (k *fakeKind) draw()                      { k.calls = append(k.calls, "draw") }
func (k *fakeKind) send(context.Context) error { k.calls = append(k.calls, "send"); return k.sendErr }
func (k *fakeKind) record(context.Context) error {
	k.calls = append(k.calls, "record")
	return k.recErr
}
func (k *fakeKind) fail(reason string) error {
	k.calls = append(k.calls, "fail")
	k.failedAs = reason
	return nil
}

// The runner takes every kind of job through the same stages in order,
// and reads a stage's error once: a refusal for good is recorded by the
// kind (fail), anything else is retried, and a job that ended already
// ends quietly.
func TestStagesRunInOrderAndClassifyOnce(t *testing.T) {
	d := NewDeliverer(storetest.MustOpen(t), nil, DeliveryOptions{})
	w := inWorkspace{Deliverer: d}
	refused := slack.SlackErrorResponse{Err: "channel_not_found"}
	transient := errors.New("connection reset")
	for _, c := range []struct {
		name     string
		k        fakeKind
		done     bool
		wantErr  bool
		calls    []string
		failedAs string
	}{
		{"sent", fakeKind{sends: true}, true, false, []string{"load", "decide", "draw", "send", "record"}, ""},
		{"nothing to send", fakeKind{}, true, false, []string{"load", "decide", "record"}, ""},
		{"load fails: retried", fakeKind{loadErr: transient}, false, true, []string{"load"}, ""},
		{"ended while loading", fakeKind{loadErr: errEnded}, true, false, []string{"load"}, ""},
		{"the job was taken", fakeKind{loadErr: store.ErrJobGone}, true, false, []string{"load"}, ""},
		{"Slack refuses the lookup", fakeKind{decErr: refused}, true, false, []string{"load", "decide", "fail"}, "channel_not_found"},
		{"Slack refuses the post", fakeKind{sends: true, sendErr: refused}, true, false, []string{"load", "decide", "draw", "send", "fail"}, "channel_not_found"},
		{"the post fails for now", fakeKind{sends: true, sendErr: transient}, false, true, []string{"load", "decide", "draw", "send"}, ""},
		{"the record finds the job gone", fakeKind{sends: true, recErr: store.ErrJobGone}, true, false, []string{"load", "decide", "draw", "send", "record"}, ""},
		{"the record fails, not sent: retried", fakeKind{recErr: transient}, false, true, []string{"load", "decide", "record"}, ""},
	} {
		k := c.k
		done, err := w.run(t.Context(), store.Job{Seq: 1}, &k)
		if done != c.done || (err != nil) != c.wantErr || !slices.Equal(k.calls, c.calls) || k.failedAs != c.failedAs {
			t.Errorf("%s: done %v, err %v, stages %v, failed as %q; want done %v, error %v, stages %v, failed as %q",
				c.name, done, err, k.calls, k.failedAs, c.done, c.wantErr, c.calls, c.failedAs)
		}
	}
}
