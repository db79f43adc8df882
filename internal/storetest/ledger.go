package storetest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/closecast/closecast"
)

// pred is a forecast of symbol's close on date by model.
func pred(symbol string, date closecast.Date, model string, value, lastClose float64) closecast.Prediction {
	return closecast.Prediction{Forecast: closecast.Forecast{Symbol: symbol, Date: date, Value: value},
		Model: model, LastClose: lastClose}
}

// scored returns the Scored rows of symbol as (date, model) → (value, actual).
func scored(t testing.TB, s Store, symbol string, days int) []closecast.Prediction {
	t.Helper()
	ps, err := s.Scored(context.Background(), symbol, days)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func pending(t testing.TB, s Store, symbol string) int {
	t.Helper()
	n, err := s.Pending(context.Background(), symbol)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testLedger(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	// Bars day0..day0+4 are stored (closes 100..104).
	if _, _, err := s.Upsert(ctx, "BTC-USD", mkBars(day0, 5, 100)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 5, 18, 0, 0, 0, time.UTC)
	// day0+4 is already known: scored at once. day0+5 and day0+6 wait.
	err := s.Record(ctx, at, []closecast.Prediction{
		pred("btc-usd", day0.AddDays(4), "m1", 106, 103),
		pred("BTC-USD", day0.AddDays(5), "m1", 107.5, 104),
		pred("BTC-USD", day0.AddDays(6), "m1", 108, 104),
		pred("ETH-USD", day0.AddDays(5), "m1", 3000, 2900),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := pending(t, s, "BTC-USD"); n != 2 {
		t.Fatalf("pending BTC-USD %d, want 2", n)
	}
	if n := pending(t, s, "eth-usd"); n != 1 {
		t.Fatalf("pending ETH-USD %d, want 1", n)
	}
	ps := scored(t, s, "BTC-USD", 30)
	if len(ps) != 1 || ps[0].Date != day0.AddDays(4) || *ps[0].Actual != 104 || ps[0].Value != 106 || ps[0].LastClose != 103 {
		t.Fatalf("scored after Record: %+v; want day0+4 scored against its stored close 104", ps)
	}
	// The close of day0+5 arrives (105), by a fetch.
	if _, _, err := s.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(5), mkBars(day0, 6, 100)); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, s, "BTC-USD"); n != 1 {
		t.Fatalf("pending after the close of day0+5: %d, want 1", n)
	}
	ps = scored(t, s, "BTC-USD", 30)
	if len(ps) != 2 || ps[0].Date != day0.AddDays(5) || ps[0].Symbol != "BTC-USD" || ps[0].Model != "m1" ||
		ps[0].Value != 107.5 || ps[0].LastClose != 104 || *ps[0].Actual != 105 {
		t.Fatalf("scored rows %+v; want day0+5 (107.5 vs 105) first", ps)
	}
	// A revised close re-scores.
	if _, u, err := s.Upsert(ctx, "BTC-USD", mkBars(day0.AddDays(5), 1, 110)); err != nil || u != 1 {
		t.Fatalf("revising a close: %d updated, %v", u, err)
	}
	if ps = scored(t, s, "BTC-USD", 30); *ps[0].Actual != 110 {
		t.Fatalf("after a revised close the actual is %v, want 110", *ps[0].Actual)
	}
	// Another symbol's bar scores nothing of BTC-USD.
	if _, _, err := s.Upsert(ctx, "ETH-USD", mkBars(day0.AddDays(6), 1, 3000)); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, s, "BTC-USD"); n != 1 {
		t.Fatalf("an ETH-USD bar scored a BTC-USD forecast: pending %d, want 1", n)
	}
	if n := pending(t, s, "ETH-USD"); n != 1 {
		t.Fatalf("pending ETH-USD %d, want 1 (its bar is of another day)", n)
	}
}

func testLedgerLatestWins(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	d := day0.AddDays(3)
	t0 := time.Date(2025, 1, 3, 12, 0, 0, 0, time.UTC)
	// Repeats in one batch: the last one wins.
	if err := s.Record(ctx, t0, []closecast.Prediction{pred("BTC-USD", d, "m1", 1, 1), pred("BTC-USD", d, "m1", 2, 2),
		pred("BTC-USD", d, "m2", 5, 2)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, t0.Add(time.Hour), []closecast.Prediction{pred("BTC-USD", d, "m1", 3, 2.5)}); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, s, "BTC-USD"); n != 2 {
		t.Fatalf("pending %d, want 2: one row per (symbol, day, model)", n)
	}
	if _, _, err := s.Upsert(ctx, "BTC-USD", mkBars(d, 1, 4)); err != nil {
		t.Fatal(err)
	}
	ps := scored(t, s, "BTC-USD", 1)
	if len(ps) != 2 || ps[0].Model != "m1" || ps[0].Value != 3 || ps[0].LastClose != 2.5 || ps[1].Model != "m2" || ps[1].Value != 5 {
		t.Fatalf("scored %+v; want m1 with the latest record (3, 2.5), then m2", ps)
	}
	// Recording a scored forecast again keeps its actual.
	if err := s.Record(ctx, t0.Add(2*time.Hour), []closecast.Prediction{pred("BTC-USD", d, "m1", 4.5, 2.5)}); err != nil {
		t.Fatal(err)
	}
	if ps = scored(t, s, "BTC-USD", 1); ps[0].Value != 4.5 || *ps[0].Actual != 4 || pending(t, s, "BTC-USD") != 0 {
		t.Fatalf("re-recorded scored row %+v (actual %v); want value 4.5, actual 4", ps[0], *ps[0].Actual)
	}
}

func testLedgerRejects(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	good := pred("BTC-USD", day0, "m1", 100, 99)
	for name, bad := range map[string]closecast.Prediction{
		"no model":        pred("BTC-USD", day0, "", 100, 99),
		"NaN value":       pred("BTC-USD", day0, "m1", math.NaN(), 99),
		"infinite value":  pred("BTC-USD", day0, "m1", math.Inf(1), 99),
		"zero last close": pred("BTC-USD", day0, "m1", 100, 0),
		"bad symbol":      pred("", day0, "m1", 100, 99),
	} {
		if err := s.Record(ctx, time.Now(), []closecast.Prediction{good, bad}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := pending(t, s, "BTC-USD"); n != 0 {
		t.Fatalf("refused batches stored %d forecasts", n)
	}
	if _, err := s.Scored(ctx, "BTC-USD", 0); err == nil {
		t.Error("Scored with 0 days was accepted")
	}
}

func testLedgerWindow(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	var ps []closecast.Prediction
	for i := range 40 {
		ps = append(ps, pred("BTC-USD", day0.AddDays(i), "m1", 100, 99))
	}
	if err := s.Record(ctx, time.Now(), ps); err != nil {
		t.Fatal(err)
	}
	// Closes of the first 35 days only: the window ends on day0+34, the
	// newest scored day, not on the newest recorded one.
	if _, _, err := s.Upsert(ctx, "BTC-USD", mkBars(day0, 35, 100)); err != nil {
		t.Fatal(err)
	}
	got := scored(t, s, "BTC-USD", 10)
	if len(got) != 10 || got[0].Date != day0.AddDays(34) || got[9].Date != day0.AddDays(25) {
		t.Fatalf("10-day window: %d rows from %v; want day0+34 down to day0+25", len(got), got)
	}
	if n := pending(t, s, "BTC-USD"); n != 5 {
		t.Fatalf("pending %d, want 5", n)
	}
	if got := scored(t, s, "ETH-USD", 10); len(got) != 0 {
		t.Fatalf("scored rows of a symbol never recorded: %v", got)
	}
}

func testFetchLog(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	if _, _, err := s.UpsertFetched(ctx, "btc-usd", day0, day0.AddDays(9), mkBars(day0, 10, 100)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertFetched(ctx, "BTC-USD", day0.AddDays(8), day0.AddDays(11), mkBars(day0.AddDays(8), 4, 500)); err != nil {
		t.Fatal(err)
	}
	if err := s.LogFetchError(ctx, "ETH-USD", day0, day0.AddDays(1), errors.New("upstream said 503")); err != nil {
		t.Fatal(err)
	}
	all, err := s.Fetches(ctx, "", 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("fetch log: %v, %v; want 3 rows", all, err)
	}
	if r := all[0]; r.Symbol != "ETH-USD" || r.Err != "upstream said 503" || r.Added != 0 || r.At.IsZero() {
		t.Errorf("newest row %+v; want the ETH-USD error", r)
	}
	if r := all[1]; r.Symbol != "BTC-USD" || r.From != day0.AddDays(8) || r.To != day0.AddDays(11) || r.Added != 2 || r.Updated != 2 || r.Err != "" {
		t.Errorf("second row %+v; want BTC-USD day0+8..+11, 2 added, 2 updated", r)
	}
	if r := all[2]; r.Added != 10 || r.Updated != 0 {
		t.Errorf("oldest row %+v; want 10 added", r)
	}
	btc, err := s.Fetches(ctx, "btc-usd", 1)
	if err != nil || len(btc) != 1 || btc[0].Symbol != "BTC-USD" || btc[0].Added != 2 {
		t.Fatalf("newest BTC-USD fetch: %v, %v", btc, err)
	}
	// A refused upsert logs nothing: the log never claims a fetch that was not stored.
	bad := mkBars(day0, 2, 100)
	bad[1].Close = -1
	if _, _, err := s.UpsertFetched(ctx, "BTC-USD", day0, day0.AddDays(1), bad); err == nil {
		t.Fatal("an invalid fetch was stored")
	}
	if all, _ := s.Fetches(ctx, "", 10); len(all) != 3 {
		t.Fatalf("a refused fetch was logged: %d rows", len(all))
	}
}

// testExportImport: Ledger returns every forecast, scored or pending, with
// the time it was served; ImportFetches appends fetch log rows with their
// own times, once however often it is given them (what db copy relies on).
func testExportImport(t *testing.T, b Backend) {
	ctx := context.Background()
	s, _ := open(t, b)
	if _, _, err := s.Upsert(ctx, "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)
	if err := s.Record(ctx, at, []closecast.Prediction{pred("BTC-USD", day0.AddDays(2), "m1", 103, 101), pred("BTC-USD", day0.AddDays(3), "m1", 104, 102)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, at.Add(time.Hour), []closecast.Prediction{pred("AAPL", day0, "m2", 50, 49)}); err != nil {
		t.Fatal(err)
	}
	es, err := s.LedgerEntries(ctx)
	if err != nil || len(es) != 3 {
		t.Fatalf("Ledger = %+v, %v; want 3 entries", es, err)
	}
	if e := es[0]; e.Symbol != "AAPL" || e.Model != "m2" || e.Value != 50 || e.LastClose != 49 || e.Actual != nil || !e.Requested.Equal(at.Add(time.Hour)) {
		t.Errorf("first entry %+v (served %v)", e, e.Requested)
	}
	if e := es[1]; e.Date != day0.AddDays(2) || e.Actual == nil || *e.Actual != 102 || !e.Requested.Equal(at) {
		t.Errorf("second entry %+v: want scored with the close 102, served %v", e, at)
	}
	if e := es[2]; e.Date != day0.AddDays(3) || e.Actual != nil {
		t.Errorf("third entry %+v: want pending", e)
	}

	rs := []closecast.FetchRecord{
		{Symbol: "btc-usd", From: day0, To: day0.AddDays(2), Added: 3, At: at},
		{Symbol: "ETH-USD", From: day0, To: day0, Err: "upstream 503", At: at.Add(time.Minute)},
	}
	for round, want := range []int{2, 0} {
		n, err := s.ImportFetches(ctx, rs)
		if err != nil || n != want {
			t.Fatalf("import %d: %d, %v; want %d added", round, n, err, want)
		}
	}
	got, err := s.Fetches(ctx, "", 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("fetch log after imports: %+v, %v", got, err)
	}
	if got[0].Symbol != "ETH-USD" || !got[0].At.Equal(at.Add(time.Minute)) || got[1].Symbol != "BTC-USD" || got[1].Added != 3 || !got[1].At.Equal(at) {
		t.Errorf("imported rows %+v: want them newest first with their own times", got)
	}
	if _, err := s.ImportFetches(ctx, []closecast.FetchRecord{{Symbol: "", At: at}}); err == nil {
		t.Error("a row without a symbol was imported")
	}
}

// dist returns a forecast distribution around v: closes at
// closecast.DistributionLevels, ascending, with inexact doubles so that a
// round trip that is not bit for bit shows.
func dist(v float64) *closecast.Distribution {
	q := new(closecast.Distribution)
	for k, l := range closecast.DistributionLevels {
		q[k] = v * math.Exp(0.1/3*(l-0.5))
	}
	return q
}

func equalDist(a, b *closecast.Distribution) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	for k := range a {
		if math.Float64bits(a[k]) != math.Float64bits(b[k]) {
			return false
		}
	}
	return true
}

func testLedgerQuantiles(t *testing.T, b Backend) {
	ctx := context.Background()
	s, addr := open(t, b)
	if _, _, err := s.Upsert(ctx, "BTC-USD", mkBars(day0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)
	with := pred("BTC-USD", day0.AddDays(2), "m1", 103, 101)
	with.Quantiles = dist(103)
	without := pred("BTC-USD", day0.AddDays(1), "m1", 102, 100) // an old row: no distribution
	pend := pred("BTC-USD", day0.AddDays(3), "m1", 104, 102)
	pend.Quantiles = dist(104)
	if err := s.Record(ctx, at, []closecast.Prediction{with, without, pend}); err != nil {
		t.Fatal(err)
	}
	ps := scored(t, s, "BTC-USD", 30)
	if len(ps) != 2 || !equalDist(ps[0].Quantiles, with.Quantiles) || ps[1].Quantiles != nil {
		t.Fatalf("scored %+v; want day0+2's quantiles bit for bit, none on day0+1", ps)
	}
	es, err := s.LedgerEntries(ctx)
	if err != nil || len(es) != 3 {
		t.Fatalf("LedgerEntries = %+v, %v", es, err)
	}
	if !equalDist(es[0].Quantiles, nil) || !equalDist(es[1].Quantiles, with.Quantiles) || !equalDist(es[2].Quantiles, pend.Quantiles) {
		t.Fatalf("LedgerEntries quantiles %v / %v / %v; want none, day0+2's, day0+3's", es[0].Quantiles, es[1].Quantiles, es[2].Quantiles)
	}
	// The latest record wins, its distribution too.
	with.Quantiles = dist(99)
	if err := s.Record(ctx, at.Add(time.Hour), []closecast.Prediction{with}); err != nil {
		t.Fatal(err)
	}
	if ps = scored(t, s, "BTC-USD", 30); !equalDist(ps[0].Quantiles, dist(99)) {
		t.Fatalf("re-recorded quantiles %v, want %v", ps[0].Quantiles, dist(99))
	}
	// Implausible distributions are refused and nothing of the batch is stored.
	crossing := dist(105)
	crossing[3], crossing[4] = crossing[4], crossing[3]
	nan := dist(105)
	nan[7] = math.NaN()
	for name, q := range map[string]*closecast.Distribution{"crossing": crossing, "NaN": nan, "zero": new(closecast.Distribution)} {
		bad := pred("BTC-USD", day0.AddDays(4), "m1", 105, 103)
		bad.Quantiles = q
		if err := s.Record(ctx, at, []closecast.Prediction{pred("BTC-USD", day0.AddDays(5), "m1", 1, 1), bad}); err == nil {
			t.Errorf("%s quantiles: accepted", name)
		}
	}
	if n := pending(t, s, "BTC-USD"); n != 1 {
		t.Fatalf("refused batches stored forecasts: pending %d, want 1", n)
	}
	// A damaged column is an error, never a wrong score.
	b.Exec(t, addr, b.DamageQuantiles)
	if _, err := s.Scored(ctx, "BTC-USD", 30); err == nil {
		t.Error("Scored read a damaged quantiles column without an error")
	}
}
