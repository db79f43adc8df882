package evaluate

import (
	"context"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/configs"
	"github.com/closecast/closecast/marketdata"
)

// trainQuantileHead trains configs/quantile.yaml on the embedded BTC-USD.
func trainQuantileHead(t *testing.T) (*QuantileHeadFit, closecast.Series) {
	t.Helper()
	cfg, err := configs.Load("quantile")
	if err != nil {
		t.Fatal(err)
	}
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	fit, err := TrainQuantileHead(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return fit, s
}

// TestQuantileHeadOnBTC trains the quantile head with the default recipe's
// split (hold-out from 2023-11-24, early stopping on the training tail) and
// scores it one step ahead against the five baselines on the hold-out and
// the validation window, each forecast from the closes before its day. It
// logs the tables (go test ./evaluate/ -run QuantileHeadOnBTC -v) and
// asserts the set-up: the split, every day scored with a valid forecast,
// the comparison made with the best baseline, a plausible 80 % band
// (60–95 %); not the figures themselves.
func TestQuantileHeadOnBTC(t *testing.T) {
	fit, s := trainQuantileHead(t)
	if want := closecast.MustParseDate("2023-11-24"); fit.Holdout != want {
		t.Fatalf("hold-out starts %s, want %s (the default recipe's split)", fit.Holdout, want)
	}
	t.Logf("trained %d epochs (best %d), tail pinball %.5f (z units), %d windows, %d training, %d tail",
		fit.Epochs, fit.BestEpoch, fit.TailLoss, fit.Windows, fit.Train, fit.Tail)
	w, err := NewWalk(s, fit.Holdout, closecast.MustParseDate("2025-07-16"), 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	qm, err := w.QuantileHead(NameQuantileHead, fit)
	if err != nil {
		t.Fatal(err)
	}
	base, err := w.Run(NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	methods := append([]Method{qm}, base...)
	for _, r := range btcRanges[:2] { // the backtest needs a retrained head per fold
		days, ms, err := Between(w.Days, methods, closecast.MustParseDate(r.from), closecast.MustParseDate(r.to))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ScoreAgainstBest(days, ms, BaselineNames())
		if err != nil {
			t.Fatal(err)
		}
		if rep.N != r.days {
			t.Errorf("%s: %d days scored, want %d", r.name, rep.N, r.days)
		}
		if len(rep.Comparisons) != 1 || rep.Comparisons[0].Model != NameQuantileHead {
			t.Errorf("%s: comparisons %+v, want the quantile head against the best baseline", r.name, rep.Comparisons)
		}
		var b strings.Builder
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %s..%s, %d days, one step ahead; best baseline by pinball: %s\n%s", r.name, rep.From, rep.To, rep.N, rep.Reference, b.String())
		if c := rep.Methods[0].Interval(80).Coverage; c < 60 || c > 95 {
			t.Errorf("%s: the quantile head covers %.1f %% with its 80 %% band", r.name, c)
		}
	}
}

// TestQuantileHeadRefuses: in-sample days, other horizons and other
// recipes are errors that say why.
func TestQuantileHeadRefuses(t *testing.T) {
	fit, s := trainQuantileHead(t)
	w, err := NewWalk(s, closecast.MustParseDate("2023-11-20"), closecast.MustParseDate("2023-12-01"), 1, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.QuantileHead(NameQuantileHead, fit); err == nil || !strings.Contains(err.Error(), "not out of sample") {
		t.Errorf("a walk over training days: error %v", err)
	}
	w2, err := NewWalk(s, fit.Holdout+1, closecast.MustParseDate("2023-12-10"), 2, MinReturns(NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.QuantileHead(NameQuantileHead, fit); err == nil || !strings.Contains(err.Error(), "1 day ahead") {
		t.Errorf("horizon 2: error %v", err)
	}
	cfg, err := configs.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TrainQuantileHead(context.Background(), cfg, s); err == nil || !strings.Contains(err.Error(), "pinball") {
		t.Errorf("the default (MAE) recipe: error %v", err)
	}
}
