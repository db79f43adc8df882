package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
)

// The model registry (schema version 3) keeps artifacts whole, one
// model_files row per file, under their version, with what `closecast models
// list` shows in models; champions names the one model per symbol that is
// served. It has the semantics of the PostgreSQL registry (package postgres):
// files are verified by their checksums when pushed (artifact.Describe) and
// again when read back (artifact.CheckStored).

// PutModel verifies files, an artifact directory, and stores it. Pushing a
// version already stored with the same checksum changes nothing and returns
// it; with another checksum it is an error wrapping closecast.ErrModelConflict.
func (s *DB) PutModel(ctx context.Context, files artifact.Files) (closecast.ModelInfo, error) {
	return s.putModel(ctx, files, false)
}

// PutChampion is PutModel and Promote in one transaction: a retrained
// challenger is stored and made its symbol's champion, or neither.
func (s *DB) PutChampion(ctx context.Context, files artifact.Files) (closecast.ModelInfo, error) {
	return s.putModel(ctx, files, true)
}

func (s *DB) putModel(ctx context.Context, files artifact.Files, promote bool) (info closecast.ModelInfo, err error) {
	info, err = artifact.Describe(files)
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("sqlite: push model: nothing stored: %w", err)
	}
	fail := func(err error) (closecast.ModelInfo, error) {
		return closecast.ModelInfo{}, fmt.Errorf("sqlite: push model %s: nothing stored: %w", info.Version, ctxCause(ctx, err))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	info.Pushed = time.Now().UTC()
	res, err := tx.ExecContext(ctx, `INSERT INTO models (version, symbol, created, pushed, checksum, size, metrics)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (version) DO NOTHING`,
		info.Version, info.Symbol, info.Created.UnixNano(), info.Pushed.UnixNano(), info.Checksum, info.Size, string(info.Metrics))
	if err != nil {
		return fail(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		old, err := modelInfo(ctx, tx, info.Version)
		if err != nil {
			return fail(err)
		}
		if old.Checksum != info.Checksum {
			return fail(fmt.Errorf("%w: %s has checksum %.12s…, the pushed one %.12s…", closecast.ErrModelConflict, info.Version, old.Checksum, info.Checksum))
		}
		info = old
	} else {
		for _, name := range files.Names() {
			if _, err = tx.ExecContext(ctx, `INSERT INTO model_files (version, name, data) VALUES (?, ?, ?)`, info.Version, name, files[name]); err != nil {
				return fail(err)
			}
		}
	}
	if promote {
		if err = promoteIn(ctx, tx, info.Version, info.Symbol); err != nil {
			return fail(err)
		}
		info.Champion = true
	}
	if err = ctx.Err(); err != nil {
		return fail(err)
	}
	if err = tx.Commit(); err != nil {
		return fail(err)
	}
	return info, nil
}

func promoteIn(ctx context.Context, tx *sql.Tx, version, symbol string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO champions (symbol, version, promoted) VALUES (?, ?, ?)
		ON CONFLICT (symbol) DO UPDATE SET version = excluded.version, promoted = excluded.promoted`,
		symbol, version, time.Now().UnixNano())
	return err
}

// Promote makes the stored model version the champion of its symbol,
// replacing the previous one.
func (s *DB) Promote(ctx context.Context, version string) (info closecast.ModelInfo, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return info, fmt.Errorf("sqlite: promote %s: %w", version, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("sqlite: promote %s: %w", version, ctxCause(ctx, err))
		}
	}()
	if info, err = modelInfo(ctx, tx, version); err != nil {
		return info, err
	}
	if err = promoteIn(ctx, tx, version, info.Symbol); err != nil {
		return info, err
	}
	info.Champion = true
	return info, tx.Commit()
}

// infoColumns are the columns scanInfo reads, m being models and c the
// symbol's champions row.
const infoColumns = `m.version, m.symbol, m.created, m.pushed, m.checksum, m.size, m.metrics, c.version IS NOT NULL`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanInfo(row scanner) (closecast.ModelInfo, error) {
	var i closecast.ModelInfo
	var created, pushed int64
	var metrics string
	if err := row.Scan(&i.Version, &i.Symbol, &created, &pushed, &i.Checksum, &i.Size, &metrics, &i.Champion); err != nil {
		return i, err
	}
	i.Created, i.Pushed, i.Metrics = time.Unix(0, created).UTC(), time.Unix(0, pushed).UTC(), []byte(metrics)
	return i, nil
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func modelInfo(ctx context.Context, q queryer, version string) (closecast.ModelInfo, error) {
	i, err := scanInfo(q.QueryRowContext(ctx, `SELECT `+infoColumns+` FROM models m
		LEFT JOIN champions c ON c.symbol = m.symbol AND c.version = m.version WHERE m.version = ?`, version))
	if errors.Is(err, sql.ErrNoRows) {
		return i, fmt.Errorf("%w: no model %q is stored", closecast.ErrModelNotFound, version)
	}
	return i, err
}

// Model returns the stored model version and its files, verified against the
// checksums recorded when it was pushed.
func (s *DB) Model(ctx context.Context, version string) (closecast.ModelInfo, artifact.Files, error) {
	fail := func(err error) (closecast.ModelInfo, artifact.Files, error) {
		return closecast.ModelInfo{}, nil, fmt.Errorf("sqlite: model %s: %w", version, err)
	}
	// One read transaction: the champion flag and the files are of one moment.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	info, err := modelInfo(ctx, tx, version)
	if err != nil {
		return fail(err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, data FROM model_files WHERE version = ?`, version)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	files := artifact.Files{}
	for rows.Next() {
		var name string
		var data []byte
		if err := rows.Scan(&name, &data); err != nil {
			return fail(err)
		}
		files[name] = data
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if err := artifact.CheckStored(files, info); err != nil {
		return closecast.ModelInfo{}, nil, fmt.Errorf("sqlite: %w", err)
	}
	return info, files, nil
}

// Models lists the stored models of symbol (every symbol when ""), newest
// created first.
func (s *DB) Models(ctx context.Context, symbol string) ([]closecast.ModelInfo, error) {
	if symbol != "" {
		var err error
		if symbol, err = closecast.NormalizeSymbol(symbol); err != nil {
			return nil, fmt.Errorf("sqlite: models: %w", err)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+infoColumns+` FROM models m
		LEFT JOIN champions c ON c.symbol = m.symbol AND c.version = m.version
		WHERE ?1 = '' OR m.symbol = ?1 ORDER BY m.created DESC, m.version`, symbol)
	if err != nil {
		return nil, fmt.Errorf("sqlite: models: %w", err)
	}
	defer rows.Close()
	var out []closecast.ModelInfo
	for rows.Next() {
		i, err := scanInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: models: %w", err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: models: %w", err)
	}
	return out, nil
}

// Champion returns the champion of symbol: an error wrapping
// closecast.ErrModelNotFound when it has none.
func (s *DB) Champion(ctx context.Context, symbol string) (closecast.ModelInfo, error) {
	symbol, err := closecast.NormalizeSymbol(symbol)
	if err != nil {
		return closecast.ModelInfo{}, fmt.Errorf("sqlite: champion: %w", err)
	}
	i, err := scanInfo(s.db.QueryRowContext(ctx, `SELECT `+infoColumns+` FROM champions c
		JOIN models m ON m.version = c.version WHERE c.symbol = ?`, symbol))
	if errors.Is(err, sql.ErrNoRows) {
		return i, fmt.Errorf("sqlite: %w: %s has no champion", closecast.ErrModelNotFound, symbol)
	}
	if err != nil {
		return i, fmt.Errorf("sqlite: champion of %s: %w", symbol, err)
	}
	return i, nil
}
