package app

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// paligo-slack migrate, both ways round, on a database with every kind of
// record; a target that holds records is refused unless --overwrite; no
// output holds the connection string's password.
func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bot.db")
	s, err := store.Open(file, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, s)
	want, err := s.Dump()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	pg := storetest.Postgres(t)
	u, _ := url.Parse(pg)
	password, _ := u.User.Password()

	run := func(args ...string) (int, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append([]string{"migrate"}, args...), envOf(nil), &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if password != "" && strings.Contains(out, password) {
			t.Errorf("migrate %s: the password is in the output", strings.Join(args[:1], " "))
			out = strings.ReplaceAll(out, password, "<password>")
		}
		return code, out
	}
	dumpOf := func(dsn string) map[string]map[string]string {
		t.Helper()
		s, err := store.Open(dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		d, err := s.Dump()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	if code, out := run("--from", file, "--to", pg); code != 0 || !strings.Contains(out, fmt.Sprintf("records in %d buckets from bbolt file", len(want))) {
		t.Fatalf("file to postgres: %d %s", code, out)
	}
	if got := dumpOf(pg); !reflect.DeepEqual(got, want) {
		t.Error("the records on PostgreSQL differ from the file's")
	}
	if code, out := run("--from", file, "--to", pg); code != 1 || !strings.Contains(out, "already holds records") || !strings.Contains(out, "nothing copied") {
		t.Errorf("into a database with records: %d %s", code, out)
	}
	if code, out := run("--from", file, "--to", pg, "--overwrite"); code != 0 {
		t.Errorf("--overwrite: %d %s", code, out)
	}
	back := filepath.Join(dir, "back.db")
	if code, out := run("--from", pg, "--to", back); code != 0 || !strings.Contains(out, "from postgres 127.0.0.1:") {
		t.Fatalf("postgres to file: %d %s", code, out)
	}
	if got := dumpOf(back); !reflect.DeepEqual(got, want) {
		t.Error("the records back in a file differ from the first file's")
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--from", file}, 2, "--from DB and --to DB are required"},
		{[]string{"--from", file, "--to", "mysql://u:" + password + "@h/d"}, 2, "--to is a mysql:// URL"},
		{[]string{"--from", file, "--to", file}, 2, "the same database"},
		{[]string{"--from", filepath.Join(dir, "sub", "none", "x.db"), "--to", pg}, 1, "--from:"},
	} {
		if code, out := run(c.args...); code != c.code || !strings.Contains(out, c.says) {
			t.Errorf("migrate %v = %d %q, want %d and %q", c.args, code, out, c.code, c.says)
		}
	}
}
