package storetest

import (
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/store"
)

// Populate fills s with every kind of record the bot keeps, through the
// store's own methods, as a working bot would: people's settings and
// follows, events, subscriptions and mutes, outbox jobs with their
// receipts, a failed job and an unmatched email, Slack lookups, digest
// queues and a digest sent, an invitation run, a living message,
// connected workspaces and a Connect flow under way.
func Populate(tb testing.TB, s *store.Store) {
	tb.Helper()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	must(s.SetPrimary("T1"))
	for _, u := range []string{"U1", "U2"} {
		_, err := s.UpdatePrefs("T1", u, func(p *paligo.Prefs) error {
			p.Follow(paligo.Subject{Kind: "topic", ID: "t-1", Title: "Guide"})
			if u == "U2" {
				p.Frequency = paligo.Daily
			}
			return nil
		})
		must(err)
	}
	_, err := s.Subscribe(paligo.Subscription{Channel: "C1", Kinds: []paligo.Kind{"run.failed"}})
	must(err)
	must(s.Mute(paligo.Mute{Channel: "C1", Subject: "schedule:nightly", By: "U1"}))
	_, err = s.AcceptEvents([]paligo.Event{
		{ID: "e1", Type: "run.failed", Subject: &paligo.Subject{Kind: "schedule", ID: "dbt", URL: "https://paradime.example/s/dbt"}},
		{ID: "e2", Type: "document.created", Subject: &paligo.Subject{Kind: "topic", ID: "t-1"}},
		{ID: "e3", Type: "comment.mention", Recipients: []string{"nobody@example.com", "gone@example.com"}},
	})
	must(err)
	jobs, err := FanOut(s, "T1", 10)
	must(err)
	var channel, nobody, gone store.Job
	var people []store.Job
	for _, j := range jobs {
		switch {
		case j.Kind == store.JobChannel:
			channel = j
		case j.Email == "nobody@example.com":
			nobody = j
		case j.Email == "gone@example.com":
			gone = j
		default:
			people = append(people, j)
		}
	}
	if channel.Seq == 0 || nobody.Seq == 0 || gone.Seq == 0 || len(people) != 2 {
		tb.Fatalf("populate: fan-out made %+v", jobs)
	}
	// The channel's post: a living message, parent of its thread.
	_, _, err = s.FinishPost(channel, store.Receipt{Outcome: paligo.Sent, Channel: "C1", TS: "1.000100"},
		store.Post{Key: "schedule:dbt", Status: "failed"})
	must(err)
	must(s.CacheChannelNames("", map[string]string{"ops": "C1"}))
	must(s.CacheChannelShared("C1", false))
	must(s.CacheUser("", "nobody@example.com", ""))
	_, err = s.Finish(nobody, "T1", store.Receipt{Outcome: paligo.Unmatched})
	must(err)
	must(s.Fail(gone, "T1", "channel_not_found"))
	must(s.CacheDM("", "U1", "D1"))
	must(s.CacheTZ("", "U1", store.UserTZ{TZ: "Europe/Paris"}))
	// U1 hears at once; U2's item waits for a digest, which is sent.
	for _, j := range people {
		if j.User == "U2" {
			_, err = s.Finish(j, "T1", store.Receipt{Outcome: paligo.Digested, User: "U2"})
		} else {
			_, err = s.Finish(j, "T1", store.Receipt{Outcome: paligo.Sent, User: "U1", Channel: "D1", TS: "2.000100"})
		}
		must(err)
	}
	djobs, err := s.QueueDigests("T1", []store.DigestRequest{{User: "U2", Window: now, Reason: "daily"}})
	must(err)
	if len(djobs) != 1 {
		tb.Fatalf("populate: digest jobs %+v", djobs)
	}
	must(s.FinishDigest("T1", djobs[0], "D2", "3.000100"))
	_, err = s.QueueDigests("T1", nil)
	must(err)
	must(s.QueueDigestItems("T1", now, []store.DigestSeed{{User: "U2", Events: []uint64{2}}}))
	// An invitation run: one sent, one still queued.
	_, ijobs, err := s.QueueInvites(paligo.InviteRun{Team: "T1", Inviter: "U1", Note: "welcome",
		Entries: []paligo.InviteEntry{{User: "U5"}, {User: "U6"}}})
	must(err)
	five, err := s.ReadInviteJob(ijobs[0], "five@example.com")
	must(err)
	_, err = s.EndInvite(ijobs[0], store.InviteEnd{Result: paligo.InviteSent, Channel: "D5", TS: "4.000100", Invite: &five.Invite})
	must(err)
	// A connected workspace of an org, and a Connect flow under way.
	_, err = s.SaveInstallation(paligo.Installation{Team: "T2", TeamName: "Second", Org: "acme", BotUser: "UB2",
		BotTokenSealed: "sealed:not-a-token"})
	must(err)
	_, err = s.FirstSeen("Ev0SEEN")
	must(err)
	_, err = s.NewOAuthState(paligo.OAuthState{Org: "acme", Email: "admin@example.com", Return: "https://paligo.example/back", Expires: now.Add(time.Hour)})
	must(err)
}
