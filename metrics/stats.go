package metrics

import (
	"encoding/json"
	"math"
	"slices"
)

// Summarize returns the mean and the sample standard deviation (n−1 in the
// denominator, as numpy's std(ddof=1) and pandas) of xs, for reporting
// `--repeat N` runs as mean ± std. The std of fewer than two values is
// undefined and returned as NaN, as pandas does; both are NaN for no values.
// NaN values propagate: a run with an undefined metric makes its mean NaN.
func Summarize(xs []float64) (mean, std float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	if n < 2 {
		return mean, math.NaN()
	}
	// Two passes: the squared deviations from the mean, not Σx² − n·mean²,
	// which cancels catastrophically for prices around 1e5.
	ss := 0.0
	for _, x := range xs {
		d := x - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(n-1))
}

// SummarizeMetrics applies Summarize to each figure across runs (one Metrics
// per seed of `--repeat`), returning the per-figure means and sample stds.
func SummarizeMetrics(runs []Metrics) (mean, std Metrics) {
	field := func(get func(Metrics) float64) (float64, float64) {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = get(r)
		}
		return Summarize(xs)
	}
	mean.MAE, std.MAE = field(func(m Metrics) float64 { return m.MAE })
	mean.RMSE, std.RMSE = field(func(m Metrics) float64 { return m.RMSE })
	mean.MAPE, std.MAPE = field(func(m Metrics) float64 { return m.MAPE })
	mean.SMAPE, std.SMAPE = field(func(m Metrics) float64 { return m.SMAPE })
	mean.MASE, std.MASE = field(func(m Metrics) float64 { return m.MASE })
	mean.Direction, std.Direction = field(func(m Metrics) float64 { return m.Direction })
	return mean, std
}

// Description is the summary of a sample that pandas' describe() prints:
// count, mean, sample std (n−1), min, the 25/50/75 % percentiles with
// linear interpolation (numpy's default method) and max. Undefined figures
// (all but Count for no values, Std for one value) are NaN, null in JSON.
type Description struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	Std   float64 `json:"std"`
	Min   float64 `json:"min"`
	P25   float64 `json:"p25"`
	P50   float64 `json:"p50"`
	P75   float64 `json:"p75"`
	Max   float64 `json:"max"`
}

// Describe summarises xs (any order; xs is not modified).
func Describe(xs []float64) Description {
	d := Description{Count: len(xs)}
	d.Mean, d.Std = Summarize(xs)
	s := slices.Clone(xs)
	slices.Sort(s)
	d.Min, d.P25, d.P50, d.P75, d.Max = Quantile(s, 0), Quantile(s, 0.25), Quantile(s, 0.5), Quantile(s, 0.75), Quantile(s, 1)
	return d
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of sorted, ascending values
// with numpy's default "linear" method: h = (n−1)·q, then interpolate
// between sorted[⌊h⌋] and sorted[⌊h⌋+1]. It is NaN for no values or a q
// outside [0, 1].
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 || !(q >= 0 && q <= 1) {
		return math.NaN()
	}
	h := float64(n-1) * q
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// MarshalJSON writes the description with null for undefined figures.
func (d Description) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count int      `json:"count"`
		Mean  *float64 `json:"mean"`
		Std   *float64 `json:"std"`
		Min   *float64 `json:"min"`
		P25   *float64 `json:"p25"`
		P50   *float64 `json:"p50"`
		P75   *float64 `json:"p75"`
		Max   *float64 `json:"max"`
	}{d.Count, finite(d.Mean), finite(d.Std), finite(d.Min), finite(d.P25), finite(d.P50), finite(d.P75), finite(d.Max)})
}
