package app

import "runtime/debug"

// gcPercent is the collector's target when GOGC is not set: the heap may
// grow to three times what is live before a collection. The bot's live
// heap is small (a few MB at rest) and every request allocates, so with
// Go's default of 100 it collected every few milliseconds under load; at
// 200 an event costs about a fifth less CPU, for a peak resident memory of
// 62 MB instead of 53 (docs/benchmarks.md; 400 saved more and peaked at
// 90). GOGC and GOMEMLIMIT, when set, are the runtime's own.
const gcPercent = 200

// tuneGC sets the collector's target unless the environment chose one.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
