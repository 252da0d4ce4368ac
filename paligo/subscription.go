package paligo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A Subscription is what a channel asked to hear about: events of its
// kinds for which every filter holds. A route of the /route-alerts modal
// is a subscription of one kind with no filters.
type Subscription struct {
	// Team is the workspace it was made in ("" for the primary workspace
	// of SLACK_BOT_TOKEN): only that workspace's events reach it.
	Team    string   `json:"team,omitempty"`
	Channel string   `json:"channel"`
	Kinds   []Kind   `json:"kinds"`
	Filters []Filter `json:"filters,omitempty"`
	// ThreadsOff posts every event as its own message.
	ThreadsOff bool `json:"threads_off,omitempty"`
	// External allows a channel shared with other organizations.
	External bool `json:"external,omitempty"`
	// Replies sends people's replies in the threads of its posts to the
	// platform (replies=on).
	Replies bool `json:"replies,omitempty"`
	// MentionsOff names no one in its posts (mentions=off).
	MentionsOff bool `json:"mentions_off,omitempty"`
}

// Digest names s in a few characters: the first 16 hex digits of the
// SHA-256 of its channel and String. Two different subscriptions of a
// channel have different digests.
func (s Subscription) Digest() string {
	h := sha256.Sum256([]byte(s.Channel + "\x00" + s.String()))
	return hex.EncodeToString(h[:8])
}

// Plain reports whether s is a route of the /route-alerts form: one kind,
// no filters, no options.
func (s Subscription) Plain() bool {
	return len(s.Kinds) == 1 && len(s.Filters) == 0 && !s.ThreadsOff && !s.External && !s.Replies && !s.MentionsOff
}

