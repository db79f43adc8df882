package features

import (
	"fmt"
	"math"
)

// MinMaxScaler is sklearn's MinMaxScaler(feature_range=(0, 1)) per column:
// x' = (x − Min[j]) / (Max[j] − Min[j]) for column j. A constant column
// (Max == Min) is divided by 1 instead, as sklearn does, so its fitted values
// map to 0. Values outside [Min, Max] map outside [0, 1]: the scaler never
// clips, which is what makes a close-target model saturate above its
// training maximum.
//
// Min and Max hold one entry per column, in the column order of the matrix
// it was fitted on (for closecast, the feature order); the artifact stores
// them as "scaler": {"min": [...], "max": [...]}.
type MinMaxScaler struct {
	Min []float64 `json:"min"`
	Max []float64 `json:"max"`
}

// FitMinMax fits a scaler to rows, a [n][cols] matrix (every row the same
// length), taking each column's minimum and maximum over all n rows. To
// avoid leaking a hold-out into the scaler, pass only the training rows.
// Ragged rows, no rows or a non-finite value are programming errors (Matrix
// never produces them) and panic with the offending row and column.
func FitMinMax(rows [][]float64) MinMaxScaler {
	if len(rows) == 0 {
		panic("features.FitMinMax: no rows to fit")
	}
	cols := len(rows[0])
	s := MinMaxScaler{Min: make([]float64, cols), Max: make([]float64, cols)}
	copy(s.Min, rows[0])
	copy(s.Max, rows[0])
	for i, r := range rows {
		if len(r) != cols {
			panic(fmt.Sprintf("features.FitMinMax: row %d has %d columns, row 0 has %d", i, len(r), cols))
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				panic(fmt.Sprintf("features.FitMinMax: row %d column %d is %v", i, j, v))
			}
			s.Min[j] = math.Min(s.Min[j], v)
			s.Max[j] = math.Max(s.Max[j], v)
		}
	}
	return s
}

// FitMinMaxColumn fits a one-column scaler to xs (e.g. a target column).
// It panics like FitMinMax.
func FitMinMaxColumn(xs []float64) MinMaxScaler {
	rows := make([][]float64, len(xs))
	for i := range xs {
		rows[i] = xs[i : i+1]
	}
	return FitMinMax(rows)
}

// Symmetric returns s with every column's range widened to be symmetric
// around zero, [−a, a] with a the larger of |Min| and |Max|: a zero (a flat
// day's return) then scales to 0.5 whatever the column's data, which lets
// markets of different volatility share one network's zero (config
// scaler_range symmetric). A column that is all zeros stays [0, 0].
func (s MinMaxScaler) Symmetric() MinMaxScaler {
	out := MinMaxScaler{Min: make([]float64, len(s.Min)), Max: make([]float64, len(s.Max))}
	for j := range s.Min {
		a := math.Max(math.Abs(s.Min[j]), math.Abs(s.Max[j]))
		out.Min[j], out.Max[j] = -a, a
	}
	return out
}

// Cols returns the number of columns the scaler was fitted on.
func (s MinMaxScaler) Cols() int { return len(s.Min) }

// Validate checks a scaler read from outside (an artifact): as many Max as
// Min entries, all finite, and Min ≤ Max in every column.
func (s MinMaxScaler) Validate() error {
	if len(s.Min) != len(s.Max) {
		return fmt.Errorf("scaler has %d min and %d max values: they must pair up", len(s.Min), len(s.Max))
	}
	if len(s.Min) == 0 {
		return fmt.Errorf("scaler has no columns")
	}
	for j := range s.Min {
		lo, hi := s.Min[j], s.Max[j]
		if math.IsNaN(lo) || math.IsInf(lo, 0) || math.IsNaN(hi) || math.IsInf(hi, 0) {
			return fmt.Errorf("scaler column %d: min %v, max %v: not finite", j, lo, hi)
		}
		if lo > hi {
			return fmt.Errorf("scaler column %d: min %v is above max %v", j, lo, hi)
		}
	}
	return nil
}

// Column returns the one-column scaler of column j, e.g. to scale and
// invert a `close` target with the statistics of the `close` feature, as the
// reference does with its single scaler.
func (s MinMaxScaler) Column(j int) MinMaxScaler {
	return MinMaxScaler{Min: []float64{s.Min[j]}, Max: []float64{s.Max[j]}}
}

// scale returns the divisor of column j: its range, or 1 for a constant column.
func (s MinMaxScaler) scale(j int) float64 {
	if r := s.Max[j] - s.Min[j]; r != 0 {
		return r
	}
	return 1
}

// Scale maps one value of column j to the scaled space.
func (s MinMaxScaler) Scale(col int, v float64) float64 {
	return (v - s.Min[col]) / s.scale(col)
}

// Transform scales one row of raw values into dst (len(dst) ≥ Cols; dst may
// be row itself). A row of the wrong length panics.
func (s MinMaxScaler) Transform(row []float64, dst []float64) {
	if len(row) != len(s.Min) {
		panic(fmt.Sprintf("features.MinMaxScaler.Transform: row has %d columns, scaler %d", len(row), len(s.Min)))
	}
	for j, v := range row {
		dst[j] = (v - s.Min[j]) / s.scale(j)
	}
}

// TransformRows returns a new [n][cols] matrix with every row of rows scaled.
func (s MinMaxScaler) TransformRows(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	flat := make([]float64, len(rows)*len(s.Min))
	for i, r := range rows {
		out[i] = flat[i*len(s.Min) : (i+1)*len(s.Min) : (i+1)*len(s.Min)]
		s.Transform(r, out[i])
	}
	return out
}

// Inverse maps a scaled value of column col back to raw units:
// v·(Max − Min) + Min (v + Min for a constant column).
func (s MinMaxScaler) Inverse(col int, v float64) float64 {
	return v*s.scale(col) + s.Min[col]
}
