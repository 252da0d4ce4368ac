package app

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/paligo/paligo-slack/store"
)

// runCompact is `paligo-slack compact`: the database, copied into a new
// file without its free pages, while the bot is stopped.
func runCompact(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("compact", flag.ContinueOnError)
	fl.SetOutput(stderr)
	db := fl.String("db", "paligo-slack.db", "the database file (the bot must be stopped)")
	out := fl.String("out", "", "the new file (must not exist)")
	fl.Usage = func() {
		fmt.Fprint(stderr, "Usage: paligo-slack compact --db FILE --out NEW\n\n"+
			"Copies the database into NEW without the free pages that retention left:\n"+
			"stop the bot, compact, move NEW in place of FILE, start the bot.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "paligo-slack compact: --out NEW is required (and nothing else)")
		return 2
	}
	for name, v := range map[string]string{"--db": *db, "--out": *out} {
		if store.IsPostgresURL(v) {
			fmt.Fprintf(stderr, "paligo-slack compact: %s is a PostgreSQL connection URL: compact rewrites a bbolt file (PostgreSQL reclaims its own space: VACUUM)\n", name)
			return 2
		}
		if err := dbFile(v); err != nil {
			fmt.Fprintf(stderr, "paligo-slack compact: %s %v\n", name, err)
			return 2
		}
	}
	before, after, err := store.Compact(*db, *out)
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack compact: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %.1f MB -> %s: %.1f MB\n", *db, float64(before)/(1<<20), *out, float64(after)/(1<<20))
	return 0
}
