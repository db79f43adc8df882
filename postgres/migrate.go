package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema changes: migrations/NNNN_name.sql takes the
// schema from version NNNN-1 to NNNN. Never edit a released file; add the
// next one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order, checking that
// they are numbered 1, 2, … without a hole.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s is not named NNNN_name.sql", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.name, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this closecast writes.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return len(ms)
}

// ErrSchemaTooNew is returned by Migrate for a database written by a newer
// closecast.
var ErrSchemaTooNew = errors.New("database schema is newer than this closecast")

// migrateLock is the advisory lock key migrations hold: "closecast" in ASCII.
const migrateLock int64 = 0x636c6f7365636173

// Migrate brings the database to the current schema version. All pending
// migrations run in one transaction holding an advisory lock, so replicas
// starting at once apply them one after the other, the later ones finding
// nothing to do. The lock is pg_advisory_xact_lock, released by the commit:
// a session lock (pg_advisory_lock) would be taken and released on
// different server connections behind a transaction-mode pooler.
func (s *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name    text    NOT NULL,
			applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
			return err
		}
		if version > len(ms) {
			return fmt.Errorf("%w: the database has schema version %d, this closecast knows up to %d; upgrade closecast",
				ErrSchemaTooNew, version, len(ms))
		}
		for _, m := range ms[version:] {
			// No parameters: the simple protocol runs a file of several
			// statements as one.
			if _, err := tx.Exec(ctx, m.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
				return fmt.Errorf("migrating the schema to version %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", s.url, ctxCause(ctx, err))
	}
	return nil
}
