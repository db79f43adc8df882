package serving

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/models"
	"github.com/closecast/closecast/predict"
	"github.com/closecast/closecast/server"
	"github.com/closecast/closecast/sqlite"
)

// liveEnv is a chain over the shipped model with a SQLite store and
// ledger holding the embedded bars of the last days scored days, so
// that forecasts recorded for them are scored at once.
type liveEnv struct {
	m      *artifact.Model
	db     *sqlite.DB
	chain  *Chain
	series closecast.Series // the embedded series
	last   closecast.Date   // its last day: last+1 is a live forecast
}

func newLiveEnv(t *testing.T, adaptive string, days int) *liveEnv {
	t.Helper()
	return newLiveEnvWith(t, Options{Adaptive: adaptive}, days)
}

// newLiveEnvWith is newLiveEnv with o's Adaptive and Interval.
func newLiveEnvWith(t *testing.T, o Options, days int) *liveEnv {
	t.Helper()
	m, err := models.Load("")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := series.Last()
	if _, _, err := db.Upsert(context.Background(), m.Meta.Symbol, series.Between(last.AddDays(-days), last).Bars); err != nil {
		t.Fatal(err)
	}
	c := New(Options{Model: m, Store: db, Adaptive: o.Adaptive, Interval: o.Interval, Server: server.Config{Ledger: db}})
	t.Cleanup(func() { c.Close(context.Background()) })
	return &liveEnv{m: m, db: db, chain: c, series: series, last: last}
}

func (e *liveEnv) get(t *testing.T, target string, into any) {
	t.Helper()
	// Into a zero value: keys absent from the answer stay absent.
	switch v := into.(type) {
	case *predictBody:
		*v = predictBody{}
	case *accuracyBody:
		*v = accuracyBody{}
	}
	w := httptest.NewRecorder()
	e.chain.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), into); err != nil {
		t.Fatalf("GET %s: %v: %s", target, err, w.Body)
	}
}

// record stores forecasts of the days end−n+1..end, day k's quantiles
// c·(1 + width(k)·(τ − 0.5)) around c, its last close (so its 80 % interval
// is c·(1 ± 0.4·width)), or, with below, around the actual close a lowered
// by below(k)·a, and returns them as recorded.
func (e *liveEnv) record(t *testing.T, end closecast.Date, n int, width func(k int) float64, below func(k int) float64) []closecast.Prediction {
	t.Helper()
	var ps []closecast.Prediction
	for k := range n {
		d := end.AddDays(k - n + 1)
		i := e.series.Index(d)
		c := e.series.Bars[i-1].Close
		p := closecast.Prediction{Forecast: closecast.Forecast{Symbol: e.m.Meta.Symbol, Date: d, Value: c},
			Model: e.m.Meta.Version, LastClose: c, Quantiles: new(closecast.Distribution)}
		m := c
		if below != nil {
			m = e.series.Bars[i].Close * (1 - below(k))
		}
		for j, l := range closecast.DistributionLevels {
			p.Quantiles[j] = m * (1 + width(k)*(l-0.5))
		}
		ps = append(ps, p)
	}
	if err := e.db.Record(context.Background(), time.Unix(1, 0), ps); err != nil {
		t.Fatal(err)
	}
	for k := range ps {
		a := e.series.Bars[e.series.Index(ps[k].Date)].Close
		ps[k].Actual = &a
	}
	return ps
}

type accuracyBody struct {
	N            int                             `json:"n"`
	Distribution *closecast.DistributionAccuracy `json:"distribution"`
	Rows         []struct {
		Date    closecast.Date `json:"date"`
		P10     *float64       `json:"p10"`
		P90     *float64       `json:"p90"`
		Covered *bool          `json:"covered"`
	} `json:"rows"`
}

