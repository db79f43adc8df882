// Package sqlite is closecast's local store: the daily bars of every symbol
// fetched from a live provider, kept in one SQLite file (pure Go driver
// modernc.org/sqlite, no cgo) so that later runs and the HTTP server answer
// without the network. It implements closecast.Store.
//
// Layout (schema version 2, see migrations.go):
//
//	bars(symbol TEXT, date INTEGER, open, high, low, close, volume REAL, fetched_at INTEGER)
//	    PRIMARY KEY (symbol, date); date is a closecast.Date (days since
//	    1970-01-01 UTC), fetched_at is Unix seconds of the write.
//	fetch_log(id INTEGER PRIMARY KEY, symbol TEXT, from_date, to_date INTEGER,
//	    added, updated INTEGER, error TEXT, at INTEGER)
//	    one row per fetch from a provider (error is "" on success); only the
//	    newest FetchLogLimit rows are kept.
//	predictions(id, requested_at, symbol, target_date, model_version, value,
//	    last_close, actual, error, scored_at)
//	    the ledger of live forecasts (schema version 2), scored by every
//	    write of the target day's bar; see ledger.go.
//
// Every write is one transaction: a failed or cancelled Upsert leaves the
// file exactly as it was. A *DB is safe for concurrent use; the file is in
// WAL mode so readers never wait for a writer, and writers take the write
// lock when their transaction begins, waiting up to BusyTimeout for another
// writer (another goroutine or another closecast process) to finish.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/closecast/closecast"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the name of the store file inside the closecast home directory.
const FileName = "closecast.db"

// HomeEnv is the environment variable naming the closecast home directory.
const HomeEnv = "CLOSECAST_HOME"

// BusyTimeout is how long a write waits for another writer to finish before
// failing with "database is locked".
const BusyTimeout = 10 * time.Second

// FetchLogLimit is how many fetch_log rows are kept; older ones are deleted
// when a new one is written, so the log stays small however often closecast
// fetches.
const FetchLogLimit = 1000

// DefaultPath returns where closecast keeps its store:
// $CLOSECAST_HOME/closecast.db, or ~/.closecast/closecast.db when
// CLOSECAST_HOME is unset or empty.
func DefaultPath() (string, error) {
	if home := os.Getenv(HomeEnv); home != "" {
		return filepath.Join(home, FileName), nil
	}
	userHome, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the closecast store: %s is not set and %w", HomeEnv, err)
	}
	return filepath.Join(userHome, ".closecast", FileName), nil
}

// DB is the local bar store. Create it with Open or OpenMemory; it is safe
// for concurrent use.
type DB struct {
	db   *sql.DB
	path string // "" for an in-memory store

	// Statements of the read path, prepared once: parsing SQL costs more
	// than running these indexed lookups.
	qBars, qKnown, qRange *sql.Stmt

	// health is what is known of the file: damage, unexplained errors
	// (health.go).
	health health

	// afterWrite, when set (by tests only), is called after each row written
	// by Upsert, inside its transaction, with the row's index in bars. It
	// lets tests cancel the context or fail in the middle of a transaction.
	afterWrite func(i int)
}

var _ closecast.Store = (*DB)(nil)

// Open opens the store file at path, creating it and its parent directories
// (mode 0700: the store is private to the user) if needed, and migrates its
// schema to the current version. It then checks the file (PRAGMA
// quick_check): a damaged store still opens, so that what can be read is
// served, but Damaged reports the damage and every write is refused.
func Open(path string) (*DB, error) {
	return open(path, BusyTimeout)
}

// OpenBusyTimeout is Open with another busy timeout than BusyTimeout: how
// long a write waits for another writer before failing with ErrBusy (a
// test holding the lock, a server that prefers a quick 503).
func OpenBusyTimeout(path string, busy time.Duration) (*DB, error) {
	return open(path, busy)
}

