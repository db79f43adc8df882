package main

import (
	"context"
	"flag"
	"strings"

	"github.com/closecast/closecast/database"
)

// dbFlag registers --db on a command that uses the store.
func dbFlag(fs *flag.FlagSet, e *env) {
	fs.StringVar(&e.dbURL, "db", "", "store `URL`: postgres://… or postgresql://… (PostgreSQL), sqlite:PATH or a file path (SQLite) (default $"+
		database.URLEnv+", else $CLOSECAST_HOME/closecast.db)")
}

// dbURL is the store the command uses: --db, else $CLOSECAST_DATABASE_URL,
// else "" (the default SQLite file).
func dbURL(e *env) string {
	if e.dbURL != "" {
		return e.dbURL
	}
	return strings.TrimSpace(e.getenv(database.URLEnv))
}

// dbLocation parses the store's URL (see dbURL), "" meaning the SQLite file
// under $CLOSECAST_HOME.
func dbLocation(e *env) (database.Location, error) {
	def, err := storePath(e)
	if err != nil {
		return database.Location{}, err
	}
	return database.Parse(dbURL(e), def)
}

// openDB opens the store the command uses (nil, nil when onlyIfExists and
// it is a SQLite file that does not exist yet).
func openDB(ctx context.Context, e *env, onlyIfExists bool) (database.DB, error) {
	loc, err := dbLocation(e)
	if err != nil {
		return nil, err
	}
	return database.OpenLocation(ctx, loc, database.Options{OnlyIfExists: onlyIfExists})
}