// TestAccuracyScoresTheLedgersDistributions: /api/accuracy's distribution
// scores equal coverage and pinball loss computed here by hand from the
// recorded quantiles and the actual closes; the five baselines are
// scored on the same days and the best is the one of lowest pinball.
func TestAccuracyScoresTheLedgersDistributions(t *testing.T) {
	e := newLiveEnv(t, "", 10)
	// Four days: intervals ±0.4 %, ±4 %, ±0.4 %, ±4 % of the last close.
	ps := e.record(t, e.last, 4, func(k int) float64 { return []float64{0.01, 0.1, 0.01, 0.1}[k] }, nil)
	var got accuracyBody
	e.get(t, "/api/accuracy?days=30", &got)
	d := got.Distribution
	if got.N != 4 || d == nil || d.N != 4 || d.Model == nil || d.Adaptive == nil || d.Best == nil || len(d.Baselines) != 5 {
		t.Fatalf("distribution %+v; want 4 days, the model, ACI and five baselines", d)
	}
	var cover int
	var pinball float64
	for _, p := range ps {
		a := *p.Actual
		if p.Quantiles[2] <= a && a <= p.Quantiles[18] {
			cover++
		}
		pinball += pinballPct(evaluate.Quantiles(*p.Quantiles), a, p.LastClose)
	}
	if want := 100 * float64(cover) / 4; d.Model.Coverage80 != want {
		t.Errorf("model coverage %v, want %v", d.Model.Coverage80, want)
	}
	if want := pinball / 4; math.Abs(d.Model.PinballPct-want) > 1e-12 {
		t.Errorf("model pinball %v%%, want %v%%", d.Model.PinballPct, want)
	}
	names := map[string]bool{}
	for _, b := range d.Baselines {
		names[b.Method] = true
		if b.PinballPct < d.Best.PinballPct {
			t.Errorf("best baseline %s (%v) is not the lowest: %s has %v", d.Best.Method, d.Best.PinballPct, b.Method, b.PinballPct)
		}
	}
	for _, n := range evaluate.BaselineNames() {
		if !names[n] {
			t.Errorf("baseline %s missing from %v", n, names)
		}
	}
	for i, r := range got.Rows { // newest first
		p := ps[len(ps)-1-i]
		if r.Date != p.Date || r.P10 == nil || *r.P10 != p.Quantiles[2] || *r.P90 != p.Quantiles[18] ||
			*r.Covered != (p.Quantiles[2] <= *p.Actual && *p.Actual <= p.Quantiles[18]) {
			t.Errorf("row %d: %+v; want the recorded 80 %% interval of %s", i, r, p.Date)
		}
	}
	// A narrower window scores its own days.
	e.get(t, "/api/accuracy?days=2", &got)
	if got.Distribution == nil || got.Distribution.N != 2 || got.Distribution.From != ps[2].Date {
		t.Errorf("days=2: %+v", got.Distribution)
	}
}

type predictBody struct {
	Forecasts []struct {
		P10      *float64            `json:"p10"`
		P50      *float64            `json:"p50"`
		P90      *float64            `json:"p90"`
		Adaptive *closecast.Adaptive `json:"adaptive"`
	} `json:"forecasts"`
	Interval *struct {
		Method string `json:"method"`
	} `json:"interval"`
}

// baseGrid is the model's own conformal quantiles of date at every level.
func baseGrid(t *testing.T, e *liveEnv, date closecast.Date) evaluate.Quantiles {
	t.Helper()
	return gridOf(t, e, date, closecast.IntervalConformal)
}

// gridOf is interval's quantiles of date at every level, from a service of
// its own over the embedded data.
func gridOf(t *testing.T, e *liveEnv, date closecast.Date, interval string) evaluate.Quantiles {
	t.Helper()
	svc := predict.New(e.m, history.New(marketdata.Embedded(), nil, nil))
	h, err := svc.PredictHorizon(context.Background(), e.m.Meta.Symbol, date,
		closecast.HorizonOptions{Horizon: 1, Interval: interval, Levels: closecast.DistributionLevels[:]})
	if err != nil {
		t.Fatal(err)
	}
	var q evaluate.Quantiles
	copy(q[:], h.Days[0].Quantiles)
	return q
}

