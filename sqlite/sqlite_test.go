package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

var day0 = closecast.MustParseDate("2026-04-01")

// mkBars returns n valid consecutive daily bars from start whose closes are
// level, level+1, …
func mkBars(start closecast.Date, n int, level float64) []closecast.Bar {
	bars := make([]closecast.Bar, n)
	for i := range bars {
		c := level + float64(i)
		bars[i] = closecast.Bar{Date: start.AddDays(i), Open: c - 0.5, High: c + 1, Low: c - 1, Close: c, Volume: 1000 + float64(i)}
	}
	return bars
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "store", FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dump renders every row of every table, so tests can assert that a failed
// write left the store byte for byte as it was.
func dump(t *testing.T, db *DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT symbol, date, open, high, low, close, volume, fetched_at FROM bars ORDER BY symbol, date`,
		`SELECT id, symbol, from_date, to_date, added, updated, error, at FROM fetch_log ORDER BY id`,
		`SELECT id, requested_at, symbol, target_date, model_version, value, last_close, actual, error, scored_at FROM predictions ORDER BY id`,
	} {
		rows, err := db.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv(HomeEnv, home)
	got, err := DefaultPath()
	if err != nil || got != filepath.Join(home, "closecast.db") {
		t.Fatalf("with %s=%s: DefaultPath() = %q, %v", HomeEnv, home, got, err)
	}
	user := t.TempDir()
	t.Setenv(HomeEnv, "")
	t.Setenv("HOME", user)
	got, err = DefaultPath()
	if err != nil || got != filepath.Join(user, ".closecast", "closecast.db") {
		t.Fatalf("without %s, HOME=%s: DefaultPath() = %q, %v", HomeEnv, user, got, err)
	}
}

func TestOpenCreatesPrivateDirAndSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	// '?', '#' and '%' in the path must not be read as DSN syntax.
	path := filepath.Join(dir, "we?ird#na%20me.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("store directory mode = %o, want 700", perm)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("store file not at the path asked for: %v", err)
	}
	var version int
	var mode string
	if err := db.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion() || mode != "wal" {
		t.Errorf("user_version = %d, journal_mode = %q; want %d, wal", version, mode, SchemaVersion())
	}
	var fk int
	if err := db.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if _, _, err := db.Upsert(context.Background(), "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening runs no migration twice (it would fail: the tables exist)
	// and keeps the data.
	db, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	s, err := db.Bars(context.Background(), "BTC-USD", day0, day0.AddDays(10))
	if err != nil || s.Len() != 3 || s.Bars[2].Close != 102 {
		t.Fatalf("after reopen: %d bars, %v; want the 3 stored", s.Len(), err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a newer store: %v; want ErrSchemaTooNew naming %s", err, path)
	}
}

func TestMigrateIsAtomicAndIncremental(t *testing.T) {
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	version := func() int {
		var v int
		if err := raw.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	tableExists := func(name string) bool {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	// A failing second step undoes the first one too.
	err = migrate(ctx, raw, []string{`CREATE TABLE one (x)`, `CREATE TABLE two (`})
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("bad step 2: err = %v; want an error naming version 2", err)
	}
	if version() != 0 || tableExists("one") {
		t.Fatalf("after a failed migration: version %d, table one exists %v; want 0, false", version(), tableExists("one"))
	}

	// Steps already applied are not run again: re-running
	// CREATE TABLE one would fail.
	steps := []string{`CREATE TABLE one (x)`}
	if err := migrate(ctx, raw, steps); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, `CREATE TABLE two (y)`)
	if err := migrate(ctx, raw, steps); err != nil {
		t.Fatalf("adding a step to a migrated store: %v", err)
	}
	if version() != 2 || !tableExists("two") {
		t.Fatalf("version %d, table two exists %v; want 2, true", version(), tableExists("two"))
	}
}

func TestUpsertCountsAddedAndUpdated(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	bars := mkBars(day0, 5, 100)
	if a, u, err := db.Upsert(ctx, "BTC-USD", bars); err != nil || a != 5 || u != 0 {
		t.Fatalf("first upsert: added %d, updated %d, %v; want 5, 0", a, u, err)
	}
	before := dump(t, db)
	if a, u, err := db.Upsert(ctx, "BTC-USD", bars); err != nil || a != 0 || u != 0 {
		t.Fatalf("identical re-upsert: added %d, updated %d, %v; want 0, 0", a, u, err)
	}
	if after := dump(t, db); after != before {
		t.Fatalf("identical re-upsert changed the store:\n%s\nwant\n%s", after, before)
	}

	// Revise days 3 and 4 (only Volume on day 4), add day 5.
	next := mkBars(day0.AddDays(3), 3, 103)
	next[0].Close, next[0].High = 150, 151
	next[1].Volume = 1
	if a, u, err := db.Upsert(ctx, "BTC-USD", next); err != nil || a != 1 || u != 2 {
		t.Fatalf("revising upsert: added %d, updated %d, %v; want 1, 2", a, u, err)
	}
	s, err := db.Bars(ctx, "BTC-USD", day0, day0.AddDays(100))
	if err != nil {
		t.Fatal(err)
	}
	want := append(mkBars(day0, 3, 100), next...)
	if len(s.Bars) != len(want) {
		t.Fatalf("got %d bars, want %d", len(s.Bars), len(want))
	}
	for i := range want {
		if s.Bars[i] != want[i] {
			t.Errorf("bar %d = %+v, want %+v", i, s.Bars[i], want[i])
		}
	}
	if s.Symbol != "BTC-USD" {
		t.Errorf("series symbol %q", s.Symbol)
	}

	// A sub-range, and a second symbol kept apart from the first.
	s, err = db.Bars(ctx, "BTC-USD", day0.AddDays(1), day0.AddDays(2))
	if err != nil || s.Len() != 2 || s.Bars[0].Date != day0.AddDays(1) {
		t.Fatalf("sub-range: %+v, %v", s.Bars, err)
	}
	if _, _, err := db.Upsert(ctx, "ETH-USD", mkBars(day0.AddDays(-10), 2, 10)); err != nil {
		t.Fatal(err)
	}
	first, last, ok, err := db.Range(ctx, "BTC-USD")
	if err != nil || !ok || first != day0 || last != day0.AddDays(5) {
		t.Errorf("Range(BTC-USD) = %s, %s, %v, %v; want %s, %s", first, last, ok, err, day0, day0.AddDays(5))
	}
	if _, _, ok, err := db.Range(ctx, "AAPL"); ok || err != nil {
		t.Errorf("Range(AAPL) ok = %v, err = %v; want false, nil", ok, err)
	}
	syms, err := db.Symbols(ctx)
	if err != nil || strings.Join(syms, ",") != "BTC-USD,ETH-USD" {
		t.Errorf("Symbols() = %v, %v", syms, err)
	}
}

func TestUpsertRejectsBadInputWritingNothing(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)

	bad := mkBars(day0, 6, 200) // would update 3 bars and add 3
	bad[4].Low = bad[4].Open + 5
	_, _, err := db.Upsert(ctx, "BTC-USD", bad)
	var be *closecast.BarError
	if !errors.As(err, &be) || be.Index != 4 || be.Date != day0.AddDays(4) || !strings.Contains(err.Error(), "Low") {
		t.Fatalf("invalid bar 4: err = %v; want a BarError naming bar 4, %s, Low", err, day0.AddDays(4))
	}

	unsorted := mkBars(day0, 4, 200)
	unsorted[2].Date = unsorted[1].Date
	if _, _, err := db.Upsert(ctx, "BTC-USD", unsorted); !errors.Is(err, closecast.ErrUnsorted) {
		t.Fatalf("duplicate date: err = %v; want ErrUnsorted", err)
	}
	for _, sym := range []string{"", "BTC USD", "BTC\n", strings.Repeat("X", 33)} {
		if _, _, err := db.Upsert(ctx, sym, mkBars(day0, 1, 1)); err == nil {
			t.Errorf("symbol %q accepted", sym)
		}
	}
	if after := dump(t, db); after != before {
		t.Fatalf("a rejected upsert changed the store:\n%s\nwant\n%s", after, before)
	}
}

func TestUpsertCancelledMidTransactionLeavesStoreUnchanged(t *testing.T) {
	for _, fetched := range []bool{false, true} {
		t.Run(fmt.Sprintf("fetched=%v", fetched), func(t *testing.T) {
			db := openTemp(t)
			if _, _, err := db.Upsert(context.Background(), "BTC-USD", mkBars(day0, 5, 100)); err != nil {
				t.Fatal(err)
			}
			// Live forecasts of a stored day (scored: its close is 102) and
			// of a day the cancelled upsert would have added: neither may
			// change.
			if err := db.Record(context.Background(), time.Unix(1e9, 0), []closecast.Prediction{
				pred("BTC-USD", day0.AddDays(2), "m1", 105, 101),
				pred("BTC-USD", day0.AddDays(6), "m1", 107, 105),
			}); err != nil {
				t.Fatal(err)
			}
			before := dump(t, db)
			if !strings.Contains(before, " 102 3 ") {
				t.Fatalf("the forecast of a stored day is not scored (actual 102, error 3):\n%s", before)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var written int
			db.afterWrite = func(i int) {
				written++
				if i == 6 { // 5 updates and 2 inserts are in the transaction by now
					cancel()
				}
			}
			bars := mkBars(day0, 12, 300)
			var err error
			if fetched {
				_, _, err = db.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(11), bars)
			} else {
				_, _, err = db.Upsert(ctx, "BTC-USD", bars)
			}
			db.afterWrite = nil
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v; want context.Canceled", err)
			}
			if written < 7 {
				t.Fatalf("only %d rows were written before the cancel; the test did not cancel mid-transaction", written)
			}
			if after := dump(t, db); after != before {
				t.Fatalf("a cancelled upsert changed the store:\n%s\nwant\n%s", after, before)
			}
			// The store still works after the rollback.
			if a, u, err := db.Upsert(context.Background(), "BTC-USD", bars); err != nil || a != 7 || u != 5 {
				t.Fatalf("upsert after the cancelled one: %d, %d, %v; want 7, 5", a, u, err)
			}
		})
	}
}

func TestUpsertConstraintFailureLeavesStoreUnchanged(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 5, 100)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(4), nil); err != nil {
		t.Fatal(err)
	}
	// The database refuses the 9th bar, after 8 were written in the transaction.
	failDay := day0.AddDays(8)
	if _, err := db.db.Exec(fmt.Sprintf(`CREATE TRIGGER refuse BEFORE INSERT ON bars WHEN NEW.date = %d
		BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`, failDay)); err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)
	_, _, err := db.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(11), mkBars(day0, 12, 500))
	if err == nil || !strings.Contains(err.Error(), "refused by test trigger") || !strings.Contains(err.Error(), failDay.String()) {
		t.Fatalf("err = %v; want the trigger's refusal naming %s", err, failDay)
	}
	if after := dump(t, db); after != before {
		t.Fatalf("a failed upsert changed the store:\n%s\nwant\n%s", after, before)
	}
}

func TestBarsUnknownSymbolAndEmptyRange(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Bars(ctx, "AAPL", day0, day0.AddDays(3)); !errors.Is(err, closecast.ErrUnknownSymbol) {
		t.Errorf("unknown symbol: err = %v; want ErrUnknownSymbol", err)
	}
	s, err := db.Bars(ctx, "BTC-USD", day0.AddDays(10), day0.AddDays(20))
	if err != nil || s.Len() != 0 {
		t.Errorf("known symbol, no bar in range: %d bars, %v; want 0, nil", s.Len(), err)
	}
	if _, err := db.Bars(ctx, "BTC-USD", day0.AddDays(2), day0); err == nil || !strings.Contains(err.Error(), "after") {
		t.Errorf("from after to: err = %v", err)
	}
}

func TestBarsRevalidatesStoredRows(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	// A hand edit that the schema's CHECKs allow but a bar must not have.
	if _, err := db.db.Exec(`UPDATE bars SET high = 1 WHERE date = ?`, int64(day0.AddDays(1))); err != nil {
		t.Fatal(err)
	}
	_, err := db.Bars(ctx, "BTC-USD", day0, day0.AddDays(3))
	var be *closecast.BarError
	if !errors.As(err, &be) || be.Date != day0.AddDays(1) || !strings.Contains(err.Error(), db.Path()) {
		t.Fatalf("err = %v; want a BarError for %s naming the store file", err, day0.AddDays(1))
	}
}

func TestFetchLog(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	from, to := day0, day0.AddDays(9)
	if a, u, err := db.UpsertFetched(ctx, "BTC-USD", from, to, mkBars(day0, 4, 100)); err != nil || a != 4 || u != 0 {
		t.Fatalf("UpsertFetched: %d, %d, %v", a, u, err)
	}
	if err := db.LogFetchError(ctx, "ETH-USD", from, to, errors.New("HTTP 429")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertFetched(ctx, "BTC-USD", from, to, mkBars(day0, 5, 100)); err != nil {
		t.Fatal(err)
	}
	all, err := db.Fetches(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d log rows, want 3: %+v", len(all), all)
	}
	if r := all[0]; r.Symbol != "BTC-USD" || r.Added != 1 || r.Updated != 0 || r.From != from || r.To != to || r.Err != "" || r.At.IsZero() {
		t.Errorf("newest row = %+v", r)
	}
	if r := all[1]; r.Symbol != "ETH-USD" || r.Err != "HTTP 429" {
		t.Errorf("second row = %+v; want the ETH-USD failure", r)
	}
	btc, err := db.Fetches(ctx, "BTC-USD", 1)
	if err != nil || len(btc) != 1 || btc[0].Added != 1 {
		t.Errorf("Fetches(BTC-USD, 1) = %+v, %v", btc, err)
	}
}

func TestFetchLogStaysSmall(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	for i := 0; i < FetchLogLimit+5; i++ {
		if err := db.LogFetchError(ctx, "BTC-USD", day0, day0, fmt.Errorf("failure %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.db.QueryRow(`SELECT count(*) FROM fetch_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != FetchLogLimit {
		t.Fatalf("%d log rows, want %d", n, FetchLogLimit)
	}
	newest, err := db.Fetches(ctx, "BTC-USD", 1)
	if err != nil || len(newest) != 1 || newest[0].Err != fmt.Sprintf("failure %d", FetchLogLimit+4) {
		t.Fatalf("newest row = %+v, %v", newest, err)
	}
}

func TestOpenMemoryIsIsolated(t *testing.T) {
	ctx := context.Background()
	a, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := a.Upsert(ctx, "BTC-USD", mkBars(day0, 2, 10)); err != nil {
		t.Fatal(err)
	}
	if s, err := a.Bars(ctx, "BTC-USD", day0, day0.AddDays(1)); err != nil || s.Len() != 2 {
		t.Fatalf("memory store a: %d bars, %v", s.Len(), err)
	}
	if _, err := b.Bars(ctx, "BTC-USD", day0, day0.AddDays(1)); !errors.Is(err, closecast.ErrUnknownSymbol) {
		t.Fatalf("memory store b sees a's bars: %v", err)
	}
}

// TestConcurrentUpsertsAreAtomicToReaders runs writers that each replace a
// whole series with one level, and readers that check every series they
// read is at one level: a reader seeing half of an upsert fails. Run with
// -race.
func TestConcurrentUpsertsAreAtomicToReaders(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	const n = 60
	flat := func(level float64) []closecast.Bar {
		bars := make([]closecast.Bar, n)
		for i := range bars {
			bars[i] = closecast.Bar{Date: day0.AddDays(i), Open: level, High: level, Low: level, Close: level, Volume: level}
		}
		return bars
	}
	if _, _, err := db.Upsert(ctx, "BTC-USD", flat(1)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < 15; k++ {
				level := float64(2 + w*100 + k)
				if a, u, err := db.Upsert(ctx, "BTC-USD", flat(level)); err != nil || a != 0 || u != n {
					errs <- fmt.Errorf("writer %d: added %d, updated %d, %v; want 0, %d", w, a, u, err, n)
					return
				}
			}
		}(w)
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 40; k++ {
				s, err := db.Bars(ctx, "BTC-USD", day0, day0.AddDays(n))
				if err != nil {
					errs <- err
					return
				}
				if s.Len() != n {
					errs <- fmt.Errorf("reader saw %d bars, want %d", s.Len(), n)
					return
				}
				for _, b := range s.Bars {
					if b.Close != s.Bars[0].Close {
						errs <- fmt.Errorf("reader saw a half-written upsert: closes %v and %v", s.Bars[0].Close, b.Close)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSymbolsAreCaseInsensitive(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, _, err := db.UpsertFetched(ctx, "btc-usd", day0, day0.AddDays(1), mkBars(day0, 2, 10)); err != nil {
		t.Fatal(err)
	}
	if a, u, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 2, 10)); err != nil || a != 0 || u != 0 {
		t.Fatalf("same bars under the upper-case symbol: added %d, updated %d, %v; want 0, 0", a, u, err)
	}
	s, err := db.Bars(ctx, "Btc-Usd", day0, day0.AddDays(1))
	if err != nil || s.Len() != 2 || s.Symbol != "BTC-USD" {
		t.Fatalf("Bars(Btc-Usd) = %q, %d bars, %v; want BTC-USD, 2", s.Symbol, s.Len(), err)
	}
	syms, _ := db.Symbols(ctx)
	log, _ := db.Fetches(ctx, "btc-usd", 5)
	if len(syms) != 1 || syms[0] != "BTC-USD" || len(log) != 1 || log[0].Symbol != "BTC-USD" {
		t.Fatalf("Symbols() = %v, fetch log = %+v; want one BTC-USD", syms, log)
	}
}

func TestOpenRejectsANonDatabaseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("date,open,high,low,close,volume\n"+strings.Repeat("x", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("a CSV file opened as a store")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a database") {
		t.Fatalf("err = %v; want it to name %s and say it is not a database", err, path)
	}
}
