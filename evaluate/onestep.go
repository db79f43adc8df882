package evaluate

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/artifact"
	"github.com/closecast/closecast/metrics"
	"github.com/closecast/closecast/pipeline"
)

// OneStep forecasts every day from..to (inclusive) one step ahead from the
// real bars before it — walk-forward, the model never sees the day it
// forecasts — and scores the model beside persistence (tomorrow = today) and
// the 7-day moving average on the same days. bars must hold the History()
// bars before from; days without a bar (gaps) are not targets.
func OneStep(p *pipeline.Pipeline, bars []closecast.Bar, from, to closecast.Date) (artifact.Evaluation, []artifact.Point, error) {
	s := closecast.Series{Bars: bars}
	lo, hi := s.Search(from), s.Search(to+1)
	need := max(p.History(), 7)
	if lo < need {
		lo = need
	}
	if lo >= hi {
		return artifact.Evaluation{}, nil, fmt.Errorf("%w: %s..%s (need %d bars of history before the first target)", ErrNoTargets, from, to, need)
	}
	idx := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		idx = append(idx, i)
	}
	pred, err := p.PredictAt(bars, idx)
	if err != nil {
		return artifact.Evaluation{}, nil, err
	}
	closes := s.Closes()
	actual := make([]float64, len(idx))
	prev := make([]float64, len(idx))
	pts := make([]artifact.Point, len(idx))
	for k, i := range idx {
		actual[k], prev[k] = closes[i], closes[i-1]
		pts[k] = artifact.Point{Date: bars[i].Date, Actual: closes[i], Predicted: pred[k]}
	}
	persistence, err := metrics.Persistence(closes, idx)
	if err != nil {
		return artifact.Evaluation{}, nil, err
	}
	ma7, err := metrics.MovingAverage(closes, idx, 7)
	if err != nil {
		return artifact.Evaluation{}, nil, err
	}
	ev := artifact.Evaluation{
		N: len(idx), From: bars[idx[0]].Date, To: bars[idx[len(idx)-1]].Date,
		Model:       metrics.Compute(actual, pred, prev),
		Persistence: metrics.Compute(actual, persistence, prev),
		MA7:         metrics.Compute(actual, ma7, prev),
	}
	ev.VersusPersistence = Versus(actual, pred, persistence)
	return ev, pts, nil
}

// parallelDays runs day(k) for every k in [0, n) on GOMAXPROCS goroutines:
// worker w takes days w, w+workers, …, and each day writes only its own
// slot, so the result depends on neither the order of work nor the thread
// count. It returns the errors of the days that failed (a worker stops at
// its first).
func parallelDays(n int, day func(k int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < n; k += workers {
				if err := day(k); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
