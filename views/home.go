package views

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paligo/paligo-slack/paligo"
)

// Action IDs of the Home tab's controls. handlers dispatch on these.
const (
	ActionFrequency  = "home_frequency"
	ActionDigestTime = "home_digest_time"
	ActionWeekday    = "home_weekday"
	ActionCategories = "home_categories"
	ActionUnfollow   = "home_unfollow"
	ActionDigestNow  = "home_digest_now"
	ActionPause      = "home_pause"
	ActionResume     = "home_resume"
)

// The pause choices (ActionPause's option values).
const (
	PauseHour     = "1h"
	PauseTomorrow = "tomorrow" // 09:00 tomorrow, the user's time
	PauseWeek     = "week"
)

// Home is everything the Home tab shows one user.
type Home struct {
	Prefs   paligo.Prefs
	Pending int // notifications waiting for the next digest
	// Notice is a one-off line shown at the top, e.g. after "Send digest now".
	Notice string
	// CanSendNow shows "Send digest now" when something is pending.
	CanSendNow bool
	// PausedUntil, if set, is when the user's pause ends.
	PausedUntil time.Time
	// Admin, when set, adds routes, unmatched emails and failed deliveries.
	Admin *Admin
}

var frequencyLabels = map[paligo.Frequency][2]string{
	paligo.Instant: {"Instant", "A DM as soon as something happens"},
	paligo.Hourly:  {"Hourly digest", "One DM at the top of each hour"},
	paligo.Daily:   {"Daily digest", "One DM a day at the time you choose"},
	paligo.Weekly:  {"Weekly digest", "One DM a week on the day and time you choose"},
	paligo.Off:     {"Off", "No DMs (urgent alerts too); channel posts go on"},
}

var categoryLabels = map[paligo.Category][2]string{
	paligo.CatFollowing:    {"Things I follow", "Documents created or renamed, releases, snapshots"},
	paligo.CatMentions:     {"Mentions", "Someone @mentions you in a review"},
	paligo.CatReplies:      {"Replies", "Replies in topics you follow"},
	paligo.CatShares:       {"Shares", "A document is shared with you"},
	paligo.CatPublications: {"Publications", "A publication is ready or failed"},
	paligo.CatAssignments:  {"Assignments", "Assignments started, approved, canceled, ended"},
	paligo.CatRuns:         {"Schedule runs", "A schedule run succeeded or failed"},
	paligo.CatAlerts:       {"Alerts", "System and data alerts"},
}

// maxFollowsShown keeps the following list inside the view's block budget;
// the rest are counted.
const maxFollowsShown = 40

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, orEllipsis(Clean(s)), false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, orEllipsis(Truncate(s, MaxSectionText)), false, false)
}

// orEllipsis keeps a text object Slack would refuse as empty (outside text
// that was nothing but characters Clean takes out) from being empty.
func orEllipsis(s string) string {
	if strings.TrimSpace(s) == "" {
		return "…"
	}
	return s
}

func option(value, text, desc string) *slack.OptionBlockObject {
	var d *slack.TextBlockObject
	if desc != "" {
		d = plain(Truncate(desc, MaxOptionText))
	}
	return slack.NewOptionBlockObject(value, plain(Truncate(text, MaxOptionText)), d)
}

