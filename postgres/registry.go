package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
)

// The model registry keeps artifacts whole, one model_files row per file,
// under their version, with what `closecast models list` shows (symbol,
// creation, checksum, metrics) in models. champions names the one model per
// symbol that servers load. Files are verified by their checksums when
// pushed (artifact.Describe) and again when read back (artifact.CheckStored).

// PutModel verifies files, an artifact directory, and stores it. Pushing a
// version already stored with the same checksum changes nothing and returns
// it; with another checksum it is an error wrapping closecast.ErrModelConflict.
func (s *DB) PutModel(ctx context.Context, files artifact.Files) (closecast.ModelInfo, error) {
	return s.put(ctx, files, false)
}

// PutChampion is PutModel and Promote in one transaction: a retrained
// challenger is stored and made its symbol's champion, or neither.
func (s *DB) PutChampion(ctx context.Context, files artifact.Files) (closecast.ModelInfo, error) {
	return s.put(ctx, files, true)
}

func (s *DB) put(ctx context.Context, files artifact.Files, promote bool) (closecast.ModelInfo, error) {
	info, err := artifact.Describe(files)
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("postgres: push model: nothing stored: %w", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		info.Pushed = time.Now().UTC()
		tag, err := tx.Exec(ctx, `INSERT INTO models (version, symbol, created, pushed, checksum, size, metrics)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version) DO NOTHING`,
			info.Version, info.Symbol, info.Created.UnixNano(), info.Pushed.UnixNano(), info.Checksum, info.Size, string(info.Metrics))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// Stored before (or by a concurrent push, which the insert
			// waited for): the same model is no change, another is refused.
			old, err := modelInfo(ctx, tx, info.Version)
			if err != nil {
				return err
			}
			if old.Checksum != info.Checksum {
				return fmt.Errorf("%w: %s has checksum %.12s…, the pushed one %.12s…", closecast.ErrModelConflict, info.Version, old.Checksum, info.Checksum)
			}
			info = old
		} else {
			for _, name := range files.Names() {
				if _, err := tx.Exec(ctx, `INSERT INTO model_files (version, name, data) VALUES ($1, $2, $3)`,
					info.Version, name, files[name]); err != nil {
					return err
				}
			}
		}
		if promote {
			if err := promote1(ctx, tx, info.Version, info.Symbol); err != nil {
				return err
			}
			info.Champion = true
		}
		return nil
	})
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("postgres: push model %s: nothing stored: %w", info.Version, ctxCause(ctx, err))
	}
	return info, nil
}

// promote1 makes version its symbol's champion and notifies ModelsChannel
// (delivered when the transaction commits).
func promote1(ctx context.Context, tx pgx.Tx, version, symbol string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO champions (symbol, version, promoted) VALUES ($1, $2, $3)
		ON CONFLICT (symbol) DO UPDATE SET version = excluded.version, promoted = excluded.promoted`,
		symbol, version, time.Now().UnixNano()); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ModelsChannel, symbol)
	return err
}

// Promote makes the stored model version the champion of its symbol,
// replacing the previous one.
func (s *DB) Promote(ctx context.Context, version string) (closecast.ModelInfo, error) {
	var info closecast.ModelInfo
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if info, err = modelInfo(ctx, tx, version); err != nil {
			return err
		}
		info.Champion = true
		return promote1(ctx, tx, version, info.Symbol)
	})
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("postgres: promote %s: %w", version, ctxCause(ctx, err))
	}
	return info, nil
}

// infoColumns are the columns scanned by scanInfo, m being models and c the
// symbol's champions row.
const infoColumns = `m.version, m.symbol, m.created, m.pushed, m.checksum, m.size, m.metrics, c.version IS NOT NULL`

func scanInfo(row pgx.Row) (closecast.ModelInfo, error) {
	var i closecast.ModelInfo
	var created, pushed int64
	var metrics string
	if err := row.Scan(&i.Version, &i.Symbol, &created, &pushed, &i.Checksum, &i.Size, &metrics, &i.Champion); err != nil {
		return i, err
	}
	i.Created, i.Pushed, i.Metrics = time.Unix(0, created).UTC(), time.Unix(0, pushed).UTC(), []byte(metrics)
	return i, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func modelInfo(ctx context.Context, q querier, version string) (closecast.ModelInfo, error) {
	i, err := scanInfo(q.QueryRow(ctx, `SELECT `+infoColumns+` FROM models m
		LEFT JOIN champions c ON c.symbol = m.symbol AND c.version = m.version WHERE m.version = $1`, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return i, fmt.Errorf("%w: no model %q is stored", closecast.ErrModelNotFound, version)
	}
	return i, err
}

// Model returns the stored model version and its files, verified against the
// checksums recorded when it was pushed.
func (s *DB) Model(ctx context.Context, version string) (closecast.ModelInfo, artifact.Files, error) {
	var info closecast.ModelInfo
	files := artifact.Files{}
	// One transaction: the champion flag and the files are of one moment.
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if info, err = modelInfo(ctx, tx, version); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name, data FROM model_files WHERE version = $1`, version)
		if err != nil {
			return err
		}
		var name string
		var data []byte
		_, err = pgx.ForEachRow(rows, []any{&name, &data}, func() error {
			files[name] = data
			return nil
		})
		return err
	})
	if err != nil {
		return closecast.ModelInfo{}, nil, fmt.Errorf("postgres: model %s: %w", version, ctxCause(ctx, err))
	}
	if err := artifact.CheckStored(files, info); err != nil {
		return closecast.ModelInfo{}, nil, fmt.Errorf("postgres: %w", err)
	}
	return info, files, nil
}

// Models lists the stored models of symbol (every symbol when ""), newest
// created first.
func (s *DB) Models(ctx context.Context, symbol string) ([]closecast.ModelInfo, error) {
	if symbol != "" {
		var err error
		if symbol, err = closecast.NormalizeSymbol(symbol); err != nil {
			return nil, fmt.Errorf("postgres: models: %w", err)
		}
	}
	var out []closecast.ModelInfo
	err := s.retry(ctx, true, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+infoColumns+` FROM models m
			LEFT JOIN champions c ON c.symbol = m.symbol AND c.version = m.version
			WHERE $1 = '' OR m.symbol = $1 ORDER BY m.created DESC, m.version COLLATE "C"`, symbol)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (closecast.ModelInfo, error) { return scanInfo(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: models: %w", err)
	}
	return out, nil
}

// Champion returns the champion of symbol: an error wrapping
// closecast.ErrModelNotFound when it has none.
func (s *DB) Champion(ctx context.Context, symbol string) (closecast.ModelInfo, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("postgres: champion: %w", err)
	}
	var i closecast.ModelInfo
	err = s.retry(ctx, true, func() error {
		i, err = scanInfo(s.pool.QueryRow(ctx, `SELECT `+infoColumns+` FROM champions c
			JOIN models m ON m.version = c.version WHERE c.symbol = $1`, symbol))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return i, fmt.Errorf("postgres: %w: %s has no champion", closecast.ErrModelNotFound, symbol)
	}
	if err != nil {
		return i, fmt.Errorf("postgres: champion of %s: %w", symbol, err)
	}
	return i, nil
}
