package serving

import (
	"context"
	"math"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/history"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/predict"
)

// walked is evaluate.Adapt's forecast of date, whose base quantiles are
// base, after the scored forecasts ps: the adaptation `closecast
// evaluate` walks forward over the same sequence.
func walked(t *testing.T, ps []closecast.Prediction, date closecast.Date, base evaluate.Quantiles, a evaluate.Adaptation) evaluate.Quantiles {
	t.Helper()
	days := evaluate.Days{Horizon: 1}
	meth := evaluate.Method{Name: "model"}
	for _, p := range ps {
		days.Dates, days.Actual = append(days.Dates, p.Date), append(days.Actual, *p.Actual)
		meth.Forecasts = append(meth.Forecasts, evaluate.Quantiles(*p.Quantiles))
	}
	days.Dates, days.Actual = append(days.Dates, date), append(days.Actual, 0)
	meth.Forecasts = append(meth.Forecasts, base)
	w, err := evaluate.Adapt(days, meth, a)
	if err != nil {
		t.Fatal(err)
	}
	return w.Forecasts[len(ps)]
}

// lastRecorded closes e's chain (flushing its ledger) and returns the
// ledger's last entry.
func lastRecorded(t *testing.T, e *liveEnv) closecast.LedgerEntry {
	t.Helper()
	if err := e.chain.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	es, err := e.db.LedgerEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return es[len(es)-1]
}

// near reports whether got is want within 1e-12 of want.
func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Abs(want) }

// misses is record's centring for forecasts that all miss, each further.
func misses(k int) float64 { return 0.005 * (1 + 0.05*float64(k)) }

// TestEnsembleIsTheServedInterval: with Interval ensemble, the ledger
// records the ensemble's quantiles with a live forecast, interval auto
// (the dashboard's) answers the ensemble, adapted by ACI from the ledger
// exactly as evaluate.Adapt adapts it, and a conformal interval asked
// outright is answered but not adapted: the ledger's adaptation is the
// ensemble's.
func TestEnsembleIsTheServedInterval(t *testing.T) {
	e := newLiveEnvWith(t, Options{Interval: closecast.IntervalEnsemble}, 40)
	date := e.last + 1
	ens := gridOf(t, e, date, closecast.IntervalEnsemble)
	conf := baseGrid(t, e, date)
	if ens == conf {
		t.Fatal("the ensemble and the conformal quantiles are the same")
	}
	var plain struct {
		Prediction float64 `json:"prediction"`
	}
	e.get(t, "/predict?date="+date.String(), &plain)

	ps := e.record(t, e.last, 30, func(int) float64 { return 0.01 }, misses)
	var got predictBody
	e.get(t, "/predict?horizon=2&date="+date.String(), &got)
	f := got.Forecasts[0]
	if got.Interval == nil || got.Interval.Method != closecast.IntervalEnsemble {
		t.Fatalf("interval auto answered %+v, want the ensemble", got.Interval)
	}
	if f.Adaptive == nil || f.Adaptive.Method != closecast.AdaptiveACI || f.Adaptive.N != 30 {
		t.Fatalf("adaptive %+v; want aci from 30 scored forecasts", f.Adaptive)
	}
	want := walked(t, ps, date, ens, evaluate.ACI{Gamma: evaluate.ACIGamma})
	if !near(*f.P10, want[2]) || !near(*f.P90, want[18]) || *f.P50 != ens[10] {
		t.Errorf("served %v..%v (median %v); evaluate.Adapt of the ensemble gives %v..%v (median %v)", *f.P10, *f.P90, *f.P50, want[2], want[18], ens[10])
	}
	if !(*f.P10 < ens[2] && *f.P90 > ens[18]) {
		t.Errorf("after misses: %v..%v, the ensemble's %v..%v; want wider", *f.P10, *f.P90, ens[2], ens[18])
	}
	e.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	if f := got.Forecasts[0]; f.Adaptive != nil || *f.P10 != conf[2] || *f.P90 != conf[18] {
		t.Errorf("conformal on an ensemble server: %+v, %v..%v; want the conformal base %v..%v unadapted", f.Adaptive, *f.P10, *f.P90, conf[2], conf[18])
	}

	rec := lastRecorded(t, e)
	if rec.Date != date || rec.Quantiles == nil || evaluate.Quantiles(*rec.Quantiles) != ens || rec.Value != plain.Prediction {
		t.Errorf("recorded %s, %v with quantiles %v; want the model's %v with the ensemble's %v", rec.Date, rec.Value, rec.Quantiles, plain.Prediction, ens)
	}
}