// TestPredictAdaptsFromTheLedger: /predict's live interval is the base
// conformal one adapted by ACI over the ledger's scored forecasts, equal
// to evaluate.Adapt on the same sequence; wider with α below 0.2 after
// misses, narrower with α above it after easy covers. The ledger records
// the base quantiles, never the adapted ones; new scored rows refresh the
// adaptation.
func TestPredictAdaptsFromTheLedger(t *testing.T) {
	for _, c := range []struct {
		name  string
		width func(k int) float64 // of the recorded intervals
		below func(k int) float64 // how far below the actual close they are centred
		wider bool
	}{
		// ±0.4 % intervals centred 0.5 % (growing) below the close:
		// every close outside, each further out than the ones before.
		{"misses", func(int) float64 { return 0.01 }, func(k int) float64 { return 0.005 * (1 + 0.05*float64(k)) }, true},
		// ±40 % intervals around the last close: every close well inside.
		{"easy covers", func(int) float64 { return 1 }, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newLiveEnv(t, "", 40)
			ps := e.record(t, e.last, 30, c.width, c.below)
			date := e.last + 1
			var got predictBody
			e.get(t, "/predict?interval=conformal&date="+date.String(), &got)
			base := baseGrid(t, e, date)
			f := got.Forecasts[0]
			if f.Adaptive == nil || f.Adaptive.Method != "aci" || f.Adaptive.N != 30 {
				t.Fatalf("adaptive %+v; want aci from 30 scored forecasts", f.Adaptive)
			}
			// The same sequence walked forward by evaluate.Adapt.
			want := walked(t, ps, date, base, evaluate.ACI{Gamma: evaluate.ACIGamma})
			if math.Abs(*f.P10-want[2]) > 1e-12*math.Abs(want[2]) || math.Abs(*f.P90-want[18]) > 1e-12*math.Abs(want[18]) || *f.P50 != base[10] {
				t.Errorf("served %v..%v (median %v); evaluate.Adapt gives %v..%v (median %v)", *f.P10, *f.P90, *f.P50, want[2], want[18], base[10])
			}
			if c.wider {
				if !(*f.P10 < base[2] && *f.P90 > base[18] && f.Adaptive.Alpha < 0.2 && f.Adaptive.Factor > 1) {
					t.Errorf("after misses: %v..%v, base %v..%v, %+v; want wider, α < 0.2", *f.P10, *f.P90, base[2], base[18], f.Adaptive)
				}
			} else if !(*f.P10 > base[2] && *f.P90 < base[18] && f.Adaptive.Alpha > 0.2 && f.Adaptive.Factor < 1) {
				t.Errorf("after easy covers: %v..%v, base %v..%v, %+v; want narrower, α > 0.2", *f.P10, *f.P90, base[2], base[18], f.Adaptive)
			}
			// The ledger keeps the base distribution of what was served.
			rec := lastRecorded(t, e)
			if rec.Date != date || rec.Quantiles == nil || evaluate.Quantiles(*rec.Quantiles) != base {
				t.Errorf("recorded %s with quantiles %v; want the base %v", rec.Date, rec.Quantiles, base)
			}
		})
	}
}

// TestAdaptationRefreshesAndCanBeOff: a newly scored forecast is learnt
// from at the next answer; --adaptive none and a ledger without scored
// forecasts serve the base interval, without an adaptive key.
func TestAdaptationRefreshesAndCanBeOff(t *testing.T) {
	e := newLiveEnv(t, "", 40)
	date := e.last + 1
	var got predictBody
	e.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	base := baseGrid(t, e, date)
	if got.Forecasts[0].Adaptive != nil || *got.Forecasts[0].P10 != base[2] {
		t.Fatalf("no scored forecast: %+v, p10 %v; want the base %v", got.Forecasts[0].Adaptive, *got.Forecasts[0].P10, base[2])
	}
	// Scored rows up to last−1, then one of last: the next answer learns
	// from it too.
	e.record(t, e.last-1, 19, func(int) float64 { return 0.01 }, nil)
	e.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	if a := got.Forecasts[0].Adaptive; a == nil || a.N != 19 {
		t.Fatalf("after 19 scored: %+v", a)
	}
	e.record(t, e.last, 1, func(int) float64 { return 0.01 }, nil) // a newer scored day
	e.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	if a := got.Forecasts[0].Adaptive; a == nil || a.N != 20 {
		t.Fatalf("after 20 scored: %+v", a)
	}
	// A forecast of a closed day is never adapted (the ledger knows its future).
	e.get(t, "/predict?interval=conformal&date="+e.last.String(), &got)
	if got.Forecasts[0].Adaptive != nil {
		t.Errorf("a past day was adapted: %+v", got.Forecasts[0].Adaptive)
	}

	// Without a ledger (the Lambda) nothing is adapted or recorded.
	bare := New(Options{Model: e.m, Store: e.db})
	defer bare.Close(context.Background())
	noLedger := &liveEnv{chain: bare}
	noLedger.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	if got.Forecasts[0].Adaptive != nil || *got.Forecasts[0].P10 != base[2] {
		t.Errorf("without a ledger: %+v, p10 %v; want the base %v", got.Forecasts[0].Adaptive, *got.Forecasts[0].P10, base[2])
	}

	off := newLiveEnv(t, closecast.AdaptiveNone, 40)
	off.record(t, off.last, 20, func(int) float64 { return 0.01 }, nil)
	off.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	if got.Forecasts[0].Adaptive != nil || *got.Forecasts[0].P10 != base[2] || *got.Forecasts[0].P90 != base[18] {
		t.Errorf("--adaptive none: %+v, %v..%v; want the base %v..%v", got.Forecasts[0].Adaptive, *got.Forecasts[0].P10, *got.Forecasts[0].P90, base[2], base[18])
	}
}

