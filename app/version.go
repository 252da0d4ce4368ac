package app

import (
	"fmt"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo says which build is running: the module's version ("(devel)"
// for a build from a checkout), the commit (with "-dirty" when the tree
// had changes) and its time, from Go's build information.
type BuildInfo struct {
	Version, Commit, Date string
}

// Set by the release build (the Containerfile) with
// -ldflags "-X github.com/paligo/paligo-slack/app.version=… -X …": a build
// from a source tree without .git has no VCS information of its own.
var version, commit, date string

// Build reads the running binary's build information; what the build set
// with -ldflags wins.
func Build() BuildInfo {
	b := vcsBuild()
	for _, set := range [][2]*string{{&b.Version, &version}, {&b.Commit, &commit}, {&b.Date, &date}} {
		if *set[1] != "" {
			*set[0] = *set[1]
		}
	}
	return b
}

// vcsBuild is what Go's build information says: the module's version and
// the VCS revision the build was made from.
func vcsBuild() BuildInfo {
	b := BuildInfo{Version: "(devel)", Commit: "unknown", Date: "unknown"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
			if len(b.Commit) > 12 {
				b.Commit = b.Commit[:12]
			}
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Commit != "unknown" {
		b.Commit += "-dirty"
	}
	return b
}

func (b BuildInfo) String() string {
	return fmt.Sprintf("paligo-slack %s (commit %s, built %s)", b.Version, b.Commit, b.Date)
}

// registerBuildInfo adds paligo_slack_build_info{version,commit,date} 1.
func registerBuildInfo(reg prometheus.Registerer, b BuildInfo) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paligo_slack_build_info",
		Help: "The running build: its version, commit and commit time (always 1).",
	}, []string{"version", "commit", "date"})
	g.WithLabelValues(b.Version, b.Commit, b.Date).Set(1)
	reg.MustRegister(g)
}
