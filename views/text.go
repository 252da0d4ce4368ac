// Package views draws what Slack shows: pure Block Kit builders, data in and
// blocks out, no I/O. Everything here keeps inside Slack's hard limits, and
// every piece of text that came from outside is escaped so it cannot ping
// anyone or break the formatting.
package views

import (
	"net/url"
	"strings"
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
	if _, bad := Invisible(u); bad || strings.IndexFunc(u, unicode.IsSpace) >= 0 {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	if len(u) > 3000 {
		return ""
	}
	return u
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
