package evaluate

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/closecast/closecast"
	"github.com/closecast/closecast/metrics"
)

// Days are the target days a set of forecasts, Horizon days ahead of their
// origins, is scored on. Every slice has one element per day, in date order.
type Days struct {
	Horizon    int              // days from origin to target; 1 for one-step forecasts
	Dates      []closecast.Date // the day whose close is forecast
	Actual     []float64        // its close
	Last       []float64        // the close of the forecast's origin, Horizon bars before
	Volatility []float64        // the VolatilityDays realised volatility at the origin, which splits the volatility terciles
}

// Len returns the number of days.
func (d Days) Len() int { return len(d.Dates) }

// Walk is a walk-forward set-up over a series, h = Days.Horizon bars
// ahead: its closes, their daily log returns and the days to forecast.
// Every forecast of Closes[Targets[k]] is made from
// Returns[:Targets[k]-h], the returns up to the origin's close
// Closes[Targets[k]-h], and nothing later. Bars are consecutive trading
// days: a gap in the series makes one return span it.
type Walk struct {
	Bars    []closecast.Bar // the series' bars, which a model reads (Model)
	Closes  []float64       // the series' closes
	Returns []float64       // Returns[j] = ln(Closes[j+1]/Closes[j]); len(Closes)−1 of them
	Targets []int           // ascending indices into Closes of the days to forecast
	Days    Days            // Days[k] describes Closes[Targets[k]]
}

// ErrNoTargets is wrapped when a walk-forward range holds no day to forecast.
var ErrNoTargets = errors.New("no days to forecast")

// NewWalk returns the walk-forward over the bars of s dated from..to,
// forecast h ≥ 1 bars ahead. Each target's origin needs minReturns daily
// returns up to it (the largest MinReturns of the baselines run on it); a
// range starting earlier is an error that says how much history it lacks.
func NewWalk(s closecast.Series, from, to closecast.Date, h, minReturns int) (*Walk, error) {
	if h < 1 {
		return nil, fmt.Errorf("horizon %d, want ≥ 1", h)
	}
	lo, hi := s.Search(from), s.Search(to+1)
	if lo >= hi {
		return nil, fmt.Errorf("%w: %s has no bars in %s..%s", ErrNoTargets, s.Symbol, from, to)
	}
	need := max(minReturns, VolatilityDays) + h // bars before the first target
	if lo < need {
		return nil, fmt.Errorf("%w: a forecast for %s needs %d bars before it, %s has %d", ErrNoTargets, s.Bars[lo].Date, need, s.Symbol, lo)
	}
	w := &Walk{Bars: s.Bars, Closes: s.Closes()}
	w.Returns = make([]float64, len(w.Closes)-1)
	for j := range w.Returns {
		w.Returns[j] = math.Log(w.Closes[j+1] / w.Closes[j])
	}
	n := hi - lo
	w.Targets = make([]int, n)
	w.Days = Days{
		Horizon: h,
		Dates:   make([]closecast.Date, n), Actual: make([]float64, n),
		Last: make([]float64, n), Volatility: make([]float64, n),
	}
	for k := range n {
		i := lo + k
		w.Targets[k] = i
		w.Days.Dates[k] = s.Bars[i].Date
		w.Days.Actual[k] = w.Closes[i]
		w.Days.Last[k] = w.Closes[i-h]
		_, w.Days.Volatility[k] = metrics.Summarize(w.Returns[i-h-VolatilityDays : i-h])
	}
	return w, nil
}

// Forecast returns baseline b's forecasts of every target: out[k] holds the
// Levels-quantiles of Closes[Targets[k]]. b refits on its own schedule as
// the walk advances; out is the same whatever b did before, for every
// baseline here.
func (w *Walk) Forecast(b Baseline) ([]Quantiles, error) {
	out := make([]Quantiles, len(w.Targets))
	var r Quantiles
	for k, i := range w.Targets {
		if err := b.Forecast(w.Returns[:i-w.Days.Horizon], w.Days.Horizon, &r); err != nil {
			return nil, fmt.Errorf("forecast for %s: %w", w.Days.Dates[k], err)
		}
		out[k] = r.Closes(w.Days.Last[k])
	}
	return out, nil
}

// Run forecasts every target with each baseline, one goroutine per
// baseline (each owns its state, so the result is the same as a sequential
// run), and returns them as Methods named after the baselines, in order.
func (w *Walk) Run(baselines []Baseline) ([]Method, error) {
	out := make([]Method, len(baselines))
	errs := make([]error, len(baselines))
	var wg sync.WaitGroup
	for m, b := range baselines {
		wg.Go(func() {
			out[m].Name = b.Name()
			out[m].Forecasts, errs[m] = w.Forecast(b)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// MinReturns returns the largest MinReturns of baselines.
func MinReturns(baselines []Baseline) int {
	n := 0
	for _, b := range baselines {
		n = max(n, b.MinReturns())
	}
	return n
}
