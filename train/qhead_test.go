package train

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/config/shipped"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
)

// The three evaluation ranges of BTC-USD (evaluate's btc_test.go).
var btcRanges = []struct {
	name     string
	from, to string
	days     int
}{
	{"hold-out", "2023-11-24", "2025-04-30", 524},
	{"validation", "2025-06-01", "2025-07-16", 46},
	{"backtest", "2025-05-01", "2026-03-31", 335},
}

// fit0Config is config/shipped/quantile.yaml.
func fit0Config(t *testing.T) config.Config {
	t.Helper()
	cfg, err := shipped.Load("quantile")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// trainQuantileHead trains config/shipped/quantile.yaml on the embedded BTC-USD.
func trainQuantileHead(t *testing.T) (*QuantileHeadFit, closecast.Series) {
	t.Helper()
	cfg := fit0Config(t)
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
// the validation window, and a head retrained every 30 days on the
// 2025-05-01..2026-03-31 backtest, each forecast from the closes before
// its day. It
// logs the tables (go test ./train/ -run QuantileHeadOnBTC -v) and
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
	w, err := evaluate.NewWalk(s, fit.Holdout, closecast.MustParseDate("2025-07-16"), 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	qm, err := w.QuantileHead(evaluate.NameQuantileHead, fit.Fold(fit.Holdout))
	if err != nil {
		t.Fatal(err)
	}
	base, err := w.Run(evaluate.NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	// The backtest range: one head per 30 days, as `closecast backtest
	// --retrain-every 30`, each trained on the bars before its fold.
	btFrom, btTo := closecast.MustParseDate(btcRanges[2].from), closecast.MustParseDate(btcRanges[2].to)
	folds, err := QuantileHeadBacktest(context.Background(), fit0Config(t), s, btFrom, btTo, 30)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := evaluate.NewWalk(s, btFrom, btTo, 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	qb, err := wb.QuantileHead(evaluate.NameQuantileHead, folds...)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := wb.Run(evaluate.NewBaselines())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range btcRanges {
		days, methods := w.Days, append([]evaluate.Method{qm}, base...)
		if r.name == "backtest" {
			days, methods = wb.Days, append([]evaluate.Method{qb}, bb...)
		}
		days, ms, err := evaluate.Between(days, methods, closecast.MustParseDate(r.from), closecast.MustParseDate(r.to))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := evaluate.ScoreAgainstBest(days, ms, evaluate.BaselineNames())
		if err != nil {
			t.Fatal(err)
		}
		if rep.N != r.days {
			t.Errorf("%s: %d days scored, want %d", r.name, rep.N, r.days)
		}
		if len(rep.Comparisons) != 1 || rep.Comparisons[0].Model != evaluate.NameQuantileHead {
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
	w, err := evaluate.NewWalk(s, closecast.MustParseDate("2023-11-20"), closecast.MustParseDate("2023-12-01"), 1, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.QuantileHead(evaluate.NameQuantileHead, fit.Fold(closecast.MustParseDate("2023-11-20"))); err == nil || !strings.Contains(err.Error(), "not out of sample") {
		t.Errorf("a walk over training days: error %v", err)
	}
	w2, err := evaluate.NewWalk(s, fit.Holdout+1, closecast.MustParseDate("2023-12-10"), 2, evaluate.MinReturns(evaluate.NewBaselines()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.QuantileHead(evaluate.NameQuantileHead, fit.Fold(fit.Holdout)); err == nil || !strings.Contains(err.Error(), "1 day ahead") {
		t.Errorf("horizon 2: error %v", err)
	}
	cfg, err := shipped.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TrainQuantileHead(context.Background(), cfg, s); err == nil || !strings.Contains(err.Error(), "pinball") {
		t.Errorf("the default (MAE) recipe: error %v", err)
	}
}

// TestQuantileHeadBacktestSeesOnlyThePast: poisoning every bar from the
// second fold's first day on changes neither fold's weights, since each
// fold trains on the bars before its first day alone.
func TestQuantileHeadBacktestSeesOnlyThePast(t *testing.T) {
	cfg := fit0Config(t)
	cfg.Data.From, cfg.Epochs = closecast.MustParseDate("2022-01-01"), 2
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	from, to := closecast.MustParseDate("2025-01-01"), closecast.MustParseDate("2025-01-10")
	clean, err := QuantileHeadBacktest(context.Background(), cfg, s, from, to, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(clean) != 2 || clean[1].From != from+5 {
		t.Fatalf("folds %+v, want 2 from %s and %s", clean, from, from+5)
	}
	poisoned := s
	poisoned.Bars = append([]closecast.Bar(nil), s.Bars...)
	for i := s.Search(from + 5); i < len(poisoned.Bars); i++ {
		poisoned.Bars[i].Close *= 10
	}
	dirty, err := QuantileHeadBacktest(context.Background(), cfg, poisoned, from, to, 5)
	if err != nil {
		t.Fatal(err)
	}
	for f := range clean {
		a, b := clean[f].Pipeline.Net.Params(), dirty[f].Pipeline.Net.Params()
		if !slices.Equal(a, b) {
			t.Errorf("fold %d: the weights changed with bars after its first day", f)
		}
	}
	if _, err := QuantileHeadBacktest(context.Background(), cfg, s, from, to, 0); err == nil {
		t.Error("retrain every 0 days accepted")
	}
}
