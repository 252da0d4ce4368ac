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
	return SubscriptionsTextWithin(subs, mutes, now, 0)
}

// MaxAnswerText bounds the text of a command's answer: Slack refuses an
// ack payload much larger, and a list that long is no use in a message.
const MaxAnswerText = 12000

// SubscriptionsTextWithin is SubscriptionsText in at most max bytes (0: no
// bound): what does not fit is counted, with where to see it.
func SubscriptionsTextWithin(subs []paligo.Subscription, mutes []paligo.Mute, now time.Time, max int) string {
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
	left, cut := len(subs), false // subscriptions not listed yet
	line := func(format string, args ...any) bool {
		l := fmt.Sprintf(format, args...)
		if max > 0 && b.Len()+len(l) > max-200 { // room for the note
			cut = true
			return false
		}
		b.WriteString(l)
		return true
	}
list:
	for _, ch := range channels {
		if !line("<#%s>\n", ch) {
			break
		}
		for i, s := range byChannel[ch] {
			if !line("  %d. `%s`\n", i+1, codeText(s.String())) {
				break list
			}
			left--
		}
		for _, m := range mutesOf[ch] {
			until := "forever"
			if !m.Until.IsZero() {
				until = "until " + m.Until.UTC().Format("2 Jan 15:04 UTC")
			}
			if !line("  muted: `%s` %s\n", codeText(m.Subject), until) {
				break list
			}
		}
	}
	if cut {
		fmt.Fprintf(&b, "… and %d more subscriptions not shown here (the answer would be too long for Slack). `/route-alerts list` in a channel lists that channel's; `/route-alerts` opens them all.", left)
	}
	return strings.TrimRight(b.String(), "\n")
}

// codeText is s as it may stand between backticks: cleaned, escaped, and
// without backticks of its own.
func codeText(s string) string { return strings.ReplaceAll(Escape(s), "`", "'") }
