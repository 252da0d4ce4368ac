package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// lanes names each job's target: its channel, user:ID or email:ADDRESS,
// behind its workspace's team when it has one.
func lanes(jobs []store.Job) []string {
	var out []string
	for _, j := range jobs {
		target := j.Channel
		switch {
		case j.Kind == store.JobCallback:
			target = "callback"
		case j.Kind != store.JobChannel && j.Kind != store.JobParent && j.Kind != store.JobNote && j.User != "":
			target = "user:" + j.User
		case j.Kind != store.JobChannel && j.Kind != store.JobParent && j.Kind != store.JobNote:
			target = "email:" + j.Email
		}
		if j.Team != "" && j.Kind != store.JobCallback {
			target = j.Team + "|" + target
		}
		out = append(out, target)
	}
	return out
}

func TestFanOutRoutesRecipientsAndFollowers(t *testing.T) {
	eachEngine(t, testFanOutRoutesRecipientsAndFollowers)
}

func testFanOutRoutesRecipientsAndFollowers(t *testing.T) {
	s := MustOpen(t)
	if err := s.SetRoutes("", map[paligo.Kind][]string{"run.failed": {"C2", "C1", "C1"}}); err != nil {
		t.Fatal(err)
	}
	follow := func(user, subject string) {
		t.Helper()
		_, err := s.UpdatePrefs("T1", user, func(p *paligo.Prefs) error {
			p.Follow(paligo.Subject{Kind: "topic", ID: subject})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	follow("U1", "t-1")
	follow("U2", "t-1")
	follow("U3", "t-2")
	// Another workspace's follower of the same subject is not ours.
	if _, err := s.UpdatePrefs("T2", "U9", func(p *paligo.Prefs) error {
		p.Follow(paligo.Subject{Kind: "topic", ID: "t-1"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err := s.AcceptEvents([]paligo.Event{
		{ID: "a", Type: "run.failed", Recipients: []string{"Ann@Example.com", "ann@example.com"}},
		{ID: "b", Type: "document.created", Subject: &paligo.Subject{Kind: "topic", ID: "t-1"}},
		// A reply with recipients goes to them, not the followers.
		{ID: "c", Type: "comment.reply", Subject: &paligo.Subject{Kind: "topic", ID: "t-1"}, Recipients: []string{"bo@example.com"}},
		{ID: "d", Type: "comment.reply", Subject: &paligo.Subject{Kind: "topic", ID: "t-2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := storetest.FanOut(s, "T1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lanes(jobs), []string{"C1", "C2", "email:ann@example.com", "user:U1", "user:U2"}; !slices.Equal(got, want) {
		t.Errorf("first fan-out lanes = %v, want %v", got, want)
	}
	more, err := storetest.FanOut(s, "T1", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lanes(more), []string{"email:bo@example.com", "user:U3"}; !slices.Equal(got, want) {
		t.Errorf("second fan-out lanes = %v, want %v", got, want)
	}
	if again, _ := storetest.FanOut(s, "T1", 100); len(again) != 0 {
		t.Errorf("events fanned out twice: %v", lanes(again))
	}
	pending, _ := s.PendingJobs()
	if len(pending) != 7 {
		t.Errorf("%d jobs in the outbox, want 7", len(pending))
	}
	// Unfollowing takes the user out of the index.
	s.UpdatePrefs("T1", "U2", func(p *paligo.Prefs) error { p.Unfollow("topic:t-1"); return nil })
	if f, _ := s.Followers("T1", "topic:t-1"); !slices.Equal(f, []string{"U1"}) {
		t.Errorf("followers after unfollow = %v", f)
	}
}

func TestFinishRecordsOnceAndQueuesDigest(t *testing.T) {
	eachEngine(t, testFinishRecordsOnceAndQueuesDigest)
}

func testFinishRecordsOnceAndQueuesDigest(t *testing.T) {
	s := MustOpen(t)
	s.UpdatePrefs("T1", "U1", func(p *paligo.Prefs) error {
		p.Follow(paligo.Subject{Kind: "doc", ID: "d1"})
		return nil
	})
	s.AcceptEvents([]paligo.Event{{ID: "a", Type: "document.shared", Recipients: []string{"u1@example.com"}, Subject: &paligo.Subject{Kind: "doc", ID: "d1"}}})
	jobs, _ := storetest.FanOut(s, "T1", 10)
	if len(jobs) != 2 {
		t.Fatalf("jobs = %v", lanes(jobs))
	}
	// The same person by email and as follower: the first receipt stands.
	o, err := s.Finish(jobs[0], "T1", store.Receipt{Outcome: paligo.Digested, User: "U1"})
	if err != nil || o != paligo.Digested {
		t.Fatalf("first finish = %v, %v", o, err)
	}
	if p, _ := s.ReadPersonJob(jobs[1], "T1", "U1"); !p.Reached {
		t.Error("ReadPersonJob: Reached = false after a receipt")
	}
	o, err = s.Finish(jobs[1], "T1", store.Receipt{Outcome: paligo.Digested, User: "U1"})
	if err != nil || o != paligo.AlreadyHandled {
		t.Fatalf("second finish = %v, %v; want duplicate", o, err)
	}
	if n, _ := s.PendingDigest("T1", "U1"); n != 1 {
		t.Errorf("pending digest = %d, want 1", n)
	}
	if _, err := s.Finish(jobs[0], "T1", store.Receipt{Outcome: paligo.Sent}); err != store.ErrJobGone {
		t.Errorf("finishing a finished job = %v, want ErrJobGone", err)
	}
	if pending, _ := s.PendingJobs(); len(pending) != 0 {
		t.Errorf("outbox not empty: %v", lanes(pending))
	}
}

func TestFailRetryAndUnmatched(t *testing.T) { eachEngine(t, testFailRetryAndUnmatched) }

func testFailRetryAndUnmatched(t *testing.T) {
	s := MustOpen(t)
	s.SetRoutes("", map[paligo.Kind][]string{"data.alert": {"CBAD"}})
	s.AcceptEvents([]paligo.Event{{ID: "a", Type: "data.alert", Recipients: []string{"ghost@example.com"}}})
	jobs, _ := storetest.FanOut(s, "T1", 10)
	if len(jobs) != 2 {
		t.Fatalf("jobs = %v", lanes(jobs))
	}
	if err := s.Fail(jobs[0], "T1", "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(jobs[1], "T1", store.Receipt{Outcome: paligo.Unmatched}); err != nil {
		t.Fatal(err)
	}
	if first, total, err := s.FailedFirst("", 0); err != nil || len(first) != 0 || total != 1 {
		t.Errorf("FailedFirst(0) = %d jobs, total %d, %v; want 0 of 1", len(first), total, err)
	}
	failed, _ := s.Failed()
	if len(failed) != 1 || failed[0].Reason != "channel_not_found" || failed[0].Job.Channel != "CBAD" {
		t.Errorf("failed = %+v", failed)
	}
	un, _ := s.Unmatched("")
	if len(un) != 1 || un[0].Email != "ghost@example.com" || un[0].Count != 1 || un[0].LastEvent != "a" {
		t.Errorf("unmatched = %+v", un)
	}
	// A later match takes the email off the list.
	s.CacheUser("", "Ghost@example.com", "U7")
	if un, _ := s.Unmatched(""); len(un) != 0 {
		t.Errorf("unmatched after a match = %+v", un)
	}
	if u, ok, _ := s.CachedUser("", "ghost@example.com"); !ok || u.User != "U7" {
		t.Errorf("cached user = %+v, %v", u, ok)
	}
	back, err := s.RetryFailed("", 0)
	if err != nil || len(back) != 1 || back[0].Seq != jobs[0].Seq {
		t.Fatalf("retry = %+v, %v", back, err)
	}
	if failed, _ := s.Failed(); len(failed) != 0 {
		t.Errorf("failed after retry = %+v", failed)
	}
	if pending, _ := s.PendingJobs(); len(pending) != 1 || pending[0].Channel != "CBAD" {
		t.Errorf("outbox after retry = %+v", pending)
	}
	if err := s.SetRoutes("", map[paligo.Kind][]string{"comment.reply": {"C1"}}); err == nil {
		t.Error("routing a personal-only kind was accepted")
	}
}

// One person's job reads everything the store knows for it in one
// transaction: the event, the cached match of the email (whatever its case)
// and of the actor's, and of the person their receipt, preferences, DM
// channel and time zone.
func TestReadPersonJob(t *testing.T) { eachEngine(t, testReadPersonJob) }

func testReadPersonJob(t *testing.T) {
	s := MustOpen(t)
	s.AcceptEvents([]paligo.Event{{ID: "a", Type: "comment.reply", Recipients: []string{"Ann@Example.com"},
		Actor: &paligo.Person{Email: "bo@example.com"}}})
	jobs, err := storetest.FanOut(s, "T1", 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs = %v, %v", jobs, err)
	}
	job := jobs[0]

	// Nothing known yet: the email must be asked of Slack.
	p, err := s.ReadPersonJob(job, "T1", "")
	if err != nil || p.Event.ID != "a" || p.User != "" || p.MatchFound || p.ActorFound {
		t.Fatalf("first read = %+v, %v; want the event and nothing known", p, err)
	}
	s.CacheUser("", "ann@example.com", "U1")
	s.CacheUser("", "bo@example.com", "")
	s.CacheDM("", "U1", "D1")
	s.CacheTZ("", "U1", store.UserTZ{TZ: "Europe/Oslo"})
	s.UpdatePrefs("T1", "U1", func(p *paligo.Prefs) error { p.Frequency = paligo.Weekly; return nil })

	p, err = s.ReadPersonJob(job, "T1", "")
	switch {
	case err != nil:
		t.Fatal(err)
	case p.User != "U1" || !p.MatchFound:
		t.Errorf("user = %q (found %v), want the cached match U1", p.User, p.MatchFound)
	case !p.ActorFound || p.ActorMatch.User != "":
		t.Errorf("actor match = %+v (found %v), want the cached 'no one'", p.ActorMatch, p.ActorFound)
	case p.Prefs.Frequency != paligo.Weekly || p.DM != "D1" || !p.TZFound || p.Reached:
		t.Errorf("read %+v; want weekly, D1, a time zone, not reached", p)
	}
	if _, err := s.Finish(job, "T1", store.Receipt{Outcome: paligo.Digested, User: "U1"}); err != nil {
		t.Fatal(err)
	}
	// After a lookup, for the user it found.
	if p, _ := s.ReadPersonJob(job, "T1", "U1"); !p.Reached || p.User != "U1" {
		t.Errorf("read for U1 = %+v; want reached", p)
	}
	// The defaults for someone who never saved preferences.
	if p, _ := s.ReadPersonJob(job, "T1", "U9"); p.Prefs.Frequency != paligo.DefaultPrefs().Frequency || p.DM != "" || p.TZFound || p.Reached {
		t.Errorf("read for U9 = %+v; want defaults and nothing cached", p)
	}
	if _, err := s.ReadPersonJob(store.Job{Event: 999, Kind: store.JobPerson}, "T1", ""); err == nil {
		t.Error("a job whose event is missing read without error")
	}
}

// With the workspace directory read whole, a recipient it does not match
// ends unmatched at fan-out, in the same transaction: no job for it.
func TestFanOutKnowingEndsStrangersAtOnce(t *testing.T) {
	eachEngine(t, testFanOutKnowingEndsStrangersAtOnce)
}

func testFanOutKnowingEndsStrangersAtOnce(t *testing.T) {
	s := MustOpen(t)
	s.CacheDirectory("", map[string]string{"ann@example.com": "U1", "gone@example.com": ""})
	s.AcceptEvents([]paligo.Event{{ID: "a", Type: "comment.reply", Recipients: []string{"Ann@example.com", "gone@example.com", "stranger@elsewhere.example"}}})
	r, err := storetest.FanOutKnowing(s, "T1", 10, true)
	jobs := r.Jobs
	if err != nil || r.Unmatched != 2 || len(jobs) != 1 || jobs[0].Email != "ann@example.com" || r.Events != 1 {
		t.Fatalf("fan-out = %v, %+v, %v; want ann's job, 2 unmatched, 1 event", lanes(jobs), r, err)
	}
	un, _ := s.Unmatched("")
	if len(un) != 2 || un[0].LastEvent != "a" {
		t.Errorf("unmatched list = %+v", un)
	}
	if r, found, _ := s.Receipt(jobs[0].Event, "email:stranger@elsewhere.example"); !found || r.Outcome != paligo.Unmatched {
		t.Errorf("the stranger's receipt = %+v (found %v)", r, found)
	}
	if events, pending, _ := s.Backlog(); events != 0 || pending != 1 {
		t.Errorf("backlog = %d events, %d jobs; want 0 and ann's", events, pending)
	}
}

// Ingest fans events out in the transaction that accepts them, in order:
// never before an earlier event the fan-out loop has not taken yet.
func TestAcceptAndFanOutKeepsTheOrder(t *testing.T) { eachEngine(t, testAcceptAndFanOutKeepsTheOrder) }

func testAcceptAndFanOutKeepsTheOrder(t *testing.T) {
	s := MustOpen(t)
	spec := &store.FanOutSpec{Team: "T1"}
	s.AcceptEvents([]paligo.Event{{ID: "e1", Type: "comment.reply", Recipients: []string{"a@example.com"}}})
	res, fr, err := s.AcceptAndFanOut([]paligo.Event{{ID: "e2", Type: "comment.reply", Recipients: []string{"b@example.com"}}}, spec)
	if err != nil || res.Accepted != 1 || fr.Events != 0 || len(fr.Jobs) != 0 {
		t.Fatalf("behind an event not fanned out: %+v %+v %v; want it accepted and left to the loop", res, fr, err)
	}
	if jobs, _ := storetest.FanOut(s, "T1", 10); fmt.Sprint(lanes(jobs)) != "[email:a@example.com email:b@example.com]" {
		t.Fatalf("the loop fanned out %v", lanes(jobs))
	}
	// Caught up: fanned out at once, duplicates not again.
	res, fr, err = s.AcceptAndFanOut([]paligo.Event{
		{ID: "e3", Type: "comment.reply", Recipients: []string{"c@example.com", "d@example.com"}},
		{ID: "e1", Type: "comment.reply", Recipients: []string{"a@example.com"}},
	}, spec)
	if err != nil || res.Accepted != 1 || res.Duplicates != 1 || fr.Events != 1 || fmt.Sprint(lanes(fr.Jobs)) != "[email:c@example.com email:d@example.com]" {
		t.Fatalf("caught up: %+v %v %v", res, lanes(fr.Jobs), err)
	}
	if jobs, _ := storetest.FanOut(s, "T1", 10); len(jobs) != 0 {
		t.Errorf("fanned out twice: %v", lanes(jobs))
	}
	if events, jobs, _ := s.Backlog(); events != 0 || jobs != 4 {
		t.Errorf("backlog %d events, %d jobs; want 0 and 4", events, jobs)
	}
}
