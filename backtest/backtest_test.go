package backtest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/config"
	"github.com/closecast/closecast/evaluate"
	"github.com/closecast/closecast/marketdata"
	"github.com/closecast/closecast/metrics"
)

func btc(t *testing.T) closecast.Series {
	t.Helper()
	s, err := marketdata.EmbeddedSeries("BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// small is a config that trains in well under a second: a few months of
// data, a window of 10 days, one layer of 4 units, 3 epochs.
func small() config.Config {
	c := config.Defaults()
	c.Name = "small"
	c.Data = config.Range{From: closecast.MustParseDate("2025-01-01"), To: closecast.MustParseDate("2025-12-31")}
	c.Features, c.InputSize = []string{"log_return_1d"}, 1
	c.Target = config.TargetLogReturn
	c.WindowSize = 10
	c.Layers, c.Units = 1, 4
	c.Epochs = 3
	c.EarlyStopping = config.EarlyStopping{Patience: 2, Monitor: config.MonitorTail, TailFraction: 0.1}
	// A validation window in the folds' future: FoldConfig must drop it.
	c.Validation = config.Validation{From: closecast.MustParseDate("2025-09-01"), To: closecast.MustParseDate("2025-09-30")}
	return c
}

var (
	btFrom = closecast.MustParseDate("2025-06-01")
	btTo   = closecast.MustParseDate("2025-06-20")
)

// Expected metrics, computed here from the closes and the per-day forecasts
// with the textbook formulas, not with package metrics.
type want struct{ mae, rmse, mape, smape, mase, dir float64 }

func score(actual, pred, prev []float64) want {
	var w want
	n := float64(len(actual))
	var naive float64
	moves := 0
	for i := range actual {
		e := math.Abs(actual[i] - pred[i])
		w.mae += e / n
		w.rmse += e * e / n
		w.mape += 100 * e / actual[i] / n
		w.smape += 200 * e / (math.Abs(actual[i]) + math.Abs(pred[i])) / n
		naive += math.Abs(actual[i] - prev[i])
		up, predUp := actual[i] > prev[i], pred[i] > prev[i]
		down, predDown := actual[i] < prev[i], pred[i] < prev[i]
		if up && predUp || down && predDown || !up && !down && !predUp && !predDown {
			w.dir += 100 / n
		}
		if pred[i] != prev[i] {
			moves++
		}
	}
	if moves == 0 { // a forecast that never moves has no direction to score
		w.dir = math.NaN()
	}
	w.rmse = math.Sqrt(w.rmse)
	w.mase = w.mae * n / naive
	return w
}

func near(a, b float64) bool {
	return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func checkMetrics(t *testing.T, what string, w want, m [6]float64) {
	t.Helper()
	names := []string{"mae", "rmse", "mape", "smape", "mase", "direction"}
	exp := []float64{w.mae, w.rmse, w.mape, w.smape, w.mase, w.dir}
	for i := range names {
		if !near(m[i], exp[i]) {
			t.Errorf("%s %s = %v, recomputed %v", what, names[i], m[i], exp[i])
		}
	}
}

func TestBacktestMetricsRecomputedIndependently(t *testing.T) {
	s := btc(t)
	var progress bytes.Buffer
	r, err := Run(context.Background(), small(), s, Options{From: btFrom, To: btTo, RetrainEvery: 7, Workers: 2, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	// 20 days, 7 per fold: 7 + 7 + 6.
	if r.N != 20 || r.From != btFrom || r.To != btTo || len(r.Days) != 20 || len(r.Folds) != 3 {
		t.Fatalf("n %d %s..%s, %d days, %d folds", r.N, r.From, r.To, len(r.Days), len(r.Folds))
	}
	if got := strings.Count(progress.String(), "\n"); got != 3 {
		t.Errorf("%d progress lines, want one per fold:\n%s", got, progress.String())
	}
	close := map[closecast.Date]float64{}
	for _, b := range s.Bars {
		close[b.Date] = b.Close
	}
	type cols struct{ actual, pred, pers, ma7, prev []float64 }
	all := cols{}
	perFold := make([]cols, len(r.Folds))
	for j, d := range r.Days {
		day := btFrom.AddDays(j)
		if d.Date != day || d.Fold != j/7 {
			t.Fatalf("day %d is %s in fold %d, want %s in fold %d", j, d.Date, d.Fold, day, j/7)
		}
		if d.Actual != close[day] {
			t.Errorf("%s actual %v, close is %v", day, d.Actual, close[day])
		}
		if !(d.Predicted > 0) || math.Abs(d.Predicted/close[day-1]-1) > 0.5 {
			t.Errorf("%s predicted %v, far from the last close %v", day, d.Predicted, close[day-1])
		}
		ma := 0.0
		for k := 1; k <= 7; k++ {
			ma += close[day.AddDays(-k)] / 7
		}
		for _, c := range []*cols{&all, &perFold[d.Fold]} {
			c.actual = append(c.actual, close[day])
			c.pred = append(c.pred, d.Predicted)
			c.pers = append(c.pers, close[day-1])
			c.ma7 = append(c.ma7, ma)
			c.prev = append(c.prev, close[day-1])
		}
	}
	check := func(what string, ev artifact.Evaluation, c cols) {
		t.Helper()
		checkMetrics(t, what+" model", score(c.actual, c.pred, c.prev), six(ev.Model))
		checkMetrics(t, what+" persistence", score(c.actual, c.pers, c.prev), six(ev.Persistence))
		checkMetrics(t, what+" ma7", score(c.actual, c.ma7, c.prev), six(ev.MA7))
		// The verdict against persistence is the Diebold–Mariano test on
		// these days, overall as in every fold.
		if want := evaluate.Versus(c.actual, c.pred, c.pers); want == nil || ev.VersusPersistence == nil || *ev.VersusPersistence != *want {
			t.Errorf("%s: versus persistence %+v, want %+v", what, ev.VersusPersistence, want)
		}
	}
	check("overall", r.Evaluation, all)
	for k, f := range r.Folds {
		check("fold "+f.From.String(), f.Evaluation, perFold[k])
		if f.Index != k || f.N != len(perFold[k].actual) {
			t.Errorf("fold %d: index %d, n %d, want %d", k, f.Index, f.N, len(perFold[k].actual))
		}
	}
	// small() holds back a tail, so every fold's model is calibrated and
	// every day has a conformal band (not necessarily around the forecast:
	// it carries the calibration errors' bias too); the coverages are the
	// shares of days inside, overall and per fold.
	inside, foldIn := 0, make([]int, len(r.Folds))
	for _, d := range r.Days {
		if !(d.P10 > 0 && d.P10 < d.P90) {
			t.Fatalf("%s: band %v..%v", d.Date, d.P10, d.P90)
		}
		if d.Actual >= d.P10 && d.Actual <= d.P90 {
			inside++
			foldIn[d.Fold]++
		}
	}
	if r.Coverage == nil || !near(*r.Coverage, 100*float64(inside)/20) {
		t.Errorf("coverage %v, recomputed %v", r.Coverage, 100*float64(inside)/20)
	}
	for k, f := range r.Folds {
		if f.Coverage == nil || !near(*f.Coverage, 100*float64(foldIn[k])/float64(f.N)) {
			t.Errorf("fold %d coverage %v, recomputed %d of %d", k, f.Coverage, foldIn[k], f.N)
		}
	}
	// Persistence is 1 on MASE and about 0 on direction by definition: a
	// sanity check that the baseline columns are not swapped.
	if !near(r.Persistence.MASE, 1) || !math.IsNaN(r.Persistence.Direction) {
		t.Errorf("persistence MASE %v direction %v", r.Persistence.MASE, r.Persistence.Direction)
	}

	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "2025-06-15..2025-06-20") || !strings.Contains(text.String(), "persistence") {
		t.Errorf("text report lacks the last fold or a baseline:\n%s", text.String())
	}
	path := filepath.Join(t.TempDir(), "bt.svg")
	if err := r.Plot(path, "BTC-USD"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("persistence")) {
		t.Errorf("plot: %v, %d bytes", err, len(b))
	}
}

func six(m metrics.Metrics) [6]float64 {
	return [6]float64{m.MAE, m.RMSE, m.MAPE, m.SMAPE, m.MASE, m.Direction}
}

// poison returns a copy of s with every bar dated on or after from tripled
// (still valid bars), so anything that reads them changes.
func poison(s closecast.Series, from closecast.Date) closecast.Series {
	bars := append([]closecast.Bar(nil), s.Bars...)
	for i := s.Search(from); i < len(bars); i++ {
		b := &bars[i]
		b.Open, b.High, b.Low, b.Close = 3*b.Open, 3*b.High, 3*b.Low, 3*b.Close
	}
	return closecast.Series{Symbol: s.Symbol, Bars: bars}
}

func weights(t *testing.T, m *artifact.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Pipeline.Net.WriteSafetensors(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Each fold's training ends the day before its first forecast: its model
// is bit-identical whatever happens from that day on, and changes when the
// day before changes (so the comparison can tell).
func TestFoldBoundariesNeverLeak(t *testing.T) {
	s := btc(t)
	cfg := small()
	r, err := Run(context.Background(), cfg, s, Options{From: btFrom, To: btTo, RetrainEvery: 7, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Folds {
		if f.Train.From != cfg.Data.From || f.Train.To != f.From-1 || f.TrainedTo != f.From-1 {
			t.Errorf("fold %d forecasts from %s but trained on %s..%s (last bar %s)", f.Index, f.From, f.Train.From, f.Train.To, f.TrainedTo)
		}
	}
	first := r.Folds[1].From
	fc := FoldConfig(cfg, first)
	if fc.HasValidation() || fc.Data.To != first-1 || fc.Threads != 1 {
		t.Fatalf("fold config keeps validation %v / data.to %s / threads %d", fc.Validation, fc.Data.To, fc.Threads)
	}
	clean, err := trainFold(context.Background(), fc, s, first)
	if err != nil {
		t.Fatal(err)
	}
	future, err := trainFold(context.Background(), fc, poison(s, first), first)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(weights(t, clean), weights(t, future)) || clean.Meta.DataSHA256 != future.Meta.DataSHA256 {
		t.Errorf("fold starting %s changed when bars from %s on changed: it read the future", first, first)
	}
	if clean.Meta.DataRange.To != first-1 {
		t.Errorf("fold starting %s loaded bars up to %s", first, clean.Meta.DataRange.To)
	}
	// Control: the day before the fold is part of its training data.
	past, err := trainFold(context.Background(), fc, poison(s, first-1), first)
	if err != nil {
		t.Fatal(err)
	}
	if past.Meta.DataSHA256 == clean.Meta.DataSHA256 {
		t.Errorf("changing %s, the last training day, left the fold's data unchanged: the check above proves nothing", first-1)
	}
	// Through Run too: poisoning from fold 1's first day leaves fold 0's
	// forecasts untouched.
	r2, err := Run(context.Background(), cfg, poison(s, first), Options{From: btFrom, To: btTo, RetrainEvery: 7, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for j := range 7 {
		if r2.Days[j] != r.Days[j] {
			t.Errorf("fold 0 day %s changed with fold 1's future: %+v vs %+v", r.Days[j].Date, r2.Days[j], r.Days[j])
		}
	}
	// Fold 1's first forecast reads only days before the poison; its second
	// reads the tripled close (a control that Days compare values at all).
	if a, b := r2.Days[7], r.Days[7]; a.Predicted != b.Predicted || a.Persistence != b.Persistence || a.MA7 != b.MA7 {
		t.Errorf("fold 1's first forecast changed: %+v vs %+v", r2.Days[7], r.Days[7])
	}
	if r2.Days[8].Predicted == r.Days[8].Predicted {
		t.Errorf("fold 1's second forecast ignores the tripled close of the day before it")
	}
}

// The result depends on neither the number of workers nor scheduling.
func TestBacktestDeterministicAcrossWorkers(t *testing.T) {
	s := btc(t)
	opt := Options{From: btFrom, To: btTo, RetrainEvery: 5}
	var runs []*Result
	for _, w := range []int{1, 2, 4} {
		opt.Workers = w
		r, err := Run(context.Background(), small(), s, opt)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	for i, r := range runs[1:] {
		if len(r.Days) != len(runs[0].Days) || len(r.Folds) != 4 {
			t.Fatalf("run %d: %d days %d folds", i+1, len(r.Days), len(r.Folds))
		}
		for j := range r.Days {
			if r.Days[j] != runs[0].Days[j] {
				t.Errorf("run %d day %d: %+v vs %+v", i+1, j, r.Days[j], runs[0].Days[j])
			}
		}
		for k := range r.Folds {
			a, b := r.Folds[k], runs[0].Folds[k]
			if a.Training.EpochsTrained != b.Training.EpochsTrained || a.Training.BestEpoch != b.Training.BestEpoch || a.From != b.From {
				t.Errorf("fold %d differs: %+v vs %+v", k, a.Training, b.Training)
			}
		}
	}
}

func TestBacktestRejectsBadRanges(t *testing.T) {
	s := btc(t)
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"k=0", Options{From: btFrom, To: btTo, RetrainEvery: 0}, "retrain every 0"},
		{"reversed", Options{From: btTo, To: btFrom, RetrainEvery: 5}, "before from"},
		{"no bars", Options{From: closecast.MustParseDate("2199-01-01"), To: closecast.MustParseDate("2199-02-01"), RetrainEvery: 5}, "no bars"},
		{"before data.from", Options{From: closecast.MustParseDate("2024-06-01"), To: closecast.MustParseDate("2024-06-05"), RetrainEvery: 5}, "not after the config's data.from"},
		{"too little to train", Options{From: closecast.MustParseDate("2025-01-05"), To: closecast.MustParseDate("2025-01-09"), RetrainEvery: 5}, "fold 0 (2025-01-05..2025-01-09)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), small(), s, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestBacktestStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, small(), btc(t), Options{From: btFrom, To: btTo, RetrainEvery: 5, Workers: 2})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