// TestFACIAdaptsFromTheLedger: with Adaptive faci the live interval is
// the base adapted by FACI with the shipped constants, equal to
// evaluate.Adapt with the same FACI on the same sequence, and not ACI's.
func TestFACIAdaptsFromTheLedger(t *testing.T) {
	e := newLiveEnv(t, closecast.AdaptiveFACI, 40)
	ps := e.record(t, e.last, 30, func(int) float64 { return 0.01 }, misses)
	date := e.last + 1
	var got predictBody
	e.get(t, "/predict?interval=conformal&date="+date.String(), &got)
	base := baseGrid(t, e, date)
	f := got.Forecasts[0]
	if f.Adaptive == nil || f.Adaptive.Method != closecast.AdaptiveFACI || f.Adaptive.N != 30 {
		t.Fatalf("adaptive %+v; want faci from 30 scored forecasts", f.Adaptive)
	}
	want := walked(t, ps, date, base, evaluate.FACI{Gammas: evaluate.FACIGammas, Interval: evaluate.FACIInterval})
	if !near(*f.P10, want[2]) || !near(*f.P90, want[18]) || *f.P50 != base[10] {
		t.Errorf("served %v..%v (median %v); evaluate.Adapt with FACI gives %v..%v (median %v)", *f.P10, *f.P90, *f.P50, want[2], want[18], base[10])
	}
	aci := walked(t, ps, date, base, evaluate.ACI{Gamma: evaluate.ACIGamma})
	if near(*f.P10, aci[2]) && near(*f.P90, aci[18]) {
		t.Errorf("FACI served ACI's interval %v..%v", aci[2], aci[18])
	}
	if !(*f.P10 < base[2] && *f.P90 > base[18] && f.Adaptive.Alpha < 0.2) {
		t.Errorf("after misses: %v..%v, base %v..%v, %+v; want wider, α < 0.2", *f.P10, *f.P90, base[2], base[18], f.Adaptive)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{}, {Adaptive: "faci", Interval: "ensemble"}, {Adaptive: "none", Interval: "conformal"}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	for _, o := range []Options{{Adaptive: "ACI"}, {Interval: "mc_dropout"}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestEnsembleFitsOnlyForLiveForecasts: with the ensemble served, a plain
// forecast of a closed day (not recorded) fits nothing; a live one is
// fitted once and carries the ensemble's quantiles for the ledger.
func TestEnsembleFitsOnlyForLiveForecasts(t *testing.T) {
	e := newLiveEnv(t, "", 5)
	svc := predict.New(e.m, history.New(marketdata.Embedded(), nil, nil))
	p := &livePredictor{Service: svc, ensemble: true}
	ctx := context.Background()
	past, err := p.Predict(ctx, "", e.last-10)
	if err != nil {
		t.Fatal(err)
	}
	if past.Actual == nil || past.Quantiles != nil || svc.EnsembleFits() != 0 {
		t.Errorf("a closed day: actual %v, quantiles %v, %d fits; want no distribution, no fit", past.Actual, past.Quantiles, svc.EnsembleFits())
	}
	for range 2 {
		live, err := p.Predict(ctx, "", e.last+1)
		if err != nil {
			t.Fatal(err)
		}
		if live.Quantiles == nil || evaluate.Quantiles(*live.Quantiles) != gridOf(t, e, e.last+1, closecast.IntervalEnsemble) {
			t.Errorf("a live day: quantiles %v, want the ensemble's", live.Quantiles)
		}
	}
	if n := svc.EnsembleFits(); n != 1 {
		t.Errorf("two live forecasts of one day: %d fits, want 1", n)
	}
}

// pinballPct is the mean pinball loss of q over the levels 0.05..0.95 for
// the outcome a, in percent of last, computed by hand.
func pinballPct(q evaluate.Quantiles, a, last float64) float64 {
	s := 0.0
	for j := 1; j <= 19; j++ {
		tau := float64(j) / 20
		s += max(tau*(a-q[j]), (tau-1)*(a-q[j]))
	}
	return s / 19 * 100 / last
}

// TestAccuracyScoresTheServedAdaptation: /api/accuracy's adaptive row is
// the model adapted as /predict serves it, ACI or FACI: named so, and its
// pinball loss the mean, computed by hand, of evaluate.Adapt's forecasts
// of each day from the days before it.
func TestAccuracyScoresTheServedAdaptation(t *testing.T) {
	for _, c := range []struct {
		adaptive string
		a        evaluate.Adaptation
	}{
		{closecast.AdaptiveACI, evaluate.ACI{Gamma: evaluate.ACIGamma}},
		{closecast.AdaptiveFACI, evaluate.FACI{Gammas: evaluate.FACIGammas, Interval: evaluate.FACIInterval}},
	} {
		t.Run(c.adaptive, func(t *testing.T) {
			e := newLiveEnv(t, c.adaptive, 20)
			ps := e.record(t, e.last, 12, func(int) float64 { return 0.01 }, misses)
			var got accuracyBody
			e.get(t, "/api/accuracy?days=30", &got)
			d := got.Distribution
			if d == nil || d.N != 12 || d.Adaptive == nil || d.Adaptive.Method != "model+"+c.adaptive {
				t.Fatalf("distribution %+v; want 12 days and the model+%s row", d, c.adaptive)
			}
			want := 0.0
			for k, p := range ps {
				q := walked(t, ps[:k], p.Date, evaluate.Quantiles(*p.Quantiles), c.a)
				want += pinballPct(q, *p.Actual, p.LastClose) / float64(len(ps))
			}
			if !near(d.Adaptive.PinballPct, want) {
				t.Errorf("adaptive pinball %v %%, by hand %v %%", d.Adaptive.PinballPct, want)
			}
		})
	}
}

// TestWarmLiveFitsTheServedEnsemble: with the ensemble served, WarmLive
// fits the next live forecast's ensemble, so the first request fits
// nothing; without it, nothing is fitted.
func TestWarmLiveFitsTheServedEnsemble(t *testing.T) {
	for _, ens := range []bool{false, true} {
		o := Options{}
		if ens {
			o.Interval = closecast.IntervalEnsemble
		}
		e := newLiveEnvWith(t, o, 5)
		if err := e.chain.WarmLive(context.Background()); err != nil {
			t.Fatal(err)
		}
		served := *e.chain.served.Load()
		if len(served) != 1 {
			t.Fatalf("%d live predictors served", len(served))
		}
		want := int64(0)
		if ens {
			want = 1
		}
		if n := served[0].EnsembleFits(); n != want {
			t.Errorf("ensemble %v: WarmLive fitted %d, want %d", ens, n, want)
		}
		var got predictBody
		e.get(t, "/predict?horizon=2&date="+(e.last+1).String(), &got)
		if n := served[0].EnsembleFits(); n != want {
			t.Errorf("ensemble %v: the first request after WarmLive fitted again: %d fits", ens, n)
		}
	}
}
