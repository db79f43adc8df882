// Package postgres is closecast's shared store on PostgreSQL (13 or later),
// for serve replicas and Lambda instances that must see the same bars, the
// same ledger of live forecasts and the same models. It implements
// closecast.Store, the server's ledger, the fetch log and a model registry,
// with the semantics of package sqlite (the conformance suite in
// internal/storetest runs the same tests against both).
//
// Schema: the tables of the SQLite store (bars, fetch_log, predictions, with
// the same columns and units), plus the model registry (models, model_files,
// champions). Migrations are embedded (migrations/*.sql) and recorded in
// schema_migrations; see Migrate.
//
// Connections fit a Lambda as well as a server: the pool size and the
// connect timeout are options, and the simple query protocol (Options or
// default_query_exec_mode=simple_protocol in the URL) makes every operation
// correct behind PgBouncer or RDS Proxy in transaction mode: no prepared
// statement outlives its transaction and no session state is relied on.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/closecast/closecast"
)

// DefaultConnectTimeout bounds establishing one connection when neither the
// options nor the URL (connect_timeout) say otherwise: short, so that a
// request or a Lambda init facing an unreachable database fails fast rather
// than hangs.
const DefaultConnectTimeout = 5 * time.Second

// LambdaMaxConns is the pool size for a Lambda instance: it serves one
// request at a time, and a database's connection limit is shared by every
// instance.
const LambdaMaxConns = 2

// FetchLogLimit is how many fetch_log rows are kept, as in the SQLite store.
const FetchLogLimit = 1000

// MaxLedgerDays bounds the window of Scored: ten years of days.
const MaxLedgerDays = 3660

// ModelsChannel is the NOTIFY channel a promotion signals, with the symbol
// as payload, so servers can reload their champion without polling.
const ModelsChannel = "closecast_models"

// IsURL reports whether s names a PostgreSQL database: a postgres:// or
// postgresql:// URL.
func IsURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// passwordParam matches a password given as a URL query parameter.
var passwordParam = regexp.MustCompile(`(?i)([?&]password=)[^&#]*`)

// Redact returns s with the password of a database URL replaced by "xxxxx",
// whether in the user information or a password= parameter, so that a URL
// can be logged and put in errors. A string that is not a URL is returned
// with only the parameter redacted.
func Redact(s string) string {
	s = passwordParam.ReplaceAllString(s, "${1}xxxxx")
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		// Unparsable: cut anything between "//" and "@" that could hold
		// a password rather than echo it.
		if i, j := strings.Index(s, "//"), strings.LastIndex(s, "@"); i >= 0 && j > i {
			if k := strings.Index(s[i+2:j], ":"); k >= 0 {
				return s[:i+2+k] + ":xxxxx" + s[j:]
			}
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Options tune the connection pool. The zero value suits a server.
type Options struct {
	// MaxConns caps the pool (0: the URL's pool_max_conns, else pgx's
	// default of max(4, CPUs)). A Lambda uses LambdaMaxConns.
	MaxConns int32
	// ConnectTimeout bounds establishing one connection (0: the URL's
	// connect_timeout, else DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// SimpleProtocol sends every query with the simple protocol and
	// prepares nothing, as PgBouncer and RDS Proxy in transaction mode
	// need. The URL parameter default_query_exec_mode=simple_protocol does
	// the same.
	SimpleProtocol bool

	// neverPing (tests only) hands out pooled connections without the
	// liveness ping pgxpool makes after a second idle, so that a test sees
	// the dead connections a server restart leaves.
	neverPing bool
}

// DB is the PostgreSQL store. Create it with Open (or New, then Migrate);
// it is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	url  string // redacted, for errors

	// afterWrite, when set (by tests only), is called inside Upsert's
	// transaction after the bars are written, to fail or cancel midway.
	afterWrite func()
}

var _ closecast.Store = (*DB)(nil)

// Open connects to the database at rawURL and migrates its schema to the
// current version.
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	db, err := New(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// New returns a store for the database at rawURL without connecting:
// connections are made when first needed, so a server can start while the
// database is down and recover when it appears. Call Migrate before use.
func New(rawURL string, opts Options) (*DB, error) {
	red := Redact(rawURL)
	if !IsURL(rawURL) {
		return nil, fmt.Errorf("postgres: %q is not a postgres:// or postgresql:// URL", red)
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx redacts the password of the URL it quotes; say which URL
		// in our own (redacted) words as well.
		return nil, fmt.Errorf("postgres: parsing %s: %w", red, err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	switch {
	case opts.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.SimpleProtocol {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	if opts.neverPing {
		cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", red, err)
	}
	return &DB{pool: pool, url: red}, nil
}

// URL returns the database URL with its password redacted.
func (s *DB) URL() string { return s.url }

// Close closes every connection, waiting for operations in flight.
func (s *DB) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %s: %w", s.url, err)
	}
	return nil
}

// maxAttempts bounds how often a transaction that lost a deadlock or a
// serialization conflict to a concurrent writer is run again.
const maxAttempts = 5

// inTx runs fn in a transaction and commits it, retrying it from the start
// when PostgreSQL aborted it for a deadlock or a serialization failure
// (another replica wrote the same rows at once; running it again is correct),
// or when the connection was found dead at BEGIN (see retry). It commits
// only if ctx is still live, so a caller that gave up never half succeeds.
func (s *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.retry(ctx, false, func() error { return s.tryTx(ctx, fn) })
}

// errBegin marks an error of BEGIN: nothing of the transaction ran, so it
// can always be run again.
type errBegin struct{ err error }

func (e *errBegin) Error() string { return e.err.Error() }
func (e *errBegin) Unwrap() error { return e.err }

func (s *DB) tryTx(ctx context.Context, fn func(tx pgx.Tx) error) (err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return &errBegin{err}
	}
	defer func() {
		if err != nil {
			// A rollback that cannot reach the server ends with the
			// connection; err is what matters.
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// retry runs fn (a transaction, or one statement that is its own) until it
// does not lose a deadlock or a serialization conflict, at most maxAttempts
// times. A connection lost to a server restart (the pool's idle connections
// are all dead then) empties the pool and runs fn once more on a new
// connection, when that cannot write twice: fn failed at BEGIN, or fn is
// idempotent (a read, a ledger write).
func (s *DB) retry(ctx context.Context, idempotent bool, fn func() error) error {
	var err error
	reset := false
	for range maxAttempts {
		err = fn()
		if err == nil || ctx.Err() != nil {
			return err
		}
		var begin *errBegin
		switch {
		case retryable(err):
		case !reset && lostConn(err) && (idempotent || errors.As(err, &begin)):
			s.pool.Reset()
			reset = true
		default:
			return err
		}
	}
	return err
}

// retryable reports whether err is a deadlock or a serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// lostConn reports whether err says the connection is gone: the server
// shut it down (class 57P, as at a restart), a connection exception (class
// 08), or the socket failed.
func lostConn(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08")
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// ctxCause returns ctx's error when ctx is done, else err: once ctx is
// cancelled, pgx reports a closed connection or "conn busy", while the cause
// the caller can act on is the cancellation.
func ctxCause(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
