package backtest

import (
	"fmt"
	"io"
	"math"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/chart"
	"github.com/closecast/closecast/report"
)

// WriteText prints the backtest as `closecast backtest` does: every metric
// over all forecast days beside both baselines, then one line per fold
// (training range, epochs, MAPE of the model and the baselines).
func (r *Result) WriteText(w io.Writer) {
	report.Evaluation(w, fmt.Sprintf("backtest of %s, retrained every %d days (%d folds)", r.Config, r.RetrainEvery, len(r.Folds)), r.Evaluation)
	if r.Coverage != nil {
		fmt.Fprintf(w, "  80 %% conformal interval (each fold recalibrated on its training tail): covered %.1f %% of %d days\n", *r.Coverage, r.N)
	}
	fmt.Fprintf(w, "\n  %4s  %-22s %6s %-15s  %-23s %4s %8s %8s %8s %8s\n",
		"fold", "trained on", "epochs", "stopped", "forecast days", "n", "MAPE%", "persist%", "ma7%", "cover80%")
	for _, f := range r.Folds {
		cov := "-"
		if f.Coverage != nil {
			cov = fmt.Sprintf("%.1f", *f.Coverage)
		}
		fmt.Fprintf(w, "  %4d  %s..%s %6d %-15s  %s..%s %4d %8.3f %8.3f %8.3f %8s\n",
			f.Index, f.Train.From, f.TrainedTo, f.Training.EpochsTrained, f.Training.Stopped,
			f.From, f.To, f.N, f.Model.MAPE, f.Persistence.MAPE, f.MA7.MAPE, cov)
	}
}

// Plot draws predicted vs actual closes over every forecast day, with
// persistence dashed beside them, to path (.svg or .png, written atomically).
func (r *Result) Plot(path, symbol string) error {
	dates := make([]closecast.Date, len(r.Days))
	act, pred, pers := make([]float64, len(r.Days)), make([]float64, len(r.Days)), make([]float64, len(r.Days))
	for i, d := range r.Days {
		dates[i], act[i], pred[i], pers[i] = d.Date, d.Actual, d.Predicted, d.Persistence
	}
	title := fmt.Sprintf("%s backtest: %s retrained every %d days, MAPE %.2f%% (persistence %.2f%%)",
		symbol, r.Config, r.RetrainEvery, r.Model.MAPE, r.Persistence.MAPE)
	if math.IsNaN(r.Model.MAPE) {
		title = fmt.Sprintf("%s backtest: %s retrained every %d days", symbol, r.Config, r.RetrainEvery)
	}
	persistence := chart.DateSeries("persistence", dates, pers)
	persistence.Dashed = true
	return chart.Lines(path, title, "", "close",
		chart.DateSeries("actual", dates, act),
		chart.DateSeries("predicted", dates, pred),
		persistence)
}
