package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Subscriptions (v6) are kept per channel, in the order they were made:
// subscriptions: channel \x00 8-byte sequence -> paligo.Subscription JSON,
// mutes: channel \x00 subject key -> paligo.Mute JSON. A route of the
// /route-alerts modal is a plain subscription: one kind, no filters, no
// options; the routes stored before v6 became such subscriptions.

var (
	bucketSubscriptions = []byte("subscriptions")
	bucketMutes         = []byte("mutes")
)

// migrateToSubscriptions is migration v6.
func migrateToSubscriptions(tx kvTx) error {
	subs, err := tx.CreateBucketIfNotExists(bucketSubscriptions)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bucketMutes); err != nil {
		return err
	}
	routes, err := readRoutes(tx)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(routes)) {
		for _, ch := range routes[k] {
			if err := putSubscription(subs, paligo.Subscription{Channel: ch, Kinds: []paligo.Kind{k}}); err != nil {
				return err
			}
		}
	}
	rb := tx.Bucket(bucketRoutes)
	var keys [][]byte
	rb.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
	for _, k := range keys {
		if err := rb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func channelPrefix(channel string) []byte { return []byte(channel + "\x00") }

func putSubscription(b kvBucket, sub paligo.Subscription) error {
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return putJSON(b, append(channelPrefix(sub.Channel), u64(seq)...), sub)
}

// subscriptionCache holds the decoded subscriptions and mutes for the
// fan-out, which reads them in every accepting transaction. It is filled
// and emptied only inside write transactions, which bbolt runs one at a
// time, so it always holds what the latest commit wrote.
type subscriptionCache struct {
	mu    sync.Mutex
	valid bool
	rules fanOutRules
	// gen counts the changes: callers match against the rules of a gen
	// outside the writer, and the transaction takes their answer only if
	// gen has not moved since.
	gen uint64
	// version is the database's rules version the cache was read at:
	// another process sharing the database (a replica) moves it when it
	// changes a subscription or a mute.
	version uint64
}

// keyRulesVersion counts the changes to subscriptions and mutes, in meta.
var keyRulesVersion = []byte("rules_version")

func rulesVersion(tx kvTx) uint64 {
	if v := tx.Bucket(bucketMeta).Get(keyRulesVersion); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// invalidate empties the cache, in a write transaction that changes the
// subscriptions or mutes.
func (c *subscriptionCache) invalidate() {
	c.mu.Lock()
	c.valid = false
	c.gen++
	c.mu.Unlock()
}

// snapshot returns the rules and their gen, if the cache holds them.
func (c *subscriptionCache) snapshot() (fanOutRules, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rules, c.gen, c.valid
}

// current reports whether the rules of gen are still the latest.
func (c *subscriptionCache) current(gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.valid && c.gen == gen
}

// fanOutRules are what decides which channels an event reaches: the
// subscriptions of each workspace (by scope) and the mutes, compiled.
type fanOutRules struct {
	byScope map[string]*paligo.Matcher
	none    *paligo.Matcher // no subscriptions: the mutes alone
	// filtered are the kinds some subscription with filters takes, which
	// matching must read (routes alone are a lookup by kind).
	filtered map[paligo.Kind]bool
}

// readsFilters reports whether matching events reads filters: whether a
// subscription with filters takes the kind of one of them.
func (r fanOutRules) readsFilters(events []paligo.Event) bool {
	if len(r.filtered) == 0 {
		return false
	}
	for i := range events {
		if r.filtered[events[i].Type] {
			return true
		}
	}
	return false
}

func newRules(subs []paligo.Subscription, mutes []paligo.Mute) fanOutRules {
	split := map[string][]paligo.Subscription{}
	filtered := map[paligo.Kind]bool{}
	for _, sub := range subs {
		split[sub.Team] = append(split[sub.Team], sub)
		if len(sub.Filters) > 0 {
			for _, k := range sub.Kinds {
				filtered[k] = true
			}
		}
	}
	r := fanOutRules{byScope: map[string]*paligo.Matcher{}, none: paligo.NewMatcher(nil, mutes), filtered: filtered}
	for scope, subs := range split {
		r.byScope[scope] = paligo.NewMatcher(subs, mutes)
	}
	return r
}

func (r fanOutRules) of(scope string) *paligo.Matcher {
	if m := r.byScope[scope]; m != nil {
		return m
	}
	return r.none
}

// reached is paligo.Reached for e, an event of the workspace of scope,
// with these rules and the channels e names.
func (r fanOutRules) reached(e *paligo.Event, scope string, named []string, now time.Time) []string {
	return r.of(scope).Reached(e, named, now)
}

// addNamed is paligo.Matcher.AddNamed.
func (r fanOutRules) addNamed(e *paligo.Event, reached, named []string, now time.Time) []string {
	return r.none.AddNamed(e, reached, named, now)
}

// preMatched is what a caller matched outside the writer: for each event,
// the channels its subscriptions reach (without the ones it names), under
// the rules of gen.
type preMatched struct {
	gen      uint64
	channels [][]string
	matched  []bool // channels[i] was matched (events known stored are not)
}

// rulesOf returns the subscriptions and mutes, from the cache when it is
// filled; tx must be a write transaction.
func (s ruleRecords) rulesOf(tx kvTx) (fanOutRules, error) {
	c := &s.subsCache
	version := rulesVersion(tx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.version == version {
		return c.rules, nil
	}
	if c.valid {
		c.gen++ // what was matched against the rules before is stale
	}
	subs, err := listJSON[paligo.Subscription](tx.Bucket(bucketSubscriptions))
	if err != nil {
		return fanOutRules{}, err
	}
	mutes, err := listJSON[paligo.Mute](tx.Bucket(bucketMutes))
	if err != nil {
		return fanOutRules{}, err
	}
	r := newRules(subs, mutes)
	c.rules, c.valid, c.version = r, true, version
	return r, nil
}

// changeRules runs fn in a write transaction that changes subscriptions or
// mutes, and empties the cache in it.
func (s ruleRecords) changeRules(fn func(tx kvTx) error) error {
	return s.update(func(tx kvTx) error {
		s.subsCache.invalidate()
		if err := tx.Bucket(bucketMeta).Put(keyRulesVersion, u64(rulesVersion(tx)+1)); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Subscriptions lists the subscriptions of the workspace of scope in
// channel ("" for every channel), by channel and in the order they were
// made.
func (s ruleRecords) Subscriptions(scope, channel string) ([]paligo.Subscription, error) {
	var out []paligo.Subscription
	err := s.db.view(func(tx kvTx) (err error) {
		out, err = subscriptionsOf(tx, scope, channel)
		return err
	})
	return out, err
}

// subscriptionsOf is Subscriptions in tx.
func subscriptionsOf(tx kvTx, scope, channel string) ([]paligo.Subscription, error) {
	var out []paligo.Subscription
	c := tx.Bucket(bucketSubscriptions).Cursor()
	prefix := []byte{}
	if channel != "" {
		prefix = channelPrefix(channel)
	}
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var sub paligo.Subscription
		if err := json.Unmarshal(v, &sub); err != nil {
			return nil, fmt.Errorf("decode subscription %q: %w", k, err)
		}
		if sub.Team == scope {
			out = append(out, sub)
		}
	}
	return out, nil
}

// ErrTooManySubscriptions refuses a channel's subscription beyond the limit.
var ErrTooManySubscriptions = fmt.Errorf("a channel has at most %d subscriptions", paligo.MaxSubscriptionsPerChannel)

// Subscribe adds sub to its channel, unless the channel already has the
// same one (then added is false and nothing changes).
func (s ruleRecords) Subscribe(sub paligo.Subscription) (added bool, err error) {
	if sub.Channel == "" || len(sub.Kinds) == 0 {
		return false, errors.New("a subscription needs a channel and kinds")
	}
	err = s.changeRules(func(tx kvTx) error {
		added = false
		b := tx.Bucket(bucketSubscriptions)
		prefix := channelPrefix(sub.Channel)
		n := 0
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var have paligo.Subscription
			if err := json.Unmarshal(v, &have); err != nil {
				return err
			}
			if have.Team != sub.Team {
				continue
			}
			if have.String() == sub.String() {
				return nil
			}
			n++
		}
		if n >= paligo.MaxSubscriptionsPerChannel {
			return ErrTooManySubscriptions
		}
		added = true
		return putSubscription(b, sub)
	})
	return added, err
}

// Unsubscribe removes the channel's n-th subscription of the workspace of
// scope (from 1, in the order Subscriptions lists them) and returns it;
// found is false when there is no such one.
func (s ruleRecords) Unsubscribe(scope, channel string, n int) (sub paligo.Subscription, found bool, err error) {
	err = s.changeRules(func(tx kvTx) error {
		b := tx.Bucket(bucketSubscriptions)
		prefix := channelPrefix(channel)
		i := 0
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if err := json.Unmarshal(v, &sub); err != nil {
				return err
			}
			if sub.Team != scope {
				continue
			}
			if i++; i != n {
				continue
			}
			found = true
			return b.Delete(bytes.Clone(k))
		}
		sub = paligo.Subscription{}
		return nil
	})
	return sub, found, err
}

// RemoveSubscription removes the channel's subscription of the workspace
// of scope whose Digest is digest; found is false when it has none such.
func (s ruleRecords) RemoveSubscription(scope, channel, digest string) (found bool, err error) {
	err = s.changeRules(func(tx kvTx) error {
		b := tx.Bucket(bucketSubscriptions)
		prefix := channelPrefix(channel)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var sub paligo.Subscription
			if err := json.Unmarshal(v, &sub); err != nil {
				return err
			}
			if sub.Team == scope && sub.Digest() == digest {
				found = true
				return b.Delete(bytes.Clone(k))
			}
		}
		return nil
	})
	return found, err
}

// Mute stores m, replacing a mute of the same subject in the same channel.
func (s ruleRecords) Mute(m paligo.Mute) error {
	return s.changeRules(func(tx kvTx) error {
		return putJSON(tx.Bucket(bucketMutes), append(channelPrefix(m.Channel), m.Subject...), m)
	})
}

// Unmute removes the channel's mute of subject; found is false when there
// was none.
func (s ruleRecords) Unmute(channel, subject string) (found bool, err error) {
	err = s.changeRules(func(tx kvTx) error {
		b := tx.Bucket(bucketMutes)
		k := append(channelPrefix(channel), subject...)
		found = b.Get(k) != nil
		return b.Delete(k)
	})
	return found, err
}

// Mutes lists the mutes of channel ("" for every channel).
func (s ruleRecords) Mutes(channel string) ([]paligo.Mute, error) {
	var out []paligo.Mute
	err := s.db.view(func(tx kvTx) (err error) {
		out, err = mutesOf(tx, channel)
		return err
	})
	return out, err
}

// mutesOf is Mutes in tx.
func mutesOf(tx kvTx, channel string) ([]paligo.Mute, error) {
	var out []paligo.Mute
	prefix := []byte{}
	if channel != "" {
		prefix = channelPrefix(channel)
	}
	c := tx.Bucket(bucketMutes).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m paligo.Mute
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// threadsOff reports whether one of a channel's subscriptions that takes
// e says threads=off.
func threadsOff(subs []paligo.Subscription, e *paligo.Event) bool {
	for i := range subs {
		if subs[i].ThreadsOff && subs[i].Matches(e) {
			return true
		}
	}
	return false
}
