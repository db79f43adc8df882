package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/closecast/closecast"
)

// The prediction ledger keeps every live forecast the server answered, so
// that its accuracy can be measured once the actual closes arrive:
//
//	predictions(id, requested_at, symbol, target_date, model_version, value,
//	            last_close, actual NULL, error NULL, scored_at NULL, quantiles NULL)
//	    UNIQUE (symbol, target_date, model_version); error = value − actual.
//
// quantiles is the forecast distribution (Prediction.Quantiles) as
// closecast.NumDistributionLevels float64s, little-endian; NULL when the
// forecast carried none (and on rows recorded before schema version 4).
//
// Dedupe rule: one row per (symbol, target_date, model_version), and the
// latest record wins (value, last_close, quantiles and requested_at are
// replaced). A
// model's forecast of a day is a function of its input window, so two
// records differ only when an input bar was revised in between (the partial
// bar of the current day completed); the later one is the forecast made with
// the most complete inputs, and it is still made before the actual is known
// when the caller records only forecasts without an actual (the server does).
//
// Scoring: a row is scored (actual, error, scored_at set) as soon as the
// store holds the close of its target_date, whichever comes first: Record
// scores a row whose bar is already stored, and Upsert/UpsertFetched score
// the rows of the days they write in their own transaction, so `closecast
// fetch` and a request that fetches both score. A revised close re-scores.

// MaxLedgerDays bounds the window of Scored: ten years of days.
const MaxLedgerDays = 3660

// Record stores the forecasts ps, served at time at, in one transaction, and
// scores those whose target day's close is already stored. Each forecast
// needs a symbol and what closecast.ValidateRecord checks; the first one
// that has not is named in the error and nothing is written. Only
// Symbol, Date, Value, Model, LastClose and Quantiles are kept.
func (s *DB) Record(ctx context.Context, at time.Time, ps []closecast.Prediction) (err error) {
	if len(ps) == 0 {
		return nil
	}
	defer func() { err = s.classify(err) }()
	if err := s.refuseDamaged("record forecasts"); err != nil {
		return err
	}
	syms := make([]string, len(ps))
	for i, p := range ps {
		sym, err := closecast.NormalizeSymbol(p.Symbol)
		if err != nil {
			return fmt.Errorf("sqlite: record forecast %d (%s): nothing stored: %w", i, p.Date, err)
		}
		if err := closecast.ValidateRecord(p); err != nil {
			return fmt.Errorf("sqlite: record forecast %d (%s %s): nothing stored: %w", i, sym, p.Date, err)
		}
		syms[i] = sym
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: record forecasts: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO predictions (requested_at, symbol, target_date, model_version, value, last_close, quantiles)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (symbol, target_date, model_version) DO UPDATE SET
			requested_at = excluded.requested_at, value = excluded.value, last_close = excluded.last_close,
			quantiles = excluded.quantiles,
			error = CASE WHEN actual IS NULL THEN NULL ELSE excluded.value - actual END`)
	if err != nil {
		return fmt.Errorf("sqlite: record forecasts: %w", err)
	}
	defer ins.Close()
	now := time.Now().Unix()
	for i, p := range ps {
		if _, err = ins.ExecContext(ctx, at.Unix(), syms[i], int64(p.Date), p.Model, p.Value, p.LastClose, encodeQuantiles(p.Quantiles)); err != nil {
			return fmt.Errorf("sqlite: record forecast %d (%s %s): nothing stored: %w", i, syms[i], p.Date, err)
		}
		if _, err = scoreDays(ctx, tx, syms[i], p.Date, p.Date, now); err != nil {
			return fmt.Errorf("sqlite: record forecast %d (%s %s): nothing stored: %w", i, syms[i], p.Date, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: record forecasts: nothing stored: %w", ctxCause(ctx, err))
	}
	return nil
}

// scoreDays sets actual, error and scored_at (now, Unix seconds) on the
// ledger rows of symbol with a target day in [from, to] whose close is
// stored and differs from the recorded actual (NULL included). It returns
// how many rows it scored.
func scoreDays(ctx context.Context, tx *sql.Tx, symbol string, from, to closecast.Date, now int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE predictions
		SET actual = b.close, error = predictions.value - b.close, scored_at = ?4
		FROM bars AS b
		WHERE b.symbol = predictions.symbol AND b.date = predictions.target_date
		  AND predictions.symbol = ?1 AND predictions.target_date BETWEEN ?2 AND ?3
		  AND (predictions.actual IS NULL OR predictions.actual <> b.close)`,
		symbol, int64(from), int64(to), now)
	if err != nil {
		return 0, fmt.Errorf("scoring live forecasts: %w", err)
	}
	return res.RowsAffected()
}

