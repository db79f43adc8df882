package sqlite

import (
	"context"
	"fmt"

	"github.com/closecast/closecast"
)

// Pending returns how many recorded forecasts of symbol are not scored yet:
// their target day's close is not stored.
func (s *DB) Pending(ctx context.Context, symbol string) (int, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return 0, fmt.Errorf("sqlite: pending forecasts: %w", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM predictions WHERE symbol = ? AND actual IS NULL`, symbol).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: pending forecasts of %s: %w", symbol, err)
	}
	return n, nil
}
