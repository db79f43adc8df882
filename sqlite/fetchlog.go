package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/closecast/closecast"
)

// FetchRecord is one row of the fetch log (the same type in every store, so
// that `closecast db copy` moves rows unchanged).
type FetchRecord = closecast.FetchRecord

// LogFetchError records a fetch of symbol for [from, to] that failed with
// fetchErr, so that `closecast fetch` and a debugging session can see what
// the provider said and when. Nothing else is written.
func (s *DB) LogFetchError(ctx context.Context, symbol string, from, to closecast.Date, fetchErr error) (err error) {
	defer func() { err = s.classify(err) }()
	if err := s.refuseDamaged("fetch log"); err != nil {
		return err
	}
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return fmt.Errorf("sqlite: fetch log: %w", err)
	}
	msg := "unknown error"
	if fetchErr != nil {
		msg = fetchErr.Error()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: fetch log: %w", err)
	}
	if err := insertFetchLog(ctx, tx, FetchRecord{Symbol: symbol, From: from, To: to, Err: msg}); err != nil {
		tx.Rollback()
		return fmt.Errorf("sqlite: fetch log: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: fetch log: %w", err)
	}
	return nil
}

// insertFetchLog appends r (At is set to now) and trims the log to the newest
// FetchLogLimit rows.
func insertFetchLog(ctx context.Context, tx *sql.Tx, r FetchRecord) error {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO fetch_log (symbol, from_date, to_date, added, updated, error, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Symbol, int64(r.From), int64(r.To), r.Added, r.Updated, r.Err, time.Now().Unix())
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	// ids only grow (INTEGER PRIMARY KEY takes max+1), so this keeps the newest rows.
	_, err = tx.ExecContext(ctx, `DELETE FROM fetch_log WHERE id <= ?`, id-FetchLogLimit)
	return err
}

// Fetches returns the newest n fetch log rows of symbol, newest first; an
// empty symbol means every symbol.
func (s *DB) Fetches(ctx context.Context, symbol string, n int) ([]FetchRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	symbol = strings.ToUpper(symbol)
	rows, err := s.db.QueryContext(ctx,
		`SELECT symbol, from_date, to_date, added, updated, error, at FROM fetch_log
		 WHERE ? = '' OR symbol = ? ORDER BY id DESC LIMIT ?`, symbol, symbol, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: fetch log: %w", err)
	}
	defer rows.Close()
	var out []FetchRecord
	for rows.Next() {
		var r FetchRecord
		var from, to, at int64
		if err := rows.Scan(&r.Symbol, &from, &to, &r.Added, &r.Updated, &r.Err, &at); err != nil {
			return nil, fmt.Errorf("sqlite: fetch log: %w", err)
		}
		r.From, r.To, r.At = closecast.Date(from), closecast.Date(to), time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: fetch log: %w", err)
	}
	return out, nil
}
