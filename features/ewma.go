package features

import (
	"math"
	"slices"

	"github.com/closecast/closecast"
)

// EWMA volatility, RiskMetrics style: the one implementation that the
// quantile head's target (EWMAZ) and evaluate's EWMA baselines share.
const (
	// EWMALambda is the RiskMetrics decay for daily data.
	EWMALambda = 0.94
	// EWMASeedDays is how many leading returns seed the EWMA variance
	// (their mean square); with λ = 0.94 the seed is forgotten within months.
	EWMASeedDays = 30
)

// TargetLogReturnEWMAZ names the quantile head's target (config key
// target): the next log return divided by its EWMA volatility forecast
// made from the returns up to the origin (EWMAZ).
const TargetLogReturnEWMAZ = "log_return_ewma_z"

// EWMAVariances sets dst[j], j = 0..len(returns), to the RiskMetrics
// variance forecast of returns[j] made from returns[:j]:
// dst[j+1] = λ·dst[j] + (1−λ)·returns[j]², with dst[0] the mean square of
// the first EWMASeedDays returns (zero mean: daily returns' mean is noise).
// dst[len(returns)] is the forecast for the next day. It returns dst grown
// to len(returns)+1.
func EWMAVariances(returns []float64, lambda float64, dst []float64) []float64 {
	dst = slices.Grow(dst[:0], len(returns)+1)[:len(returns)+1]
	seed := returns[:min(EWMASeedDays, len(returns))]
	v := 0.0
	for _, x := range seed {
		v += x * x
	}
	if len(seed) > 0 {
		v /= float64(len(seed))
	}
	dst[0] = v
	for j, x := range returns {
		v = lambda*v + (1-lambda)*x*x
		dst[j+1] = v
	}
	return dst
}

// EWMAZ returns, aligned with bars, the EWMA-standardised log return
// z[i] = ln(close_i/close_{i−1}) / sigma[i] and sigma[i], the EWMA
// (EWMALambda) volatility forecast for day i made from the returns up to
// day i−1 alone. The seed reads the first EWMASeedDays returns, so z and
// sigma are NaN for i ≤ EWMASeedDays, where the forecast would peek at its
// own day; sigma[len(bars)] is the forecast for the day after the last.
func EWMAZ(bars []closecast.Bar) (z, sigma []float64) {
	n := len(bars)
	z, sigma = make([]float64, n), make([]float64, n+1)
	r := make([]float64, max(n-1, 0))
	for j := range r {
		r[j] = math.Log(bars[j+1].Close / bars[j].Close)
	}
	v := EWMAVariances(r, EWMALambda, nil) // v[j] forecasts r[j] = return of day j+1
	for i := range sigma {
		sigma[i] = math.NaN()
		if i > EWMASeedDays {
			sigma[i] = math.Sqrt(v[i-1])
		}
		if i < n {
			z[i] = math.NaN()
			if i > EWMASeedDays {
				z[i] = r[i-1] / sigma[i]
			}
		}
	}
	return z, sigma
}
