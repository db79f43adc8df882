package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema changes, in order: migrations[i] takes the
// schema from version i to version i+1, the version being SQLite's
// PRAGMA user_version (0 in a new file). Never edit a released entry; add a
// new one at the end (a table for live predictions, say) and Open brings
// every existing store up to date in one transaction.
var migrations = []string{
	// 1: bars and the fetch log.
	`CREATE TABLE bars (
		symbol     TEXT    NOT NULL,
		date       INTEGER NOT NULL, -- closecast.Date: days since 1970-01-01 UTC
		open       REAL    NOT NULL CHECK (open > 0),
		high       REAL    NOT NULL CHECK (high > 0),
		low        REAL    NOT NULL CHECK (low > 0),
		close      REAL    NOT NULL CHECK (close > 0),
		volume     REAL    NOT NULL CHECK (volume >= 0),
		fetched_at INTEGER NOT NULL, -- Unix seconds of the write
		PRIMARY KEY (symbol, date)
	) WITHOUT ROWID;
	CREATE TABLE fetch_log (
		id        INTEGER PRIMARY KEY,
		symbol    TEXT    NOT NULL,
		from_date INTEGER NOT NULL, -- requested range, closecast.Date
		to_date   INTEGER NOT NULL,
		added     INTEGER NOT NULL,
		updated   INTEGER NOT NULL,
		error     TEXT    NOT NULL DEFAULT '', -- '' for a fetch that was stored
		at        INTEGER NOT NULL  -- Unix seconds
	);
	CREATE INDEX fetch_log_symbol ON fetch_log (symbol, id);`,
	// 2: the ledger of live forecasts (see ledger.go). One row per
	// (symbol, target_date, model_version); actual, error and scored_at stay
	// NULL until the close of target_date is stored.
	`CREATE TABLE predictions (
		id            INTEGER PRIMARY KEY,
		requested_at  INTEGER NOT NULL, -- Unix seconds of the latest request that served it
		symbol        TEXT    NOT NULL,
		target_date   INTEGER NOT NULL, -- closecast.Date of the forecast close
		model_version TEXT    NOT NULL,
		value         REAL    NOT NULL, -- the forecast close
		last_close    REAL    NOT NULL CHECK (last_close > 0), -- close of the input window's last day
		actual        REAL,             -- close of target_date, once stored
		error         REAL,             -- value - actual
		scored_at     INTEGER,          -- Unix seconds of the scoring
		UNIQUE (symbol, target_date, model_version)
	);`,
	// 3: the model registry (see registry.go): artifacts stored whole, one
	// model_files row per file, and one champion per symbol.
	`CREATE TABLE models (
		version  TEXT    PRIMARY KEY,
		symbol   TEXT    NOT NULL,
		created  INTEGER NOT NULL, -- Unix nanoseconds of the training
		pushed   INTEGER NOT NULL, -- Unix nanoseconds of the push
		checksum TEXT    NOT NULL, -- model.json's own SHA-256
		size     INTEGER NOT NULL,
		metrics  TEXT    NOT NULL  -- model.json's metrics, as written
	);
	CREATE INDEX models_symbol ON models (symbol, created);
	CREATE TABLE model_files (
		version TEXT NOT NULL REFERENCES models ON DELETE CASCADE,
		name    TEXT NOT NULL,
		data    BLOB NOT NULL,
		PRIMARY KEY (version, name)
	) WITHOUT ROWID;
	CREATE TABLE champions (
		symbol   TEXT    PRIMARY KEY,
		version  TEXT    NOT NULL REFERENCES models,
		promoted INTEGER NOT NULL -- Unix nanoseconds
	);`,
	// 4: the forecast distribution of each ledger row (see ledger.go):
	// NULL on rows recorded before, which stay valid and are simply not
	// distribution-scored.
	`ALTER TABLE predictions ADD COLUMN quantiles BLOB; -- closecast.DistributionLevels closes, float64 little-endian`,
}

// SchemaVersion is the schema version this closecast writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings db to len(steps) by running the pending steps and setting
// user_version, all in one transaction: a step that fails leaves the schema
// as it was. A store newer than steps is refused rather than misread.
func migrate(ctx context.Context, db *sql.DB, steps []string) (err error) {
	// BEGIN IMMEDIATE (the DSN's _txlock) so two processes opening a new
	// store at once run the migrations one after the other, the second
	// seeing the first's version.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var version int
	if err = tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if version > len(steps) {
		return fmt.Errorf("%w: the file has schema version %d, this closecast knows up to %d; upgrade closecast",
			ErrSchemaTooNew, version, len(steps))
	}
	if version == len(steps) {
		return tx.Commit()
	}
	for v := version; v < len(steps); v++ {
		if _, err = tx.ExecContext(ctx, steps[v]); err != nil {
			return fmt.Errorf("migrating the schema to version %d: %w", v+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err = tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(steps))); err != nil {
		return fmt.Errorf("setting the schema version: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	return nil
}
