package signing_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/signing"
)

// Slack's own example (api.slack.com/authentication/verifying-requests-from-slack):
// the same scheme gives the same signature.
func TestSignMatchesSlacksExample(t *testing.T) {
	secret := []byte("8f742231b10e8888abcd99yyyzzz85a5")
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	if got, want := signing.Sign(secret, 1531420618, body), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret, previous := []byte("the-secret-0123456789"), []byte("the-one-before-0123456")
	now := time.Unix(1_800_000_000, 0)
	keys := signing.Keys{Secret: secret, Previous: previous, Now: func() time.Time { return now }}
	body := []byte(`{"id":"e1"}`)
	signed := func(secret []byte, at time.Time, ts string) http.Header {
		h := http.Header{}
		signing.Header(h, secret, at, body)
		if ts != "" {
			h.Set("X-Signature-Timestamp", ts)
		}
		return h
	}
	for _, c := range []struct {
		name string
		hdr  http.Header
		want string
	}{
		{"good", signed(secret, now, ""), ""},
		{"the previous secret", signed(previous, now, ""), ""},
		{"another secret", signed([]byte("another-secret-01234"), now, ""), signing.BadSignature},
		{"4 minutes old", signed(secret, now.Add(-4*time.Minute), ""), ""},
		{"6 minutes old", signed(secret, now.Add(-6*time.Minute), ""), "X-Signature-Timestamp is more than 5 minutes away"},
		{"6 minutes ahead", signed(secret, now.Add(6*time.Minute), ""), "X-Signature-Timestamp is more than 5 minutes away"},
		{"+ before the digits", signed(secret, now, "+"+strconv.FormatInt(now.Unix(), 10)), "X-Signature-Timestamp is not unix seconds"},
		{"no headers", http.Header{}, "missing X-Signature-Timestamp or X-Signature"},
	} {
		if got := keys.Verify(c.hdr, body); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := keys.Verify(signed(secret, now, ""), []byte(`{"id":"e2"}`)); got != signing.BadSignature {
		t.Errorf("another body: %q", got)
	}
}

func TestPath(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/events/a%2Fb?team=T1", nil)
	if got := string(signing.Path(r)); got != "/v1/events/a%2Fb?team=T1" {
		t.Errorf("Path = %s", got)
	}
	r = httptest.NewRequest("DELETE", "/v1/connections/T1", nil)
	if got := string(signing.Path(r)); got != "/v1/connections/T1" {
		t.Errorf("Path = %s", got)
	}
}
