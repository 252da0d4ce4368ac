package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/paligo/paligo-slack/paligo"
)

// PersonJob is everything delivering one person's notification needs from
// the store, read in one transaction: the event, who the person is in
// Slack, and, once that is known, their preferences, whether they already
// got this event, their DM channel and their time zone.
type PersonJob struct {
	Event paligo.Event
	// User is the person's Slack id: the job's, the one asked for, or the
	// cached match of the job's email. "" when the email has no match that
	// is known: Match then holds what was last learned of it, if anything.
	User       string
	Match      SlackUser
	MatchFound bool
	// ActorMatch is the cached match of the event's actor's email.
	ActorMatch SlackUser
	ActorFound bool
	// Of User, when it is set:
	Reached bool         // a receipt says this person already got this event
	Prefs   paligo.Prefs // their preferences (the defaults if never saved)
	DM      string       // the DM channel opened with them, "" if none yet
	TZFound bool         // their time zone has been read from Slack
}

// ReadPersonJob reads what job (a JobPerson of team) needs, for user if it
// is given (after a lookup), else for job.User or the cached match of
// job.Email.
func (s outboxRecords) ReadPersonJob(job Job, team, user string) (PersonJob, error) {
	var p PersonJob
	err := s.db.view(func(tx kvTx) error {
		v := tx.Bucket(bucketEvents).Get(u64(job.Event))
		if v == nil {
			return fmt.Errorf("event %d not found", job.Event)
		}
		var err error
		if p.Event, err = decodeEvent(u64(job.Event), v); err != nil {
			return err
		}
		cache := tx.Bucket(bucketSlackCache)
		p.User = user
		if p.User == "" {
			p.User = job.User
		}
		if p.User == "" {
			if p.Match, p.MatchFound, err = getTxJSON[SlackUser](cache, emailKey(job.Team, job.Email)); err != nil {
				return err
			}
			p.User = p.Match.User // a match once found is believed
		}
		if a := p.Event.Actor; a != nil && a.Email != "" {
			if p.ActorMatch, p.ActorFound, err = getTxJSON[SlackUser](cache, emailKey(job.Team, a.Email)); err != nil {
				return err
			}
		}
		if p.User == "" {
			return nil
		}
		p.Reached = tx.Bucket(bucketReceipts).Get(receiptKey(job.Event, team+"/"+p.User)) != nil
		if p.Prefs, err = getPrefs(tx, team, p.User); err != nil {
			return err
		}
		if p.DM, _, err = getTxJSON[string](cache, Scoped(job.Team, "dm:"+p.User)); err != nil {
			return err
		}
		p.TZFound = cache.Get(Scoped(job.Team, "tz:"+p.User)) != nil
		return nil
	})
	return p, err
}

// getTxJSON reads the value at key in b, decoded as T; found is false when
// there is none.
func getTxJSON[T any](b kvBucket, key []byte) (v T, found bool, err error) {
	data := b.Get(key)
	if data == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, true, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, true, nil
}

// emailKey is the lookup cache's key of email (emails match whatever their
// case).
func emailKey(scope, email string) []byte { return Scoped(scope, "email:"+strings.ToLower(email)) }
