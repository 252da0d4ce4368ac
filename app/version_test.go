package app

import "testing"

// What the release build sets with -ldflags -X wins over Go's build
// information (a build from a tree without .git has none).
func TestBuildSetByTheReleaseBuildWins(t *testing.T) {
	before := Build()
	version, commit, date = "v1.2.3", "0123456789ab", "2026-12-07T18:00:00Z"
	defer func() { version, commit, date = "", "", "" }()
	if b := Build(); b != (BuildInfo{"v1.2.3", "0123456789ab", "2026-12-07T18:00:00Z"}) {
		t.Errorf("Build() = %+v", b)
	}
	commit, date = "", ""
	if b := Build(); b.Version != "v1.2.3" || b.Commit != before.Commit || b.Date != before.Date {
		t.Errorf("only the version set: %+v (before %+v)", b, before)
	}
}
