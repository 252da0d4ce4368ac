package bot

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Verdict is what a failed Slack call calls for. Classify is the one place
// that decides it; delivery, the handlers and the socket all ask it.
type Verdict int

const (
	// Retry: the call may well succeed later (429, 5xx, a network error,
	// Slack's own transient errors, or anything Slack did not answer).
	Retry Verdict = iota
	// Refused: Slack refused the call for a reason no retry changes
	// (channel_not_found, is_archived, invalid_blocks, …).
	Refused
	// Fatal: Slack rejected the token itself; nothing works until an
	// operator gives the bot a good one.
	Fatal
)

func (v Verdict) String() string {
	return [...]string{"retry", "refused", "fatal"}[v]
}

// ErrAuth wraps the errors that no reconnect can cure: the token was
// rejected, revoked, or the account is inactive.
var ErrAuth = errors.New("slack rejected the token")

// fatalSlackErrors are the ok:false codes that mean the token is no good.
var fatalSlackErrors = []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type", "no_permission", "missing_scope"}

// transientSlackErrors are the ok:false codes worth retrying.
var transientSlackErrors = []string{"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org"}

// TokenExpired reports whether err is Slack's token_expired: a rotating
// token past its 12 hours, which a refresh cures (Classify calls it Fatal
// like any refused token).
func TokenExpired(err error) bool {
	v, reason := Classify(err)
	return v == Fatal && reason == "token_expired"
}

// Classify says what err, returned by a Slack call, calls for. For Refused,
// reason is Slack's error code with the messages Slack gave, short enough to
// show people.
func Classify(err error) (v Verdict, reason string) {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		// slack-go reports some socket-mode token errors as bare strings.
		if err != nil && slices.Contains(fatalSlackErrors, err.Error()) {
			return Fatal, err.Error()
		}
		return Retry, ""
	}
	switch {
	case slices.Contains(fatalSlackErrors, se.Err):
		return Fatal, se.Err
	case slices.Contains(transientSlackErrors, se.Err):
		return Retry, ""
	}
	reason = se.Err
	if msgs := se.ResponseMetadata.Messages; len(msgs) > 0 {
		reason += ": " + strings.Join(msgs, "; ")
	}
	if r := []rune(reason); len(r) > 500 {
		reason = string(r[:499]) + "…"
	}
	return Refused, reason
}

// Backoff is the one wait between retries: Min doubling with each try up to
// Max, with jitter so that many retrying callers do not go in step.
type Backoff struct{ Min, Max time.Duration }

// Delay is the wait before retry n (1 for the first): Min·2^(n-1), capped at
// Max, of which a random part of up to a half is taken off.
func (b Backoff) Delay(n int) time.Duration {
	d := min(b.Min<<min(max(n-1, 0), 20), b.Max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or less if ctx ends first (then it returns ctx's error);
// a d of zero or less returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// CallAgain runs call up to attempts times while Classify says Retry,
// waiting as b says between tries, or for Slack's Retry-After after a 429.
// It is for calls made while a person waits (a Home tab, an ephemeral
// answer); delivery retries through its outbox instead.
func CallAgain(ctx context.Context, b Backoff, attempts int, call func(context.Context) error) error {
	var err error
	for n := 1; ; n++ {
		if err = call(ctx); err == nil {
			return nil
		}
		if v, _ := Classify(err); v != Retry || n >= attempts {
			return err
		}
		wait := b.Delay(n)
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			wait = rl.RetryAfter
		}
		if serr := Sleep(ctx, wait); serr != nil {
			return errors.Join(err, serr)
		}
	}
}
