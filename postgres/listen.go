package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen delivers the payload of every NOTIFY on ModelsChannel (a promoted
// model's symbol) to out until ctx ends, then closes out. It holds one
// dedicated connection outside the pool, reconnecting with a capped
// back-off when it is lost; a notification sent while it was disconnected
// is missed, which is why servers also poll. A full out drops the payload
// (the poll catches up). Behind a transaction-mode pooler LISTEN does not
// work at all, and only the poll remains.
func (s *DB) Listen(ctx context.Context, out chan<- string, log *slog.Logger) {
	defer close(out)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := time.Second
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, out)
		if ctx.Err() != nil {
			return
		}
		log.Warn("listening for model promotions failed; reconnecting", "db", s.url, "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// listenOnce connects, LISTENs, and forwards notifications until the
// connection fails or ctx ends.
func (s *DB) listenOnce(ctx context.Context, out chan<- string) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ModelsChannel}.Sanitize()); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		select {
		case out <- n.Payload:
		default:
		}
	}
}
