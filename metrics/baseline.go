package metrics

import "fmt"

// Persistence returns the naive forecast "tomorrow = today" for each target:
// pred[j] = closes[targets[j]−1]. closes is a close series in date order and
// targets are indices into it of the days being forecast; pred is aligned
// with targets. A target index < 1 or ≥ len(closes) is an error naming it.
//
// The same slice is the `previous` argument of Compute.
func Persistence(closes []float64, targets []int) ([]float64, error) {
	return MovingAverage(closes, targets, 1)
}

// MovingAverage returns the naive forecast "tomorrow = mean of the last k
// closes" for each target: pred[j] = mean(closes[t−k : t]) with t =
// targets[j], i.e. the k closes before the target day, never the target
// itself. MovingAverage(closes, targets, 7) is the ma7 baseline; k = 1 is
// Persistence. A target with fewer than k closes before it is an error.
func MovingAverage(closes []float64, targets []int, k int) ([]float64, error) {
	if k < 1 {
		return nil, fmt.Errorf("moving average over %d closes: k must be ≥ 1", k)
	}
	pred := make([]float64, len(targets))
	for j, t := range targets {
		if t < k || t >= len(closes) {
			return nil, fmt.Errorf("target %d (index %d): a %d-close average needs %d ≤ index < %d",
				j, t, k, k, len(closes))
		}
		s := 0.0
		for _, c := range closes[t-k : t] {
			s += c
		}
		pred[j] = s / float64(k)
	}
	return pred, nil
}

// Pick returns closes[targets[j]] for each j: the actual values of the
// targets, aligned with the baselines above. An index out of range is an error.
func Pick(closes []float64, targets []int) ([]float64, error) {
	out := make([]float64, len(targets))
	for j, t := range targets {
		if t < 0 || t >= len(closes) {
			return nil, fmt.Errorf("target %d (index %d) is outside the %d closes", j, t, len(closes))
		}
		out[j] = closes[t]
	}
	return out, nil
}
