package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
)

// The ledger of live forecasts follows package sqlite's rules (see
// sqlite/ledger.go): one row per (symbol, target_date, model_version), the
// latest record wins (its quantiles too), and a row is scored as soon as the close of its target
// day is stored, by Record or by the Upsert that stores the close.

// Record stores the forecasts ps, served at time at, in one transaction, and
// scores those whose target day's close is already stored. Each forecast
// needs a symbol and what closecast.ValidateRecord checks; the first one
// that has not is named in the error and nothing is written.
// Of several forecasts of one (symbol, date, model) in ps the last wins,
// as if recorded one after the other.
func (s *DB) Record(ctx context.Context, at time.Time, ps []closecast.Prediction) error {
	if len(ps) == 0 {
		return nil
	}
	type key struct {
		sym, model string
		date       closecast.Date
	}
	idx := make(map[key]int, len(ps))
	var rows []closecast.Prediction
	for i, p := range ps {
		sym, err := closecast.NormalizeSymbol(p.Symbol)
		if err != nil {
			return fmt.Errorf("postgres: record forecast %d (%s): nothing stored: %w", i, p.Date, err)
		}
		if err := closecast.ValidateRecord(p); err != nil {
			return fmt.Errorf("postgres: record forecast %d (%s %s): nothing stored: %w", i, sym, p.Date, err)
		}
		p.Symbol = sym
		// One statement cannot write a row twice (ON CONFLICT refuses), so
		// repeats are folded here, the later one winning.
		k := key{sym, p.Model, p.Date}
		if j, ok := idx[k]; ok {
			rows[j] = p
			continue
		}
		idx[k] = len(rows)
		rows = append(rows, p)
	}
	// Rows locked in one order by every writer: two replicas recording
	// overlapping batches wait for each other instead of deadlocking.
	slices.SortFunc(rows, func(a, b closecast.Prediction) int {
		return cmp.Or(strings.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Date, b.Date), strings.Compare(a.Model, b.Model))
	})
	n := len(rows)
	syms, models := make([]string, n), make([]string, n)
	dates := make([]int32, n)
	values, lasts := make([]float64, n), make([]float64, n)
	// The quantiles travel as one flat array, NumDistributionLevels per
	// row (unnest cannot take an array of arrays row by row), with has[i]
	// saying whether row i has any: its slots are zeros otherwise.
	const nq = closecast.NumDistributionLevels
	flat, has := make([]float64, n*nq), make([]bool, n)
	for i, p := range rows {
		syms[i], dates[i], models[i], values[i], lasts[i] = p.Symbol, int32(p.Date), p.Model, p.Value, p.LastClose
		if p.Quantiles != nil {
			has[i] = true
			copy(flat[i*nq:], p.Quantiles[:])
		}
	}
	// One statement, so one round trip and its own transaction: each row
	// is scored as it is written, from the close stored for its day, as
	// scoreDays would (an actual is set, and scored_at moved, only when it
	// changes). Running it twice leaves what running it once does.
	err := s.retry(ctx, true, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO predictions AS p
				(requested_at, symbol, target_date, model_version, value, last_close, actual, error, scored_at, quantiles)
			SELECT $1, t.symbol, t.date, t.model, t.value, t.last_close, b.close, t.value - b.close,
				CASE WHEN b.close IS NULL THEN NULL ELSE $7::bigint END,
				CASE WHEN t.has THEN ($8::float8[])[(t.ord-1)*$9::integer+1 : t.ord*$9::integer] END
			FROM unnest($2::text[], $3::integer[], $4::text[], $5::float8[], $6::float8[], $10::boolean[])
				WITH ORDINALITY AS t(symbol, date, model, value, last_close, has, ord)
			LEFT JOIN bars AS b ON b.symbol = t.symbol AND b.date = t.date
			ON CONFLICT (symbol, target_date, model_version) DO UPDATE SET
				requested_at = excluded.requested_at, value = excluded.value, last_close = excluded.last_close,
				quantiles = excluded.quantiles,
				actual = coalesce(excluded.actual, p.actual),
				error = excluded.value - coalesce(excluded.actual, p.actual),
				scored_at = CASE WHEN excluded.actual IS NOT NULL AND excluded.actual IS DISTINCT FROM p.actual
					THEN excluded.scored_at ELSE p.scored_at END`,
			at.Unix(), syms, dates, models, values, lasts, time.Now().Unix(), flat, nq, has)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: record forecasts: nothing stored: %w", ctxCause(ctx, err))
	}
	return nil
}

// scoreDays sets actual, error and scored_at (now, Unix seconds) on the
// ledger rows of symbol with a target day in [from, to] whose close is
// stored and differs from the recorded actual (NULL included).
func scoreDays(ctx context.Context, tx pgx.Tx, symbol string, from, to closecast.Date, now int64) error {
	_, err := tx.Exec(ctx, `UPDATE predictions AS p
		SET actual = b.close, error = p.value - b.close, scored_at = $4
		FROM bars AS b
		WHERE b.symbol = p.symbol AND b.date = p.target_date
		  AND p.symbol = $1 AND p.target_date BETWEEN $2 AND $3
		  AND (p.actual IS NULL OR p.actual <> b.close)`,
		symbol, int32(from), int32(to), now)
	if err != nil {
		return fmt.Errorf("scoring live forecasts: %w", err)
	}
	return nil
}

// Scored returns the scored ledger rows of symbol whose target day is one of
// the last days calendar days ending on the newest scored target day, newest
// first, then by model version, as sqlite's Scored does. days must be in
// [1, MaxLedgerDays].
func (s *DB) Scored(ctx context.Context, symbol string, days int) ([]closecast.Prediction, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return nil, fmt.Errorf("postgres: scored forecasts: %w", err)
	}
	if days < 1 || days > MaxLedgerDays {
		return nil, fmt.Errorf("postgres: scored forecasts of %s: days %d is not in [1, %d]", symbol, days, MaxLedgerDays)
	}
	var out []closecast.Prediction
	err = s.retry(ctx, true, func() error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT target_date, model_version, value, last_close, actual, quantiles FROM predictions
			WHERE symbol = $1 AND actual IS NOT NULL
			  AND target_date > (SELECT max(target_date) FROM predictions WHERE symbol = $1 AND actual IS NOT NULL) - $2::integer
			ORDER BY target_date DESC, model_version COLLATE "C"`, symbol, int32(days))
		if err != nil {
			return err
		}
		var d int32
		var model string
		var value, last, actual float64
		var q []float64
		_, err = pgx.ForEachRow(rows, []any{&d, &model, &value, &last, &actual, &q}, func() error {
			a := actual
			qs, err := readQuantiles(q)
			if err != nil {
				return fmt.Errorf("%s: %w", closecast.Date(d), err)
			}
			out = append(out, closecast.Prediction{Forecast: closecast.Forecast{Symbol: symbol, Date: closecast.Date(d), Value: value},
				Model: model, LastClose: last, Actual: &a, Quantiles: qs})
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: scored forecasts of %s: %w", symbol, err)
	}
	return out, nil
}

// Pending returns how many recorded forecasts of symbol are not scored yet:
// their target day's close is not stored.
func (s *DB) Pending(ctx context.Context, symbol string) (int, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, fmt.Errorf("postgres: pending forecasts: %w", err)
	}
	var n int
	err = s.retry(ctx, true, func() error {
		return s.pool.QueryRow(ctx, `SELECT count(*) FROM predictions WHERE symbol = $1 AND actual IS NULL`, symbol).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: pending forecasts of %s: %w", symbol, err)
	}
	return n, nil
}

// readQuantiles reads a quantiles column (nil for NULL) and checks it
// (closecast.ValidateDistribution), so a damaged row is an error rather
// than a wrong score.
func readQuantiles(q []float64) (*closecast.Distribution, error) {
	if q == nil {
		return nil, nil
	}
	if len(q) != closecast.NumDistributionLevels {
		return nil, fmt.Errorf("quantiles column of %d values, want %d", len(q), closecast.NumDistributionLevels)
	}
	d := closecast.Distribution(q)
	if err := closecast.ValidateDistribution(&d); err != nil {
		return nil, err
	}
	return &d, nil
}
