package views

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// What comes from outside is drawn as written, less the characters that
// would mislead a reader or break a line: controls (NUL, ESC, DEL, the C1
// set), the invisible format characters that reorder or hide text (U+202E
// makes the rest of a line read backwards: the old way to disguise a file
// name or a link), and the line and paragraph separators. Identifiers and
// URLs holding any of them are refused at the door (api); prose is cleaned
// here, when drawn, so that nothing the platform sent is lost from the store.

// Invisible returns the first control, format or separator character in s
// (one an identifier or URL must not hold), and whether there is one.
func Invisible(s string) (rune, bool) {
	for _, r := range s {
		if r < utf8.RuneSelf {
			// ASCII: only the C0 controls and DEL are invisible.
			if r < 0x20 || r == 0x7F {
				return r, true
			}
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return r, true
		}
	}
	return 0, false
}

// Clean returns text from outside as it may be drawn: newlines stay, a tab
// or a line or paragraph separator becomes a space or a newline, and other
// controls and invisible format characters go, except those that writing
// needs (the zero-width joiner and non-joiner, which shape emoji and many
// scripts, and the tag characters of flag emoji).
func Clean(s string) string {
	if strings.IndexFunc(s, dropped) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
		case !dropped(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// dropped is every rune Clean changes.
func dropped(r rune) bool {
	switch {
	case r == '\n':
		return false
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r == '\u200C', r == '\u200D', r >= 0xE0020 && r <= 0xE007F:
		return false
	}
	return unicode.Is(unicode.Cf, r)
}
