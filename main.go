// Command paligo-slack brings Paligo's and the data pipeline's notifications
// into Slack. The program itself is package app; this only hands it the
// process's arguments, environment and signals.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// The time zone database in the binary: digests go out in each
	// person's Slack time zone, and the container image has no zoneinfo.
	_ "time/tzdata"

	"github.com/paligo/paligo-slack/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
