package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/closecast/closecast/database"
)

var dbCmd = &command{
	name:    "db",
	summary: "Copy a store (bars, fetch log, ledger, models) between SQLite and PostgreSQL",
	usage:   "copy [--from URL] --to URL [--json]",
	example: `  closecast db copy --to postgres://closecast@db.internal/closecast        # this machine's store into PostgreSQL
  closecast db copy --from postgres://closecast@db.internal/closecast --to sqlite:/tmp/backup.db

Copies the bars, the fetch log, the ledger of live forecasts, the models and
the champions of --from (default: the store the other commands use, --db
rules) into --to, creating --to's schema as needed. What --to already holds
the same is left alone, so running it again copies nothing; a model --to
holds under the same version with other contents stops the copy.`,
	run: runDB,
}

func runDB(ctx context.Context, c *command, e *env, args []string) error {
	fs := c.flags(e)
	from := fs.String("from", "", "the store to copy: a `URL` as --db takes (default $"+database.URLEnv+", else $CLOSECAST_HOME/closecast.db)")
	to := fs.String("to", "", "the store to copy into: a `URL` as --db takes")
	asJSON := fs.Bool("json", false, "print what was copied as JSON")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return fmt.Errorf("%w: want a subcommand: copy", errUsage)
		}
		return flag.ErrHelp
	}
	if args[0] != "copy" {
		return fmt.Errorf("%w: unknown subcommand %q: want copy", errUsage, args[0])
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("%w: --to is required", errUsage)
	}
	e.dbURL = *from
	src, err := dbLocation(e)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	dst, err := database.Parse(*to, "")
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if src == dst {
		return fmt.Errorf("%w: --from and --to are the same store (%s)", errUsage, src)
	}
	sdb, err := database.OpenLocation(ctx, src, database.Options{OnlyIfExists: true})
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if sdb == nil {
		return fmt.Errorf("--from: no store at %s", src)
	}
	defer sdb.Close()
	ddb, err := database.OpenLocation(ctx, dst, database.Options{})
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer ddb.Close()
	rep, err := database.Copy(ctx, ddb, sdb)
	if err != nil {
		return fmt.Errorf("copying %s into %s: %w", src, dst, err)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(rep)
	}
	fmt.Fprintf(e.stdout, "copied %s into %s: %d symbols read; %d bars added, %d updated; %d fetch log rows, %d forecasts, %d models, %d champions written\n",
		src, dst, rep.Symbols, rep.BarsAdded, rep.BarsUpdated, rep.Fetches, rep.Forecasts, rep.Models, rep.Champions)
	return nil
}