// Scored returns the scored ledger rows of symbol whose target day is one of
// the last days calendar days ending on the newest scored target day (not
// today: a server that was down for a week still shows its last window),
// newest first, then by model version. Each row is a closecast.Prediction
// with Symbol, Date, Value (the forecast), Model, LastClose, Actual and
// Quantiles (nil when none was kept) set; the input window is not kept. days must be in [1, MaxLedgerDays]. A symbol
// with no scored row gives none, not an error: the ledger knows only what
// was asked of it.
func (s *DB) Scored(ctx context.Context, symbol string, days int) (_ []closecast.Prediction, err error) {
	defer func() { err = s.classify(err) }()
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return nil, fmt.Errorf("sqlite: scored forecasts: %w", err)
	}
	if days < 1 || days > MaxLedgerDays {
		return nil, fmt.Errorf("sqlite: scored forecasts of %s: days %d is not in [1, %d]", symbol, days, MaxLedgerDays)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT target_date, model_version, value, last_close, actual, quantiles FROM predictions
		WHERE symbol = ?1 AND actual IS NOT NULL
		  AND target_date > (SELECT MAX(target_date) FROM predictions WHERE symbol = ?1 AND actual IS NOT NULL) - ?2
		ORDER BY target_date DESC, model_version`, symbol, days)
	if err != nil {
		return nil, fmt.Errorf("sqlite: scored forecasts of %s: %w", symbol, err)
	}
	defer rows.Close()
	var out []closecast.Prediction
	for rows.Next() {
		var d int64
		var actual float64
		p := closecast.Prediction{Forecast: closecast.Forecast{Symbol: symbol}}
		var q []byte
		if err := rows.Scan(&d, &p.Model, &p.Value, &p.LastClose, &actual, &q); err != nil {
			return nil, fmt.Errorf("sqlite: scored forecasts of %s: %w", symbol, err)
		}
		p.Date, p.Actual = closecast.Date(d), &actual
		if p.Quantiles, err = decodeQuantiles(q); err != nil {
			return nil, fmt.Errorf("sqlite: scored forecasts of %s, %s: %w", symbol, p.Date, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: scored forecasts of %s: %w", symbol, err)
	}
	return out, nil
}

// encodeQuantiles returns the quantiles column of q: nil (NULL) for none,
// else its float64s little-endian.
func encodeQuantiles(q *closecast.Distribution) []byte {
	if q == nil {
		return nil
	}
	b := make([]byte, 0, 8*len(q))
	for _, v := range q {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// decodeQuantiles reads a quantiles column: nil for NULL, else
// closecast.NumDistributionLevels valid closes (closecast.ValidateDistribution),
// so a damaged row is an error rather than a wrong score.
func decodeQuantiles(b []byte) (*closecast.Distribution, error) {
	if b == nil {
		return nil, nil
	}
	if len(b) != 8*closecast.NumDistributionLevels {
		return nil, fmt.Errorf("quantiles column of %d bytes, want %d", len(b), 8*closecast.NumDistributionLevels)
	}
	q := new(closecast.Distribution)
	for k := range q {
		q[k] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*k:]))
	}
	if err := closecast.ValidateDistribution(q); err != nil {
		return nil, err
	}
	return q, nil
}
