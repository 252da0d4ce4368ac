package store

// The store is cut by what it keeps. Each part below declares the methods
// of one kind of record, in the files named; *Store is all of them, so a
// caller asks the store and a reader of a method sees, from its receiver,
// which records it touches. A part reaches the others, and the
// transactions they share, through the Store it belongs to.
type (
	// eventRecords: accepted events and their idempotency index
	// (events.go, trace.go).
	eventRecords struct{ *Store }
	// outboxRecords: the delivery jobs, their receipts and failed list,
	// and the lanes' leases between replicas (outbox.go, lanes.go,
	// personjob.go).
	outboxRecords struct{ *Store }
	// directoryRecords: what Slack said, worth not asking again: people
	// by email, roles, DM channels, channel names and sharing, time zones
	// (outbox.go, channels.go, digest.go).
	directoryRecords struct{ *Store }
	// ruleRecords: subscriptions, mutes, preferences and follows, and
	// the routes (subscriptions.go, prefs.go, outbox.go).
	ruleRecords struct{ *Store }
	// livingRecords: living messages, their logs and the platform's
	// callbacks (living.go).
	livingRecords struct{ *Store }
	// digestRecords: digest queues and the digests sent (digest.go).
	digestRecords struct{ *Store }
	// workspaceRecords: installations, OAuth states and the replicas'
	// locks (installations.go, locks.go).
	workspaceRecords struct{ *Store }
	// inviteRecords: invitations and their runs (invite.go).
	inviteRecords struct{ *Store }
)

// parts is every part of the store, each pointing at it.
type parts struct {
	eventRecords
	outboxRecords
	directoryRecords
	ruleRecords
	livingRecords
	digestRecords
	workspaceRecords
	inviteRecords
}

func partsOf(s *Store) parts {
	return parts{eventRecords{s}, outboxRecords{s}, directoryRecords{s}, ruleRecords{s},
		livingRecords{s}, digestRecords{s}, workspaceRecords{s}, inviteRecords{s}}
}
