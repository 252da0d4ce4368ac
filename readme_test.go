package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// Every relative link of the README and of docs/ leads to a file of the
// checkout.
func TestDocsLinksResolve(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	files = append(files, "README.md", "SECURITY.md", "CHANGELOG.md")
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			if strings.Contains(m[1], "://") || strings.HasPrefix(m[1], "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), m[1])); err != nil {
				t.Errorf("%s links to %s, which is not there", f, m[1])
			}
		}
	}
}

// The README stays a first page: depth goes to docs/.
func TestREADMEIsAFirstPage(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 250 {
		t.Errorf("README.md has %d lines; keep it at most 250 and move depth to docs/", n)
	}
}
