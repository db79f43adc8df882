// Package metrics scores one-step-ahead close forecasts: the reference's
// MAE, RMSE and MAPE plus sMAPE, MASE and the direction hit rate, the naive
// baselines every model is printed beside (persistence and a k-day moving
// average), and the summary statistics of describe and --repeat.
//
// All series here are plain []float64 in date order; index j of actual,
// predicted and previous refers to the same target day. Nothing in this
// package knows about dates, bars or the network.
package metrics

import (
	"encoding/json"
	"fmt"
	"math"
)

// Metrics are the accuracy figures of one set of predictions. MAPE, sMAPE
// and Direction are in percent; MAE and RMSE are in the price's currency;
// MASE is a ratio (below 1 beats persistence).
//
// A figure that is undefined (no targets, a zero actual close for MAPE, a
// perfect persistence forecast for MASE) is NaN in Go and null in JSON,
// because encoding/json cannot write NaN.
type Metrics struct {
	MAE       float64 `json:"mae"`
	RMSE      float64 `json:"rmse"`
	MAPE      float64 `json:"mape"`
	SMAPE     float64 `json:"smape"`
	MASE      float64 `json:"mase"`
	Direction float64 `json:"direction"`
}

// Compute scores predicted against actual. previous[j] is the last close
// known before target j (the close of the day before it): it is the
// persistence forecast MASE divides by and the reference level the direction
// of a move is measured from. The three slices must have the same length; a
// mismatch is a programming error and panics with the lengths.
//
//   - MAE  = mean |a−p|; RMSE = sqrt(mean (a−p)²).
//   - MAPE = 100 · mean |a−p| / |a| (percent).
//   - sMAPE = mean 200 · |a−p| / (|a|+|p|) (percent, 0..200); a term with
//     a = p = 0 counts as 0.
//   - MASE = MAE(model) / MAE(persistence) on the same targets. It is scaled
//     by the out-of-sample naive forecast, not by Hyndman's in-sample naive
//     MAE of the training data, because the question every report asks is
//     "does the model beat tomorrow = today on these very days": a value
//     below 1 means yes, and the ratio stays comparable between a hold-out
//     and a later validation window whose volatility differs.
//   - Direction = 100 · share of targets where sign(p−prev) == sign(a−prev).
//     A flat prediction (p == prev) counts as a hit only when the actual
//     close is also flat. A forecaster that never predicts a move (every
//     p == prev: persistence) has no direction to score: its Direction is
//     undefined (NaN, null in JSON), not 0, so that no table can rank it.
func Compute(actual, predicted, previous []float64) Metrics {
	if len(actual) != len(predicted) || len(actual) != len(previous) {
		panic(fmt.Sprintf("metrics.Compute: %d actual, %d predicted, %d previous values: lengths must match",
			len(actual), len(predicted), len(previous)))
	}
	n := len(actual)
	if n == 0 {
		nan := math.NaN()
		return Metrics{nan, nan, nan, nan, nan, nan}
	}
	var sumAbs, sumSq, sumPct, sumSym, sumNaive float64
	hits, moves := 0, 0
	for j := range n {
		a, p, prev := actual[j], predicted[j], previous[j]
		e := math.Abs(a - p)
		sumAbs += e
		sumSq += e * e
		sumPct += e / math.Abs(a) // ±Inf or NaN when a == 0: MAPE is undefined then
		if d := math.Abs(a) + math.Abs(p); d != 0 {
			sumSym += 2 * e / d
		}
		sumNaive += math.Abs(a - prev)
		if sign(p-prev) == sign(a-prev) {
			hits++
		}
		if p != prev {
			moves++
		}
	}
	fn := float64(n)
	m := Metrics{
		MAE:       sumAbs / fn,
		RMSE:      math.Sqrt(sumSq / fn),
		MAPE:      100 * sumPct / fn,
		SMAPE:     100 * sumSym / fn,
		Direction: 100 * float64(hits) / fn,
	}
	if math.IsInf(m.MAPE, 0) {
		m.MAPE = math.NaN()
	}
	if moves == 0 {
		m.Direction = math.NaN()
	}
	if sumNaive == 0 {
		m.MASE = math.NaN()
	} else {
		m.MASE = sumAbs / sumNaive
	}
	return m
}

func sign(x float64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// metricsJSON mirrors Metrics with nullable fields so NaN travels as null.
type metricsJSON struct {
	MAE       *float64 `json:"mae"`
	RMSE      *float64 `json:"rmse"`
	MAPE      *float64 `json:"mape"`
	SMAPE     *float64 `json:"smape"`
	MASE      *float64 `json:"mase"`
	Direction *float64 `json:"direction"`
}

// MarshalJSON writes the six figures, with null for a NaN or infinite one.
func (m Metrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricsJSON{finite(m.MAE), finite(m.RMSE), finite(m.MAPE),
		finite(m.SMAPE), finite(m.MASE), finite(m.Direction)})
}

// UnmarshalJSON reads what MarshalJSON writes; null or a missing key is NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var v metricsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Metrics{orNaN(v.MAE), orNaN(v.RMSE), orNaN(v.MAPE), orNaN(v.SMAPE), orNaN(v.MASE), orNaN(v.Direction)}
	return nil
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// Same reports whether m and o hold the same six figures, an undefined
// (NaN) figure matching an undefined one. Use it instead of ==, which is
// false for any two Metrics with an undefined figure.
func (m Metrics) Same(o Metrics) bool {
	eq := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	return eq(m.MAE, o.MAE) && eq(m.RMSE, o.RMSE) && eq(m.MAPE, o.MAPE) &&
		eq(m.SMAPE, o.SMAPE) && eq(m.MASE, o.MASE) && eq(m.Direction, o.Direction)
}
