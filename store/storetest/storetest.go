// Package storetest gives tests a database of either engine: a bbolt file
// in a temp dir, or a fresh schema of the PostgreSQL server named by
// PALIGO_SLACK_TEST_POSTGRES (scripts/postgres starts a throwaway one, and
// scripts/test does so by itself). Without that variable the PostgreSQL
// tests are skipped, saying how to run them, except under CI, where they
// fail: CI must run every engine.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paligo/paligo-slack/store"
)

// Env names the server the PostgreSQL tests use.
const Env = "PALIGO_SLACK_TEST_POSTGRES"

// Engines are the engines a conformance test runs on.
var Engines = []string{"bbolt", "postgres"}

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

// PostgresBase is the server's connection string, or it ends the test:
// failing under CI, skipped elsewhere.
func PostgresBase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set and CI is: the PostgreSQL tests must run (scripts/postgres start DIR prints it)", Env)
		}
		tb.Skipf("%s is not set: run scripts/test, or scripts/postgres start DIR and export the line it prints", Env)
	}
	return base
}

// Postgres creates an empty schema on the test server, dropped when the
// test ends, and returns the connection string that works in it.
func Postgres(tb testing.TB) string {
	tb.Helper()
	base := PostgresBase(tb)
	adminOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, adminErr = pgxpool.New(ctx, base)
		if adminErr == nil {
			adminErr = admin.Ping(ctx)
		}
	})
	if adminErr != nil {
		// pgx keeps the password out of its errors; the test names the
		// variable, not its value.
		tb.Fatalf("%s: cannot reach the server: %v", Env, adminErr)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s is not a URL", Env)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DSN is a fresh database of engine: a bbolt file's path or a PostgreSQL
// connection string.
func DSN(tb testing.TB, engine string) string {
	tb.Helper()
	switch engine {
	case "bbolt":
		return filepath.Join(tb.TempDir(), "test.db")
	case "postgres":
		return Postgres(tb)
	}
	panic(fmt.Sprintf("storetest: no engine %q", engine))
}

// MustOpen opens an empty store in a bbolt file of the test's own, closed
// when the test ends.
func MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := store.Open(filepath.Join(tb.TempDir(), "bot.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// FanOut fans out up to max accepted events of team's workspace, as
// delivery's loop does, and returns the new jobs.
func FanOut(s *store.Store, team string, max int) ([]store.Job, error) {
	r, err := FanOutKnowing(s, team, max, false)
	return r.Jobs, err
}

// FanOutKnowing is FanOut for a workspace whose directory has been read
// whole (directoryRead): a recipient it does not match ends unmatched.
func FanOutKnowing(s *store.Store, team string, max int, directoryRead bool) (store.FanOutResult, error) {
	return s.FanOutWith(store.FanOutSpec{Team: team, DirectoryRead: directoryRead}, max)
}
