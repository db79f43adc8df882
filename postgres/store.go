package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
)

// Bars returns the stored bars of symbol with dates in [from, to],
// ascending. A symbol with no stored bar at all is an error wrapping
// closecast.ErrUnknownSymbol; a known symbol with no bar in the range gives
// an empty series. Stored rows are validated again.
func (s *DB) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return closecast.Series{}, fmt.Errorf("postgres: bars: %w", err)
	}
	if from > to {
		return closecast.Series{}, fmt.Errorf("postgres: bars of %s: from %s is after to %s", symbol, from, to)
	}
	// At most one bar a day; the cap keeps a wide-open range from
	// allocating for millions of days.
	bars := make([]closecast.Bar, 0, min(int64(to)-int64(from)+1, 512))
	known := true
	err = s.retry(ctx, true, func() error {
		bars = bars[:0]
		rows, err := s.pool.Query(ctx, `SELECT date, open, high, low, close, volume FROM bars
			WHERE symbol = $1 AND date BETWEEN $2 AND $3 ORDER BY date`, symbol, int32(from), int32(to))
		if err != nil {
			return err
		}
		var b closecast.Bar
		var d int32
		_, err = pgx.ForEachRow(rows, []any{&d, &b.Open, &b.High, &b.Low, &b.Close, &b.Volume}, func() error {
			b.Date = closecast.Date(d)
			bars = append(bars, b)
			return nil
		})
		if err != nil || len(bars) > 0 {
			return err
		}
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bars WHERE symbol = $1)`, symbol).Scan(&known)
	})
	if err != nil {
		if lostConn(err) {
			// The database is down or unreachable: a caller with other
			// data (history's embedded bars) serves from it meanwhile.
			return closecast.Series{}, fmt.Errorf("postgres: bars of %s: %w: %w", symbol, closecast.ErrUnavailable, err)
		}
		return closecast.Series{}, fmt.Errorf("postgres: bars of %s: %w", symbol, err)
	}
	if len(bars) == 0 {
		if !known {
			return closecast.Series{}, fmt.Errorf("postgres: %w: no bars of %s are stored", closecast.ErrUnknownSymbol, symbol)
		}
	}
	series, err := closecast.NewSeries(symbol, bars)
	if err != nil {
		return closecast.Series{}, fmt.Errorf("postgres: stored bars of %s in %s are invalid: %w", symbol, s.url, err)
	}
	return series, nil
}

// Range returns the first and last stored date of symbol; ok is false when
// none is stored.
func (s *DB) Range(ctx context.Context, symbol string) (first, last closecast.Date, ok bool, err error) {
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, 0, false, fmt.Errorf("postgres: range: %w", err)
	}
	var lo, hi *int32
	// Both aggregates are answered from the primary key's index.
	err = s.retry(ctx, true, func() error {
		return s.pool.QueryRow(ctx, `SELECT min(date), max(date) FROM bars WHERE symbol = $1`, symbol).Scan(&lo, &hi)
	})
	if err != nil {
		return 0, 0, false, fmt.Errorf("postgres: range of %s: %w", symbol, err)
	}
	if lo == nil {
		return 0, 0, false, nil
	}
	return closecast.Date(*lo), closecast.Date(*hi), true, nil
}

// Symbols lists the symbols with at least one stored bar, sorted bytewise.
func (s *DB) Symbols(ctx context.Context) ([]string, error) {
	var out []string
	err := s.retry(ctx, true, func() error {
		rows, err := s.pool.Query(ctx, `SELECT symbol FROM bars GROUP BY symbol ORDER BY symbol COLLATE "C"`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: symbols: %w", err)
	}
	return out, nil
}

// Upsert stores bars of symbol: bars with a new date are added, stored bars
// whose values differ are replaced (updated), identical ones are left alone.
// In the same transaction it scores the ledger's forecasts of the days
// written. bars must be valid with strictly ascending dates; the first
// offending bar is named in the error (a *closecast.BarError) and nothing is
// written. On any error, including ctx being cancelled midway, the store is
// left exactly as it was. Writers of overlapping bars, in this process or
// another replica, never fail on each other nor store a day twice.
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
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert: %w", err)
	}
	if _, err := closecast.NewSeries(symbol, bars); err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert %s: nothing stored: %w", symbol, err)
	}
	if len(bars) == 0 && logRec == nil {
		return 0, 0, ctx.Err()
	}
	cols := barColumns(bars)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		added, updated = 0, 0
		now := time.Now().Unix()
		if len(bars) > 0 {
			// One statement: ON CONFLICT makes concurrent writers of the
			// same day wait for each other instead of failing, and rows
			// are locked in date order, so they cannot deadlock. xmax = 0
			// tells a fresh row from a replaced one.
			err := tx.QueryRow(ctx, `WITH up AS (
				INSERT INTO bars AS b (symbol, date, open, high, low, close, volume, fetched_at)
				SELECT $1, t.* , $8 FROM unnest($2::integer[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) AS t
				ON CONFLICT (symbol, date) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
					close = excluded.close, volume = excluded.volume, fetched_at = excluded.fetched_at
				WHERE (b.open, b.high, b.low, b.close, b.volume) IS DISTINCT FROM
				      (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume)
				RETURNING xmax = 0 AS inserted)
				SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
				symbol, cols.date, cols.open, cols.high, cols.low, cols.close, cols.volume, now).Scan(&added, &updated)
			if err != nil {
				return err
			}
			if s.afterWrite != nil {
				s.afterWrite()
			}
		}
		if added+updated > 0 {
			if err := scoreDays(ctx, tx, symbol, bars[0].Date, bars[len(bars)-1].Date, now); err != nil {
				return err
			}
		}
		if logRec != nil {
			r := *logRec
			r.Symbol, r.Added, r.Updated = symbol, added, updated
			if err := insertFetchLog(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: upsert %s: nothing stored: %w", symbol, ctxCause(ctx, err))
	}
	return added, updated, nil
}

// columns are bars as one array per column, for unnest.
type columns struct {
	date                           []int32
	open, high, low, close, volume []float64
}

func barColumns(bars []closecast.Bar) columns {
	n := len(bars)
	c := columns{date: make([]int32, n), open: make([]float64, n), high: make([]float64, n),
		low: make([]float64, n), close: make([]float64, n), volume: make([]float64, n)}
	for i, b := range bars {
		c.date[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i] = int32(b.Date), b.Open, b.High, b.Low, b.Close, b.Volume
	}
	return c
}
