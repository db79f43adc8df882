// Package features turns daily bars into the model's inputs and targets: the
// named feature columns of the reference notebooks (close only, and the
// multivariate OHLCV set), the MinMax scaler, the supervised windows, and the
// two targets (next close, next log return) with their way back to a price.
//
// No look-ahead: the value of every feature at bar i is computed from
// bars[0..i] only, and rows whose window is not yet full (the warm-up) are
// dropped, never filled.
//
// Gaps: windows and rolling statistics count consecutive bars, not calendar
// days. Daily crypto series have no gaps, so "7 days" is 7 calendar days; for
// an exchange-traded symbol with weekend and holiday gaps, rolling_mean_7 is
// the mean of the last 7 trading sessions and a window of 60 spans 60
// sessions (about 12 weeks). Dates returned by Matrix keep the real days.
//
// Layouts: a feature matrix is rows [n][cols] float64, row i = one day,
// column j = feature j in the order the names were given. Model inputs are
// flattened float32 [samples][window][cols] row-major.
package features

import (
	"fmt"
	"math"
	"strings"

	"github.com/closecast/closecast"
)

// Feature is a named column computed from bars without look-ahead: its value
// at bar i uses bars[0..i] only. The first Warmup values are undefined
// (a rolling window not yet full) and are NaN in Compute's output.
type Feature struct {
	Name   string // the config name, e.g. "rolling_std_30"
	Doc    string // formula and warm-up, for --help and docs
	Warmup int    // leading bars whose value is undefined

	// fill writes out[i] for every i ≥ Warmup of c.bars; len(out) == len(c.bars).
	fill func(c *calc, out []float64)
}

// Compute returns the feature's value at every bar, NaN for the first
// Warmup bars (all NaN when there are no more bars than that). f must come
// from Lookup or All.
func (f Feature) Compute(bars []closecast.Bar) []float64 {
	return f.compute(newCalc(bars))
}

func (f Feature) compute(c *calc) []float64 {
	if f.fill == nil {
		panic("features: Feature " + f.Name + " was not obtained from Lookup or All")
	}
	out := make([]float64, len(c.bars))
	for i := range out {
		out[i] = math.NaN()
	}
	if len(c.bars) > f.Warmup {
		f.fill(c, out)
	}
	return out
}

// calc holds the bars being featurised and the rolling statistics already
// computed over them, so rolling_mean_k, rolling_std_k and rolling_zscore_k
// (and the 30-day extremes of position_in_range_30) share one pass.
type calc struct {
	bars    []closecast.Bar
	moments map[int][2][]float64 // k → mean, sample std of the k closes ending at each bar
	extrema map[int][]float64    // ±k → max (+k) or min (−k) close of the k bars ending at each bar
}

func newCalc(bars []closecast.Bar) *calc {
	return &calc{bars: bars, moments: map[int][2][]float64{}, extrema: map[int][]float64{}}
}

// byName is each feature's index in registry (indicators.go).
var byName = indexNames(registry)

// indexNames maps each feature's name to its index, refusing duplicates.
func indexNames(fs []Feature) map[string]int {
	m := make(map[string]int, len(fs))
	for i, f := range fs {
		if _, dup := m[f.Name]; dup {
			panic("features: duplicate feature " + f.Name)
		}
		m[f.Name] = i
	}
	return m
}

// Lookup returns the feature called name; an unknown name is an error that
// lists the known names.
func Lookup(name string) (Feature, error) {
	i, ok := byName[name]
	if !ok {
		return Feature{}, fmt.Errorf("unknown feature %q: known features are %s", name, strings.Join(Names(), ", "))
	}
	return registry[i], nil
}

// Names returns every feature name in registry order: the raw OHLCV columns,
// log_return_1d, the rolling statistics by kind and window, momentum, RSI,
// volume spike and position in range.
func Names() []string {
	out := make([]string, len(registry))
	for i, f := range registry {
		out[i] = f.Name
	}
	return out
}

// All returns every feature, in the order of Names.
func All() []Feature { return append([]Feature(nil), registry...) }

// Warmup returns the number of leading bars Matrix drops for names: the
// largest warm-up among them. Unknown or repeated names are errors.
func Warmup(names []string) (int, error) {
	fs, err := lookupAll(names)
	if err != nil {
		return 0, err
	}
	w := 0
	for _, f := range fs {
		w = max(w, f.Warmup)
	}
	return w, nil
}

func lookupAll(names []string) ([]Feature, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no features named: need at least one of %s", strings.Join(Names(), ", "))
	}
	fs := make([]Feature, len(names))
	seen := map[string]bool{}
	for j, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("feature %q is listed twice", n)
		}
		seen[n] = true
		f, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		fs[j] = f
	}
	return fs, nil
}

// Matrix computes the named features over bars (ascending dates): rows[i][j]
// is feature names[j] at bar i+W, where W = Warmup(names) is the largest
// warm-up. The first W bars are dropped, never filled; dates[i] is the date
// of bars[i+W]. Unknown or repeated names, no more bars than W, and a
// non-finite value (possible only for bars that were never validated, e.g.
// a zero close) are errors naming the feature and the date.
func Matrix(bars []closecast.Bar, names []string) (rows [][]float64, dates []closecast.Date, err error) {
	fs, err := lookupAll(names)
	if err != nil {
		return nil, nil, err
	}
	w := 0
	for _, f := range fs {
		w = max(w, f.Warmup)
	}
	if len(bars) <= w {
		return nil, nil, fmt.Errorf("features %s need more than %d bars (their warm-up); got %d",
			strings.Join(names, ", "), w, len(bars))
	}
	n, cols := len(bars)-w, len(fs)
	flat := make([]float64, n*cols)
	rows = make([][]float64, n)
	for i := range rows {
		rows[i] = flat[i*cols : (i+1)*cols : (i+1)*cols]
	}
	c := newCalc(bars)
	for j, f := range fs {
		col := f.compute(c)
		for i := range n {
			v := col[i+w]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("feature %s is %v on %s (bar %d): are the bars validated?",
					f.Name, v, bars[i+w].Date, i+w)
			}
			rows[i][j] = v
		}
	}
	dates = make([]closecast.Date, n)
	for i := range dates {
		dates[i] = bars[i+w].Date
	}
	return rows, dates, nil
}
