package views_test

import (
	"testing"
	"unicode"

	"github.com/paligo/paligo-slack/views"
)

func TestCleanKeepsWritingAndDropsWhatHidesIt(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, é, 日本語":                    "plain text, é, 日本語",
		"line one\nline two":                    "line one\nline two",
		"tab\there":                             "tab here",
		"nul\x00 esc\x1b[31m del\x7f":           "nul esc[31m del",
		"c1\u0085\u009b":                        "c1",
		"invoice\u202Efdp.exe":                  "invoicefdp.exe",
		"isolate\u2066x\u2069 mark\u200e\u200f": "isolatex mark",
		"zero\u200bwidth\u2060joiner\ufeff":     "zerowidthjoiner",
		"ls\u2028ps\u2029":                      "ls\nps\n",
		"family 👨\u200d👩\u200d👧, رو\u200cشن":    "family 👨\u200d👩\u200d👧, رو\u200cشن",
		"flag 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F": "flag 🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
	} {
		if got := views.Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	for s, bad := range map[string]bool{"evt_01J9Z": false, "a b": false, "é": false, "a\x00": true, "a\u202E": true, "a\u2028": true, "a\u200b": true, "a\u0085": true, "a\t": true} {
		if _, got := views.Invisible(s); got != bad {
			t.Errorf("Invisible(%q) = %v, want %v", s, got, bad)
		}
	}
	for u, ok := range map[string]bool{"https://paligo.example/a": true, "https://paligo.example/a b": false, "https://paligo.example/\u202Eexe": false, "https://paligo.example/\ta": false, "https://paligo.example/a\u00a0b": false} {
		if got := views.SafeURL(u) != ""; got != ok {
			t.Errorf("SafeURL(%q) usable = %v, want %v", u, got, ok)
		}
	}
}

// Invisible's ASCII shortcut says what the Unicode tables say, for every
// character.
func TestInvisibleAgreesWithTheTables(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue // not characters
		}
		want := unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)
		if got, bad := views.Invisible(string(r)); bad != want || (bad && got != r) {
			t.Fatalf("Invisible(%U) = %U, %v; the tables say %v", r, got, bad, want)
		}
	}
}
