package evaluate

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/closecast/closecast/features"
	"github.com/closecast/closecast/metrics"
)

// Baseline settings, fixed in advance (never tuned on an evaluation range).
const (
	// VolatilityDays is the number of daily log returns whose sample
	// standard deviation is the persistence baseline's σ and the per-day
	// volatility that splits days into terciles (as the model's conformal
	// interval, pipeline.VolatilityDays).
	VolatilityDays = 30
	// Lambda is the RiskMetrics EWMA decay for daily data.
	Lambda = features.EWMALambda
	// EmpiricalDays is the window of the empirical-quantile baselines.
	EmpiricalDays = 250
	// RefitDays is how often the fitted baselines (EWMA-t's ν, GARCH) are
	// refitted: on the first RefitDays·⌊n/RefitDays⌋ returns of the n before
	// the origin, so a forecast for a given day does not depend on where a
	// walk-forward started.
	RefitDays = 30
	// ewmaSeedDays is how many leading returns seed the EWMA variance.
	ewmaSeedDays = features.EWMASeedDays
)

// A Baseline forecasts the distribution of a future log return from the
// past ones alone. Forecast sets r to the Levels-quantiles of the h-day log
// return ln(close[T+h]/close[T]) (h ≥ 1; h = 1 is the next day), where
// returns[j] = ln(close[j+1]/close[j]) are all the daily log returns up to
// the origin's close close[T], oldest first; it needs at least MinReturns
// of them. Each baseline's doc says how it extends to h > 1. A Baseline
// may keep fitted parameters and scratch space between calls, so it is not
// safe for concurrent use; give each goroutine its own (NewBaselines).
type Baseline interface {
	// Name identifies the baseline in reports.
	Name() string
	// MinReturns is the least len(returns) Forecast accepts.
	MinReturns() int
	Forecast(returns []float64, h int, r *Quantiles) error
}

// Baseline names.
const (
	NamePersistence = "persistence_gauss30" // tomorrow = today, Gaussian with the 30-day σ
	NameEWMAT       = "ewma_t"              // RiskMetrics EWMA σ, Student-t with fitted ν
	NameGARCHT      = "garch11_t"           // GARCH(1,1), Student-t innovations
	NameEmpirical   = "empirical250"        // empirical quantiles of the last 250 returns
	NameFiltered    = "ewma_filtered250"    // the last 250 EWMA-standardised returns, rescaled by today's σ
)

// NewBaselines returns fresh instances of the five baselines, in the order
// of the names above.
func NewBaselines() []Baseline {
	return []Baseline{&Persistence{}, &EWMAT{}, &GARCHT{}, &Empirical{}, &Filtered{}}
}

func checkReturns(b Baseline, returns []float64, h int) error {
	if h < 1 {
		return fmt.Errorf("%s: horizon %d, want ≥ 1", b.Name(), h)
	}
	if len(returns) < b.MinReturns() {
		return fmt.Errorf("%s needs %d daily returns, has %d", b.Name(), b.MinReturns(), len(returns))
	}
	return nil
}

// normalScores are Φ⁻¹(Levels[k]).
var normalScores = func() (z Quantiles) {
	for k, tau := range Levels {
		z[k] = distuv.UnitNormal.Quantile(tau)
	}
	return z
}()

// tScores returns the Levels-quantiles of the standardised (unit-variance)
// Student-t with ν > 2 degrees of freedom.
func tScores(nu float64) (z Quantiles) {
	d := distuv.StudentsT{Mu: 0, Sigma: math.Sqrt((nu - 2) / nu), Nu: nu}
	for k, tau := range Levels {
		z[k] = d.Quantile(tau)
	}
	return z
}

// scale sets r[k] = sigma·z[k].
func scale(r *Quantiles, sigma float64, z *Quantiles) {
	for k := range r {
		r[k] = sigma * z[k]
	}
}

// Persistence is baseline 1: the median next close is today's (a random
// walk) and the log return is Gaussian with the sample standard deviation
// σ of the last VolatilityDays returns; the h-day return, a sum of h
// independent ones, is Gaussian with σ√h.
type Persistence struct{}

// Name implements Baseline.
func (*Persistence) Name() string { return NamePersistence }

// MinReturns implements Baseline.
func (*Persistence) MinReturns() int { return VolatilityDays }

// Forecast implements Baseline.
func (b *Persistence) Forecast(returns []float64, h int, r *Quantiles) error {
	if err := checkReturns(b, returns, h); err != nil {
		return err
	}
	_, sigma := metrics.Summarize(returns[len(returns)-VolatilityDays:])
	scale(r, sigma*math.Sqrt(float64(h)), &normalScores)
	return nil
}

// EWMAVariances is features.EWMAVariances, the one EWMA that the
// baselines and the quantile head's target share.
func EWMAVariances(returns []float64, lambda float64, dst []float64) []float64 {
	return features.EWMAVariances(returns, lambda, dst)
}

