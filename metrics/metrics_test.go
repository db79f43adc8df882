package metrics

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", name, got)
		}
		return
	}
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.12g, want %.12g (±%g)", name, got, want, tol)
	}
}

func TestComputeHandCase(t *testing.T) {
	actual := []float64{10, 12, 9}
	pred := []float64{11, 10, 9.5}
	prev := []float64{10, 10, 12}
	m := Compute(actual, pred, prev)
	// errors 1, 2, 0.5
	near(t, "MAE", m.MAE, 3.5/3, 1e-12)
	near(t, "RMSE", m.RMSE, math.Sqrt(5.25/3), 1e-12)
	// 1/10 + 2/12 + 0.5/9 = 29/90, mean → 29/270, in percent
	near(t, "MAPE", m.MAPE, 2900.0/270, 1e-10)
	near(t, "sMAPE", m.SMAPE, 200*(1.0/21+2.0/22+0.5/18.5)/3, 1e-10)
	// persistence errors |10−10|, |12−10|, |9−12| = 0, 2, 3 → MAE 5/3; 3.5/3 ÷ 5/3
	near(t, "MASE", m.MASE, 0.7, 1e-12)
	// pred moves +1, 0, −2.5; actual moves 0, +2, −3: only the last agrees
	near(t, "Direction", m.Direction, 100.0/3, 1e-10)
}

func TestComputePersistenceScoresOneAndNoDirection(t *testing.T) {
	actual := []float64{101, 99, 105, 104}
	prev := []float64{100, 101, 99, 105}
	m := Compute(actual, prev, prev)
	near(t, "MASE", m.MASE, 1, 1e-15)
	near(t, "MAE", m.MAE, (1+2+6+1)/4.0, 1e-12)
	// a forecast that never moves predicts no direction: undefined, not 0 %
	near(t, "Direction", m.Direction, math.NaN(), 0)
	b, err := json.Marshal(m)
	if err != nil || !strings.Contains(string(b), `"direction":null`) {
		t.Errorf("persistence's direction marshals as %s (%v), want null", b, err)
	}
	// One moving forecast is enough for the rate to be defined: a flat
	// prediction then counts as a miss of a moving actual, as before.
	pred := append([]float64(nil), prev...)
	pred[0] = 102 // up, and the actual went up: a hit; the other three miss
	near(t, "Direction with one move", Compute(actual, pred, prev).Direction, 25, 1e-12)
}

func TestComputeUndefined(t *testing.T) {
	m := Compute(nil, nil, nil)
	for name, v := range map[string]float64{"MAE": m.MAE, "RMSE": m.RMSE, "MAPE": m.MAPE, "sMAPE": m.SMAPE, "MASE": m.MASE, "Direction": m.Direction} {
		near(t, name, v, math.NaN(), 0)
	}
	// actual 0 makes MAPE undefined; a perfect persistence makes MASE undefined
	m = Compute([]float64{0, 5}, []float64{1, 5}, []float64{0, 5})
	near(t, "MAPE", m.MAPE, math.NaN(), 0)
	near(t, "MASE", m.MASE, math.NaN(), 0)
	near(t, "sMAPE", m.SMAPE, (200.0*1/1+0)/2, 1e-12)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal with NaN: %v", err)
	}
	if !strings.Contains(string(b), `"mape":null`) || !strings.Contains(string(b), `"mase":null`) {
		t.Errorf("NaN not written as null: %s", b)
	}
}

func TestComputeLengthMismatchPanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "2 actual, 1 predicted") {
			t.Errorf("panic = %v, want a message naming the lengths", r)
		}
	}()
	Compute([]float64{1, 2}, []float64{1}, []float64{1, 2})
}

