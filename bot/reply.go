package bot

import (
	"context"
)

// Reply is a handler's answer to one envelope.
type Reply struct {
	// Ack is the payload of the Socket Mode ack (a modal's response_action,
	// a slash command's ephemeral answer); nil acks with no payload.
	Ack any
	// After, if set, runs once the ack has been sent: Slack calls and other
	// work that must not delay the ack past Slack's 3 seconds.
	After func(ctx context.Context)
}