// BenchmarkPredict compares a plain forecast with the one serve records:
// the same forecast with its 21 conformal quantiles (livePredictor), or
// with the ensemble's (serve --interval ensemble; its fit is cached after
// the first iteration).
func BenchmarkPredict(b *testing.B) {
	m, err := models.Load("")
	if err != nil {
		b.Fatal(err)
	}
	svc := predict.New(m, history.New(marketdata.Embedded(), nil, nil))
	series, err := marketdata.EmbeddedSeries(m.Meta.Symbol)
	if err != nil {
		b.Fatal(err)
	}
	last, _ := series.Last()
	for _, c := range []struct {
		name string
		p    closecast.Predictor
	}{{"point", svc}, {"with_distribution", &livePredictor{Service: svc}}, {"with_ensemble", &livePredictor{Service: svc, ensemble: true}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.p.Predict(context.Background(), m.Meta.Symbol, last+1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// countingLedger counts the whole-ledger reads of a refresh (the stores'
// longest window; /api/accuracy's own point scores read its days).
type countingLedger struct {
	*sqlite.DB
	mu    sync.Mutex
	reads int
}

func (c *countingLedger) Scored(ctx context.Context, symbol string, days int) ([]closecast.Prediction, error) {
	if days == sqlite.MaxLedgerDays {
		c.mu.Lock()
		c.reads++
		c.mu.Unlock()
	}
	return c.DB.Scored(ctx, symbol, days)
}

// TestWarmLiveCachesTheFirstRequests: after WarmLive, /api/accuracy and an
// adapted /predict read nothing more of the ledger than its newest day.
func TestWarmLiveCachesTheFirstRequests(t *testing.T) {
	e := newLiveEnv(t, "", 20)
	e.record(t, e.last, 10, func(int) float64 { return 0.02 }, nil)
	led := &countingLedger{DB: e.db}
	c := New(Options{Model: e.m, Store: e.db, Server: server.Config{Ledger: led}})
	defer c.Close(context.Background())
	if err := c.WarmLive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if led.reads != 2 {
		t.Fatalf("WarmLive read the ledger %d times, want 2 (scores, ACI)", led.reads)
	}
	e.chain = c
	var acc accuracyBody
	e.get(t, "/api/accuracy", &acc)
	var p predictBody
	e.get(t, "/predict?interval=conformal&date="+(e.last+1).String(), &p)
	if led.reads != 2 || acc.Distribution == nil || acc.Distribution.N != 10 || p.Forecasts[0].Adaptive == nil || p.Forecasts[0].Adaptive.N != 10 {
		t.Errorf("after WarmLive: %d reads, distribution %+v, adaptive %+v; want 2 reads, 10 days each", led.reads, acc.Distribution, p.Forecasts[0].Adaptive)
	}
}

// TestAdaptAtAskedLevels: levels of the grid are evaluate's adapted
// quantiles exactly; a level between two is scaled by the interpolated
// factor and stays between its adapted neighbours; the answer is sorted.
func TestAdaptAtAskedLevels(t *testing.T) {
	var base evaluate.Quantiles
	for k, l := range evaluate.Levels {
		base[k] = 100 * math.Exp(0.05*(l-0.5))
	}
	o := evaluate.NewOnline(evaluate.ACI{Gamma: evaluate.ACIGamma})
	for k := range 25 { // closes ever further above the median: widening
		if err := o.Observe(&base, 100*(1.03+0.002*float64(k))); err != nil {
			t.Fatal(err)
		}
	}
	adapted := o.Apply(&base)
	levels := []float64{0.05, 0.1, 0.125, 0.5, 0.9, 0.99}
	at := make([]float64, len(levels))
	for j, l := range levels {
		at[j] = 100 * math.Exp(0.05*(l-0.5)) // the base method's quantile at l
	}
	got := AdaptAt(o, &base, levels, at)
	if got[0] != adapted[1] || got[1] != adapted[2] || got[3] != adapted[10] || got[4] != adapted[18] {
		t.Errorf("grid levels %v; want %v, %v, %v, %v", got, adapted[1], adapted[2], adapted[10], adapted[18])
	}
	// 0.125 lies halfway from 0.10 to 0.15 (pairs 2 and 3).
	f := 0.5*o.Factor(2) + 0.5*o.Factor(3)
	want := min(max(base.Median()+f*(at[2]-base.Median()), adapted[2]), adapted[3])
	if math.Abs(got[2]-want) > 1e-12*want || !(adapted[2] <= got[2] && got[2] <= adapted[3]) {
		t.Errorf("level 0.125: %v, want %v between %v and %v", got[2], want, adapted[2], adapted[3])
	}
	// Beyond 0.975: the outermost factor, at least the adapted 0.975.
	if want := max(base.Median()+o.Factor(0)*(at[5]-base.Median()), adapted[20]); got[5] != want {
		t.Errorf("level 0.99: %v, want %v", got[5], want)
	}
	if !slices.IsSorted(got) || !(o.Factor(evaluate.PairOf80) > 1) {
		t.Errorf("answer %v not sorted, or the factor %v did not widen", got, o.Factor(evaluate.PairOf80))
	}
}
