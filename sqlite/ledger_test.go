package sqlite

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

// pred is a live forecast of symbol's close on date by model.
func pred(symbol string, date closecast.Date, model string, value, lastClose float64) closecast.Prediction {
	return closecast.Prediction{
		Forecast:  closecast.Forecast{Symbol: symbol, Date: date, Value: value},
		Model:     model,
		InputTo:   date - 1,
		LastClose: lastClose,
	}
}

// ledgerRow is one predictions row as stored, NULLs as nil.
type ledgerRow struct {
	requestedAt      int64
	value, lastClose float64
	actual, err      *float64
	scoredAt         *int64
}

func readLedger(t *testing.T, db *DB, symbol string, date closecast.Date, model string) (ledgerRow, bool) {
	t.Helper()
	var r ledgerRow
	var actual, e sql.NullFloat64
	var scored sql.NullInt64
	err := db.db.QueryRow(`SELECT requested_at, value, last_close, actual, error, scored_at FROM predictions
		WHERE symbol = ? AND target_date = ? AND model_version = ?`, symbol, int64(date), model).
		Scan(&r.requestedAt, &r.value, &r.lastClose, &actual, &e, &scored)
	if err == sql.ErrNoRows {
		return r, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if actual.Valid {
		r.actual = &actual.Float64
	}
	if e.Valid {
		r.err = &e.Float64
	}
	if scored.Valid {
		r.scoredAt = &scored.Int64
	}
	return r, true
}

func countLedger(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.db.QueryRow(`SELECT count(*) FROM predictions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLedgerScoresWhenTheActualArrives(t *testing.T) {
	ctx := context.Background()
	for _, fetched := range []bool{false, true} {
		db := openTemp(t)
		// Bars of day0..day0+4 (closes 100..104) are stored; the forecast
		// of day0+5 is made from the close of day0+4.
		if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 5, 100)); err != nil {
			t.Fatal(err)
		}
		target := day0.AddDays(5)
		at := time.Date(2026, 4, 5, 18, 0, 0, 0, time.UTC)
		if err := db.Record(ctx, at, []closecast.Prediction{pred("btc-usd", target, "m1", 107.5, 104)}); err != nil {
			t.Fatal(err)
		}
		r, ok := readLedger(t, db, "BTC-USD", target, "m1")
		if !ok || r.requestedAt != at.Unix() || r.value != 107.5 || r.lastClose != 104 || r.actual != nil || r.err != nil || r.scoredAt != nil {
			t.Fatalf("recorded row %+v, found %v; want requested_at %d, value 107.5, last_close 104, unscored", r, ok, at.Unix())
		}
		if got, err := db.Scored(ctx, "BTC-USD", 30); err != nil || len(got) != 0 {
			t.Fatalf("Scored before the actual: %v, %v; want none", got, err)
		}

		// The close of day0+5 arrives: 100+5 = 105 at level 100, so the
		// error is 107.5 − 105 = 2.5 and persistence's |105 − 104| = 1.
		bars := mkBars(day0, 6, 100)
		var err error
		if fetched {
			_, _, err = db.UpsertFetched(ctx, "BTC-USD", day0, target, bars)
		} else {
			_, _, err = db.Upsert(ctx, "BTC-USD", bars)
		}
		if err != nil {
			t.Fatal(err)
		}
		r, _ = readLedger(t, db, "BTC-USD", target, "m1")
		if r.actual == nil || *r.actual != 105 || r.err == nil || *r.err != 2.5 || r.scoredAt == nil {
			t.Fatalf("after the actual arrived (fetched=%v): %+v; want actual 105, error 2.5, scored", fetched, r)
		}
		got, err := db.Scored(ctx, "BTC-USD", 30)
		if err != nil || len(got) != 1 {
			t.Fatalf("Scored: %v, %v; want one row", got, err)
		}
		p := got[0]
		if p.Symbol != "BTC-USD" || p.Date != target || p.Model != "m1" || p.Value != 107.5 || p.LastClose != 104 || p.Actual == nil || *p.Actual != 105 {
			t.Fatalf("Scored row %+v (actual %v)", p, p.Actual)
		}
		if pe := math.Abs(*p.Actual - p.LastClose); pe != 1 {
			t.Errorf("persistence error %v, want 1", pe)
		}

		// A revised close re-scores: 110 → error −2.5.
		rev := mkBars(target, 1, 110)
		if _, u, err := db.Upsert(ctx, "BTC-USD", rev); err != nil || u != 1 {
			t.Fatalf("revising the close: %d updated, %v", u, err)
		}
		r, _ = readLedger(t, db, "BTC-USD", target, "m1")
		if *r.actual != 110 || *r.err != -2.5 {
			t.Fatalf("after a revised close: actual %v, error %v; want 110, -2.5", *r.actual, *r.err)
		}
		// Bars of another symbol score nothing of BTC-USD.
		if _, _, err := db.Upsert(ctx, "ETH-USD", mkBars(target, 1, 3000)); err != nil {
			t.Fatal(err)
		}
		if r, _ = readLedger(t, db, "BTC-USD", target, "m1"); *r.actual != 110 {
			t.Fatalf("an ETH-USD bar changed a BTC-USD score: actual %v", *r.actual)
		}
	}
}

func TestLedgerRecordScoresAnAlreadyStoredDay(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	// The bar of day0+2 (close 102) was stored before the forecast was
	// recorded (a fetch raced the server's writer): it is scored at once.
	if err := db.Record(ctx, time.Now(), []closecast.Prediction{pred("BTC-USD", day0.AddDays(2), "m1", 99, 101)}); err != nil {
		t.Fatal(err)
	}
	r, _ := readLedger(t, db, "BTC-USD", day0.AddDays(2), "m1")
	if r.actual == nil || *r.actual != 102 || *r.err != -3 {
		t.Fatalf("row %+v; want actual 102, error -3", r)
	}
}

func TestLedgerDedupeLatestWins(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	target := day0.AddDays(3)
	t1, t2 := time.Unix(1_700_000_000, 0), time.Unix(1_700_003_600, 0)
	if err := db.Record(ctx, t1, []closecast.Prediction{pred("BTC-USD", target, "m1", 200, 190)}); err != nil {
		t.Fatal(err)
	}
	// The same (symbol, day, model) again, in one batch with another model's
	// forecast of the same day: one row per model, the latest value kept.
	if err := db.Record(ctx, t2, []closecast.Prediction{
		pred("BTC-USD", target, "m1", 201, 191),
		pred("BTC-USD", target, "m2", 150, 191),
	}); err != nil {
		t.Fatal(err)
	}
	if n := countLedger(t, db); n != 2 {
		t.Fatalf("%d rows; want 2 (one per model)", n)
	}
	r, _ := readLedger(t, db, "BTC-USD", target, "m1")
	if r.value != 201 || r.lastClose != 191 || r.requestedAt != t2.Unix() {
		t.Fatalf("m1 row %+v; want the latest record (201, 191, %d)", r, t2.Unix())
	}
	// Once scored, a newer record of the same forecast keeps the actual and
	// recomputes the error from its value.
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(target, 1, 195)); err != nil {
		t.Fatal(err)
	}
	if err := db.Record(ctx, t2, []closecast.Prediction{pred("BTC-USD", target, "m1", 196, 191)}); err != nil {
		t.Fatal(err)
	}
	r, _ = readLedger(t, db, "BTC-USD", target, "m1")
	if *r.actual != 195 || *r.err != 1 {
		t.Fatalf("re-recorded scored row: actual %v, error %v; want 195, 1", *r.actual, *r.err)
	}
	got, err := db.Scored(ctx, "BTC-USD", 1)
	if err != nil || len(got) != 2 || got[0].Model != "m1" || got[1].Model != "m2" || got[1].Value != 150 {
		t.Fatalf("Scored: %+v, %v; want m1 then m2 of the same day", got, err)
	}
}

func TestLedgerScoredWindow(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	// Forecasts of 10 days, of which the first 8 have an actual; the days
	// window ends on the newest scored day (day0+7), not on today.
	var ps []closecast.Prediction
	for i := range 10 {
		ps = append(ps, pred("BTC-USD", day0.AddDays(i), "m1", 100+float64(i)+0.5, 99+float64(i)))
	}
	if err := db.Record(ctx, time.Now(), ps); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Upsert(ctx, "BTC-USD", mkBars(day0, 8, 100)); err != nil {
		t.Fatal(err)
	}
	got, err := db.Scored(ctx, "BTC-USD", 3)
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, p := range got {
		dates = append(dates, p.Date.String())
		if want := float64(p.Date - day0 + 100); *p.Actual != want {
			t.Errorf("%s: actual %v, want %v", p.Date, *p.Actual, want)
		}
	}
	want := []string{day0.AddDays(7).String(), day0.AddDays(6).String(), day0.AddDays(5).String()}
	if strings.Join(dates, ",") != strings.Join(want, ",") {
		t.Fatalf("Scored(3) dates %v; want %v (newest scored first)", dates, want)
	}
	if got, err := db.Scored(ctx, "ETH-USD", 3); err != nil || len(got) != 0 {
		t.Errorf("a symbol never forecast: %v, %v; want none, no error", got, err)
	}
	for _, days := range []int{0, -1, MaxLedgerDays + 1} {
		if _, err := db.Scored(ctx, "BTC-USD", days); err == nil || !strings.Contains(err.Error(), "days") {
			t.Errorf("Scored(days=%d): %v; want an error naming days", days, err)
		}
	}
}

func TestLedgerRejectsBadForecastsWritingNothing(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	good := pred("BTC-USD", day0, "m1", 100, 99)
	for _, tc := range []struct {
		name string
		bad  closecast.Prediction
		want string
	}{
		{"symbol", pred("BTC USD", day0, "m1", 100, 99), "space"},
		{"model", pred("BTC-USD", day0, "", 100, 99), "model version"},
		{"NaN value", pred("BTC-USD", day0, "m1", math.NaN(), 99), "value NaN"},
		{"zero last close", pred("BTC-USD", day0, "m1", 100, 0), "last close 0"},
		{"infinite last close", pred("BTC-USD", day0, "m1", 100, math.Inf(1)), "last close +Inf"},
	} {
		err := db.Record(ctx, time.Now(), []closecast.Prediction{good, tc.bad})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "forecast 1") {
			t.Errorf("%s: %v; want an error naming forecast 1 and %q", tc.name, err, tc.want)
		}
	}
	if n := countLedger(t, db); n != 0 {
		t.Fatalf("%d rows written by refused batches; want 0", n)
	}
}

func TestLedgerMigratesAVersion1Store(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	raw, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := migrate(ctx, raw, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO bars VALUES ('BTC-USD', ?, 1, 2, 0.5, 1.5, 10, 0)`, int64(day0)); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatalf("opening a version-1 store: %v", err)
	}
	defer db.Close()
	if err := db.Record(ctx, time.Now(), []closecast.Prediction{pred("BTC-USD", day0, "m1", 2, 1.4)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Scored(ctx, "BTC-USD", 30)
	if err != nil || len(got) != 1 || *got[0].Actual != 1.5 {
		t.Fatalf("after migrating: %+v, %v; want the old bar to score the forecast (actual 1.5)", got, err)
	}
}

// A store whose ledger was written before it kept distributions (schema
// version 3) migrates, and its rows read back valid, without quantiles.
func TestLedgerRowsBeforeQuantilesMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	raw, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := migrate(ctx, raw, migrations[:3]); err != nil {
		t.Fatal(err)
	}
	d := closecast.MustParseDate("2025-01-02")
	if _, err := raw.Exec(`INSERT INTO bars VALUES ('BTC-USD', ?, 100, 100, 100, 100, 1, 0)`, int64(d)); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO predictions (requested_at, symbol, target_date, model_version, value, last_close, actual, error, scored_at)
		VALUES (1, 'BTC-USD', ?, 'm1', 101, 99, 100, 1, 2)`, int64(d)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(path)
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
	// A new forecast of the same key now keeps its distribution.
	p := ps[0]
	p.Actual, p.Quantiles = nil, new(closecast.Distribution)
	for k := range p.Quantiles {
		p.Quantiles[k] = 90 + float64(k)
	}
	if err := db.Record(ctx, time.Unix(3, 0), []closecast.Prediction{p}); err != nil {
		t.Fatal(err)
	}
	if ps, err = db.Scored(ctx, "BTC-USD", 30); err != nil || len(ps) != 1 || ps[0].Quantiles == nil || ps[0].Quantiles[20] != 110 {
		t.Fatalf("Scored after recording quantiles = %+v, %v", ps, err)
	}
}
