package predict

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/evaluate"
)

// ensembleHorizon forecasts opt.Horizon days from date with the model's
// points and the ensemble's quantiles (closecast.IntervalEnsemble) at
// opt.Levels, each one of closecast.DistributionLevels. bars[:i] are the
// bars before date, bars[i-1] its origin (the day before date).
func (s *Service) ensembleHorizon(ctx context.Context, symbol string, bars []closecast.Bar, i int, date closecast.Date, opt closecast.HorizonOptions) (closecast.Horizon, error) {
	if opt.Horizon > evaluate.EnsembleMaxHorizon {
		return closecast.Horizon{}, fmt.Errorf("horizon %d: the %s interval forecasts 1..%d days", opt.Horizon, closecast.IntervalEnsemble, evaluate.EnsembleMaxHorizon)
	}
	at, err := EnsembleLevels(opt.Levels)
	if err != nil {
		return closecast.Horizon{}, err
	}
	point := opt
	point.Interval, point.Levels = "", nil
	h, err := s.model.Pipeline.ForecastContext(ctx, bars, i, date, point)
	if err != nil {
		return closecast.Horizon{}, err
	}
	fit, err := s.EnsembleFit(ctx, symbol, bars[i-1])
	if err != nil {
		return closecast.Horizon{}, err
	}
	days, err := fit.Days(opt.Horizon)
	if err != nil {
		return closecast.Horizon{}, err
	}
	h.Interval, h.Levels = closecast.IntervalEnsemble, slices.Clone(opt.Levels)
	for d := range h.Days {
		q := make([]float64, len(at))
		for j, k := range at {
			q[j] = days[d][k]
		}
		h.Days[d].Quantiles = q
	}
	return h, nil
}

// EnsembleLevels returns the index in closecast.DistributionLevels of each
// of levels (within 1e-9): the only levels the ensemble forecasts.
func EnsembleLevels(levels []float64) ([]int, error) {
	at := make([]int, len(levels))
	for j, l := range levels {
		k := slices.IndexFunc(closecast.DistributionLevels[:], func(g float64) bool { return math.Abs(g-l) < 1e-9 })
		if k < 0 {
			return nil, fmt.Errorf("%w: %v: the %s interval forecasts the levels 0.025, 0.05, 0.10, …, 0.95, 0.975 only", closecast.ErrQuantileLevel, l, closecast.IntervalEnsemble)
		}
		at[j] = k
	}
	return at, nil
}

// EnsembleFit returns the ensemble fitted at origin, symbol's bar (the
// last before the forecast day), from the service's cache or fitted on
// every return of symbol from its first bar up to origin, as `closecast
// evaluate` fits it.
func (s *Service) EnsembleFit(ctx context.Context, symbol string, origin closecast.Bar) (*evaluate.EnsembleFit, error) {
	key := evaluate.EnsembleKey{Symbol: symbol, Origin: origin.Date, Close: origin.Close}
	return s.ensemble.Fit(ctx, key, func(ctx context.Context) ([]float64, float64, error) {
		first, _, err := s.knownRange(ctx, symbol)
		if err != nil {
			return nil, 0, err
		}
		series, err := s.bars.Bars(ctx, symbol, first, origin.Date)
		if err != nil {
			return nil, 0, err
		}
		if last, ok := series.Last(); !ok || last != origin.Date {
			return nil, 0, fmt.Errorf("ensemble: the bars of %s up to %s end on %s", symbol, origin.Date, last)
		}
		closes := series.Closes()
		returns := make([]float64, len(closes)-1)
		for j := range returns {
			returns[j] = math.Log(closes[j+1] / closes[j])
		}
		return returns, closes[len(closes)-1], nil
	})
}

// EnsembleFits returns how many ensembles the service has fitted: requests
// for an origin already fitted reuse its fit.
func (s *Service) EnsembleFits() int64 { return s.ensemble.Fits() }