func TestMetricsJSONKeysAndRoundTrip(t *testing.T) {
	m := Metrics{MAE: 1.5, RMSE: 2, MAPE: 3, SMAPE: 4, MASE: 0.5, Direction: 55}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mae", "rmse", "mape", "smape", "mase", "direction"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %q missing from %s", k, b)
		}
	}
	if len(keys) != 6 {
		t.Errorf("%d keys in %s, want exactly 6", len(keys), b)
	}
	var back Metrics
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != m {
		t.Errorf("round trip: %+v, want %+v", back, m)
	}
	if err := json.Unmarshal([]byte(`{"mae":1,"mase":null}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.MAE != 1 || !math.IsNaN(back.MASE) || !math.IsNaN(back.RMSE) {
		t.Errorf("null/missing should read as NaN: %+v", back)
	}
}

func TestBaselines(t *testing.T) {
	closes := []float64{1, 2, 3, 4, 5, 6, 7, 8, 20}
	p, err := Persistence(closes, []int{1, 7, 8})
	if err != nil {
		t.Fatal(err)
	}
	if p[0] != 1 || p[1] != 7 || p[2] != 8 {
		t.Errorf("persistence = %v, want [1 7 8]", p)
	}
	ma, err := MovingAverage(closes, []int{7, 8}, 7)
	if err != nil {
		t.Fatal(err)
	}
	// (1+…+7)/7 = 4; (2+…+8)/7 = 5: the target day itself is never included
	if ma[0] != 4 || ma[1] != 5 {
		t.Errorf("ma7 = %v, want [4 5]", ma)
	}
	if _, err := MovingAverage(closes, []int{6}, 7); err == nil || !strings.Contains(err.Error(), "index 6") {
		t.Errorf("ma7 at index 6 has only 6 closes before it: err = %v", err)
	}
	if _, err := Persistence(closes, []int{0}); err == nil {
		t.Error("persistence at index 0 has no previous close: want an error")
	}
	if _, err := Persistence(closes, []int{9}); err == nil {
		t.Error("index 9 is past the series: want an error")
	}
	act, err := Pick(closes, []int{8, 0})
	if err != nil || act[0] != 20 || act[1] != 1 {
		t.Errorf("Pick = %v, %v", act, err)
	}
}

func TestSummarize(t *testing.T) {
	m, s := Summarize([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	near(t, "mean", m, 5, 1e-15)
	// Σ(x−5)² = 32, n−1 = 7
	near(t, "std", s, math.Sqrt(32.0/7), 1e-14)
	m, s = Summarize([]float64{3})
	near(t, "mean of one", m, 3, 0)
	near(t, "std of one", s, math.NaN(), 0)
	// cancellation check: large offset, small spread
	m, s = Summarize([]float64{1e9 + 1, 1e9 + 2, 1e9 + 3})
	near(t, "offset mean", m, 1e9+2, 1e-6)
	near(t, "offset std", s, 1, 1e-9)

	mean, std := SummarizeMetrics([]Metrics{{MAE: 1, MAPE: 2, Direction: 50}, {MAE: 3, MAPE: 2, Direction: 60}})
	near(t, "mean MAE", mean.MAE, 2, 0)
	near(t, "std MAE", std.MAE, math.Sqrt2, 1e-15)
	near(t, "std MAPE", std.MAPE, 0, 0)
	near(t, "mean Direction", mean.Direction, 55, 0)
}

func TestDescribeHandCase(t *testing.T) {
	xs := []float64{4, 1, 3, 2}
	d := Describe(xs)
	if d.Count != 4 {
		t.Errorf("count %d", d.Count)
	}
	near(t, "mean", d.Mean, 2.5, 0)
	near(t, "std", d.Std, math.Sqrt(5.0/3), 1e-15)
	near(t, "min", d.Min, 1, 0)
	near(t, "p25", d.P25, 1.75, 1e-15) // h = 0.75 between 1 and 2
	near(t, "p50", d.P50, 2.5, 1e-15)
	near(t, "p75", d.P75, 3.25, 1e-15) // h = 2.25 between 3 and 4
	near(t, "max", d.Max, 4, 0)
	if xs[0] != 4 || xs[1] != 1 {
		t.Errorf("Describe sorted its input: %v", xs)
	}
	b, err := json.Marshal(Describe([]float64{7}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"count":1,"mean":7,"std":null,"min":7,"p25":7,"p50":7,"p75":7,"max":7}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
}

// TestDescribeReferenceNumbers checks describe's statistics against the
// reference notebook's published describe() of BTC-USD 2018-01-01..2025-04-30,
// read from the CSV the product ships.
func TestDescribeReferenceNumbers(t *testing.T) {
	f, err := os.Open("../marketdata/data/btc-usd-daily.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var closes []float64
	for _, r := range recs[1:] {
		if r[0] < "2018-01-01" || r[0] > "2025-04-30" {
			continue // ISO dates compare as strings
		}
		c, err := strconv.ParseFloat(r[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		closes = append(closes, c)
	}
	d := Describe(closes)
	if d.Count != 2677 {
		t.Fatalf("count = %d, want 2677", d.Count)
	}
	const tol = 5e-7 // the notebook prints 6 decimals
	near(t, "mean", d.Mean, 30935.255341, tol)
	near(t, "std", d.Std, 25374.416157, tol)
	near(t, "min", d.Min, 3236.761719, tol)
	near(t, "p25", d.P25, 9192.836914, tol)
	near(t, "p50", d.P50, 23656.207031, tol)
	near(t, "p75", d.P75, 46444.710938, tol)
	near(t, "max", d.Max, 106146.265625, tol)
}
