package paligo_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"*", "anything", true},
		{"finance", "finance", true}, {"finance", "Finance", false}, {"finance", "finance2", false},
		{"nightly-*", "nightly-dbt", true}, {"nightly-*", "nightly-", true}, {"nightly-*", "daily-dbt", false},
		{"*-dbt", "nightly-dbt", true}, {"*-dbt", "nightly-dbt-x", false},
		{"a*b*c", "abc", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}, {"a*b*c", "acb", false},
		{"*a*a*", "banana", true}, {"**", "x", true}, {"a?c", "abc", false}, {"a?c", "a?c", true},
		{"[x]", "x", false}, {"[x]", "[x]", true}, {"é*", "éa", true},
	} {
		if got := paligo.Glob(c.pattern, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// TestGlobAgreesWithRegexp checks Glob against the regular expression each
// pattern stands for (RE2, itself linear), over patterns and values of a
// small alphabet where every way of placing the pieces is tried.
func TestGlobAgreesWithRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 28))
	word := func(alphabet string, n int) string {
		b := make([]byte, r.IntN(n+1))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 30_000 {
		pattern, s := word("ab*", 7), word("ab", 9)
		re := regexp.MustCompile("^(?s)" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$")
		if got, want := paligo.Glob(pattern, s), re.MatchString(s); got != want {
			t.Fatalf("Glob(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	}
}

// TestGlobIsLinear: patterns that make a backtracking match take
// len(s)·len(pattern) steps. 50 subscriptions of 10 negated filters of 20
// such globs each, against an event of 10 fields of 2,000 characters: the
// byte-by-byte backtracking match took 8 s here; a linear one takes
// milliseconds, so a second (under the race detector) is a wide margin.
func TestGlobIsLinear(t *testing.T) {
	long := strings.Repeat("a", 2000)
	var subs []paligo.Subscription
	fields := map[string]string{}
	for f := range 10 {
		fields[fmt.Sprintf("f%d", f)] = long
	}
	for i := range 50 {
		text := "run.failed"
		for f := range 10 {
			var globs []string
			for g := range 20 {
				globs = append(globs, "*"+strings.Repeat("a", 195)+fmt.Sprintf("A%02d", g))
			}
			text += fmt.Sprintf(" f%d!=%s", f, strings.Join(globs, ","))
		}
		subs = append(subs, mustSub(t, fmt.Sprintf("C%04d", i), text))
	}
	e := &paligo.Event{Type: "run.failed", Fields: fields}
	start := time.Now()
	reached := paligo.NewMatcher(subs, nil).Reached(e, nil, time.Now())
	reached2 := paligo.Reached(e, subs, nil, nil, time.Now())
	took := time.Since(start)
	if len(reached) != 50 || len(reached2) != 50 {
		t.Fatalf("reached %d and %d channels, want 50 (no glob matches, every filter is negated)", len(reached), len(reached2))
	}
	if took > time.Second {
		t.Fatalf("matching one event took %v: the globs are not matched in linear time", took)
	}
	t.Logf("matched in %v", took)
}

func TestParseSubscription(t *testing.T) {
	good := []struct{ text, understood string }{
		{"run.failed", "run.failed"},
		{"run.failed,run.succeeded project=finance environment!=staging", "run.failed,run.succeeded project=finance environment!=staging"},
		{"run.started,run.failed,run.succeeded project=finance", "runs project=finance"},
		{"activity subject=document:guide-* actor!=bot@paligo.example", "activity subject=document:guide-* actor!=bot@paligo.example"},
		{"alerts severity=critical,high threads=off", "alerts severity=critical,high threads=off"},
		{"all external=allow", "all external=allow"},
		{"runs,run.failed status=error,error", "runs status=error"},
		{"data.alert   branch=main\tthreads=on", "data.alert branch=main"},
		{"runs replies=on mentions=off", "runs replies=on mentions=off"},
		{"runs replies=off mentions=on", "runs"},
	}
	for _, c := range good {
		s, err := paligo.ParseSubscription("C1", c.text)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if got := s.String(); got != c.understood {
			t.Errorf("%q understood as %q, want %q", c.text, got, c.understood)
		}
		// What is repeated reads back as the same subscription.
		again, err := paligo.ParseSubscription("C1", s.String())
		if err != nil || again.String() != s.String() || !slices.Equal(again.Kinds, s.Kinds) {
			t.Errorf("%q does not read back: %+v %v", s.String(), again, err)
		}
	}
	long := strings.Repeat("x", paligo.MaxFilterValueLen+1)
	var many []string
	for i := range paligo.MaxFilterValues + 1 {
		many = append(many, fmt.Sprint(i))
	}
	var filters []string
	for i := range paligo.MaxFilters + 1 {
		filters = append(filters, fmt.Sprintf("f%d=v", i))
	}
	bad := []struct{ text, names string }{
		{"", "which kinds"},
		{"run.exploded", `"run.exploded" is not a kind`},
		{"comment.reply", "goes to people"},
		{"project=finance", "kinds first"},
		{"runs project", `"project" is not a filter`},
		{"runs replies=yes", "replies is on or off"},
		{"runs mentions=none", "mentions is on or off"},
		{"runs =x", `"=x" is not a filter`},
		{"runs pro ject=x", `"pro" is not a filter`},
		{"runs proj/ect=x", "not a field name"},
		{"runs project=", "an empty value"},
		{"runs project=a,,b", "an empty value"},
		{"runs subject=nightly", "KIND:ID"},
		{"runs project=a project=b", "filtered twice"},
		{"runs threads=maybe", "on or off"},
		{"runs external=yes", "external is allow"},
		{"runs project=" + long, "at most 200 characters"},
		{"runs project=" + strings.Join(many, ","), "at most 20 values"},
		{"runs " + strings.Join(filters, " "), "at most 10 filters"},
	}
	for _, c := range bad {
		_, err := paligo.ParseSubscription("C1", c.text)
		if err == nil || !strings.Contains(err.Error(), c.names) {
			t.Errorf("%q: %v, want an error saying %q", c.text, err, c.names)
		}
	}
}

func mustSub(t testing.TB, channel, text string) paligo.Subscription {
	t.Helper()
	s, err := paligo.ParseSubscription(channel, text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSubscriptionMatches(t *testing.T) {
	nightly := &paligo.Subject{Kind: "schedule", ID: "nightly-dbt", Title: "Nightly dbt run"}
	ev := func(kind paligo.Kind, subject *paligo.Subject, actor string, fields map[string]string) *paligo.Event {
		e := &paligo.Event{ID: "e", Type: kind, Subject: subject, Fields: fields}
		if actor != "" {
			e.Actor = &paligo.Person{Email: actor}
		}
		return e
	}
	finance := map[string]string{"project": "finance", "environment": "production"}
	staging := map[string]string{"project": "finance", "environment": "staging"}
	for _, c := range []struct {
		sub  string
		e    *paligo.Event
		want bool
	}{
		{"runs", ev("run.failed", nil, "", nil), true},
		{"runs", ev("data.alert", nil, "", nil), false},
		{"run.failed project=finance", ev("run.failed", nil, "", finance), true},
		{"run.failed project=marketing", ev("run.failed", nil, "", finance), false},
		{"run.failed project=marketing,finance", ev("run.failed", nil, "", finance), true},            // OR within
		{"run.failed project=finance environment!=staging", ev("run.failed", nil, "", finance), true}, // AND across
		{"run.failed project=finance environment!=staging", ev("run.failed", nil, "", staging), false},
		{"run.failed environment!=staging,dev", ev("run.failed", nil, "", map[string]string{"environment": "dev"}), false},
		{"run.failed project=fin*", ev("run.failed", nil, "", finance), true},
		{"run.failed project=Finance", ev("run.failed", nil, "", finance), false}, // case-sensitive
		// A missing field matches only a != filter.
		{"run.failed branch=main", ev("run.failed", nil, "", finance), false},
		{"run.failed branch!=main", ev("run.failed", nil, "", finance), true},
		{"run.failed subject=schedule:nightly-*", ev("run.failed", nightly, "", nil), true},
		{"run.failed subject=*:nightly-dbt", ev("run.failed", nightly, "", nil), true},
		{"run.failed subject=document:nightly-dbt", ev("run.failed", nightly, "", nil), false},
		{"run.failed subject=schedule:nightly-*", ev("run.failed", nil, "", nil), false},
		{"run.failed subject!=schedule:nightly-*", ev("run.failed", nil, "", nil), true},
		{"run.failed title=Nightly*", ev("run.failed", nightly, "", nil), true},
		{"run.failed title=Daily*", ev("run.failed", nightly, "", nil), false},
		{"run.failed title!=Daily*", ev("run.failed", nightly, "", nil), true},
		{"activity actor!=bot@paligo.example", ev("document.created", nil, "bot@paligo.example", nil), false},
		{"activity actor!=bot@paligo.example", ev("document.created", nil, "ada@paligo.example", nil), true},
		{"activity actor!=bot@paligo.example", ev("document.created", nil, "", nil), true},
		{"activity actor=*@paligo.example", ev("document.created", nil, "ada@paligo.example", nil), true},
		{"activity actor=*@paligo.example", ev("document.created", nil, "", nil), false},
		// source: a sender's name, or api for an event that names none.
		{"runs source=api", ev("run.failed", nil, "", nil), true},
		{"runs source!=api", ev("run.failed", nil, "", finance), false},
		{"runs source=dbt-cloud", ev("run.started", nil, "", map[string]string{"source": "dbt-cloud"}), true},
		{"runs source=api", ev("run.started", nil, "", map[string]string{"source": "dbt-cloud"}), false},
		{"alerts source=grafana,alertmanager", ev("system.alert", nil, "", map[string]string{"source": "alertmanager"}), true},
	} {
		s := mustSub(t, "C1", c.sub)
		if got := s.Matches(c.e); got != c.want {
			t.Errorf("%q on %s %+v: %v, want %v", c.sub, c.e.Type, c.e.Fields, got, c.want)
		}
	}
}

func TestReachedOnceAndMutes(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	subs := []paligo.Subscription{
		mustSub(t, "C0FIN", "run.failed project=finance"),
		mustSub(t, "C0FIN", "runs"), // matches too: still once
		mustSub(t, "C0MKT", "run.failed project=marketing"),
		mustSub(t, "C0OPS", "alerts,runs"),
		mustSub(t, "C0DOCS", "activity"),
	}
	e := &paligo.Event{Type: "run.failed", Subject: &paligo.Subject{Kind: "schedule", ID: "nightly"}, Fields: map[string]string{"project": "finance"}}
	if got := paligo.Reached(e, subs, nil, nil, now); !slices.Equal(got, []string{"C0FIN", "C0OPS"}) {
		t.Errorf("reached %v", got)
	}
	// Named by the event as well as subscribed: once; named only: added.
	if got := paligo.Reached(e, subs, nil, []string{"C0OPS", "C0NEW", "C0NEW"}, now); !slices.Equal(got, []string{"C0FIN", "C0OPS", "C0NEW"}) {
		t.Errorf("reached with named channels %v", got)
	}
	mutes := []paligo.Mute{
		{Channel: "C0FIN", Subject: "schedule:nightly", Until: now.Add(time.Hour)},
		{Channel: "C0OPS", Subject: "schedule:nightly", Until: now}, // ended just now
		{Channel: "C0NEW", Subject: "schedule:nightly"},             // forever
		{Channel: "C0OPS", Subject: "schedule:other"},
	}
	if got := paligo.Reached(e, subs, mutes, []string{"C0NEW"}, now); !slices.Equal(got, []string{"C0OPS"}) {
		t.Errorf("reached with mutes %v, want C0OPS only", got)
	}
	if got := paligo.Reached(e, subs, mutes, nil, now.Add(time.Hour)); !slices.Equal(got, []string{"C0FIN", "C0OPS"}) {
		t.Errorf("reached after the hour's mute ended: %v", got)
	}
	// A subject "schedule:night" is not "schedule:nightly".
	if got := paligo.Reached(e, subs, []paligo.Mute{{Channel: "C0FIN", Subject: "schedule:night"}, {Channel: "C0FIN", Subject: "schedul:enightly"}}, nil, now); !slices.Contains(got, "C0FIN") {
		t.Errorf("a mute of another subject held: %v", got)
	}
	// No subject: no mute applies.
	plain := &paligo.Event{Type: "run.failed"}
	if got := paligo.Reached(plain, subs, mutes, nil, now); !slices.Equal(got, []string{"C0FIN", "C0OPS"}) {
		t.Errorf("reached without a subject %v", got)
	}
}

// BenchmarkMatch: 1,000 subscriptions over 200 channels, up to 10 filters
// each, against one event that a few of them take.
func BenchmarkMatch(b *testing.B) {
	kinds := paligo.RoutableKinds()
	var subs []paligo.Subscription
	for i := range 1000 {
		var text strings.Builder
		text.WriteString(string(kinds[i%len(kinds)]))
		for f := range i % 11 {
			switch f {
			case 0:
				fmt.Fprintf(&text, " project=p%d,p%d*", i%30, i%7)
			case 1:
				fmt.Fprintf(&text, " environment!=staging,dev%d", i%3)
			case 2:
				fmt.Fprintf(&text, " subject=schedule:nightly-%d*", i%13)
			default:
				fmt.Fprintf(&text, " f%d=v%d,w*", f, i%5)
			}
		}
		subs = append(subs, mustSub(b, fmt.Sprintf("C%03d", i%200), text.String()))
	}
	e := &paligo.Event{Type: "run.failed", Subject: &paligo.Subject{Kind: "schedule", ID: "nightly-7", Title: "Nightly"},
		Actor: &paligo.Person{Email: "ada@example.com"}, Fields: map[string]string{"project": "p3", "environment": "production", "f3": "v1"}}
	mutes := []paligo.Mute{{Channel: "C007", Subject: "schedule:nightly-7"}}
	now := time.Now()
	reached := paligo.Reached(e, subs, mutes, nil, now)
	b.ReportAllocs()
	for b.Loop() {
		paligo.Reached(e, subs, mutes, nil, now)
	}
	b.ReportMetric(float64(len(reached)), "channels")
}

// Subscriptions that do not take an event cost no allocation.
func TestMatchAllocatesNothingForWhatDoesNotMatch(t *testing.T) {
	var subs []paligo.Subscription
	for i := range 200 {
		subs = append(subs, mustSub(t, fmt.Sprintf("C%03d", i), "runs project=p*,q environment!=staging subject=schedule:nightly-* title=*x* actor=*@example.com"))
	}
	e := &paligo.Event{Type: "run.failed", Subject: &paligo.Subject{Kind: "schedule", ID: "daily"}, Fields: map[string]string{"project": "p1"}}
	if n := testing.AllocsPerRun(100, func() { paligo.Reached(e, subs, nil, nil, time.Now()) }); n != 0 {
		t.Errorf("%v allocations for 200 subscriptions that do not match", n)
	}
}

// The compiled Matcher answers as Reached does, over many random
// subscriptions, mutes and events.
func TestMatcherAgreesWithReached(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	kinds := paligo.RoutableKinds()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for round := range 600 {
		var subs []paligo.Subscription
		for i := range 1 + rng.IntN(40) {
			text := string(kinds[rng.IntN(len(kinds))])
			if rng.IntN(3) == 0 {
				text = pick("runs", "alerts", "activity", "all")
			}
			for f := range rng.IntN(5) {
				name := pick("project", "environment", "status", "subject", "title", "actor", fmt.Sprintf("f%d", f))
				op := pick("=", "!=")
				var val string
				switch name {
				case "subject":
					val = pick("schedule:nightly*", "*:t1", "doc:*", "schedule:daily")
				case "actor":
					val = pick("*@example.com", "bot@example.com")
				default:
					val = pick("finance", "fin*", "prod*,staging", "x", "*", "fi*", "f*", "fi", "*ance")
				}
				text += " " + name + op + val
			}
			sub, err := paligo.ParseSubscription(fmt.Sprintf("C%d", i%7), text)
			if err != nil {
				continue // e.g. a field filtered twice
			}
			subs = append(subs, sub)
		}
		var mutes []paligo.Mute
		for i := range rng.IntN(3) {
			mutes = append(mutes, paligo.Mute{Channel: fmt.Sprintf("C%d", i), Subject: pick("schedule:nightly", "doc:t1"), Until: now.Add(time.Duration(rng.IntN(3)-1) * time.Hour)})
		}
		m := paligo.NewMatcher(subs, mutes)
		for range 20 {
			e := &paligo.Event{Type: kinds[rng.IntN(len(kinds))], Fields: map[string]string{}}
			if rng.IntN(2) == 0 {
				e.Subject = &paligo.Subject{Kind: pick("schedule", "doc"), ID: pick("nightly", "t1", "daily"), Title: pick("", "Nightly")}
			}
			if rng.IntN(2) == 0 {
				e.Actor = &paligo.Person{Email: pick("bot@example.com", "ada@example.com")}
			}
			for _, name := range []string{"project", "environment", "status", "f0", "f2"} {
				if rng.IntN(2) == 0 {
					e.Fields[name] = pick("finance", "production", "staging", "x", "f", "fi", "")
				}
			}
			named := []string{pick("", "C1", "C9")}
			want := paligo.Reached(e, subs, mutes, named, now)
			if got := m.Reached(e, named, now); !slices.Equal(got, want) {
				t.Fatalf("round %d: matcher %v, Reached %v for %+v with %v", round, got, want, e, subs)
			}
		}
	}
}

// BenchmarkMatcher is BenchmarkMatch's worst case, compiled: all 1,000
// subscriptions are of the event's kind, their first filter a glob
// (project=p12*); literal: the same with project=p12 (indexed by value).
func BenchmarkMatcher(b *testing.B) {
	b.Run("glob", func(b *testing.B) { benchMatcher(b, "*") })
	b.Run("literal", func(b *testing.B) { benchMatcher(b, "") })
}

func benchMatcher(b *testing.B, glob string) {
	var subs []paligo.Subscription
	for i := range 1000 {
		text := "run.failed project=p" + fmt.Sprint(i%37) + glob
		for f := range i % 10 {
			text += fmt.Sprintf(" f%d=v%d,w*", f, i%5)
		}
		subs = append(subs, mustSub(b, fmt.Sprintf("C%03d", i%200), text))
	}
	e := &paligo.Event{Type: "run.failed", Fields: map[string]string{"project": "finance", "f1": "v1"}}
	now := time.Now()
	for _, c := range []struct {
		name string
		run  func()
	}{
		{"reached", func() { paligo.Reached(e, subs, nil, nil, now) }},
		{"matcher", func() { paligo.NewMatcher(subs, nil).Reached(e, nil, now) }},
	} {
		m := paligo.NewMatcher(subs, nil)
		if c.name == "matcher" {
			c.run = func() { m.Reached(e, nil, now) }
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.run()
			}
		})
	}
}

func TestChannelIDAndRef(t *testing.T) {
	for s, want := range map[string][2]bool{ // ChannelID, ChannelRef
		"C0OPS": {true, true}, "G0123": {true, true}, "C12": {true, true}, "C1": {false, false}, "D0DM": {false, false},
		"c0ops": {false, false}, "C0-OPS": {false, false}, "U0ALICE": {false, false}, "": {false, false},
		"#data-alerts": {false, true}, "#": {false, false}, "#Bad": {false, false}, "#a b": {false, false},
	} {
		if got := [2]bool{paligo.ChannelID(s), paligo.ChannelRef(s)}; got != want {
			t.Errorf("%q: ChannelID, ChannelRef = %v, want %v", s, got, want)
		}
	}
}
