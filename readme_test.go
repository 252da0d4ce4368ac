package main

import (
	"io/fs"
	"os"
	"path/filepath"
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

// The project stands alone: nothing in it reads, runs or links a folder
// beside the checkout (a clone has none).
func TestNothingReachesOutsideTheCheckout(t *testing.T) {
	outside := ".." + "/shared"
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "artifacts") {
			return filepath.SkipDir
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), outside) {
			t.Errorf("%s refers to %s", path, outside)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
