package views

import (
	"fmt"
	"sync"
	"testing"
)

// SafeURL remembers its answers: remembered or not, and with more URLs than
// it has room for (so slots are shared and replaced), each answer is the
// one the checks give.
func TestSafeURLAnswersTheSameRemembered(t *testing.T) {
	cases := map[string]bool{
		"https://paligo.example/t/1": true,
		"http://paligo.example":      true,
		"javascript:alert(1)":        false,
		"https://":                   false,
		"/relative/path":             false,
		"https://a.example/x y":      false,
		"https://a.example/\u200bx":  false,
		"ftp://files.example/f":      false,
		"https://a.example/%zz":      false,
	}
	var urls []string
	for u := range cases {
		urls = append(urls, u)
	}
	for i := range 3000 {
		good := fmt.Sprintf("https://paligo.example/topic/%d", i)
		bad := fmt.Sprintf("https://paligo.example/topic/%d\n", i)
		cases[good], cases[bad] = true, false
		urls = append(urls, good, bad)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for round := range 2 {
				for _, u := range urls {
					want := ""
					if cases[u] {
						want = u
					}
					if got := SafeURL(u); got != want {
						t.Errorf("round %d: SafeURL(%q) = %q, want %q", round, u, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
