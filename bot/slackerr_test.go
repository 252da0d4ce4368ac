package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/bot"
)

// Every answer Slack can give, and what it calls for: the one table the
// delivery outbox, the handlers and the socket all follow.
func TestClassify(t *testing.T) {
	cases := []struct {
		err     error
		verdict bot.Verdict
		reason  string
	}{
		{slack.SlackErrorResponse{Err: "channel_not_found"}, bot.Refused, "channel_not_found"},
		{slack.SlackErrorResponse{Err: "not_in_channel"}, bot.Refused, "not_in_channel"},
		{slack.SlackErrorResponse{Err: "is_archived"}, bot.Refused, "is_archived"},
		{slack.SlackErrorResponse{Err: "invalid_blocks", ResponseMetadata: slack.ResponseMetadata{Messages: []string{"[ERROR] too long"}}}, bot.Refused, "invalid_blocks: [ERROR] too long"},
		{fmt.Errorf("post: %w", slack.SlackErrorResponse{Err: "user_disabled"}), bot.Refused, "user_disabled"},
		{slack.SlackErrorResponse{Err: "internal_error"}, bot.Retry, ""},
		{slack.SlackErrorResponse{Err: "ratelimited"}, bot.Retry, ""},
		{slack.SlackErrorResponse{Err: "service_unavailable"}, bot.Retry, ""},
		{slack.SlackErrorResponse{Err: "token_revoked"}, bot.Fatal, "token_revoked"},
		{slack.SlackErrorResponse{Err: "invalid_auth"}, bot.Fatal, "invalid_auth"},
		{errors.New("invalid_auth"), bot.Fatal, "invalid_auth"}, // as slack-go's socket reports it
		{&slack.RateLimitedError{RetryAfter: 1}, bot.Retry, ""},
		{slack.StatusCodeError{Code: http.StatusBadGateway, Status: "502"}, bot.Retry, ""},
		{errors.New("dial tcp: connection refused"), bot.Retry, ""},
	}
	for _, c := range cases {
		v, reason := bot.Classify(c.err)
		if v != c.verdict || reason != c.reason {
			t.Errorf("Classify(%v) = %v, %q; want %v, %q", c.err, v, reason, c.verdict, c.reason)
		}
	}
	long := slack.SlackErrorResponse{Err: "invalid_blocks", ResponseMetadata: slack.ResponseMetadata{Messages: []string{string(make([]byte, 2000))}}}
	if _, reason := bot.Classify(long); len([]rune(reason)) > 500 {
		t.Errorf("reason of %d characters; at most 500 are shown", len([]rune(reason)))
	}
}

func TestBackoffDoublesWithJitterUpToMax(t *testing.T) {
	b := bot.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 50 {
			if d := b.Delay(n); d < want/2 || d > want {
				t.Fatalf("Delay(%d) = %v, want %v..%v", n, d, want/2, want)
			}
		}
	}
}

func TestCallAgainRetriesWhatIsWorthIt(t *testing.T) {
	fast := bot.Backoff{Min: time.Millisecond, Max: time.Millisecond}
	answers := func(errs ...error) (func(context.Context) error, *int) {
		n := 0
		return func(context.Context) error {
			n++
			if n <= len(errs) {
				return errs[n-1]
			}
			return nil
		}, &n
	}
	// A 5xx and a 429 are tried again (the 429 after its Retry-After).
	call, n := answers(slack.StatusCodeError{Code: 503}, &slack.RateLimitedError{RetryAfter: 20 * time.Millisecond})
	start := time.Now()
	if err := bot.CallAgain(t.Context(), fast, 4, call); err != nil || *n != 3 {
		t.Errorf("err %v after %d calls; want success on the 3rd", err, *n)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Error("did not wait for Retry-After")
	}
	// Refused and fatal answers are final.
	for _, e := range []error{slack.SlackErrorResponse{Err: "channel_not_found"}, slack.SlackErrorResponse{Err: "invalid_auth"}} {
		call, n := answers(e, e)
		if err := bot.CallAgain(t.Context(), fast, 4, call); err == nil || *n != 1 {
			t.Errorf("%v: err %v after %d calls; want it returned after 1", e, err, *n)
		}
	}
	// Attempts bound the tries.
	e := slack.StatusCodeError{Code: 500}
	call, n = answers(e, e, e, e, e)
	if err := bot.CallAgain(t.Context(), fast, 4, call); err == nil || *n != 4 {
		t.Errorf("err %v after %d calls; want an error after 4", err, *n)
	}
	// A cancelled context stops the wait.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	call, _ = answers(&slack.RateLimitedError{RetryAfter: time.Hour})
	if err := bot.CallAgain(ctx, fast, 4, call); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v; want it to carry context.Canceled", err)
	}
}
