package store

import (
	"strings"
	"time"
)

// Channels an event names (paligo.Event.Channels): ids, or #names that
// the names cache turns into ids, else delivery resolves them; and what the
// bot knows of a channel being shared with other organizations.

// namedChannels turns the channels an event names into ids where the
// name is known (the channel names cache); an unknown #name stays as it
// is, and delivery resolves it.
func namedChannels(cache kvBucket, scope string, named []string) []string {
	if len(named) == 0 {
		return nil
	}
	out := make([]string, 0, len(named))
	for _, ch := range named {
		if name, ok := strings.CutPrefix(ch, "#"); ok {
			if id := cache.Get(channelNameKey(scope, name)); id != nil {
				ch = string(id)
			}
		}
		out = append(out, ch)
	}
	return out
}

func channelNameKey(scope, name string) []byte { return Scoped(scope, "chan:"+name) }

// ChannelByName returns the id of the channel named name in the workspace
// of scope, if the names cache knows it.
func (s directoryRecords) ChannelByName(scope, name string) (string, bool, error) {
	var id string
	err := s.db.view(func(tx kvTx) error {
		id = string(tx.Bucket(bucketSlackCache).Get(channelNameKey(scope, name)))
		return nil
	})
	return id, id != "", err
}

// CacheChannelNames remembers channel ids by name (conversations.list).
func (s directoryRecords) CacheChannelNames(scope string, byName map[string]string) error {
	return s.batch(func(tx kvTx) error {
		b := tx.Bucket(bucketSlackCache)
		for name, id := range byName {
			if err := b.Put(channelNameKey(scope, name), []byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ChannelShared is what the bot last learned of whether channel is shared
// with other organizations, and when.
type ChannelShared struct {
	External  bool      `json:"external"`
	CheckedAt time.Time `json:"checked_at"`
}

// CacheChannelShared remembers whether channel is shared with other
// organizations.
func (s directoryRecords) CacheChannelShared(channel string, external bool) error {
	now := s.Now().UTC()
	return s.batch(func(tx kvTx) error {
		return putJSON(tx.Bucket(bucketSlackCache), []byte("ext:"+channel), ChannelShared{External: external, CheckedAt: now})
	})
}

// ResolveChannelJob points channel job j, which names its channel as
// #name, at the channel id it resolved to, in the outbox (a retry after a
// crash posts there). When that channel already got the event, or another
// job will post it there, j ends instead and dup is true: an event reaches
// each channel once.
func (s outboxRecords) ResolveChannelJob(j Job, id string) (dup bool, err error) {
	err = s.update(func(tx kvTx) error {
		out := tx.Bucket(bucketOutbox)
		if out.Get(u64(j.Seq)) == nil {
			return ErrJobGone
		}
		dup = tx.Bucket(bucketReceipts).Get(receiptKey(j.Event, id)) != nil
		if !dup {
			err := eachJSON(out, func(_ []byte, o Job) error {
				if o.Seq != j.Seq && o.Event == j.Event && o.Kind == JobChannel && o.Channel == id {
					dup = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if dup {
			return out.Delete(u64(j.Seq))
		}
		j.Channel = id
		return putJSON(out, u64(j.Seq), j)
	})
	return dup, err
}
