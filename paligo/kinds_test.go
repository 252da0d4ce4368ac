package paligo_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/paligo/paligo-slack/paligo"
)

// docs/events.md is what the platform's engineers read: its table of kinds
// must be the code's, row for row.
func TestKindsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "events.md"))
	if err != nil {
		t.Fatal(err)
	}
	category := map[string]paligo.Category{
		"followed subjects": paligo.CatFollowing, "mentions": paligo.CatMentions, "replies": paligo.CatReplies,
		"shares": paligo.CatShares, "publications": paligo.CatPublications, "assignments": paligo.CatAssignments,
		"runs": paligo.CatRuns, "alerts": paligo.CatAlerts, "(tells the inviter)": "", "(none: channels)": "",
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| [^|]+ \\| (yes|no) \\| ([^|]+?) \\| (yes|) *\\|$")
	seen := map[paligo.Kind]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		k := paligo.Kind(m[1])
		info, ok := paligo.Kinds[k]
		if !ok {
			t.Errorf("docs/events.md lists %s, which the code does not know", k)
			continue
		}
		seen[k] = true
		cat, ok := category[m[3]]
		if !ok {
			t.Errorf("%s: category %q is not one the Home tab shows", k, m[3])
		}
		if got := (paligo.KindInfo{Routable: m[2] == "yes", Category: cat, Critical: m[4] == "yes"}); got != info {
			t.Errorf("%s: the page says %+v, the code %+v", k, got, info)
		}
	}
	for k := range paligo.Kinds {
		if !seen[k] {
			t.Errorf("docs/events.md does not list %s", k)
		}
	}
}
