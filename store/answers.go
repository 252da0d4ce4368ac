package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/paligo/paligo-slack/paligo"
)

// What people say back from Slack (docs/answering-back.md): the subjects
// a link names (unfurls), the subjects a message can be sent about (the
// Send to Paligo shortcut), and the replies sent to the platform.

// bucketSubjectURLs (v11): team \x00 subject URL -> the sequence of the
// latest event about the subject at that URL: what a link to it unfurls
// to.
var bucketSubjectURLs = []byte("subject_urls")

func subjectURLKey(team, url string) []byte { return []byte(team + "\x00" + url) }

// indexSubjectURL notes e (accepted as seq) as the latest event about its
// subject's URL.
func indexSubjectURL(tx kvTx, e *paligo.Event, seq uint64) error {
	if e.Subject == nil || e.Subject.URL == "" {
		return nil
	}
	return tx.Bucket(bucketSubjectURLs).Put(subjectURLKey(e.Team, e.Subject.URL), u64(seq))
}

// indexSubjectURLs (v11) indexes the events stored before the index.
func indexSubjectURLs(tx kvTx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketSubjectURLs); err != nil {
		return err
	}
	return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		var e paligo.Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode event %x: %w", k, err)
		}
		return indexSubjectURL(tx, &e, binary.BigEndian.Uint64(k))
	})
}

// SubjectAt returns the latest event stored about the subject at url in
// team's workspace, if there is one (and it is still kept).
func (s eventRecords) SubjectAt(team, url string) (paligo.Event, bool, error) {
	var e paligo.Event
	var found bool
	keys := [][]byte{subjectURLKey(team, url)}
	if s.Scope(team) == "" && team != "" {
		keys = append(keys, subjectURLKey("", url)) // the primary's, stored with no team
	}
	err := s.db.view(func(tx kvTx) error {
		var latest []byte
		for _, k := range keys {
			if seq := tx.Bucket(bucketSubjectURLs).Get(k); seq != nil && bytes.Compare(seq, latest) > 0 {
				latest = seq
			}
		}
		if latest == nil {
			return nil
		}
		v := tx.Bucket(bucketEvents).Get(latest)
		if v == nil {
			return nil // removed by retention since
		}
		found = true
		return json.Unmarshal(v, &e)
	})
	return e, found, err
}

// SubjectChoice is a subject a message can be sent about, and when it was
// last heard of.
type SubjectChoice struct {
	Subject paligo.Subject
	Event   string // the latest event's id
	Recent  bool   // of the channel asked about
}

// maxRecentEvents bounds how far back RecentSubjects reads the events.
const maxRecentEvents = 5000

// RecentSubjects returns up to n subjects of team's workspace whose title,
// id or kind holds query (case-insensitive; "" takes all): those of the
// channel's living messages first, most recent first, then those of the
// latest events.
func (s livingRecords) RecentSubjects(team, channel, query string, n int) ([]SubjectChoice, error) {
	query = strings.ToLower(query)
	var out []SubjectChoice
	seen := map[string]bool{}
	add := func(e paligo.Event, recent bool) {
		if e.Subject == nil || seen[e.Subject.Key()] || len(out) >= n {
			return
		}
		sub := *e.Subject
		if query != "" && !strings.Contains(strings.ToLower(sub.Title+" "+sub.Key()), query) {
			return
		}
		seen[sub.Key()] = true
		out = append(out, SubjectChoice{Subject: sub, Event: e.ID, Recent: recent})
	}
	scope := s.Scope(team)
	err := s.db.view(func(tx kvTx) error {
		var living []paligo.Living
		err := tx.Bucket(bucketLivingKeys).ScanPrefix([]byte(channel+"\x00"), func(k, id []byte) error {
			if bytes.HasPrefix(k[len(channel)+1:], []byte{1}) {
				return nil // a parent's ts, not a key
			}
			l, found, err := getTxJSON[paligo.Living](tx.Bucket(bucketLiving), id)
			if err == nil && found && s.Scope(l.Team) == scope {
				living = append(living, l)
			}
			return err
		})
		if err != nil {
			return err
		}
		slices.SortFunc(living, func(a, b paligo.Living) int { return b.LastAt.Compare(a.LastAt) })
		evs := tx.Bucket(bucketEvents)
		for _, l := range living {
			var e paligo.Event
			if v := evs.Get(u64(l.Event)); v != nil && json.Unmarshal(v, &e) == nil {
				add(e, true)
			}
		}
		c := evs.Cursor()
		read := 0
		for k, v := c.Last(); k != nil && len(out) < n && read < maxRecentEvents; k, v = c.Prev() {
			read++
			var e paligo.Event
			if json.Unmarshal(v, &e) == nil && s.Scope(e.Team) == scope {
				add(e, false)
			}
		}
		return nil
	})
	return out, err
}

// QueueReply queues the callback that sends a person's reply (at ts in
// the thread of living message l) to the platform: a JobCallback that,
// once the platform took it, marks the reply. A reply queued before (its
// callback id, within the hour the seen events are kept: Slack's retries,
// the same event after a restart) queues nothing: queued is false.
func (s livingRecords) QueueReply(cb *paligo.ActionCallback, l paligo.Living, ts string) (j Job, queued bool, err error) {
	err = s.update(func(tx kvTx) (err error) {
		seen := tx.Bucket(bucketSeenEvents)
		if seen.Get([]byte(cb.ID)) != nil {
			queued = false
			return nil
		}
		if err := seen.Put([]byte(cb.ID), u64(uint64(s.Now().Unix()))); err != nil {
			return err
		}
		queued = true
		j, err = addJob(tx, Job{Kind: JobCallback, Callback: cb, Team: l.Team, Event: l.Event, Living: l.ID, Channel: l.Channel, TS: ts})
		return err
	})
	return j, queued, err
}
