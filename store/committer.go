package store

import (
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/paligo/paligo-slack/paligo"
)

// acceptCommitter shares commits among concurrent AcceptEvents calls. A
// call joins the group waiting for the next commit; one caller at a time
// commits the whole group, and the next commit starts as soon as that one's
// fsync returns, with every call that arrived meanwhile. Unlike bbolt's
// Batch there is no timer: a lone call commits at once, and a crowd of
// them shares one fsync per commit.
type acceptCommitter struct {
	s *Store

	mu         sync.Mutex
	committing bool
	waiting    []*acceptCall
}

type acceptCall struct {
	events []paligo.Event
	fan    *FanOutSpec
	res    AcceptResult
	fanned FanOutResult
	err    error
	done   chan struct{}
}

func (c *acceptCommitter) accept(events []paligo.Event, fan *FanOutSpec) (AcceptResult, FanOutResult, error) {
	call := &acceptCall{events: events, fan: fan, done: make(chan struct{})}
	c.mu.Lock()
	c.waiting = append(c.waiting, call)
	if c.committing {
		c.mu.Unlock()
		<-call.done
		return call.res, call.fanned, call.err
	}
	// This caller commits, group after group, until no one waits.
	c.committing = true
	for len(c.waiting) > 0 {
		group := c.waiting
		c.waiting = nil
		c.mu.Unlock()
		c.commit(group)
		c.mu.Lock()
	}
	c.committing = false
	c.mu.Unlock()
	<-call.done
	return call.res, call.fanned, call.err
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
	err := c.s.update(func(tx *bolt.Tx) error {
		for _, call := range group {
			res, fanned, err := acceptTx(tx, call.events, call.fan, now)
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
		err := c.s.update(func(tx *bolt.Tx) (err error) {
			call.res, call.fanned, err = acceptTx(tx, call.events, call.fan, now)
			return err
		})
		if err != nil {
			call.res, call.fanned, call.err = AcceptResult{}, FanOutResult{}, fmt.Errorf("store events: %w", err)
		}
	}
}
