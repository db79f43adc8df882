package evaluate

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/closecast/closecast"
)

// The ensemble as a live forecast: what `predict`, /predict and `serve`
// answer for closecast.IntervalEnsemble. Its quantiles of a day d days
// after the origin are exactly those `closecast evaluate` scores for the
// ensemble made d days ahead: each of EnsembleParts forecasts the d-day log
// return from all the returns up to the origin (Baseline.Forecast, fitted
// on the series from its first bar, as Walk does), turned into closes from
// the origin's close (Quantiles.Closes), and Combine averages them with
// equal weights.

// EnsembleMaxHorizon is the longest horizon the ensemble forecasts: the
// 250-day empirical part needs at least 125 overlapping h-day returns.
const EnsembleMaxHorizon = EmpiricalDays / 2

// NewEnsembleParts returns fresh instances of the EnsembleParts baselines,
// in that order, and their equal weights.
func NewEnsembleParts() ([]Baseline, []float64) {
	var parts []Baseline
	for _, b := range NewBaselines() {
		if slices.Contains(EnsembleParts, b.Name()) {
			parts = append(parts, b)
		}
	}
	weights := make([]float64, len(parts))
	for i := range weights {
		weights[i] = 1 / float64(len(parts))
	}
	return parts, weights
}

// EnsembleMinReturns is the least number of daily returns up to the
// origin the ensemble forecasts from: the largest of its parts'.
func EnsembleMinReturns() int {
	parts, _ := NewEnsembleParts()
	return MinReturns(parts)
}

// An EnsembleFit is the ensemble fitted at one origin: its parts, fitted on
// the returns up to the origin, and the forecasts made so far. The fit
// (GARCH's maximum likelihood, EWMA-t's ν) is the costly part; a further
// day ahead only runs the fitted recursions. It is safe for concurrent
// use.
type EnsembleFit struct {
	mu      sync.Mutex
	returns []float64
	last    float64
	parts   []Baseline
	weights []float64
	days    []Quantiles // days[d-1]: the closes' quantiles d days after the origin
}

// FitEnsemble fits the ensemble on returns (every daily log return up to
// the origin, oldest first, from the series' first bar: the fitted parts'
// refits are counted from it) at an origin whose close is last, and makes
// its forecast of the next day.
func FitEnsemble(returns []float64, last float64) (*EnsembleFit, error) {
	if n := EnsembleMinReturns(); len(returns) < n {
		return nil, fmt.Errorf("%w: it needs %d daily returns up to the origin, there are %d", closecast.ErrShortEnsemble, n, len(returns))
	}
	if !(last > 0) {
		return nil, fmt.Errorf("ensemble: the origin's close is %v", last)
	}
	f := &EnsembleFit{returns: returns, last: last}
	f.parts, f.weights = NewEnsembleParts()
	if _, err := f.Days(1); err != nil {
		return nil, err
	}
	return f, nil
}

// Days returns the ensemble's quantiles of the closes of the horizon days
// after the origin (1..EnsembleMaxHorizon): out[d-1] for d days ahead.
// The slice is the fit's own: callers must not modify it.
func (f *EnsembleFit) Days(horizon int) ([]Quantiles, error) {
	if horizon < 1 || horizon > EnsembleMaxHorizon {
		return nil, fmt.Errorf("ensemble: horizon %d, want 1..%d days", horizon, EnsembleMaxHorizon)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if from := len(f.days) + 1; from <= horizon {
		methods := make([]Method, len(f.parts))
		var r Quantiles
		for i, b := range f.parts {
			methods[i].Name = b.Name()
			for d := from; d <= horizon; d++ {
				if err := b.Forecast(f.returns, d, &r); err != nil {
					return nil, fmt.Errorf("ensemble, %d days ahead: %w", d, err)
				}
				methods[i].Forecasts = append(methods[i].Forecasts, r.Closes(f.last))
			}
		}
		e, err := Combine(NameEnsemble, methods, f.weights)
		if err != nil {
			return nil, err
		}
		for d := range e.Forecasts {
			if err := e.Forecasts[d].Validate(); err != nil {
				return nil, fmt.Errorf("ensemble, %d days ahead: %w", from+d, err)
			}
		}
		f.days = append(f.days, e.Forecasts...)
	}
	return f.days[:horizon:horizon], nil
}

// EnsembleKey names the origin an ensemble is fitted at: the symbol, the
// origin's day and its close. A close revised (a provider's partial bar
// of the day) is a new origin; older bars are taken as settled.
type EnsembleKey struct {
	Symbol string
	Origin closecast.Date
	Close  float64
}

// ensembleCacheSize is how many fitted origins an EnsembleCache keeps: a
// symbol's "tomorrow" and a few past days asked for, per served symbol.
const ensembleCacheSize = 64

// EnsembleCache keeps fitted ensembles per origin, so that a burst of
// requests for the same origin fits once: the first request fits while
// the others wait for it (or for their context). A failed fit is not
// kept. It holds at most ensembleCacheSize origins, evicting the oldest
// fitted. It is safe for concurrent use; the zero value is ready.
type EnsembleCache struct {
	mu      sync.Mutex
	entries map[EnsembleKey]*ensembleEntry
	order   []EnsembleKey // insertion order, for eviction
	fits    atomic.Int64
}

type ensembleEntry struct {
	ready chan struct{} // closed once fit or err is set
	fit   *EnsembleFit
	err   error
}

// Fits returns how many ensembles the cache has fitted (FitEnsemble
// calls, failed ones included).
func (c *EnsembleCache) Fits() int64 { return c.fits.Load() }

// Fit returns the ensemble fitted at key's origin, fitting it on the
// returns load gives (FitEnsemble's arguments) when the cache does not hold
// it. A caller finding the fit in progress waits for it, or gives up with
// ctx's error.
func (c *EnsembleCache) Fit(ctx context.Context, key EnsembleKey, load func(context.Context) (returns []float64, last float64, err error)) (*EnsembleFit, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[EnsembleKey]*ensembleEntry{}
	}
	if e, ok := c.entries[key]; ok {
		c.mu.Unlock()
		select {
		case <-e.ready:
			return e.fit, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &ensembleEntry{ready: make(chan struct{})}
	c.entries[key] = e
	c.order = append(c.order, key)
	if len(c.order) > ensembleCacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.mu.Unlock()

	returns, last, err := load(ctx)
	if err == nil {
		c.fits.Add(1)
		e.fit, err = FitEnsemble(returns, last)
	}
	e.err = err
	close(e.ready)
	if err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
			c.order = slices.DeleteFunc(c.order, func(k EnsembleKey) bool { return k == key })
		}
		c.mu.Unlock()
	}
	return e.fit, err
}
