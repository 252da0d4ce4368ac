package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paligo/paligo-slack/store"
)

func TestCompactCommand(t *testing.T) {
	dir := t.TempDir()
	db, out := filepath.Join(dir, "bot.db"), filepath.Join(dir, "new.db")
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"compact", "--db", db}, envOf(nil), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--out NEW is required") {
		t.Errorf("without --out: %d %q", code, stderr.String())
	}
	stderr.Reset()
	if code := Run(context.Background(), []string{"compact", "--db", db, "--out", out}, envOf(nil), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "MB -> "+out) {
		t.Fatalf("compact: %d %q %q", code, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	if code := Run(context.Background(), []string{"compact", "--db", filepath.Join(dir, "none.db"), "--out", filepath.Join(dir, "x.db")}, envOf(nil), &stdout, &stderr); code != 1 {
		t.Errorf("compact of a missing file = %d, want 1", code)
	}
	stderr.Reset()
	code := Run(context.Background(), []string{"compact", "--db", "postgres://paligo:secretdb@db/paligo", "--out", out}, envOf(nil), &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--db is a PostgreSQL connection URL") || strings.Contains(stderr.String(), "secretdb") {
		t.Errorf("compact of a connection URL: %d %q", code, stderr.String())
	}
}
