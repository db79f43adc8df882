package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
)

// FetchRecord is one row of the fetch log.
type FetchRecord = closecast.FetchRecord

// LogFetchError records a fetch of symbol for [from, to] that failed with
// fetchErr. Nothing else is written.
func (s *DB) LogFetchError(ctx context.Context, symbol string, from, to closecast.Date, fetchErr error) error {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return fmt.Errorf("postgres: fetch log: %w", err)
	}
	msg := "unknown error"
	if fetchErr != nil {
		msg = fetchErr.Error()
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		return insertFetchLog(ctx, tx, FetchRecord{Symbol: symbol, From: from, To: to, Err: msg})
	})
	if err != nil {
		return fmt.Errorf("postgres: fetch log: %w", ctxCause(ctx, err))
	}
	return nil
}

// insertFetchLog appends r (At is set to now) and trims the log to about the
// newest FetchLogLimit rows (ids of concurrent writers may commit out of
// order, so a few more may be kept for a moment).
func insertFetchLog(ctx context.Context, tx pgx.Tx, r FetchRecord) error {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO fetch_log (symbol, from_date, to_date, added, updated, error, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		r.Symbol, int32(r.From), int32(r.To), r.Added, r.Updated, r.Err, time.Now().Unix()).Scan(&id)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM fetch_log WHERE id <= $1`, id-FetchLogLimit)
	return err
}

// Fetches returns the newest n fetch log rows of symbol, newest first; an
// empty symbol means every symbol.
func (s *DB) Fetches(ctx context.Context, symbol string, n int) ([]FetchRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	symbol = strings.ToUpper(symbol)
	var out []FetchRecord
	err := s.retry(ctx, true, func() error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT symbol, from_date, to_date, added, updated, error, at FROM fetch_log
			WHERE $1 = '' OR symbol = $1 ORDER BY id DESC LIMIT $2`, symbol, n)
		if err != nil {
			return err
		}
		var r FetchRecord
		var from, to int32
		var at int64
		_, err = pgx.ForEachRow(rows, []any{&r.Symbol, &from, &to, &r.Added, &r.Updated, &r.Err, &at}, func() error {
			r.From, r.To, r.At = closecast.Date(from), closecast.Date(to), time.Unix(at, 0).UTC()
			out = append(out, r)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: fetch log: %w", err)
	}
	return out, nil
}
