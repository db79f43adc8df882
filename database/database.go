// Package database opens closecast's store named by a URL, on SQLite (the
// embedded default: a file on this machine) or PostgreSQL (shared by serve
// replicas and Lambda instances), and copies one store into another. Every
// command, the server and the Lambda open their store through Open, so that
// `--db URL` and CLOSECAST_DATABASE_URL mean the same everywhere.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/sqlite"
)

// URLEnv names the environment variable that selects the store when no
// --db flag is given.
const URLEnv = "CLOSECAST_DATABASE_URL"

// DB is a store opened by Open: bars, the fetch log, the ledger of live
// forecasts and the model registry, with the same semantics on every
// backend (internal/storetest checks them).
type DB = closecast.Database

var (
	_ DB = (*sqlite.DB)(nil)
	_ DB = (*postgres.DB)(nil)
)

// Kind is a store's backend.
type Kind int

// The backends.
const (
	SQLite Kind = iota
	Postgres
)

func (k Kind) String() string {
	if k == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Location is a parsed store URL.
type Location struct {
	Kind Kind
	// Addr is the SQLite file's path, or the PostgreSQL URL (with its
	// password: never print it, print String).
	Addr string
}

// String is the location fit for logs and errors: a PostgreSQL password is
// redacted.
func (l Location) String() string {
	if l.Kind == Postgres {
		return postgres.Redact(l.Addr)
	}
	return l.Addr
}

// Parse reads a store URL: postgres:// or postgresql:// selects PostgreSQL;
// sqlite:PATH (or sqlite://PATH) or a bare path selects SQLite; "" is
// defaultPath, the SQLite store closecast uses when none is named. Any other
// scheme is an error, as is an empty path.
func Parse(raw, defaultPath string) (Location, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		if defaultPath == "" {
			p, err := sqlite.DefaultPath()
			if err != nil {
				return Location{}, err
			}
			defaultPath = p
		}
		return Location{Kind: SQLite, Addr: defaultPath}, nil
	case postgres.IsURL(s):
		return Location{Kind: Postgres, Addr: s}, nil
	case len(s) >= 7 && strings.EqualFold(s[:7], "sqlite:"):
		p := strings.TrimPrefix(s[7:], "//")
		if p == "" {
			return Location{}, fmt.Errorf("database URL %q: no file path after the sqlite: scheme", s)
		}
		return Location{Kind: SQLite, Addr: p}, nil
	}
	if i := strings.Index(s, "://"); i > 0 && !strings.ContainsAny(s[:i], `/\.`) {
		return Location{}, fmt.Errorf("database URL %q: unsupported scheme %q (want postgres://, postgresql://, sqlite:PATH or a file path)",
			Redact(s), strings.ToLower(s[:i]))
	}
	return Location{Kind: SQLite, Addr: s}, nil
}

// Redact returns s with any database password replaced by "xxxxx", fit for
// logs and errors.
func Redact(s string) string { return postgres.Redact(s) }

// Options tune Open.
type Options struct {
	// DefaultPath is the SQLite file of the empty URL ("" means
	// sqlite.DefaultPath: $CLOSECAST_HOME/closecast.db or
	// ~/.closecast/closecast.db).
	DefaultPath string
	// OnlyIfExists makes Open return (nil, nil) for a SQLite file that does
	// not exist yet, rather than create it: read-only commands leave no
	// trace on a fresh machine. A PostgreSQL database is always opened.
	OnlyIfExists bool
	// Postgres tunes the PostgreSQL pool (a Lambda sets MaxConns).
	Postgres postgres.Options
	// Lazy opens a PostgreSQL store without connecting: connections are
	// made when first needed, so that a server starts while the database
	// is down and recovers when it appears. The caller then calls Migrate,
	// again until it succeeds, before using the store. A SQLite store is
	// opened as without it.
	Lazy bool
}

// Open opens the store at raw (see Parse), creating and migrating its schema
// as needed. Its errors name the location with the password redacted, and
// never quote the password whatever a driver put in them.
func Open(ctx context.Context, raw string, opts Options) (DB, error) {
	loc, err := Parse(raw, opts.DefaultPath)
	if err != nil {
		return nil, err
	}
	return OpenLocation(ctx, loc, opts)
}

// OpenLocation is Open for a parsed location.
func OpenLocation(ctx context.Context, loc Location, opts Options) (DB, error) {
	if loc.Kind == SQLite {
		if opts.OnlyIfExists {
			if _, err := os.Stat(loc.Addr); errors.Is(err, os.ErrNotExist) {
				return nil, nil
			}
		}
		db, err := sqlite.Open(loc.Addr)
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	open := postgres.Open
	if opts.Lazy {
		open = func(_ context.Context, raw string, o postgres.Options) (*postgres.DB, error) {
			return postgres.New(raw, o)
		}
	}
	db, err := open(ctx, loc.Addr, opts.Postgres)
	if err != nil {
		if !strings.Contains(err.Error(), loc.String()) {
			err = fmt.Errorf("opening %s: %w", loc, err)
		}
		return nil, scrub(err, loc.Addr)
	}
	return db, nil
}

// scrub removes the password of rawURL from err's message, keeping what
// err wraps for errors.Is and errors.As.
func scrub(err error, rawURL string) error {
	pw := password(rawURL)
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// password returns the password in rawURL, from its user information or a
// password parameter, "" when none.
func password(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return p
	}
	return u.Query().Get("password")
}

// Migrate brings the schema of a store opened with Options.Lazy up to date
// (a store opened otherwise already is: nothing to do). Its errors are
// redacted as Open's.
func Migrate(ctx context.Context, db DB) error {
	m, ok := db.(interface {
		Migrate(context.Context) error
		URL() string
	})
	if !ok {
		return nil
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrating %s: %w", m.URL(), err)
	}
	return nil
}
