package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
)

// LeaseTTL bounds how long a fetch lease is held: a holder that died (a
// killed replica, a frozen Lambda) blocks the others at most this long. It
// exceeds a fetch's own timeout (history.DefaultFetchTimeout).
const LeaseTTL = 2 * time.Minute

// leasePoll is how often a process waiting for a fetch lease looks again.
const leasePoll = 50 * time.Millisecond

// LockFetch takes the fetch lease of symbol: while one process holds it
// (from before it asks the provider for the symbol's missing days until
// they are stored), another process that needs the same days waits, then
// finds them stored and makes no request of its own. unlock releases it;
// it also expires after LeaseTTL. Waiting ends with ctx, with its error.
//
// The lease is a row of fetch_leases, not a lock held by a connection: a
// holder keeps no connection while it fetches (a Lambda's pool has two,
// and a server fetching many symbols at once must not run its pool dry),
// and it works behind a pooler in transaction mode.
func (s *DB) LockFetch(ctx context.Context, symbol string) (unlock func(), err error) {
	symbol, err = closecast.NormalizeSymbol(symbol)
	if err != nil {
		return nil, fmt.Errorf("postgres: fetch lease: %w", err)
	}
	var tok [12]byte
	rand.Read(tok[:])
	holder := hex.EncodeToString(tok[:])
	for {
		var got string
		err := s.retry(ctx, true, func() error {
			return s.pool.QueryRow(ctx, `INSERT INTO fetch_leases AS l (symbol, holder, until)
				VALUES ($1, $2, (extract(epoch from clock_timestamp()) * 1000)::bigint + $3)
				ON CONFLICT (symbol) DO UPDATE SET holder = excluded.holder, until = excluded.until
					WHERE l.until < (extract(epoch from clock_timestamp()) * 1000)::bigint
				RETURNING holder`, symbol, holder, LeaseTTL.Milliseconds()).Scan(&got)
		})
		switch {
		case err == nil:
			return func() {
				// Best effort: an unreleased lease expires.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultConnectTimeout)
				defer cancel()
				s.pool.Exec(ctx, `DELETE FROM fetch_leases WHERE symbol = $1 AND holder = $2`, symbol, holder)
			}, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, fmt.Errorf("postgres: fetch lease of %s: %w", symbol, ctxCause(ctx, err))
		}
		// Another process holds it: wait for it to finish or expire.
		t := time.NewTimer(leasePoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("postgres: waiting for the fetch lease of %s: %w", symbol, context.Cause(ctx))
		}
	}
}
