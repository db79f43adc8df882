package features

import (
	"fmt"
	"math"
)

// Windows builds the supervised samples of a sliding window over rows, a
// [n][cols] matrix (ascending days; usually scaled), and target, a column
// aligned with rows (target[i] belongs to the day of rows[i]; usually the
// scaled target column sliced like the matrix).
//
// Alignment: sample k (0 ≤ k < n−window) takes the window rows[k : k+window]
// — the days k..k+window−1 — and learns y[k] = target[k+window], the value
// of the day right after the window. There are n − window samples; the last
// row never starts a sample because its next day is unknown.
//
// Layout: x is flattened float32 [samples][window][cols] row-major, so
// sample k, step s, column j is x[(k*window+s)*cols+j]; y is [samples].
// Errors: window < 1, len(target) != n, ragged rows, n ≤ window, or a
// non-finite value in a window or in a used target (named by index).
func Windows(rows [][]float64, target []float64, window int) (x, y []float32, err error) {
	n := len(rows)
	if window < 1 {
		return nil, nil, fmt.Errorf("window of %d rows: must be ≥ 1", window)
	}
	if len(target) != n {
		return nil, nil, fmt.Errorf("%d target values for %d rows: they must be aligned", len(target), n)
	}
	if n <= window {
		return nil, nil, fmt.Errorf("%d rows give no sample of a %d-row window and its next row", n, window)
	}
	cols := len(rows[0])
	if err := checkRows(rows, 0, n-1, cols); err != nil {
		return nil, nil, err
	}
	samples := n - window
	x = make([]float32, samples*window*cols)
	y = make([]float32, samples)
	for k := range samples {
		fillWindow(x[k*window*cols:(k+1)*window*cols], rows[k:k+window])
		v := target[k+window]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("target of row %d is %v", k+window, v)
		}
		y[k] = float32(v)
	}
	return x, y, nil
}

// Window copies the input that predicts row end — rows[end−window : end],
// the window days before it — into dst, flattened float32 [window][cols]
// row-major; len(dst) must be window·cols. end may be len(rows): the input
// for the day after the last known row. Use it for predictions and
// walk-forward evaluation, where no target exists yet.
func Window(rows [][]float64, end, window int, dst []float32) error {
	if window < 1 || end < window || end > len(rows) {
		return fmt.Errorf("window of %d rows ending before row %d: need %d ≤ end ≤ %d", window, end, window, len(rows))
	}
	cols := len(rows[end-window])
	if len(dst) != window*cols {
		return fmt.Errorf("destination holds %d values, a %d×%d window needs %d", len(dst), window, cols, window*cols)
	}
	if err := checkRows(rows, end-window, end-1, cols); err != nil {
		return err
	}
	fillWindow(dst, rows[end-window:end])
	return nil
}

// checkRows verifies that rows[from..to] have cols finite values.
func checkRows(rows [][]float64, from, to, cols int) error {
	for i := from; i <= to; i++ {
		if len(rows[i]) != cols {
			return fmt.Errorf("row %d has %d columns, want %d", i, len(rows[i]), cols)
		}
		for j, v := range rows[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("row %d column %d is %v", i, j, v)
			}
		}
	}
	return nil
}

func fillWindow(dst []float32, rows [][]float64) {
	p := 0
	for _, r := range rows {
		for _, v := range r {
			dst[p] = float32(v)
			p++
		}
	}
}
