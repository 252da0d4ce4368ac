package views

import (
	"fmt"
	"strings"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// SubscriptionsText lists subscriptions and mutes as `/route-alerts list`
// answers: per channel, each subscription numbered as `unsubscribe N`
// takes it and written as it is typed, then the mutes in force at now
// with their end in UTC.
func SubscriptionsText(subs []paligo.Subscription, mutes []paligo.Mute, now time.Time) string {
	var channels []string
	byChannel := map[string][]paligo.Subscription{}
	mutesOf := map[string][]paligo.Mute{}
	note := func(ch string) {
		if _, ok := byChannel[ch]; !ok {
			if _, ok := mutesOf[ch]; !ok {
				channels = append(channels, ch)
			}
		}
	}
	for _, s := range subs {
		note(s.Channel)
		byChannel[s.Channel] = append(byChannel[s.Channel], s)
	}
	for _, m := range mutes {
		if m.Active(now) {
			note(m.Channel)
			mutesOf[m.Channel] = append(mutesOf[m.Channel], m)
		}
	}
	if len(channels) == 0 {
		return "No subscriptions. Type `/route-alerts subscribe runs` in a channel, or open `/route-alerts`."
	}
	var b strings.Builder
	for _, ch := range channels {
		fmt.Fprintf(&b, "<#%s>\n", ch)
		for i, s := range byChannel[ch] {
			fmt.Fprintf(&b, "  %d. `%s`\n", i+1, codeText(s.String()))
		}
		for _, m := range mutesOf[ch] {
			until := "forever"
			if !m.Until.IsZero() {
				until = "until " + m.Until.UTC().Format("2 Jan 15:04 UTC")
			}
			fmt.Fprintf(&b, "  muted: `%s` %s\n", codeText(m.Subject), until)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// codeText is s as it may stand between backticks: cleaned, escaped, and
// without backticks of its own.
func codeText(s string) string { return strings.ReplaceAll(Escape(s), "`", "'") }
