package main

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir is ../shared beside the checkout, where the Slack reference
// samples live.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	for _, d := range []string{"../shared", "../../shared"} {
		if fi, err := os.Stat(filepath.Join(d, "slack-reference")); err == nil && fi.IsDir() {
			return d
		}
	}
	tb.Fatal("../shared/slack-reference not found beside the checkout")
	return ""
}

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(tb), "slack-reference", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
