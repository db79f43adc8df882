package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/database"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/postgres"
	"github.com/closecast/closecast/serving"
)

// servedModels are the models serve starts with: every embedded one, then
// --model's and --models' artifacts over them (later ones win, per
// symbol), a global model giving each of its markets in either.
func servedModels(modelDir, modelsDir string) ([]*artifact.Model, error) {
	ms, err := models.All()
	if err != nil {
		return nil, err
	}
	if modelDir != "" {
		m, err := loadModel(modelDir)
		if err != nil {
			return nil, err
		}
		// A global model serves each of its markets.
		views, err := models.Markets(m)
		if err != nil {
			return nil, err
		}
		ms = append(ms, views...)
	}
	if modelsDir != "" {
		more, err := models.LoadDir(modelsDir)
		if err != nil {
			return nil, fmt.Errorf("--models: %w", err)
		}
		ms = append(ms, more...)
	}
	return ms, nil
}

// serveStore is serve's store and what /readyz says of it.
type serveStore struct {
	db database.DB
	pg *postgres.DB // nil for SQLite
	// ready is set once a PostgreSQL schema is migrated (at once for SQLite).
	ready   atomic.Bool
	lastErr atomic.Pointer[error]
}

// migrateRetry is how often serve tries again to reach and migrate a
// PostgreSQL database that was down at start.
const migrateRetry = 2 * time.Second

// healthTimeout bounds /readyz's ping of PostgreSQL.
const healthTimeout = 2 * time.Second

// openServeStore opens the store: a PostgreSQL one lazily, so that the
// server starts (degraded) while the database is down, migrating it in the
// background until it succeeds.
func openServeStore(ctx context.Context, e *env, log *slog.Logger) (*serveStore, error) {
	loc, err := dbLocation(e)
	if err != nil {
		return nil, err
	}
	db, err := database.OpenLocation(ctx, loc, database.Options{Lazy: true})
	if err != nil {
		return nil, err
	}
	st := &serveStore{db: db}
	pg, ok := db.(*postgres.DB)
	if !ok {
		st.ready.Store(true)
		return st, nil
	}
	st.pg = pg
	if err := st.migrate(ctx); err != nil {
		log.Warn("the database is not reachable; serving degraded (embedded data, no ledger writes) until it is", "db", loc.String(), "err", err)
	}
	return st, nil
}

// migrate migrates the schema once; ready tells whether it has been.
func (st *serveStore) migrate(ctx context.Context) error {
	mctx, cancel := context.WithTimeout(ctx, 2*postgres.DefaultConnectTimeout)
	defer cancel()
	if err := database.Migrate(mctx, st.db); err != nil {
		st.lastErr.Store(&err)
		return err
	}
	st.ready.Store(true)
	return nil
}

// health is /readyz's check of the store: a SQLite file found damaged, or
// a PostgreSQL database not migrated yet or not answering.
func (st *serveStore) health() error {
	if d, ok := st.db.(interface{ Damaged() error }); ok {
		return d.Damaged()
	}
	if !st.ready.Load() {
		err := errors.New("the database has not been reached yet")
		if p := st.lastErr.Load(); p != nil {
			err = fmt.Errorf("the database has not been reached yet: %w", *p)
		}
		return err
	}
	if st.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
		defer cancel()
		return st.pg.Ping(ctx)
	}
	return nil
}

// serveChampions brings the registry's champions to srv: once the store is
// migrated (retrying while PostgreSQL is down), then on every promotion
// (LISTEN on PostgreSQL) and every serving.DefaultPoll.
func (st *serveStore) serveChampions(ctx context.Context, srv *serving.Chain, base []*artifact.Model, log *slog.Logger) {
	for !st.ready.Load() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(migrateRetry):
		}
		if err := st.migrate(ctx); err == nil {
			log.Info("the database is reachable again; its schema is migrated")
		}
	}
	ms, err := serving.Champions(ctx, st.db, base, nil, log)
	if err != nil {
		log.Warn("the registry could not be read; serving the built-in models until it can", "err", err)
	} else {
		srv.Swap(ms)
	}
	var notify chan string
	if st.pg != nil {
		notify = make(chan string, 1)
		go st.pg.Listen(ctx, notify, log)
	}
	srv.Watch(ctx, st.db, base, serving.DefaultPoll, notify, log)
}