// open is Open with the busy timeout as a parameter.
func open(path string, busy time.Duration) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty store path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: store path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: creating the store directory: %w", err)
	}
	// A file: URI with an escaped path, so that a path containing '?', '#'
	// or '%' cannot be mistaken for DSN parameters.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL is durable across application crashes in WAL mode; a power
	// loss may lose the last fetch, which the next fetch repeats.
	q.Add("_pragma", "synchronous(NORMAL)")
	// IMMEDIATE: a write transaction takes the write lock when it begins.
	// With the default DEFERRED, two Upserts that both read first would
	// deadlock on upgrading to a write lock and one would fail at once
	// with SQLITE_BUSY, whatever the busy timeout.
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", abs, err)
	}
	s := &DB{db: db, path: abs}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", abs, s.classify(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	if err := s.Check(ctx); err != nil && !errors.Is(err, ErrDamaged) {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", abs, err)
	}
	return s, nil
}

var memSeq atomic.Int64

// OpenMemory opens a new, empty store that lives in memory until Close, for
// tests and for one-shot commands that must not touch the user's file. It
// behaves like a file store, except that all access goes through one
// connection, so readers wait for writers.
func OpenMemory() (*DB, error) {
	// A named in-memory database with a single pooled connection: each
	// connection to a plain ":memory:" would see its own empty database.
	name := fmt.Sprintf("file:closecast-mem-%d?mode=memory&_pragma=foreign_keys(1)&_txlock=immediate", memSeq.Add(1))
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening an in-memory store: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &DB{db: db}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening an in-memory store: %w", err)
	}
	return s, nil
}

func (s *DB) init() error {
	ctx, cancel := context.WithTimeout(context.Background(), BusyTimeout+5*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, s.db, migrations); err != nil {
		return err
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.qBars, `SELECT date, open, high, low, close, volume FROM bars
		 WHERE symbol = ? AND date BETWEEN ? AND ? ORDER BY date`},
		{&s.qKnown, `SELECT EXISTS (SELECT 1 FROM bars WHERE symbol = ?)`},
		// Two indexed probes: SQLite's min/max optimisation does not apply
		// to MIN and MAX in one SELECT, which would scan every row of symbol.
		{&s.qRange, `SELECT (SELECT date FROM bars WHERE symbol = ?1 ORDER BY date LIMIT 1),
		                    (SELECT date FROM bars WHERE symbol = ?1 ORDER BY date DESC LIMIT 1)`},
	} {
		st, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.sql, err)
		}
		*p.dst = st
	}
	return nil
}

// Path returns the absolute path of the store file ("" for an in-memory store).
func (s *DB) Path() string { return s.path }

// Close closes the store. Pending operations finish first.
func (s *DB) Close() error {
	for _, st := range []*sql.Stmt{s.qBars, s.qKnown, s.qRange} {
		if st != nil {
			st.Close()
		}
	}
	return s.db.Close()
}

// Bars returns the stored bars of symbol with dates in [from, to],
// ascending. A symbol with no stored bar at all is an error wrapping
// closecast.ErrUnknownSymbol; a known symbol with no bar in the range gives
// an empty series. Stored rows are validated again, so a file edited by hand
// cannot feed the model an invalid bar.
func (s *DB) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return closecast.Series{}, fmt.Errorf("sqlite: bars: %w", err)
	}
	if from > to {
		return closecast.Series{}, fmt.Errorf("sqlite: bars of %s: from %s is after to %s", symbol, from, to)
	}
	rows, err := s.qBars.QueryContext(ctx, symbol, int64(from), int64(to))
	if err != nil {
		return closecast.Series{}, fmt.Errorf("sqlite: bars of %s: %w", symbol, s.classify(err))
	}
	defer rows.Close()
	// At most one bar a day; the cap keeps a wide-open range (1900..9999)
	// from allocating for millions of days.
	bars := make([]closecast.Bar, 0, min(int64(to)-int64(from)+1, 512))
	for rows.Next() {
		var b closecast.Bar
		var d int64
		if err := rows.Scan(&d, &b.Open, &b.High, &b.Low, &b.Close, &b.Volume); err != nil {
			return closecast.Series{}, fmt.Errorf("sqlite: bars of %s: %w", symbol, s.classify(err))
		}
		b.Date = closecast.Date(d)
		bars = append(bars, b)
	}
	if err := rows.Err(); err != nil {
		return closecast.Series{}, fmt.Errorf("sqlite: bars of %s: %w", symbol, s.classify(err))
	}
	rows.Close()
	if len(bars) == 0 {
		var known bool
		err := s.qKnown.QueryRowContext(ctx, symbol).Scan(&known)
		if err != nil {
			return closecast.Series{}, fmt.Errorf("sqlite: bars of %s: %w", symbol, s.classify(err))
		}
		if !known {
			return closecast.Series{}, fmt.Errorf("sqlite: %w: no bars of %s are stored", closecast.ErrUnknownSymbol, symbol)
		}
	}
	series, err := closecast.NewSeries(symbol, bars)
	if err != nil {
		return closecast.Series{}, fmt.Errorf("sqlite: stored bars of %s in %s are invalid: %w", symbol, s.where(), err)
	}
	return series, nil
}