// HomeView draws the Home tab.
func HomeView(h Home) slack.HomeTabViewRequest {
	p := h.Prefs
	var blocks []slack.Block
	blocks = append(blocks,
		slack.NewHeaderBlock(plain("Paligo notifications")),
		slack.NewSectionBlock(mrkdwn("Choose how often you hear from Paligo and about what. Every change is saved as soon as you make it."), nil, nil),
	)
	if h.Notice != "" {
		blocks = append(blocks, slack.NewContextBlock("notice", mrkdwn(Escape(h.Notice))))
	}

	// Frequency.
	var freqOpts []*slack.OptionBlockObject
	var freqInitial *slack.OptionBlockObject
	for _, f := range paligo.Frequencies {
		o := option(string(f), frequencyLabels[f][0], frequencyLabels[f][1])
		freqOpts = append(freqOpts, o)
		if f == p.Frequency {
			freqInitial = o
		}
	}
	radio := slack.NewRadioButtonsBlockElement(ActionFrequency, freqOpts...)
	radio.InitialOption = freqInitial
	blocks = append(blocks,
		slack.NewDividerBlock(),
		slack.NewSectionBlock(mrkdwn("*How often*"), nil, nil),
		slack.NewActionBlock("frequency", radio),
	)
	if p.Frequency == paligo.Daily || p.Frequency == paligo.Weekly {
		tp := slack.NewTimePickerBlockElement(ActionDigestTime)
		tp.InitialTime = p.DigestTime
		tp.Placeholder = plain("Time of day")
		elems := []slack.BlockElement{tp}
		if p.Frequency == paligo.Weekly {
			var dayOpts []*slack.OptionBlockObject
			var dayInitial *slack.OptionBlockObject
			for i := range 7 {
				// Monday first, as most calendars at work show it.
				d := time.Weekday((i + 1) % 7)
				o := option(fmt.Sprint(int(d)), d.String(), "")
				dayOpts = append(dayOpts, o)
				if d == p.Weekday {
					dayInitial = o
				}
			}
			sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Day"), ActionWeekday, dayOpts...)
			sel.InitialOption = dayInitial
			elems = append(elems, sel)
		}
		when := "Your digest arrives every day at this time"
		if p.Frequency == paligo.Weekly {
			when = "Your digest arrives once a week, on this day at this time"
		}
		blocks = append(blocks,
			slack.NewActionBlock("digest_when", elems...),
			slack.NewContextBlock("digest_when_help", mrkdwn(when+", in the time zone of your Slack profile.")),
		)
	}
	if p.Frequency != paligo.Instant && p.Frequency != paligo.Off {
		blocks = append(blocks, slack.NewContextBlock("urgent_help",
			mrkdwn("Failed publications and runs, system and data alerts still reach you at once.")))
	}

	// Categories.
	var catOpts, catOn []*slack.OptionBlockObject
	for _, c := range paligo.Categories {
		o := option(string(c), categoryLabels[c][0], categoryLabels[c][1])
		catOpts = append(catOpts, o)
		if p.Wants(c) {
			catOn = append(catOn, o)
		}
	}
	boxes := slack.NewCheckboxGroupsBlockElement(ActionCategories, catOpts...)
	boxes.InitialOptions = catOn // omitted from the JSON when empty, as Slack requires
	blocks = append(blocks,
		slack.NewDividerBlock(),
		slack.NewSectionBlock(mrkdwn("*What you hear about*"), nil, nil),
		slack.NewActionBlock("categories", boxes),
	)

	// Following.
	blocks = append(blocks, slack.NewDividerBlock(), slack.NewSectionBlock(mrkdwn("*Following*"), nil, nil))
	if len(p.Follows) == 0 {
		blocks = append(blocks, slack.NewContextBlock("following_none",
			mrkdwn("You don't follow anything yet. Press *Follow* on a notification to follow its document, topic or schedule.")))
	}
	for i, s := range p.Follows {
		if i == maxFollowsShown {
			blocks = append(blocks, slack.NewContextBlock("following_more",
				mrkdwn(fmt.Sprintf("and %d more", len(p.Follows)-maxFollowsShown))))
			break
		}
		title := s.Title
		if title == "" {
			title = s.ID
		}
		line := Link(s.URL, Truncate(title, 200)) + "  ·  " + Escape(Truncate(s.Kind, 50))
		btn := slack.NewButtonBlockElement(ActionUnfollow, Truncate(s.Key(), MaxButtonValue), plain("Unfollow"))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(line), nil, slack.NewAccessory(btn)))
	}

	// Pending, and pause.
	blocks = append(blocks, slack.NewDividerBlock())
	blocks = append(blocks, pendingBlocks(h)...)
	if p.Frequency != paligo.Off {
		blocks = append(blocks, pauseBlock(h))
	}
	if h.Admin != nil {
		blocks = append(blocks, adminBlocks(h.Admin)...)
	}

	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// pendingBlocks says what waits for the user's next digest, with "Send
// digest now"; with notifications off, what was kept.
func pendingBlocks(h Home) []slack.Block {
	var now *slack.Accessory
	label := "Send digest now"
	if h.Prefs.Frequency == paligo.Off {
		label = "Send them now"
	}
	if h.Pending > 0 && h.CanSendNow {
		now = slack.NewAccessory(slack.NewButtonBlockElement(ActionDigestNow, "now", plain(label)))
	}
	var text string
	switch {
	case h.Pending == 0:
		text = "*Waiting for your next digest:* nothing pending"
	case h.Prefs.Frequency == paligo.Off:
		text = fmt.Sprintf("*Kept while notifications are off:* %s. They come in one digest when you choose instant or a digest again.",
			plural(h.Pending, "notification", "notifications"))
	case !h.PausedUntil.IsZero() || h.Prefs.Frequency == paligo.Instant:
		text = fmt.Sprintf("*Waiting for the end of your pause:* %s", plural(h.Pending, "notification", "notifications"))
	default:
		text = fmt.Sprintf("*Waiting for your next digest:* %s", plural(h.Pending, "notification", "notifications"))
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, now)}
}

// pauseBlock offers a pause, or shows the one running with Resume.
func pauseBlock(h Home) slack.Block {
	if !h.PausedUntil.IsZero() {
		u := h.PausedUntil
		text := fmt.Sprintf("*Paused* until <!date^%d^{date_short_pretty} at {time}|%s>. Failed publications and runs, system and data alerts still reach you; everything else waits and comes in one digest when the pause ends.",
			u.Unix(), u.UTC().Format("2006-01-02 15:04 UTC"))
		btn := slack.NewButtonBlockElement(ActionResume, "resume", plain("Resume"))
		return slack.NewSectionBlock(mrkdwn(text), nil, slack.NewAccessory(btn))
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Pause…"), ActionPause,
		option(PauseHour, "For 1 hour", ""),
		option(PauseTomorrow, "Until tomorrow 09:00", ""),
		option(PauseWeek, "For a week", ""))
	return slack.NewSectionBlock(mrkdwn("*Pause notifications* for a while; urgent alerts still come through."), nil, slack.NewAccessory(sel))
}

// Plural is "1 notification", "3 notifications".
func Plural(n int, one, many string) string { return plural(n, one, many) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// FrequencyLabel is how a frequency is named to people.
func FrequencyLabel(f paligo.Frequency) string {
	if l, ok := frequencyLabels[f]; ok {
		return strings.ToLower(l[0])
	}
	return string(f)
}
