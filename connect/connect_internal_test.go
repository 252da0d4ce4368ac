package connect

import (
	"net/url"
	"strings"
	"testing"

	"github.com/paligo/paligo-slack/signing"
)

// A Connect link is signed over its query with the ingest secret, or the
// one before it while it is rotated; anything else is refused.
func TestLinkSigned(t *testing.T) {
	f := &Flow{Secret: []byte("the-ingest-secret-0123"), Previous: []byte("the-one-before-012345")}
	q := "org=acme&email=ada%40example.com&return=https%3A%2F%2Fplatform.example%2Fs&ts=1800000000"
	for _, c := range []struct {
		name, ts, sig string
		want          bool
	}{
		{"the secret", "1800000000", signing.Sign(f.Secret, 1800000000, []byte(q)), true},
		{"the one before", "1800000000", signing.Sign(f.Previous, 1800000000, []byte(q)), true},
		{"another secret", "1800000000", signing.Sign([]byte("someone-else-012345"), 1800000000, []byte(q)), false},
		{"another time", "1800000001", signing.Sign(f.Secret, 1800000000, []byte(q)), false},
		{"a time that is no number", "18e8", signing.Sign(f.Secret, 1800000000, []byte(q)), false},
		{"no signature", "1800000000", "", false},
	} {
		if got := f.linkSigned(c.ts, q, c.sig); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if f.linkSigned("1800000000", strings.Replace(q, "acme", "evil", 1), signing.Sign(f.Secret, 1800000000, []byte(q))) {
		t.Error("a link whose org was changed passed")
	}
}

func TestCheckLink(t *testing.T) {
	for _, c := range []struct{ org, email, back, want string }{
		{"acme", "ada@example.com", "https://platform.example/settings", ""},
		{"", "ada@example.com", "https://platform.example/", "no org"},
		{"ac\x00me", "ada@example.com", "https://platform.example/", "no org"},
		{"acme", "Ada <ada@example.com>", "https://platform.example/", "not an email"},
		{"acme", "ada@example.com", "javascript:alert(1)", "http(s)"},
		{"acme", "ada@example.com", "https:///nohost", "http(s)"},
	} {
		got := checkLink(c.org, c.email, c.back)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("checkLink(%q, %q, %q) = %q, want %q", c.org, c.email, c.back, got, c.want)
		}
	}
}

// The platform's return URL gets the outcome added to its own query.
func TestBack(t *testing.T) {
	got, _ := url.Parse(back("https://platform.example/settings?tab=slack", "error", "connected_elsewhere", ""))
	q := got.Query()
	if got.Host != "platform.example" || q.Get("tab") != "slack" || q.Get("status") != "error" || q.Get("reason") != "connected_elsewhere" || q.Has("team") {
		t.Errorf("back = %s", got)
	}
	if got := reasonOf("This Slack workspace is already connected to another Paligo organization, …"); got != "connected_elsewhere" {
		t.Errorf("reasonOf = %s", got)
	}
}