// EWMAT is baseline 2: RiskMetrics EWMA volatility (λ = Lambda) with
// standardised Student-t quantiles, ν fitted by maximum likelihood on the
// EWMA-standardised returns before the origin (after the seed days),
// refitted every RefitDays. For h > 1 it scales σ by √h, the RiskMetrics
// square-root-of-time rule (EWMA's variance forecast is flat), keeping the
// one-day t shape (an approximation: a sum of t variates is not t).
type EWMAT struct {
	fittedOn int       // len of the returns ν was fitted on; 0 before the first fit
	Nu       float64   // the fitted ν
	z        Quantiles // tScores(Nu)
	v        []float64 // EWMAVariances scratch
	std      []float64 // standardised returns scratch
}

// Name implements Baseline.
func (*EWMAT) Name() string { return NameEWMAT }

// MinReturns implements Baseline.
func (*EWMAT) MinReturns() int { return 4 * ewmaSeedDays }

// Forecast implements Baseline.
func (b *EWMAT) Forecast(returns []float64, h int, r *Quantiles) error {
	if err := checkReturns(b, returns, h); err != nil {
		return err
	}
	b.v = EWMAVariances(returns, Lambda, b.v)
	if m := refitLen(len(returns), b.MinReturns()); m != b.fittedOn {
		b.std = b.std[:0]
		for j := ewmaSeedDays; j < m; j++ {
			b.std = append(b.std, returns[j]/math.Sqrt(b.v[j]))
		}
		nu, err := FitStudentT(b.std)
		if err != nil {
			return fmt.Errorf("%s: %w", b.Name(), err)
		}
		b.fittedOn, b.Nu, b.z = m, nu, tScores(nu)
	}
	scale(r, math.Sqrt(b.v[len(returns)]*float64(h)), &b.z)
	return nil
}

// refitLen returns how many of n returns a fitted baseline is fitted on:
// the last multiple of RefitDays, or n itself while that would be fewer
// than least.
func refitLen(n, least int) int {
	if m := n / RefitDays * RefitDays; m >= least {
		return m
	}
	return n
}

// Empirical is baseline 4: the empirical quantiles (numpy's linear rule,
// metrics.Quantile) of the last EmpiricalDays log returns; for h > 1, of
// the EmpiricalDays−h+1 overlapping h-day log returns within those days.
type Empirical struct {
	sorted []float64
}

// Name implements Baseline.
func (*Empirical) Name() string { return NameEmpirical }

// MinReturns implements Baseline.
func (*Empirical) MinReturns() int { return EmpiricalDays }

// Forecast implements Baseline.
func (b *Empirical) Forecast(returns []float64, h int, r *Quantiles) error {
	if err := checkReturns(b, returns, h); err != nil {
		return err
	}
	if h > EmpiricalDays/2 {
		return fmt.Errorf("%s: horizon %d leaves too few %d-day returns in %d days", b.Name(), h, h, EmpiricalDays)
	}
	window := returns[len(returns)-EmpiricalDays:]
	b.sorted = b.sorted[:0]
	sum := 0.0
	for j, x := range window {
		sum += x
		if j >= h {
			sum -= window[j-h]
		}
		if j >= h-1 {
			b.sorted = append(b.sorted, sum)
		}
	}
	empiricalQuantiles(r, b.sorted, 1)
	return nil
}

// empiricalQuantiles sorts xs in place and sets r[k] = sigma·(the
// Levels[k]-quantile of xs).
func empiricalQuantiles(r *Quantiles, xs []float64, sigma float64) {
	slices.Sort(xs)
	for k, tau := range Levels {
		r[k] = sigma * metrics.Quantile(xs, tau)
	}
}

// Filtered is baseline 5, filtered historical simulation: the empirical
// quantiles of the last EmpiricalDays returns each divided by its EWMA
// volatility forecast, multiplied by the EWMA volatility forecast for the
// next day (times √h for h days, as EWMAT).
type Filtered struct {
	v, z []float64
}

// Name implements Baseline.
func (*Filtered) Name() string { return NameFiltered }

// MinReturns implements Baseline.
func (*Filtered) MinReturns() int { return EmpiricalDays + ewmaSeedDays }

// Forecast implements Baseline.
func (b *Filtered) Forecast(returns []float64, h int, r *Quantiles) error {
	if err := checkReturns(b, returns, h); err != nil {
		return err
	}
	n := len(returns)
	b.v = EWMAVariances(returns, Lambda, b.v)
	b.z = b.z[:0]
	for j := n - EmpiricalDays; j < n; j++ {
		b.z = append(b.z, returns[j]/math.Sqrt(b.v[j]))
	}
	empiricalQuantiles(r, b.z, math.Sqrt(b.v[n]*float64(h)))
	return nil
}
