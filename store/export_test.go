package store

// For the tests of package store_test.
const (
	PgGetMany    = pgGetMany
	PgDeleteMany = pgDeleteMany
)

// PgKVStatements are the engine's statements that find rows of the
// key–value table, by name.
var PgKVStatements = map[string]string{
	"get": pgGet, "count": pgCount, "get many": pgGetMany, "delete many": pgDeleteMany,
	"get ranges": pgGetRanges, "get range": pgGetRange,
	"first page": pgPageFirst, "last page": pgPageLast,
	"page after": pgPageAfter, "page from": pgPageFrom, "page before": pgPageBefore,
}

// PgPlanMode is the plan_cache_mode a transaction of s runs under (s on
// PostgreSQL).
func PgPlanMode(s *Store, writable bool) (string, error) {
	var got string
	err := s.db.(*pgEngine).run(writable, func(tx kvTx) error {
		return tx.(*pgTx).queryRow("SELECT current_setting('plan_cache_mode')", nil, &got)
	})
	return got, err
}
