package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var day0 = closecast.MustParseDate("2025-01-01")

func mkBars(start closecast.Date, n int, level float64) []closecast.Bar {
	bars := make([]closecast.Bar, n)
	for i := range bars {
		c := level + float64(i)
		bars[i] = closecast.Bar{Date: start.AddDays(i), Open: c, High: c + 1, Low: c - 1, Close: c, Volume: 1}
	}
	return bars
}

// openTest opens a new database with opts, closed when t ends.
func openTest(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	u := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := Open(ctx, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

// TestMigrateRecordsEveryVersionOnce opens a database twice and checks that
// schema_migrations lists each embedded migration once.
func TestMigrateRecordsEveryVersionOnce(t *testing.T) {
	db, u := openTest(t, Options{})
	ctx := context.Background()
	again, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatalf("opening a migrated database: %v", err)
	}
	again.Close()
	var n, max int
	if err := db.pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() || max != SchemaVersion() || SchemaVersion() < 1 {
		t.Fatalf("schema_migrations has %d rows up to %d; want %d", n, max, SchemaVersion())
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	db, u := openTest(t, Options{})
	ctx := context.Background()
	if _, err := db.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'future.sql')`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, u, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("opening a newer schema: %v; want ErrSchemaTooNew", err)
	}
}

// TestOptions checks that the pool takes the options: a Lambda's pool of 2
// with the simple protocol serves more concurrent callers than connections.
func TestOptions(t *testing.T) {
	db, u := openTest(t, Options{MaxConns: LambdaMaxConns, SimpleProtocol: true, ConnectTimeout: 3 * time.Second})
	cfg := db.pool.Config()
	if cfg.MaxConns != 2 || cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeSimpleProtocol || cfg.ConnConfig.ConnectTimeout != 3*time.Second {
		t.Fatalf("pool config: max %d, mode %v, timeout %v", cfg.MaxConns, cfg.ConnConfig.DefaultQueryExecMode, cfg.ConnConfig.ConnectTimeout)
	}
	def, err := New(u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if got := def.pool.Config().ConnConfig.ConnectTimeout; got != DefaultConnectTimeout {
		t.Errorf("default connect timeout %v, want %v", got, DefaultConnectTimeout)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = db.Upsert(ctx, "BTC-USD", mkBars(day0.AddDays(10*i), 20, 100))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if first, last, ok, err := db.Range(ctx, "BTC-USD"); err != nil || !ok || first != day0 || last != day0.AddDays(89) {
		t.Fatalf("range %s..%s %v %v", first, last, ok, err)
	}
}

// TestUpsertCancelledMidTransactionWritesNothing cancels the context after
// the bars are written but before the commit.
func TestUpsertCancelledMidTransactionWritesNothing(t *testing.T) {
	db, _ := openTest(t, Options{})
	if _, _, err := db.Upsert(context.Background(), "BTC-USD", mkBars(day0, 5, 100)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.afterWrite = cancel
	_, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 10, 500))
	db.afterWrite = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled upsert: %v; want context.Canceled", err)
	}
	s, err := db.Bars(context.Background(), "BTC-USD", day0, day0.AddDays(20))
	if err != nil || s.Len() != 5 || s.Bars[0].Close != 100 {
		t.Fatalf("after a cancelled upsert: %d bars (first %v), %v; want the 5 bars stored before", s.Len(), s.Bars, err)
	}
}

// TestPromotionNotifies checks that a promotion is announced on
// ModelsChannel with the symbol, for servers that reload their champion.
func TestPromotionNotifies(t *testing.T) {
	db, u := openTest(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // hang guard
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+ModelsChannel); err != nil {
		t.Fatal(err)
	}
	files, err := artifact.ReadFiles(shippedModel(t))
	if err != nil {
		t.Fatal(err)
	}
	info, err := db.PutModel(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Promote(ctx, info.Version); err != nil {
		t.Fatal(err)
	}
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != ModelsChannel || n.Payload != info.Symbol {
		t.Fatalf("notification %s %q; want %s %q", n.Channel, n.Payload, ModelsChannel, info.Symbol)
	}
	if c, err := db.Champion(ctx, info.Symbol); err != nil || c.Version != info.Version {
		t.Fatalf("champion %+v, %v", c, err)
	}
}

// shippedModel returns the directory of the model shipped in models/.
func shippedModel(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "models", "btc-usd"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRecoversAfterTheServerRestarts stops the server under an open store:
// operations fail with an error (not a hang) while it is down, and succeed
// again once it is back, on the same *DB, without reopening.
func TestRecoversAfterTheServerRestarts(t *testing.T) {
	c := pgtest.Stoppable(t)
	db, _ := openTest(t, Options{ConnectTimeout: 2 * time.Second, neverPing: true})
	ctx := context.Background()
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 5, 100)); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			c.Start()
		}
	}()
	down, cancel := context.WithTimeout(ctx, time.Minute) // hang guard
	_, _, err := db.Upsert(down, "BTC-USD", mkBars(day0.AddDays(5), 1, 200))
	cancel()
	if err == nil {
		t.Fatal("an upsert succeeded with the server down")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if a, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0.AddDays(5), 1, 200)); err != nil || a != 1 {
		t.Fatalf("upsert after the restart: %d added, %v", a, err)
	}
	if _, last, ok, err := db.Range(ctx, "BTC-USD"); err != nil || !ok || last != day0.AddDays(5) {
		t.Fatalf("range after the restart: ..%s %v %v", last, ok, err)
	}
	// A restart between two operations leaves the pool's connections dead;
	// the next transaction and the next ledger write find new ones. Several
	// at once, so that more than one pooled connection is in use and dead.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { db.Upsert(ctx, "ETH-USD", mkBars(day0.AddDays(i), 1, 100)) })
	}
	wg.Wait()
	for range 2 {
		restarted = false
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		restarted = true
	}
	if a, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0.AddDays(6), 1, 200)); err != nil || a != 1 {
		t.Fatalf("upsert after a restart while idle: %d added, %v", a, err)
	}
	if err := db.Record(ctx, time.Now(), []closecast.Prediction{{Forecast: closecast.Forecast{Symbol: "BTC-USD", Date: day0.AddDays(9), Value: 1},
		Model: "m1", LastClose: 1}}); err != nil {
		t.Fatalf("ledger write after a restart while idle: %v", err)
	}
	if n, err := db.Pending(ctx, "BTC-USD"); err != nil || n != 1 {
		t.Fatalf("pending %d, %v; want the one forecast recorded", n, err)
	}
	// And a read first after a restart.
	wg = sync.WaitGroup{}
	for range 4 {
		wg.Go(func() { db.Pending(ctx, "BTC-USD") })
	}
	wg.Wait()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted = false
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if s, err := db.Bars(ctx, "BTC-USD", day0, day0.AddDays(10)); err != nil || s.Len() != 7 {
		t.Fatalf("bars read after a restart while idle: %d, %v; want 7", s.Len(), err)
	}
}

// A ledger written before it kept distributions (schema version 2)
// migrates, and its rows read back valid, without quantiles.
func TestLedgerRowsBeforeQuantilesMigrate(t *testing.T) {
	db, u := openTest(t, Options{})
	ctx := context.Background()
	// Back to version 2: as a database written by the closecast before.
	if _, err := db.pool.Exec(ctx, `ALTER TABLE predictions DROP COLUMN quantiles; DELETE FROM schema_migrations WHERE version >= 3`, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 1, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO predictions (requested_at, symbol, target_date, model_version, value, last_close, actual, error, scored_at)
		VALUES (1, 'BTC-USD', $1, 'm1', 101, 99, 100, 1, 2)`, int32(day0)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps, err := db.Scored(ctx, "BTC-USD", 30)
	if err != nil || len(ps) != 1 || ps[0].Value != 101 || *ps[0].Actual != 100 || ps[0].Quantiles != nil {
		t.Fatalf("Scored after the migration = %+v, %v; want the old row, no quantiles", ps, err)
	}
	es, err := db.LedgerEntries(ctx)
	if err != nil || len(es) != 1 || es[0].Quantiles != nil {
		t.Fatalf("LedgerEntries after the migration = %+v, %v", es, err)
	}
}
