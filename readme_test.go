package main

import (
	"os"
	"strings"
	"testing"
)

// testCommand is the README's test command; .ci/run must run exactly it.
const testCommand = "scripts/test"

func TestREADMEAndCIRunTheSameTestCommand(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	// The first screen: the run command and the test command.
	first := string(readme)
	if len(first) > 2500 {
		first = first[:2500]
	}
	if !strings.Contains(first, "go run .") || !strings.Contains(first, testCommand) {
		t.Errorf("README's first screen lacks `go run .` or %q", testCommand)
	}
	found := false
	for _, line := range strings.Split(string(ci), "\n") {
		if strings.TrimSpace(line) == testCommand {
			found = true
		}
	}
	if !found {
		t.Errorf(".ci/run does not run %q on a line of its own", testCommand)
	}
}