// RoutesOf returns the routes among subs: for each kind, the channels a
// plain subscription sends it to, sorted.
func RoutesOf(subs []Subscription) map[Kind][]string {
	out := map[Kind][]string{}
	for _, sub := range subs {
		if sub.Plain() && !slices.Contains(out[sub.Kinds[0]], sub.Channel) {
			out[sub.Kinds[0]] = append(out[sub.Kinds[0]], sub.Channel)
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// A Filter holds when the event's field equals one of Values (globs with
// *), or, negated, when it equals none of them. A field the event lacks
// holds only for a negated filter.
type Filter struct {
	// Field is "subject" (KIND:ID), "title", "actor" (the actor's email)
	// or the name of one of the event's fields.
	Field  string   `json:"field"`
	Negate bool     `json:"negate,omitempty"`
	Values []string `json:"values"`
}

// ChannelRef reports whether s names a channel the way an event may: a
// channel id (C or G, then capital letters and digits) or #name (Slack's
// names: lower-case letters, digits, - and _, at most 80).
func ChannelRef(s string) bool {
	if name, ok := strings.CutPrefix(s, "#"); ok {
		if name == "" || len(name) > 80 {
			return false
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r > 127 && unicode.IsLetter(r)) {
				return false
			}
		}
		return true
	}
	return ChannelID(s)
}

// ChannelID reports whether s is a channel's Slack id: C or G, then at
// least two capital letters or digits (a DM's D… is not a channel).
func ChannelID(s string) bool {
	if len(s) < 3 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// A Mute stops posts about one subject in one channel until it ends.
type Mute struct {
	Channel string    `json:"channel"`
	Subject string    `json:"subject"` // KIND:ID, as Subject.Key
	Until   time.Time `json:"until,omitzero"`
	By      string    `json:"by,omitempty"`
}

// Active reports whether the mute holds at now (a zero Until is forever).
func (m Mute) Active(now time.Time) bool { return m.Until.IsZero() || now.Before(m.Until) }

// Subscription limits.
const (
	MaxSubscriptionsPerChannel = 50
	MaxFilters                 = 10
	MaxFilterValues            = 20
	MaxFilterValueLen          = 200
)

// KindGroups name sets of routable kinds.
var KindGroups = map[string][]Kind{
	"activity":     {"document.created", "document.title_changed", "assignment.started", "release.status_changed", "snapshot.created"},
	"publications": {"publication.ready", "publication.failed"},
	"assignments":  {"assignment.started", "assignment.status_changed"},
	"runs":         {"run.started", "run.succeeded", "run.failed"},
	"alerts":       {"system.alert", "data.alert"},
}

// ParseSubscription reads what follows `/route-alerts subscribe`: kinds
// (or groups), then filters NAME=VALUES or NAME!=VALUES, then the options
// threads=off, external=allow, replies=on and mentions=off, separated by
// spaces. The error names the
// bad part; nothing of a refused subscription is kept.
func ParseSubscription(channel, text string) (Subscription, error) {
	words := strings.Fields(text)
	if len(words) == 0 {
		return Subscription{}, fmt.Errorf("say which kinds: a kind (run.failed), kinds with commas, or a group (%s, all)", strings.Join(groupNames(), ", "))
	}
	s := Subscription{Channel: channel}
	kinds, err := parseKinds(words[0])
	if err != nil {
		return Subscription{}, err
	}
	s.Kinds = kinds
	seen := map[string]bool{}
	for _, w := range words[1:] {
		name, values, negate, ok := splitFilter(w)
		if !ok {
			return Subscription{}, fmt.Errorf("%q is not a filter: write NAME=VALUE or NAME!=VALUE (kinds come first, once)", w)
		}
		switch {
		case name == "threads" && !negate:
			if values != "off" && values != "on" {
				return Subscription{}, fmt.Errorf("%q: threads is on or off", w)
			}
			s.ThreadsOff = values == "off"
			continue
		case name == "external" && !negate:
			if values != "allow" {
				return Subscription{}, fmt.Errorf("%q: the only value of external is allow", w)
			}
			s.External = true
			continue
		case name == "replies" && !negate:
			if values != "off" && values != "on" {
				return Subscription{}, fmt.Errorf("%q: replies is on or off", w)
			}
			s.Replies = values == "on"
			continue
		case name == "mentions" && !negate:
			if values != "off" && values != "on" {
				return Subscription{}, fmt.Errorf("%q: mentions is on or off", w)
			}
			s.MentionsOff = values == "off"
			continue
		}
		if !validFilterName(name) {
			return Subscription{}, fmt.Errorf("%q: %q is not a field name (letters, digits, _ and -)", w, name)
		}
		key := name
		if negate {
			key = "!" + name
		}
		if seen[key] {
			return Subscription{}, fmt.Errorf("%q: %s is filtered twice; give its values once, with commas", w, name)
		}
		seen[key] = true
		f := Filter{Field: name, Negate: negate}
		for v := range strings.SplitSeq(values, ",") {
			switch {
			case v == "":
				return Subscription{}, fmt.Errorf("%q: an empty value", w)
			case utf8.RuneCountInString(v) > MaxFilterValueLen:
				return Subscription{}, fmt.Errorf("%q: values are at most %d characters", w, MaxFilterValueLen)
			case name == "subject" && !strings.Contains(v, ":"):
				return Subscription{}, fmt.Errorf("%q: a subject is KIND:ID (schedule:nightly-*, *:t-42)", w)
			}
			if !slices.Contains(f.Values, v) {
				f.Values = append(f.Values, v)
			}
		}
		if len(f.Values) > MaxFilterValues {
			return Subscription{}, fmt.Errorf("%q: at most %d values in one filter", w, MaxFilterValues)
		}
		s.Filters = append(s.Filters, f)
		if len(s.Filters) > MaxFilters {
			return Subscription{}, fmt.Errorf("at most %d filters in one subscription", MaxFilters)
		}
	}
	return s, nil
}

func groupNames() []string {
	var out []string
	for g := range KindGroups {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

func parseKinds(word string) ([]Kind, error) {
	var out []Kind
	add := func(k Kind) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for w := range strings.SplitSeq(word, ",") {
		switch info, known := Kinds[Kind(w)]; {
		case w == "all":
			for _, k := range RoutableKinds() {
				add(k)
			}
		case KindGroups[w] != nil:
			for _, k := range KindGroups[w] {
				add(k)
			}
		case known && !info.Routable:
			return nil, fmt.Errorf("%q goes to people, not channels", w)
		case known:
			add(Kind(w))
		case strings.Contains(w, "="):
			return nil, fmt.Errorf("%q: say the kinds first, then the filters", w)
		default:
			return nil, fmt.Errorf("%q is not a kind or a group (%s, all)", w, strings.Join(groupNames(), ", "))
		}
	}
	slices.Sort(out)
	return out, nil
}

// splitFilter splits NAME=VALUES or NAME!=VALUES.
func splitFilter(w string) (name, values string, negate, ok bool) {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return "", "", false, false
	}
	name, values = w[:i], w[i+1:]
	if strings.HasSuffix(name, "!") {
		name, negate = name[:len(name)-1], true
	}
	return name, values, negate, name != ""
}

func validFilterName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// String writes the subscription the way it is typed: what the answer to a
// good one repeats and what `list` shows.
func (s Subscription) String() string {
	var b strings.Builder
	b.WriteString(kindsText(s.Kinds))
	for _, f := range s.Filters {
		b.WriteByte(' ')
		b.WriteString(f.Field)
		if f.Negate {
			b.WriteByte('!')
		}
		b.WriteByte('=')
		b.WriteString(strings.Join(f.Values, ","))
	}
	if s.ThreadsOff {
		b.WriteString(" threads=off")
	}
	if s.External {
		b.WriteString(" external=allow")
	}
	if s.Replies {
		b.WriteString(" replies=on")
	}
	if s.MentionsOff {
		b.WriteString(" mentions=off")
	}
	return b.String()
}

// kindsText names kinds by their group where a group is whole.
func kindsText(kinds []Kind) string {
	if slices.Equal(kinds, RoutableKinds()) {
		return "all"
	}
	left := slices.Clone(kinds)
	var parts []string
	for _, g := range groupNames() {
		members := KindGroups[g]
		whole := true
		for _, k := range members {
			if !slices.Contains(left, k) {
				whole = false
			}
		}
		if whole {
			parts = append(parts, g)
			left = slices.DeleteFunc(left, func(k Kind) bool { return slices.Contains(members, k) })
		}
	}
	for _, k := range left {
		parts = append(parts, string(k))
	}
	return strings.Join(parts, ",")
}

// Matches reports whether the subscription takes event e.
func (s *Subscription) Matches(e *Event) bool {
	if !slices.Contains(s.Kinds, e.Type) {
		return false
	}
	for i := range s.Filters {
		if !s.Filters[i].holds(e) {
			return false
		}
	}
	return true
}

func (f *Filter) holds(e *Event) bool {
	var matched, present bool
	switch f.Field {
	case "subject":
		if e.Subject != nil {
			present = true
			matched = f.matchSubject(e.Subject.Kind, e.Subject.ID)
		}
	case "title":
		if e.Subject != nil && e.Subject.Title != "" {
			present, matched = true, f.matchAny(e.Subject.Title)
		}
	case "actor":
		if e.Actor != nil && e.Actor.Email != "" {
			present, matched = true, f.matchAny(e.Actor.Email)
		}
	default:
		if v, ok := e.Field(f.Field); ok {
			present, matched = true, f.matchAny(v)
		}
	}
	if f.Negate {
		return !matched
	}
	return present && matched
}

func (f *Filter) matchAny(s string) bool {
	for _, v := range f.Values {
		if Glob(v, s) {
			return true
		}
	}
	return false
}

func (f *Filter) matchSubject(kind, id string) bool {
	for _, v := range f.Values {
		pk, pid, _ := strings.Cut(v, ":")
		if Glob(pk, kind) && Glob(pid, id) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, in which * stands for any run of
// characters (none included) and every other character for itself.
//
// It takes time linear in len(s) whatever the pattern: the text before the
// first * must start s, the text after the last * must end it, and each
// piece between stars is found at its leftmost place after the one before
// (strings.Index), which is where a piece is best taken when nothing but *
// stands between pieces. Backtracking over bytes, as the classic two-pointer
// match does, costs len(s)·len(pattern) on patterns like *aaaa…aB.
func Glob(pattern, s string) bool {
	first := strings.IndexByte(pattern, '*')
	if first < 0 {
		return pattern == s
	}
	last := strings.LastIndexByte(pattern, '*')
	prefix, suffix := pattern[:first], pattern[last+1:]
	if len(s) < len(prefix)+len(suffix) || !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) {
		return false
	}
	s = s[len(prefix) : len(s)-len(suffix)]
	for middle := pattern[first+1 : max(last, first+1)]; middle != ""; {
		piece, rest, _ := strings.Cut(middle, "*")
		middle = rest
		if piece == "" {
			continue
		}
		i := strings.Index(s, piece)
		if i < 0 {
			return false
		}
		s = s[i+len(piece):]
	}
	return true
}

// Reached returns the channels event e is posted to, each once, in the
// order first reached: those of the subscriptions that take it, then those
// the event names (named, already resolved to ids), less the channels where
// its subject is muted at now. A channel reached several ways is reached
// once.
func Reached(e *Event, subs []Subscription, mutes []Mute, named []string, now time.Time) []string {
	var out []string
	add := func(ch string) {
		if slices.Contains(out, ch) || muted(e, ch, mutes, now) {
			return
		}
		out = append(out, ch)
	}
	for i := range subs {
		if subs[i].Matches(e) {
			add(subs[i].Channel)
		}
	}
	for _, ch := range named {
		add(ch)
	}
	return out
}

func muted(e *Event, channel string, mutes []Mute, now time.Time) bool {
	return MutedBy(e, channel, mutes, now) != nil
}

// MutedBy returns the mute that keeps event e out of channel at now, or
// nil: one of the channel's mutes in force of e's subject.
func MutedBy(e *Event, channel string, mutes []Mute, now time.Time) *Mute {
	if e.Subject == nil {
		return nil
	}
	for i := range mutes {
		m := &mutes[i]
		if m.Channel == channel && m.Active(now) && subjectIs(m.Subject, e.Subject) {
			return m
		}
	}
	return nil
}

// subjectIs compares a subject key (KIND:ID) with s without building s's.
func subjectIs(key string, s *Subject) bool {
	return len(key) == len(s.Kind)+1+len(s.ID) && strings.HasPrefix(key, s.Kind) && key[len(s.Kind)] == ':' && strings.HasSuffix(key, s.ID)
}

// A Matcher is Reached compiled for many events: the subscriptions by
// kind, and each filter's field resolved once per event instead of once
// per subscription. Reached and Matcher.Reached answer alike
// (TestMatcherAgreesWithReached).
type Matcher struct {
	byKind map[Kind]*kindSubs
	mutes  []Mute
}

type kindSubs struct {
	names []string // the fields.NAME the filters of these subscriptions read
	subs  []compiledSub
	// byValue indexes the subscriptions whose first filter is a positive
	// one on a field with no glob in its values (project=finance,growth):
	// names index -> value -> subscriptions (indexes into subs, in order).
	// An event is matched against those of its own values only, and
	// against scan, the others.
	byValue map[int]map[string][]int
	// byPrefix indexes, the same way, those whose first filter's values
	// all begin with at least two plain characters (project=fin*,p12*):
	// by those two bytes.
	byPrefix map[int]map[string][]int
	scan     []int
}

// literalPrefix is v up to its first *.
func literalPrefix(v string) string {
	if i := strings.IndexByte(v, '*'); i >= 0 {
		return v[:i]
	}
	return v
}

// index files subscription si under key in idx[field], once.
func index(idx map[int]map[string][]int, field int, key string, si int) {
	m := idx[field]
	if m == nil {
		m = map[string][]int{}
		idx[field] = m
	}
	if l := m[key]; len(l) == 0 || l[len(l)-1] != si {
		m[key] = append(l, si)
	}
}

type compiledSub struct {
	channel string
	filters []compiledFilter
}

// Where a compiled filter reads its value: one of the event's own members,
// or names[field] of its fields.
const (
	fieldSubject = -1 - iota
	fieldTitle
	fieldActor
)

type compiledFilter struct {
	field  int
	negate bool
	f      *Filter
}

// NewMatcher compiles subs and mutes; they must not change afterwards.
func NewMatcher(subs []Subscription, mutes []Mute) *Matcher {
	m := &Matcher{byKind: map[Kind]*kindSubs{}, mutes: mutes}
	for i := range subs {
		s := &subs[i]
		for _, k := range s.Kinds {
			ks := m.byKind[k]
			if ks == nil {
				ks = &kindSubs{}
				m.byKind[k] = ks
			}
			cs := compiledSub{channel: s.Channel}
			for j := range s.Filters {
				f := &s.Filters[j]
				cf := compiledFilter{negate: f.Negate, f: f}
				switch f.Field {
				case "subject":
					cf.field = fieldSubject
				case "title":
					cf.field = fieldTitle
				case "actor":
					cf.field = fieldActor
				default:
					cf.field = slices.Index(ks.names, f.Field)
					if cf.field < 0 {
						cf.field = len(ks.names)
						ks.names = append(ks.names, f.Field)
					}
				}
				cs.filters = append(cs.filters, cf)
			}
			ks.subs = append(ks.subs, cs)
			si := len(ks.subs) - 1
			first := compiledFilter{field: -100}
			if len(cs.filters) > 0 {
				first = cs.filters[0]
			}
			plainValues := first.field >= 0 && !first.negate &&
				!slices.ContainsFunc(first.f.Values, func(v string) bool { return strings.Contains(v, "*") })
			prefixed := first.field >= 0 && !first.negate &&
				!slices.ContainsFunc(first.f.Values, func(v string) bool { return len(literalPrefix(v)) < 2 })
			switch {
			case plainValues:
				if ks.byValue == nil {
					ks.byValue = map[int]map[string][]int{}
				}
				for _, v := range first.f.Values {
					index(ks.byValue, first.field, v, si)
				}
			case prefixed:
				if ks.byPrefix == nil {
					ks.byPrefix = map[int]map[string][]int{}
				}
				for _, v := range first.f.Values {
					index(ks.byPrefix, first.field, v[:2], si)
				}
			default:
				ks.scan = append(ks.scan, si)
			}
		}
	}
	return m
}

// AddNamed is reached (what Reached(e, nil, now) answered) with the
// channels e names: each added once, unless muted.
func (m *Matcher) AddNamed(e *Event, reached, named []string, now time.Time) []string {
	for _, ch := range named {
		if !slices.Contains(reached, ch) && !muted(e, ch, m.mutes, now) {
			reached = append(reached, ch)
		}
	}
	return reached
}

// Reached is Reached(e, subs, mutes, named, now) for the compiled subs and
// mutes.
func (m *Matcher) Reached(e *Event, named []string, now time.Time) []string {
	var out []string
	add := func(ch string) {
		if slices.Contains(out, ch) || muted(e, ch, m.mutes, now) {
			return
		}
		out = append(out, ch)
	}
	if ks := m.byKind[e.Type]; ks != nil {
		// The event's value of each field these filters read, looked up
		// once (on the stack for up to 16 names).
		var valBuf [16]string
		var hasBuf [16]bool
		vals, has := valBuf[:0], hasBuf[:0]
		if len(ks.names) > len(valBuf) {
			vals, has = make([]string, 0, len(ks.names)), make([]bool, 0, len(ks.names))
		}
		for _, name := range ks.names {
			v, ok := e.Field(name)
			vals, has = append(vals, v), append(has, ok)
		}
		// The subscriptions that take e, in their order: those indexed
		// under e's values, and those scanned.
		var hitBuf [64]int
		hits := hitBuf[:0]
		for field, byVal := range ks.byValue {
			if !has[field] {
				continue
			}
			for _, si := range byVal[vals[field]] {
				if ks.subs[si].matches(e, vals, has) {
					hits = append(hits, si)
				}
			}
		}
		for field, byPre := range ks.byPrefix {
			if !has[field] || len(vals[field]) < 2 {
				continue // none of these patterns can match so short a value
			}
			for _, si := range byPre[vals[field][:2]] {
				if ks.subs[si].matches(e, vals, has) {
					hits = append(hits, si)
				}
			}
		}
		for _, si := range ks.scan {
			if ks.subs[si].matches(e, vals, has) {
				hits = append(hits, si)
			}
		}
		slices.Sort(hits)
		for _, si := range hits {
			add(ks.subs[si].channel)
		}
	}
	return m.AddNamed(e, out, named, now)
}

func (s *compiledSub) matches(e *Event, vals []string, has []bool) bool {
	for i := range s.filters {
		cf := &s.filters[i]
		var matched, present bool
		switch cf.field {
		case fieldSubject:
			if e.Subject != nil {
				present, matched = true, cf.f.matchSubject(e.Subject.Kind, e.Subject.ID)
			}
		case fieldTitle:
			if e.Subject != nil && e.Subject.Title != "" {
				present, matched = true, cf.f.matchAny(e.Subject.Title)
			}
		case fieldActor:
			if e.Actor != nil && e.Actor.Email != "" {
				present, matched = true, cf.f.matchAny(e.Actor.Email)
			}
		default:
			if has[cf.field] {
				present, matched = true, cf.f.matchAny(vals[cf.field])
			}
		}
		if cf.negate {
			if matched {
				return false
			}
		} else if !present || !matched {
			return false
		}
	}
	return true
}
