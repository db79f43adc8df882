package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/closecast/closecast"
	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store errors are classified so that callers can answer them well:
//
//   - contention (SQLITE_BUSY, SQLITE_LOCKED: another writer held the lock
//     past the busy timeout) wraps ErrBusy and closecast.ErrUnavailable, so
//     the HTTP server answers 503 with Retry-After, never 500;
//   - damage (SQLITE_CORRUPT, SQLITE_NOTADB, or a failed PRAGMA quick_check)
//     wraps ErrDamaged and closecast.ErrUnavailable, and marks the store
//     damaged: from then on every write is refused (Damaged says why), so
//     nothing more is written into a file SQLite can no longer trust.
//
// The file is checked with PRAGMA quick_check when it is opened and again
// after every checkAfterErrors-th error that neither class explains.

// ErrBusy is wrapped by errors of operations that waited for another writer
// longer than the busy timeout; retrying later may succeed.
var ErrBusy = errors.New("the store is busy: another writer held its lock past the busy timeout")

// ErrDamaged is wrapped by errors of a store whose file is damaged.
var ErrDamaged = errors.New("the store file is damaged")

// checkAfterErrors is how many unexplained errors trigger a quick_check.
const checkAfterErrors = 3

// checkTimeout bounds a quick_check (a few ms for a store of years of bars).
const checkTimeout = 30 * time.Second

// DamagedError says which store file is damaged, what SQLite found, and what
// to do. It wraps ErrDamaged and closecast.ErrUnavailable.
type DamagedError struct {
	Path   string // the store file ("" for an in-memory store)
	Detail string // SQLite's finding
}

func (e *DamagedError) Error() string {
	where := e.Path
	if where == "" {
		where = "the in-memory store"
	}
	return fmt.Sprintf("the store %s is damaged (%s): nothing more is written to it; "+
		"move it aside (mv %s %s.damaged) and run `closecast fetch` to rebuild it from the provider",
		where, e.Detail, where, where)
}

// Unwrap returns ErrDamaged and closecast.ErrUnavailable.
func (e *DamagedError) Unwrap() []error { return []error{ErrDamaged, closecast.ErrUnavailable} }

// classified is an SQLite error with its class (ErrBusy or a *DamagedError)
// beside it, so that errors.Is matches both.
type classified struct {
	err   error
	class error
}

func (e *classified) Error() string   { return e.err.Error() + " (" + e.class.Error() + ")" }
func (e *classified) Unwrap() []error { return []error{e.err, e.class, closecast.ErrUnavailable} }

// health is a DB's view of its file: damage found, and unexplained errors.
type health struct {
	damage   atomic.Pointer[DamagedError]
	errs     atomic.Int64
	checking atomic.Bool
}

// Damaged returns a *DamagedError when the store file was found damaged
// (at Open, by a later check, or by an operation SQLite refused as
// corrupt), nil otherwise. A server's readiness probe reports it.
func (s *DB) Damaged() error {
	if d := s.health.damage.Load(); d != nil {
		return d
	}
	return nil
}

// Check runs PRAGMA quick_check on the store file and returns, and
// remembers for Damaged, a *DamagedError when it finds a problem. It reads
// the whole file once (milliseconds for years of daily bars).
func (s *DB) Check(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return s.checkFailed(err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return s.checkFailed(err)
		}
		if line != "ok" && len(found) < 3 {
			found = append(found, line)
		}
	}
	if err := rows.Err(); err != nil {
		return s.checkFailed(err)
	}
	if len(found) > 0 {
		return s.markDamaged("quick_check: " + strings.Join(found, "; "))
	}
	s.health.errs.Store(0)
	return nil
}

// checkFailed classifies an error of quick_check itself: a corrupt file can
// fail the check instead of answering it.
func (s *DB) checkFailed(err error) error {
	if code, ok := sqliteCode(err); ok && isDamage(code) {
		return s.markDamaged(err.Error())
	}
	return fmt.Errorf("sqlite: checking %s: %w", s.where(), err)
}

func (s *DB) markDamaged(detail string) *DamagedError {
	d := &DamagedError{Path: s.path, Detail: detail}
	if s.health.damage.CompareAndSwap(nil, d) {
		return d
	}
	return s.health.damage.Load()
}

// refuseDamaged returns the damage, when found, for a write to refuse.
func (s *DB) refuseDamaged(op string) error {
	if d := s.health.damage.Load(); d != nil {
		return fmt.Errorf("sqlite: %s: nothing stored: %w", op, d)
	}
	return nil
}

// classify returns err with its class attached (see the package comment),
// recording damage and counting unexplained errors. nil, a context error and
// an already classified error are returned as they are.
func (s *DB) classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var c *classified
	if errors.As(err, &c) || errors.Is(err, ErrDamaged) {
		return err
	}
	code, ok := sqliteCode(err)
	switch {
	case ok && (code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED):
		return &classified{err: err, class: ErrBusy}
	case ok && isDamage(code):
		return &classified{err: err, class: s.markDamaged(err.Error())}
	case ok && s.health.errs.Add(1)%checkAfterErrors == 0 && s.health.checking.CompareAndSwap(false, true):
		// Repeated errors SQLite does not call corruption (I/O errors, a
		// schema gone missing) may still be damage: look at the file.
		go func() {
			defer s.health.checking.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
			defer cancel()
			_ = s.Check(ctx)
		}()
	}
	return err
}

// sqliteCode returns the primary result code of the SQLite error in err.
func sqliteCode(err error) (int, bool) {
	var e *sqlitedrv.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code() & 0xff, true
}

func isDamage(code int) bool {
	return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
}
