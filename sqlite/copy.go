package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/closecast/closecast"
)

// What `closecast db copy` needs beyond the store's API: the ledger with
// the time each forecast was served, and the fetch log written back with
// its own times.

// LedgerEntries returns every recorded forecast (scored or not) with the time it
// was last served, by symbol, target day and model version.
func (s *DB) LedgerEntries(ctx context.Context) (_ []closecast.LedgerEntry, err error) {
	defer func() { err = s.classify(err) }()
	rows, err := s.db.QueryContext(ctx, `SELECT requested_at, symbol, target_date, model_version, value, last_close, actual, quantiles
		FROM predictions ORDER BY symbol, target_date, model_version`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: ledger: %w", err)
	}
	defer rows.Close()
	var out []closecast.LedgerEntry
	for rows.Next() {
		var e closecast.LedgerEntry
		var at, d int64
		var actual *float64
		var q []byte
		if err := rows.Scan(&at, &e.Symbol, &d, &e.Model, &e.Value, &e.LastClose, &actual, &q); err != nil {
			return nil, fmt.Errorf("sqlite: ledger: %w", err)
		}
		e.Requested, e.Date, e.Actual = time.Unix(at, 0).UTC(), closecast.Date(d), actual
		if e.Quantiles, err = decodeQuantiles(q); err != nil {
			return nil, fmt.Errorf("sqlite: ledger, %s %s: %w", e.Symbol, e.Date, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: ledger: %w", err)
	}
	return out, nil
}

// ImportFetches appends the fetch log rows rs (oldest first) that the log
// does not hold yet, with their own times, in one transaction, and reports
// how many it added: importing the same rows twice adds nothing.
func (s *DB) ImportFetches(ctx context.Context, rs []FetchRecord) (added int, err error) {
	defer func() { err = s.classify(err) }()
	if err := s.refuseDamaged("fetch log"); err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: importing the fetch log: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, r := range rs {
		sym, err := closecast.NormalizeSymbol(r.Symbol)
		if err != nil {
			return 0, fmt.Errorf("sqlite: importing the fetch log: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO fetch_log (symbol, from_date, to_date, added, updated, error, at)
			SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM fetch_log
				WHERE symbol = ? AND from_date = ? AND to_date = ? AND added = ? AND updated = ? AND error = ? AND at = ?)`,
			sym, int64(r.From), int64(r.To), r.Added, r.Updated, r.Err, r.At.Unix(),
			sym, int64(r.From), int64(r.To), r.Added, r.Updated, r.Err, r.At.Unix())
		if err != nil {
			return 0, fmt.Errorf("sqlite: importing the fetch log: %w", err)
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM fetch_log WHERE id <= (SELECT max(id) FROM fetch_log) - ?`, FetchLogLimit); err != nil {
		return 0, fmt.Errorf("sqlite: importing the fetch log: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: importing the fetch log: %w", ctxCause(ctx, err))
	}
	return added, nil
}