func (s *DB) where() string {
	if s.path == "" {
		return "the in-memory store"
	}
	return s.path
}

// Range returns the first and last stored date of symbol; ok is false when
// none is stored.
func (s *DB) Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error) {
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, 0, false, fmt.Errorf("sqlite: range: %w", err)
	}
	var lo, hi sql.NullInt64
	err = s.qRange.QueryRowContext(ctx, symbol).Scan(&lo, &hi)
	if err != nil {
		return 0, 0, false, fmt.Errorf("sqlite: range of %s: %w", symbol, s.classify(err))
	}
	if !lo.Valid {
		return 0, 0, false, nil
	}
	return closecast.Date(lo.Int64), closecast.Date(hi.Int64), true, nil
}

// Symbols lists the symbols with at least one stored bar, sorted bytewise.
func (s *DB) Symbols(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT symbol FROM bars ORDER BY symbol`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: symbols: %w", s.classify(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sym string
		if err := rows.Scan(&sym); err != nil {
			return nil, fmt.Errorf("sqlite: symbols: %w", s.classify(err))
		}
		out = append(out, sym)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: symbols: %w", s.classify(err))
	}
	return out, nil
}

// Upsert stores bars of symbol: bars with a new date are added, stored bars
// whose values differ are replaced (updated), identical ones are left alone,
// so re-storing the same fetch counts 0 added, 0 updated. In the same
// transaction it scores the ledger's forecasts of the days written (see Record). bars must be valid
// with strictly ascending dates; the first offending bar is named in the
// error (a *closecast.BarError) and nothing is written. All rows are written
// in one transaction: on any error, including ctx being cancelled midway,
// the store is left exactly as it was.
func (s *DB) Upsert(ctx context.Context, symbol string, bars []closecast.Bar) (added, updated int, err error) {
	return s.upsert(ctx, symbol, bars, nil)
}

// UpsertFetched is Upsert for bars just fetched from a provider for the
// requested range [from, to]: in the same transaction it appends a row to
// the fetch log, so the log never claims a fetch that was not stored.
func (s *DB) UpsertFetched(ctx context.Context, symbol string, from, to closecast.Date, bars []closecast.Bar) (added, updated int, err error) {
	return s.upsert(ctx, symbol, bars, &FetchRecord{Symbol: symbol, From: from, To: to})
}

func (s *DB) upsert(ctx context.Context, symbol string, bars []closecast.Bar, logRec *FetchRecord) (added, updated int, err error) {
	defer func() { err = s.classify(err) }()
	if err := s.refuseDamaged("upsert " + symbol); err != nil {
		return 0, 0, err
	}
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert: %w", err)
	}
	if _, err := closecast.NewSeries(symbol, bars); err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: nothing stored: %w", symbol, err)
	}
	if logRec != nil {
		logRec.Symbol = symbol
	}
	if len(bars) == 0 && logRec == nil {
		return 0, 0, ctx.Err()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: %w", symbol, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback() // the error that matters is err; rollback of a done tx only says so
			added, updated = 0, 0
		}
	}()
	if len(bars) > 0 {
		added, updated, err = s.writeBars(ctx, tx, symbol, bars)
		if err != nil {
			return 0, 0, fmt.Errorf("sqlite: upsert %s: nothing stored: %w", symbol, ctxCause(ctx, err))
		}
	}
	if added+updated > 0 {
		// Score the live forecasts of the days just written, in this
		// transaction: the ledger never lags the bars it is scored against.
		if _, err = scoreDays(ctx, tx, symbol, bars[0].Date, bars[len(bars)-1].Date, time.Now().Unix()); err != nil {
			return 0, 0, fmt.Errorf("sqlite: upsert %s: nothing stored: %w", symbol, ctxCause(ctx, err))
		}
	}
	if logRec != nil {
		logRec.Added, logRec.Updated = added, updated
		if err = insertFetchLog(ctx, tx, *logRec); err != nil {
			return 0, 0, fmt.Errorf("sqlite: upsert %s: nothing stored: %w", symbol, ctxCause(ctx, err))
		}
	}
	// Commit only if the caller still wants the result: a cancelled fetch
	// must not half-succeed after its caller has given up.
	if err = ctx.Err(); err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: nothing stored: %w", symbol, err)
	}
	if err = tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("sqlite: upsert %s: nothing stored: %w", symbol, ctxCause(ctx, err))
	}
	return added, updated, nil
}

// ctxCause returns ctx's error when ctx is done, else err. Once ctx is
// cancelled, database/sql rolls the transaction back on its own and a
// statement still running may fail with "statement is closed" or
// "transaction has already been committed or rolled back"; the cause the
// caller can act on is the cancellation.
func ctxCause(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// writeBars writes bars (valid, ascending) inside tx and counts them.
func (s *DB) writeBars(ctx context.Context, tx *sql.Tx, symbol string, bars []closecast.Bar) (added, updated int, err error) {
	// Read what is stored over the span first: one range scan instead of a
	// lookup per bar.
	type ohlcv struct{ o, h, l, c, v float64 }
	existing := make(map[closecast.Date]ohlcv)
	rows, err := tx.QueryContext(ctx,
		`SELECT date, open, high, low, close, volume FROM bars WHERE symbol = ? AND date BETWEEN ? AND ?`,
		symbol, int64(bars[0].Date), int64(bars[len(bars)-1].Date))
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var d int64
		var x ohlcv
		if err := rows.Scan(&d, &x.o, &x.h, &x.l, &x.c, &x.v); err != nil {
			rows.Close()
			return 0, 0, err
		}
		existing[closecast.Date(d)] = x
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	ins, err := tx.PrepareContext(ctx,
		`INSERT INTO bars (symbol, date, open, high, low, close, volume, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, 0, err
	}
	defer ins.Close()
	upd, err := tx.PrepareContext(ctx,
		`UPDATE bars SET open = ?, high = ?, low = ?, close = ?, volume = ?, fetched_at = ? WHERE symbol = ? AND date = ?`)
	if err != nil {
		return 0, 0, err
	}
	defer upd.Close()
	now := time.Now().Unix()
	for i, b := range bars {
		old, ok := existing[b.Date]
		switch {
		case !ok:
			if _, err := ins.ExecContext(ctx, symbol, int64(b.Date), b.Open, b.High, b.Low, b.Close, b.Volume, now); err != nil {
				return 0, 0, fmt.Errorf("bar %d (%s): %w", i, b.Date, err)
			}
			added++
		// SQLite REAL is an IEEE 754 double, so a stored value reads back
		// bit for bit and exact comparison is the right test for "changed".
		case old != ohlcv{b.Open, b.High, b.Low, b.Close, b.Volume}:
			if _, err := upd.ExecContext(ctx, b.Open, b.High, b.Low, b.Close, b.Volume, now, symbol, int64(b.Date)); err != nil {
				return 0, 0, fmt.Errorf("bar %d (%s): %w", i, b.Date, err)
			}
			updated++
		default:
			continue
		}
		if s.afterWrite != nil {
			s.afterWrite(i)
		}
	}
	return added, updated, nil
}

// ErrSchemaTooNew is returned by Open for a store written by a newer closecast.
var ErrSchemaTooNew = errors.New("store schema is newer than this closecast")
