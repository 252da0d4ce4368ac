package app

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/paligo/paligo-slack/store"
)

// runMigrate copies every record from one database to another, of either
// engine: a bbolt file to PostgreSQL when a deployment grows to replicas,
// or back.
func runMigrate(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	from := fl.String("from", "", "the database to copy: a bbolt file or a postgres:// URL (no bot may be running on it)")
	to := fl.String("to", "", "the database to copy into: a postgres:// URL or a bbolt file (created if missing)")
	overwrite := fl.Bool("overwrite", false, "replace what --to holds (without it, a --to that holds records is refused)")
	fl.Usage = func() {
		fmt.Fprint(stderr, "Usage: paligo-slack migrate --from DB --to DB [--overwrite]\n\n"+
			"Copies every record (events, people's settings, subscriptions, the outbox,\n"+
			"digests, invitations, living messages, workspaces) from one database to\n"+
			"the other, in one transaction: stop the bot, migrate, start the bot with\n"+
			"PALIGO_SLACK_DB set to the new database.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *from == "" || *to == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "paligo-slack migrate: --from DB and --to DB are required (and nothing else)")
		return 2
	}
	for name, v := range map[string]string{"--from": *from, "--to": *to} {
		if err := dbFile(v); err != nil {
			fmt.Fprintf(stderr, "paligo-slack migrate: %s %v\n", name, err)
			return 2
		}
	}
	if *from == *to {
		fmt.Fprintln(stderr, "paligo-slack migrate: --from and --to are the same database")
		return 2
	}
	src, err := store.Open(*from, store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack migrate: --from: %v\n", err)
		return 1
	}
	defer src.Close()
	dst, err := store.Open(*to, store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack migrate: --to: %v\n", err)
		return 1
	}
	defer dst.Close()
	res, err := src.CopyTo(dst, *overwrite)
	if errors.Is(err, store.ErrNotEmpty) {
		fmt.Fprintf(stderr, "paligo-slack migrate: --to %v: nothing copied (--overwrite replaces what it holds)\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack migrate: nothing copied: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d records in %d buckets from %s to %s\n", res.Records, res.Buckets, src.Engine(), dst.Engine())
	return 0
}
