package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	dsn := storetest.Postgres(t)
	mustOpenAt(t, dsn) // creates the engine's tables
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Statistics taken when the bucket held 100 keys, then 20,000 more.
	exec("ALTER TABLE paligo_kv SET (autovacuum_enabled = false)")
	fill := `INSERT INTO paligo_kv (bucket, key, value)
		SELECT 'event_ids', convert_to('e' || i, 'UTF8'), int8send(i) FROM generate_series($1::int, $2::int) AS i`
	exec(fill, 1, 100)
	exec("ANALYZE paligo_kv")
	exec(fill, 101, 20100)

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
