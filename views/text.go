// Package views draws what Slack shows: pure Block Kit builders, data in and
// blocks out, no I/O. Everything here keeps inside Slack's hard limits, and
// every piece of text that came from outside is escaped so it cannot ping
// anyone or break the formatting.
package views

import (
	"hash/maphash"
	"net/url"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Slack's hard limits for Block Kit (characters unless said otherwise).
const (
	MaxMessageBlocks  = 50
	MaxViewBlocks     = 100
	MaxSectionText    = 3000
	MaxHeaderText     = 150
	MaxButtonText     = 75
	MaxButtonValue    = 2000
	MaxOptionText     = 75
	MaxOptionValue    = 150
	MaxContextTexts   = 10
	MaxModalTitle     = 24
	MaxPrivateMeta    = 3000
	MaxActionIDLength = 255
)

const maxLinkURL = 1500

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// linkURLEscaper keeps a URL from closing or splitting a <url|text> link.
var linkURLEscaper = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C")

// Escape makes untrusted text safe inside mrkdwn: cleaned (Clean), and with
// &, < and > escaped, so "<!channel>" or "<@U123>" show as text instead of
// pinging anyone.
func Escape(s string) string { return mrkdwnEscaper.Replace(Clean(s)) }

// Truncate shortens s to at most n characters (runes), ending with "…" when
// it had to cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// SafeURL returns u if it is an absolute http or https URL with no space,
// control or invisible character in it, else "". Only such URLs may become
// links or buttons.
func SafeURL(u string) string {
	if len(u) > 3000 {
		return ""
	}
	slot := &safeURLs[maphash.String(safeURLSeed, u)%uint64(len(safeURLs))]
	if e := slot.Load(); e != nil && e.url == u {
		if e.safe {
			return u
		}
		return ""
	}
	safe := isSafeURL(u)
	slot.Store(&safeURLAnswer{url: u, safe: safe})
	if safe {
		return u
	}
	return ""
}

func isSafeURL(u string) bool {
	if _, bad := Invisible(u); bad || strings.IndexFunc(u, unicode.IsSpace) >= 0 {
		return false
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// safeURLs remembers SafeURL's latest answers: a morning's digests link the
// same subjects for thousands of people, and parsing each link again was a
// fifth of drawing a digest. One answer a slot, the newest kept; at most
// 1,024 URLs of up to 3,000 bytes.
var (
	safeURLs    [1024]atomic.Pointer[safeURLAnswer]
	safeURLSeed = maphash.MakeSeed()
)

type safeURLAnswer struct {
	url  string
	safe bool
}

// Link draws text as an mrkdwn link to u, or as plain escaped text when u is
// not a safe URL. The text is escaped; characters that would end the link
// early are percent-encoded in the URL.
func Link(u, text string) string {
	text = Escape(text)
	u = SafeURL(u)
	// A link longer than this would push its line past a section's 3000
	// characters, and cutting it would break the markup.
	if u == "" || len(u) > maxLinkURL {
		return text
	}
	u = linkURLEscaper.Replace(u)
	return "<" + u + "|" + text + ">"
}
