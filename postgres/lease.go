package postgres

import (
	"context"
	"fmt"

	"github.com/closecast/closecast"
)

// LockFetch takes the fetch lease of symbol: while one replica holds it
// (from before it asks the provider for the symbol's missing days until
// they are stored), another replica that needs the same days waits, then
// finds them stored and makes no request of its own. unlock releases it;
// so does ctx ending, and the holder's connection dying.
//
// The lease is a transaction-scoped advisory lock held by an open
// transaction, so it works behind a pooler in transaction mode (PgBouncer,
// RDS Proxy), where a session lock could be left on a server connection
// another client then uses.
func (s *DB) LockFetch(ctx context.Context, symbol string) (unlock func(), err error) {
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return nil, fmt.Errorf("postgres: fetch lease: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: fetch lease of %s: %w", symbol, ctxCause(ctx, err))
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('closecast.fetch:' || $1::text, 0))`, symbol); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres: fetch lease of %s: %w", symbol, ctxCause(ctx, err))
	}
	return func() { tx.Rollback(context.WithoutCancel(ctx)) }, nil
}
