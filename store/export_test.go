package store

// For the tests of package store_test.
const (
	PgGetMany    = pgGetMany
	PgDeleteMany = pgDeleteMany
)
