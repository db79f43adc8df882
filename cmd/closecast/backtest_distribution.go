package main

import (
	"fmt"
	"io"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/backtest"
)

// backtestDistribution adds issue 15's distribution scores to r when its
// fold models can give them; when they cannot (no calibration, or one too
// short for the 95 % interval's quantiles) r keeps its point scores and
// DistributionError says why.
func backtestDistribution(r *backtest.Result, series closecast.Series) {
	for _, f := range r.Folds {
		if f.Pipeline == nil {
			// Only a task file written before shards carried their fold's
			// model (backtest.Part.Model) merges without one.
			r.DistributionError = fmt.Sprintf("fold %d's task file carries no model (written by an older closecast): rerun its shard for the distribution scores", f.Index)
			return
		}
	}
	if r.Coverage == nil && (len(r.Folds) == 0 || r.Folds[0].Pipeline.Quantiles == nil) {
		r.DistributionError = "the fold models are not calibrated (the config holds back no training tail)"
		return
	}
	if err := r.ScoreDistribution(series); err != nil {
		r.DistributionError = err.Error()
	}
}

// printBacktestDistribution prints r's distribution tables, or why there
// are none.
func printBacktestDistribution(w io.Writer, r *backtest.Result) error {
	if r.Distribution == nil {
		fmt.Fprintf(w, "\nno distribution scores: %s\n", r.DistributionError)
		return nil
	}
	return r.Distribution.WriteText(w)
}
