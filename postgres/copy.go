package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
)

// What `closecast db copy` needs beyond the store's API: the ledger with
// the time each forecast was served, and the fetch log written back with
// its own times.

// LedgerEntries returns every recorded forecast (scored or not) with the time it
// was last served, by symbol, target day and model version.
func (s *DB) LedgerEntries(ctx context.Context) ([]closecast.LedgerEntry, error) {
	var out []closecast.LedgerEntry
	err := s.retry(ctx, true, func() error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT requested_at, symbol, target_date, model_version, value, last_close, actual, quantiles
			FROM predictions ORDER BY symbol COLLATE "C", target_date, model_version COLLATE "C"`)
		if err != nil {
			return err
		}
		var e closecast.LedgerEntry
		var at int64
		var d int32
		var actual *float64
		var q []float64
		_, err = pgx.ForEachRow(rows, []any{&at, &e.Symbol, &d, &e.Model, &e.Value, &e.LastClose, &actual, &q}, func() error {
			e.Requested, e.Date, e.Actual = time.Unix(at, 0).UTC(), closecast.Date(d), nil
			var err error
			if e.Quantiles, err = readQuantiles(q); err != nil {
				return fmt.Errorf("%s %s: %w", e.Symbol, e.Date, err)
			}
			if actual != nil {
				a := *actual
				e.Actual = &a
			}
			out = append(out, e)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: ledger: %w", err)
	}
	return out, nil
}

// ImportFetches appends the fetch log rows rs (oldest first) that the log
// does not hold yet, with their own times, in one transaction, and reports
// how many it added: importing the same rows twice adds nothing.
func (s *DB) ImportFetches(ctx context.Context, rs []FetchRecord) (int, error) {
	var added int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		added = 0
		// One importer at a time, so that two concurrent imports of the
		// same rows cannot both find them missing.
		if _, err := tx.Exec(ctx, `LOCK TABLE fetch_log IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		for _, r := range rs {
			sym, err := closecast.NormalizeSymbol(r.Symbol)
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO fetch_log (symbol, from_date, to_date, added, updated, error, at)
				SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM fetch_log
					WHERE symbol = $1 AND from_date = $2 AND to_date = $3 AND added = $4 AND updated = $5 AND error = $6 AND at = $7)`,
				sym, int32(r.From), int32(r.To), r.Added, r.Updated, r.Err, r.At.Unix())
			if err != nil {
				return err
			}
			added += int(tag.RowsAffected())
		}
		_, err := tx.Exec(ctx, `DELETE FROM fetch_log WHERE id <= (SELECT max(id) FROM fetch_log) - $1`, FetchLogLimit)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: importing the fetch log: %w", err)
	}
	return added, nil
}
