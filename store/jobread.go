package store

import (
	"fmt"
	"slices"

	"github.com/paligo/paligo-slack/paligo"
)

// The loads of delivery's jobs: each reads, in one transaction, all the
// store knows that a job of its kind needs (ReadPersonJob is the person's).

// ChannelJob is what a channel job needs: its event and, in its channel,
// whether the event goes alone (threads=off), the living message its
// thread key joins, and, for a channel only the event names, what is
// known of it being shared with other organizations.
type ChannelJob struct {
	Event paligo.Event
	// Key is the event's thread key (paligo.ThreadKey; "" for none).
	Key        string
	ThreadsOff bool
	// Living is the living message of (channel, the event's thread key),
	// when Found.
	Living      paligo.Living
	LivingFound bool
	// Shared is what conversations.info said of the channel, when
	// SharedFound (read for Named jobs only), and ExternalAllowed whether
	// a subscription there says external=allow.
	Shared          ChannelShared
	SharedFound     bool
	ExternalAllowed bool
	// MentionsOff: a subscription of the channel that takes the event
	// says mentions=off. Else Mentions are the people the event is about
	// (paligo.MentionedEmails), as the workspace directory knows them.
	MentionsOff bool
	Mentions    []Mention
}

// Mention is one person a channel post names: their Slack user ("" when
// no one in the workspace has the email, or it was never looked up) and
// whether they turned the bot off (then named, not pinged).
type Mention struct {
	Email, Name, User string
	Off               bool
}

// ReadChannelJob reads what channel job j of team (the workspace's id),
// posting to channel (an id), needs.
func (s outboxRecords) ReadChannelJob(j Job, channel, team string) (ChannelJob, error) {
	var c ChannelJob
	err := s.db.view(func(tx kvTx) error {
		v := tx.Bucket(bucketEvents).Get(u64(j.Event))
		if v == nil {
			return fmt.Errorf("event %d not found", j.Event)
		}
		e, err := decodeEvent(u64(j.Event), v)
		if err != nil {
			return err
		}
		subs, err := subscriptionsOf(tx, j.Team, channel)
		if err != nil {
			return err
		}
		c = ChannelJob{Event: e, ThreadsOff: threadsOff(subs, &e),
			ExternalAllowed: slices.ContainsFunc(subs, func(sub paligo.Subscription) bool { return sub.External }),
			MentionsOff:     slices.ContainsFunc(subs, func(sub paligo.Subscription) bool { return sub.MentionsOff && sub.Matches(&e) })}
		if !c.MentionsOff {
			for _, m := range paligo.MentionedPeople(&e) {
				known, _, err := getTxJSON[SlackUser](tx.Bucket(bucketSlackCache), emailKey(j.Team, m.Email))
				if err != nil {
					return err
				}
				mention := Mention{Email: m.Email, Name: m.Name, User: known.User}
				if known.User != "" {
					p, err := getPrefs(tx, team, known.User)
					if err != nil {
						return err
					}
					mention.Off = p.Frequency == paligo.Off
				}
				c.Mentions = append(c.Mentions, mention)
			}
		}
		c.Key = paligo.ThreadKey(&e)
		if c.Key != "" && !c.ThreadsOff {
			if c.Living, c.LivingFound, err = livingByKey(tx, livingKey(channel, c.Key)); err != nil {
				return err
			}
		}
		if j.Named {
			c.Shared, c.SharedFound, err = getTxJSON[ChannelShared](tx.Bucket(bucketSlackCache), []byte("ext:"+channel))
		}
		return err
	})
	return c, err
}

// LivingJob is what a living message's job (its parent's update, a note
// in its thread) needs: the living message, the event it shows and the
// mutes of its channel.
type LivingJob struct {
	Living paligo.Living
	Event  paligo.Event
	Mutes  []paligo.Mute
}

// ReadLivingJob reads what job j of a living message needs; ErrNoLiving
// when retention removed the living message.
func (s livingRecords) ReadLivingJob(j Job) (LivingJob, error) {
	var r LivingJob
	err := s.db.view(func(tx kvTx) (err error) {
		if r.Living, err = getLiving(tx, j.Living); err != nil {
			return err
		}
		if v := tx.Bucket(bucketEvents).Get(u64(r.Living.Event)); v != nil {
			if r.Event, err = decodeEvent(u64(r.Living.Event), v); err != nil {
				return err
			}
		} else {
			return fmt.Errorf("event %d of living message %d not found", r.Living.Event, r.Living.ID)
		}
		r.Mutes, err = mutesOf(tx, r.Living.Channel)
		return err
	})
	return r, err
}

// InviteSummaryJob is what an invitation run's summary needs: the run and
// the inviter's DM channel, when known.
type InviteSummaryJob struct {
	Run      paligo.InviteRun
	RunFound bool
	DM       string
}

// ReadInviteSummaryJob reads what summary job j needs.
func (s inviteRecords) ReadInviteSummaryJob(j Job) (InviteSummaryJob, error) {
	var r InviteSummaryJob
	err := s.db.view(func(tx kvTx) (err error) {
		cache := tx.Bucket(bucketSlackCache)
		if r.Run, r.RunFound, err = getTxJSON[paligo.InviteRun](tx.Bucket(bucketInviteRuns), u64(j.Run)); err != nil {
			return err
		}
		r.DM, _, err = getTxJSON[string](cache, Scoped(j.Team, "dm:"+j.User))
		return err
	})
	return r, err
}
