package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paligo/paligo-slack/store"
	"github.com/paligo/paligo-slack/store/storetest"
)

// TestPostgresLooksUpKeysByTheIndexWhateverTheStatistics pins the plan of
// the engine's many-key reads and deletions: one index descent a key, even
// when the server's statistics of the table lag far behind it, as they do
// while events pour in. Reading the bucket and filtering it by the keys
// (the plan key = ANY($2) got) cost 13 ms a lookup after 100,000 events.
func TestPostgresLooksUpKeysByTheIndexWhateverTheStatistics(t *testing.T) {
	ctx, conn, _ := laggingStatistics(t, "event_ids")

	var keys [][]byte
	for i := range 800 {
		keys = append(keys, fmt.Appendf(nil, "e%d", 20100-i*7))
	}
	plan := func(sql string) string {
		t.Helper()
		var out []byte
		// EXPLAIN of a DELETE runs nothing: the rows stay.
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, "event_ids", keys).Scan(&out); err != nil {
			t.Fatalf("explain: %v", err)
		}
		return string(out)
	}
	for name, sql := range map[string]string{"reads": store.PgGetMany, "deletions": store.PgDeleteMany} {
		p := plan(sql)
		var nodes []struct {
			Plan json.RawMessage `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(p), &nodes); err != nil {
			t.Fatal(err)
		}
		scans := tableScans(t, nodes[0].Plan)
		found := false
		for _, s := range scans {
			if s.Relation == "paligo_kv" && strings.Contains(s.Cond, "key = w.k") && s.Filter == "" {
				found = true
			}
		}
		if !found {
			t.Errorf("the %s do not descend the index once a key: %s", name, p)
		}
		for _, s := range scans {
			if s.Relation == "paligo_kv" && !strings.Contains(s.Type, "Index") && s.Type != "Tid Scan" {
				t.Errorf("the %s read the table by a %s: %s", name, s.Type, p)
			}
		}
	}
	// The rows read are the rows asked for.
	rows, err := conn.Query(ctx, store.PgGetMany, "event_ids", [][]byte{[]byte("e5"), []byte("e20100"), []byte("nope")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var k, v []byte
		err := r.Scan(&k, &v)
		return string(k), err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if strings.Join(got, ",") != "e20100,e5" {
		t.Errorf("read %v, want e5 and e20100", got)
	}
}

// TestPostgresGenericPlansUseTheIndex: write transactions use generic
// plans (planned once a connection, not at each execution), made on
// statistics that may lag the table far. Every statement that finds rows
// of the key–value table, planned generic on statistics taken at 100 rows
// of 20,100, reads it by the index, not the whole table.
func TestPostgresGenericPlansUseTheIndex(t *testing.T) {
	ctx, conn, exec := laggingStatistics(t, "event_ids", "events", "outbox")
	exec("SET plan_cache_mode = force_generic_plan")
	// A literal of each parameter's type: the bucket, a key, keys, a limit.
	literal := map[uint32]string{25: "'event_ids'", 17: `'\x653530'::bytea`, 1001: `ARRAY['\x653530'::bytea, '\x65313030'::bytea]`, 20: "64"}
	for name, sql := range store.PgKVStatements {
		stmt := "p_" + strings.ReplaceAll(name, " ", "_")
		// A statement of that name on the server, as PREPARE makes.
		sd, err := conn.Prepare(ctx, stmt, sql)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var args []string
		for _, oid := range sd.ParamOIDs {
			l, ok := literal[oid]
			if !ok {
				t.Fatalf("%s: no literal of type %d", name, oid)
			}
			args = append(args, l)
		}
		var out []byte
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) EXECUTE "+stmt+"("+strings.Join(args, ", ")+")").Scan(&out); err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		var nodes []struct {
			Plan json.RawMessage `json:"Plan"`
		}
		if err := json.Unmarshal(out, &nodes); err != nil {
			t.Fatal(err)
		}
		scans := tableScans(t, nodes[0].Plan)
		if len(scans) == 0 {
			t.Errorf("%s: no scan of the table in its plan: %s", name, out)
		}
		for _, s := range scans {
			// A bitmap heap scan reads the pages the index found.
			if s.Relation == "paligo_kv" && s.Type == "Seq Scan" {
				t.Errorf("the generic plan of %s reads the whole table (%s): %s", name, s.Type, out)
			}
		}
	}
}

// Every statement of the engine that finds rows of the key–value table is
// one whose plan the test above checks.
func TestPostgresKVStatementsAreAllChecked(t *testing.T) {
	known := map[string]bool{}
	for _, sql := range store.PgKVStatements {
		known[sql] = true
	}
	fset := token.NewFileSet()
	for _, name := range []string{"postgres.go", "lanes.go"} {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			sql, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.Contains(sql, "FROM paligo_kv") {
				return true
			}
			found++
			if !known[sql] {
				t.Errorf("%s: %q finds rows of paligo_kv but is not in PgKVStatements", fset.Position(lit.Pos()), sql)
			}
			return true
		})
		if name == "postgres.go" && found < len(known) {
			t.Errorf("found %d statements in %s, fewer than the %d checked", found, name, len(known))
		}
	}
}

// Write transactions use generic plans; reads plan each statement for its
// values; a plan_cache_mode the DSN sets is kept for both.
func TestPostgresPlanModes(t *testing.T) {
	modes := func(s *store.Store) (w, r string) {
		t.Helper()
		w, err := store.PgPlanMode(s, true)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = store.PgPlanMode(s, false); err != nil {
			t.Fatal(err)
		}
		return w, r
	}
	dsn := storetest.Postgres(t)
	if w, r := modes(mustOpenAt(t, dsn)); w != "force_generic_plan" || r != "force_custom_plan" {
		t.Errorf("write transactions plan %q, reads %q; want force_generic_plan and force_custom_plan", w, r)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := store.OpenPostgres(dsn+sep+"plan_cache_mode=auto", store.Options{Replica: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w, r := modes(s); w != "auto" || r != "auto" {
		t.Errorf("with the DSN's mode: write transactions plan %q, reads %q; want auto", w, r)
	}
}

// A key past a bucket's last (a new event's, a new job's) is inserted, not
// upserted; one the bucket holds past its sequence is replaced, and so is
// one written past the last earlier in the transaction and sent since.
func TestPostgresKeysPastTheLast(t *testing.T) {
	got, err := store.PgPastTheLastKey(mustOpenAt(t, storetest.Postgres(t)))
	if err != nil {
		t.Fatal(err)
	}
	if got != "b,d,e" {
		t.Errorf("the bucket holds %q at 2, 10 and 11, want b,d,e", got)
	}
}

// laggingStatistics opens the store's tables in a fresh schema and fills
// each of buckets with 100 keys, the server's statistics taken then, and
// 20,000 more: statistics that lag the table far, as they do while events
// pour in. It returns a connection to the schema and a way to run
// statements on it that fails t.
func laggingStatistics(t *testing.T, buckets ...string) (context.Context, *pgx.Conn, func(sql string, args ...any)) {
	t.Helper()
	dsn := storetest.Postgres(t)
	mustOpenAt(t, dsn) // creates the engine's tables
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("ALTER TABLE paligo_kv SET (autovacuum_enabled = false)")
	fill := `INSERT INTO paligo_kv (bucket, key, value)
		SELECT b, convert_to('e' || i, 'UTF8'), int8send(i) FROM generate_series($1::int, $2::int) AS i,
		unnest($3::text[]) AS b`
	exec(fill, 1, 100, buckets)
	exec("ANALYZE paligo_kv")
	exec(fill, 101, 20100, buckets)
	return ctx, conn, exec
}

type scanNode struct {
	Type, Relation, Cond, Filter string
}

// tableScans lists the scans of a plan in EXPLAIN's JSON: index scans with
// their conditions, and every other node that reads a table.
func tableScans(t *testing.T, raw json.RawMessage) []scanNode {
	var n struct {
		Type     string            `json:"Node Type"`
		Relation string            `json:"Relation Name"`
		Cond     string            `json:"Index Cond"`
		Filter   string            `json:"Filter"`
		Plans    []json.RawMessage `json:"Plans"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	var out []scanNode
	if n.Relation != "" && n.Type != "ModifyTable" {
		out = append(out, scanNode{n.Type, n.Relation, n.Cond, n.Filter})
	}
	for _, p := range n.Plans {
		out = append(out, tableScans(t, p)...)
	}
	return out
}
