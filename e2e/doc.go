// Package e2e holds the whole-program tests: each starts the real program
// (package app, or the built binary) against the fake Slack on port :0 with a
// temporary database, and drives it as Slack and the platform would.
package e2e
