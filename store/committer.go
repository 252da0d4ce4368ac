package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/paligo/paligo-slack/paligo"
)

// acceptCommitter shares commits among concurrent AcceptEvents calls. One
// goroutine commits: it takes every call waiting, stores them all in one
// transaction, answers them once it has committed, and starts the next
// commit as soon as that one's fsync returns, with every call that arrived
// meanwhile. Unlike bbolt's Batch there is no timer: a lone call commits at
// once, and a crowd of them shares one fsync per commit.
type acceptCommitter struct {
	s *Store

	mu      sync.Mutex
	waiting []*acceptCall
	closed  bool
	wake    chan struct{} // one token: calls are waiting
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type acceptCall struct {
	events  []paligo.Event
	encoded [][]byte
	fan     *FanOutSpec
	pre     *preMatched
	res     AcceptResult
	fanned  FanOutResult
	err     error
	done    chan struct{}
}

// errClosed answers a call made after Close.
var errClosed = errors.New("the store is closed")

func (c *acceptCommitter) start(s *Store) {
	c.s = s
	c.wake = make(chan struct{}, 1)
	c.stop = make(chan struct{})
	c.stopped = make(chan struct{})
	go c.run()
}

func (c *acceptCommitter) accept(events []paligo.Event, fan *FanOutSpec) (AcceptResult, FanOutResult, error) {
	// Encoded here, by each caller, while the committer commits others.
	events, encoded, err := encodeEvents(events, c.s.Now().UTC())
	if err != nil {
		return AcceptResult{}, FanOutResult{}, err
	}
	call := &acceptCall{events: events, encoded: encoded, fan: fan, done: make(chan struct{})}
	if fan != nil {
		// Where matching reads filters (which a hostile subscription can
		// make costly), a sender's retry of events already stored is
		// answered before any matching, and without a commit: what is
		// stored was fsynced when it was first accepted. Routes alone cost
		// a lookup by kind, and events already stored are not matched in
		// the commit; so do filters of other kinds than these events'.
		var known knownEvents
		if rules, _, ok := c.s.subsCache.snapshot(); ok && rules.readsFilters(events) {
			if known, err = c.s.knownIDs(events); err != nil {
				return AcceptResult{}, FanOutResult{}, fmt.Errorf("store events: %w", err)
			}
			if known.all {
				return AcceptResult{Duplicates: len(events)}, FanOutResult{}, nil
			}
		}
		call.pre = c.s.preMatch(events, fan, known.ids, c.s.Now().UTC())
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return AcceptResult{}, FanOutResult{}, errClosed
	}
	c.waiting = append(c.waiting, call)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-call.done
	return call.res, call.fanned, call.err
}

func (c *acceptCommitter) run() {
	defer close(c.stopped)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			// Calls that came in before Close are still committed.
			c.mu.Lock()
			group := c.waiting
			c.waiting, c.closed = nil, true
			c.mu.Unlock()
			if len(group) > 0 {
				c.commit(group)
			}
			return
		}
		for {
			c.mu.Lock()
			group := c.waiting
			c.waiting = nil
			c.mu.Unlock()
			if len(group) == 0 {
				break
			}
			c.commit(group)
		}
	}
}

// close commits what is waiting and stops the committer.
func (c *acceptCommitter) close() {
	if c.stop == nil {
		return
	}
	c.once.Do(func() { close(c.stop) })
	<-c.stopped
}

// commit stores a group in one transaction. When one call's events make the
// transaction fail on their own (not the disk), the others are committed
// without it, each call by itself, as bbolt's Batch does.
func (c *acceptCommitter) commit(group []*acceptCall) {
	defer func() {
		for _, call := range group {
			close(call.done)
		}
	}()
	now := c.s.Now().UTC()
	err := c.s.update(func(tx kvTx) error {
		prefetchAccepts(tx, group)
		for _, call := range group {
			res, fanned, err := c.s.acceptTx(tx, call.events, call.encoded, call.fan, call.pre, now)
			if err != nil {
				return err
			}
			call.res, call.fanned = res, fanned
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, call := range group {
			if err != nil {
				call.res, call.fanned, call.err = AcceptResult{}, FanOutResult{}, fmt.Errorf("store events: %w", err)
			}
		}
		return
	}
	for _, call := range group {
		err := c.s.update(func(tx kvTx) (err error) {
			call.res, call.fanned, err = c.s.acceptTx(tx, call.events, call.encoded, call.fan, call.pre, now)
			return err
		})
		if err != nil {
			call.res, call.fanned, call.err = AcceptResult{}, FanOutResult{}, fmt.Errorf("store events: %w", err)
		}
	}
}

// prefetchAccepts reads ahead, on an engine that gains by it, what storing
// group will read: whether each event's id is known, the sequences, the
// fan-out cursor, the followers of each subject and what the directory
// said of each recipient. A group then costs PostgreSQL a round trip or
// two, not one or two an event.
func prefetchAccepts(tx kvTx, group []*acceptCall) {
	if _, ok := tx.(prefetcher); !ok {
		return
	}
	var ids, follows, emails [][]byte
	fan := false
	for _, call := range group {
		for i := range call.events {
			e := &call.events[i]
			ids = append(ids, []byte(e.ID))
			if call.fan == nil {
				continue
			}
			fan = true
			if e.Subject != nil {
				follows = append(follows, followerKey(e.Subject.Key(), call.fan.teamOf(e)+"/"))
			}
			scope := call.fan.scopeOf(e)
			for _, r := range e.Recipients {
				emails = append(emails, emailKey(scope, strings.ToLower(r)))
			}
		}
	}
	reqs := []prefetchReq{{bucket: bucketEventIDs, keys: ids}, {bucket: bucketEvents, seq: true}}
	if fan {
		reqs = append(reqs, prefetchReq{bucket: bucketMeta, keys: [][]byte{keyFanoutCursor, keyRulesVersion}},
			prefetchReq{bucket: bucketFollowers, prefixes: follows},
			prefetchReq{bucket: bucketSlackCache, keys: emails},
			prefetchReq{bucket: bucketOutbox, seq: true})
	}
	prefetch(tx, reqs...)
}
